"""The holdout's impact estimate recovers an effect planted in generated outcomes."""

from __future__ import annotations

import numpy as np

from earlywarn.analysis.impact import ArmRow, estimate_impact

# retention if withheld, and the planted effect of being listed, per tier
TRUTH = {"high": (0.50, 0.08), "medium": (0.70, 0.03)}


def generated(n_per_arm: int, seed: int = 3, known: float = 1.0) -> list[ArmRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for tier, (base, effect) in TRUTH.items():
        risk = 0.6 if tier == "high" else 0.45
        for arm in ("notify", "withhold"):
            p = base + effect if arm == "notify" else base
            outcomes = rng.random(n_per_arm) < p
            seen = rng.random(n_per_arm) < known
            rows += [
                ArmRow(f"{tier}-{arm}-{i}", arm, tier, risk, bool(o) if s else None)
                for i, (o, s) in enumerate(zip(outcomes, seen, strict=True))
            ]
    return rows


def test_recovers_the_planted_effect_within_its_interval() -> None:
    result = estimate_impact(generated(4000))
    for tier, (_, effect) in TRUTH.items():
        cell = result["per_tier"][tier]
        low, high = cell["ci95"]
        assert low <= effect <= high, (tier, cell)
        assert cell["notify"]["n"] == cell["withhold"]["n"] == 4000
        assert high - low < 0.06  # informative, not a trivially wide interval
    overall = sum(effect for _, effect in TRUTH.values()) / 2  # equal tier sizes
    low, high = result["overall"]["ci95"]
    assert low <= overall <= high
    assert result["overall"]["difference"] > 0.02
    assert result["warnings"] == []


def test_no_effect_is_not_found_where_none_was_planted() -> None:
    rows = [r for r in generated(4000, seed=5) if r.tier == "medium"]
    flat = [
        ArmRow(r.student_id, r.arm, r.tier, r.risk, r.retained if r.arm == "withhold" else None)
        for r in rows
    ]
    result = estimate_impact(flat)
    assert result["per_tier"]["medium"]["difference"] is None  # no known notify outcome


def test_guardrails_are_reported_with_the_estimate() -> None:
    rows = generated(150, known=0.5)
    rows = [
        ArmRow(r.student_id, r.arm, r.tier, r.risk + (0.05 if r.arm == "notify" else 0), r.retained)
        for r in rows
    ]
    warnings = "\n".join(estimate_impact(rows)["warnings"])
    assert "tier high: only 150 students in the notify arm" in warnings
    assert "tier medium: only 150 students in the withhold arm" in warnings
    assert "overall: only" not in warnings  # 300 an arm overall
    assert "mean predicted risk differs by 5.0 points" in warnings
    assert "of students (under 70%)" in warnings
