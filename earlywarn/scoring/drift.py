"""Feature drift: how far this week's scored features have moved from the training data.

Each feature is compared with the model's reference statistics by the population stability index,
``PSI = sum((a - e) * ln(a / e))`` over bins, where ``e`` and ``a`` are the reference and current
shares of each bin. Numeric features use the training data's decile bins, categorical features
their categories; missing values are one more bin on both sides, so a feature that suddenly goes
missing drifts too. Shares are floored at a small epsilon so an empty bin gives a large but finite
value. A common reading: below 0.1 stable, 0.1 to 0.25 worth watching, above 0.25 (the default
``Settings.drift_psi_warning``) a real shift.

Both sides come in the shapes of :attr:`earlywarn.model.artifact.RetentionModel.reference_stats`;
the
current side is :meth:`~earlywarn.model.artifact.RetentionModel.profile` of the scored features,
binned
with the training edges, so like is compared with like.

Many features grow with time in the term (days active, submissions due), so a week's students,
all a few weeks into their term, differ from the training rows of every checkpoint week pooled,
with no drift at all. When the model carries per-week reference statistics
(``reference_stats_by_week_``, made by :func:`reference_by_week` at training time), the expected
distribution is the mixture of the training weeks nearest to the scored students' weeks, in the
scored proportions; otherwise the pooled reference is used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from earlywarn.state.records import DriftRow

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.model.artifact import RetentionModel

Stats = Mapping[str, Mapping[str, Any]]

EPSILON = 1e-4


def psi(expected: Sequence[float], actual: Sequence[float], *, epsilon: float = EPSILON) -> float:
    """Population stability index between two distributions over the same bins."""
    if len(expected) != len(actual):
        raise ValueError(f"psi: {len(expected)} expected bins but {len(actual)} actual bins")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e_share = max(float(e), epsilon)
        a_share = max(float(a), epsilon)
        total += (a_share - e_share) * math.log(a_share / e_share)
    return total


def _shares(stats: Mapping[str, Any], categories: Sequence[str] | None) -> list[float]:
    """Shares of all rows per bin, the missing bin last (present shares scaled by 1 - missing)."""
    missing = float(stats.get("missing_share", 0.0))
    present = 1.0 - missing
    proportions = stats.get("proportions", {})
    if categories is not None:
        shares = [float(proportions.get(c, 0.0)) * present for c in categories]
    else:
        shares = [float(p) * present for p in proportions]
    return [*shares, missing]


def feature_psi(reference: Mapping[str, Any], current: Mapping[str, Any]) -> float:
    """PSI of one feature: its current statistics against its reference statistics."""
    if reference.get("kind") == "categorical":
        categories = sorted(set(reference["proportions"]) | set(current.get("proportions", {})))
        return psi(_shares(reference, categories), _shares(current, categories))
    if list(reference.get("edges", [])) != list(current.get("edges", [])):
        raise ValueError("drift: current statistics were not binned with the reference edges")
    return psi(_shares(reference, None), _shares(current, None))


def compute_drift(
    reference_stats: Mapping[str, Mapping[str, Any]],
    current_stats: Mapping[str, Mapping[str, Any]],
    *,
    warning_threshold: float,
) -> list[DriftRow]:
    """PSI of every feature present on both sides, largest first.

    A feature whose PSI is above ``warning_threshold`` (``Settings.drift_psi_warning``) has level
    ``"warning"``, the others ``"ok"``. Nothing is returned when no student was scored.
    """
    rows = []
    for name, reference in reference_stats.items():
        current = current_stats.get(name)
        if current is None:
            continue
        value = feature_psi(reference, current)
        rows.append(
            DriftRow(
                feature=name, psi=value, level="warning" if value > warning_threshold else "ok"
            )
        )
    return sorted(rows, key=lambda row: (-row.psi, row.feature))


def drift_warnings(rows: Sequence[DriftRow]) -> list[str]:
    """Names of the features whose drift is a warning, worst first (names only: no values)."""
    return [row.feature for row in rows if row.level == "warning"]


def reference_by_week(model: RetentionModel, frame: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Reference statistics of the training rows of each checkpoint week, with the model's edges.

    Meant for training: ``model.reference_stats_by_week_ = reference_by_week(model, train_rows)``.
    """
    weeks = frame["checkpoint_week"].astype(float).round().astype(int)
    return {int(week): model.profile(rows) for week, rows in frame.groupby(weeks, sort=True)}


def _nearest(week: float, available: Sequence[int]) -> int:
    return min(available, key=lambda w: (abs(w - week), w))


def mixed_reference(by_week: Mapping[int, Stats], scored_weeks: Sequence[float]) -> dict[str, Any]:
    """The reference a population with these checkpoint weeks should match: the per-week
    reference of the nearest training week of each scored row, mixed in the scored proportions."""
    available = sorted(int(w) for w in by_week)
    counts: dict[int, int] = {}
    for week in scored_weeks:
        nearest = _nearest(float(week), available)
        counts[nearest] = counts.get(nearest, 0) + 1
    total = sum(counts.values())
    features = by_week[available[0]].keys()
    mixed: dict[str, Any] = {}
    for name in features:
        first = by_week[available[0]][name]
        categorical = first.get("kind") == "categorical"
        categories = (
            sorted({c for w in counts for c in by_week[w][name]["proportions"]})
            if categorical
            else None
        )
        shares = [0.0] * (len(categories) if categories is not None else len(first["proportions"]))
        missing = 0.0
        for week, count in counts.items():
            weight = count / total
            week_shares = _shares(by_week[week][name], categories)
            for i, share in enumerate(week_shares[:-1]):
                shares[i] += weight * share
            missing += weight * week_shares[-1]
        present = 1.0 - missing
        normalised = [share / present if present > 0 else 0.0 for share in shares]
        entry: dict[str, Any] = {"kind": first.get("kind"), "missing_share": missing}
        if categories is not None:
            entry["proportions"] = dict(zip(categories, normalised, strict=True))
        else:
            entry["edges"] = list(first.get("edges", []))
            entry["proportions"] = normalised
        mixed[name] = entry
    return mixed


#: Features that measure when a student is scored, not who they are: the weekly run scores
#: everyone at one instant part-way through a week, training snapshots sit on whole weeks, so their
#: distributions always differ and say nothing about the data.
CLOCK_FEATURES = frozenset({"checkpoint_week"})


def scoring_drift(
    model: RetentionModel, features: pd.DataFrame, *, warning_threshold: float
) -> list[DriftRow]:
    """This week's drift: the scored features against the model's (week-matched) reference.

    The clock itself (:data:`CLOCK_FEATURES`) is left out.
    """
    if len(features) == 0:
        return []
    by_week: Mapping[int, Stats] | None = getattr(model, "reference_stats_by_week_", None)
    if by_week and "checkpoint_week" in features.columns:
        reference: Stats = mixed_reference(by_week, features["checkpoint_week"].astype(float))
    else:
        reference = model.reference_stats
    rows = compute_drift(reference, model.profile(features), warning_threshold=warning_threshold)
    return [row for row in rows if row.feature not in CLOCK_FEATURES]
