"""The randomized holdout's intention-to-treat estimate of what the digests do to retention.

Every student drawn into an arm (:mod:`earlywarn.state.holdout`) counts in that arm, whatever
their advisor did: the comparison is between *being listed in the digest* and *not being
listed*, which is what the institution decides. Within a tier the estimate is the difference in
retention rates, notify minus withhold, among students whose outcome is known, with a 95% Wald
interval (unpooled standard errors). Overall it is the tiers' differences weighted by their
number of students with a known outcome (the draw is stratified by tier), with the variance of
that weighted sum.

Guardrails are printed with the estimate rather than hidden in a log: fewer than
:data:`MIN_PER_ARM` students in an arm, the arms' mean predicted risk differing by more than
:data:`MAX_RISK_GAP` (the draw or the data went wrong) and outcomes known for under
:data:`MIN_KNOWN` of the students (the estimate could move a lot when the rest are known).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MIN_PER_ARM = 200
MAX_RISK_GAP = 0.02
MIN_KNOWN = 0.70
Z95 = 1.959963984540054


@dataclass(frozen=True)
class ArmRow:
    """One randomized student: arm, tier and risk at the draw, and the outcome (None: unknown)."""

    student_id: str
    arm: str
    tier: str
    risk: float
    retained: bool | None


def _arm(rows: Sequence[ArmRow], arm: str) -> dict[str, Any]:
    mine = [r for r in rows if r.arm == arm]
    known = [r for r in mine if r.retained is not None]
    rate = sum(1 for r in known if r.retained) / len(known) if known else None
    return {
        "n": len(mine),
        "n_known": len(known),
        "retention": None if rate is None else round(rate, 6),
        "mean_risk": round(sum(r.risk for r in mine) / len(mine), 6) if mine else None,
        "_rate": rate,
        "_known": len(known),
    }


def _cell(rows: Sequence[ArmRow], where: str) -> dict[str, Any]:
    notify, withhold = _arm(rows, "notify"), _arm(rows, "withhold")
    diff = var = None
    if notify["_rate"] is not None and withhold["_rate"] is not None:
        p1, n1, p0, n0 = notify["_rate"], notify["_known"], withhold["_rate"], withhold["_known"]
        diff = p1 - p0
        var = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
    warnings = []
    for name, arm in (("notify", notify), ("withhold", withhold)):
        if arm["n"] < MIN_PER_ARM:
            warnings.append(
                f"{where}: only {arm['n']} students in the {name} arm (fewer than {MIN_PER_ARM})"
            )
    if notify["mean_risk"] is not None and withhold["mean_risk"] is not None:
        gap = abs(notify["mean_risk"] - withhold["mean_risk"])
        if gap > MAX_RISK_GAP:
            warnings.append(
                f"{where}: the arms' mean predicted risk differs by {gap * 100:.1f} points "
                f"(more than {MAX_RISK_GAP * 100:.0f}); check the draw"
            )
    n = notify["n"] + withhold["n"]
    known = notify["_known"] + withhold["_known"]
    if n and known / n < MIN_KNOWN:
        warnings.append(
            f"{where}: outcomes known for {known / n:.0%} of students (under {MIN_KNOWN:.0%}); "
            "the estimate may move when the rest are known"
        )
    return {
        "notify": {k: v for k, v in notify.items() if not k.startswith("_")},
        "withhold": {k: v for k, v in withhold.items() if not k.startswith("_")},
        "outcomes_known": round(known / n, 4) if n else None,
        "difference": None if diff is None else round(diff, 6),
        "ci95": _interval(diff, var),
        "warnings": warnings,
        "_diff": diff,
        "_var": var,
        "_known": known,
    }


def _interval(diff: float | None, var: float | None) -> list[float] | None:
    if diff is None or var is None:
        return None
    half = Z95 * math.sqrt(var)
    return [round(diff - half, 6), round(diff + half, 6)]


def _public(cell: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if not k.startswith("_")}


def estimate_impact(rows: Iterable[ArmRow]) -> dict[str, Any]:
    """The ITT difference in retention (notify minus withhold) per tier and overall."""
    data = list(rows)
    tiers = sorted({r.tier for r in data}, key=lambda t: {"high": 0, "medium": 1}.get(t, 2))
    cells = {t: _cell([r for r in data if r.tier == t], f"tier {t}") for t in tiers}
    overall = _cell(data, "overall")
    usable = [c for c in cells.values() if c["_diff"] is not None]
    weight = sum(c["_known"] for c in usable)
    if usable and weight:
        diff = sum(c["_known"] / weight * c["_diff"] for c in usable)
        var = sum((c["_known"] / weight) ** 2 * c["_var"] for c in usable)
        overall["difference"], overall["ci95"] = round(diff, 6), _interval(diff, var)
    warnings = list(overall["warnings"]) + [w for c in cells.values() for w in c["warnings"]]
    return {
        "estimand": "intention-to-treat: retention if notified minus retention if withheld",
        "overall": _public(overall),
        "per_tier": {t: _public(c) for t, c in cells.items()},
        "warnings": warnings,
    }
