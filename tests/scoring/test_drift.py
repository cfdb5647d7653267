"""Drift: the population stability index on known distributions."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from earlywarn.scoring.drift import (
    EPSILON,
    compute_drift,
    drift_warnings,
    feature_psi,
    mixed_reference,
    psi,
    reference_by_week,
    scoring_drift,
)


def _numeric(proportions: list[float], missing: float = 0.0) -> dict:
    return {
        "kind": "numeric",
        "edges": [1.0, 2.0, 3.0],
        "proportions": proportions,
        "missing_share": missing,
    }


def test_identical_distributions_have_no_drift() -> None:
    reference = _numeric([0.25, 0.25, 0.25, 0.25], missing=0.1)
    assert feature_psi(reference, dict(reference)) == pytest.approx(0.0, abs=1e-12)


def test_psi_matches_the_formula_on_a_shift() -> None:
    # Half the mass moves from the two lowest bins to the two highest.
    expected = [0.25, 0.25, 0.25, 0.25]
    actual = [0.1, 0.1, 0.4, 0.4]
    by_hand = sum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True))
    assert psi(expected, actual) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(0.4159, abs=1e-4)  # 2(-0.15 ln 0.4) + 2(0.15 ln 1.6)
    assert feature_psi(_numeric(expected), _numeric(actual)) == pytest.approx(by_hand)


def test_a_wholly_shifted_feature_is_large_but_finite() -> None:
    value = feature_psi(_numeric([1.0, 0.0, 0.0, 0.0]), _numeric([0.0, 0.0, 0.0, 1.0]))
    assert math.isfinite(value)
    assert value == pytest.approx(2 * (1 - EPSILON) * math.log(1 / EPSILON))
    assert value > 10


def test_a_feature_that_goes_missing_drifts() -> None:
    reference = _numeric([0.25, 0.25, 0.25, 0.25], missing=0.0)
    current = _numeric([0.25, 0.25, 0.25, 0.25], missing=0.5)
    assert feature_psi(reference, current) > 0.25


def test_categorical_psi_counts_new_and_vanished_categories() -> None:
    reference = {"kind": "categorical", "proportions": {"a": 0.5, "b": 0.5}, "missing_share": 0.0}
    same = {"kind": "categorical", "proportions": {"b": 0.5, "a": 0.5}, "missing_share": 0.0}
    moved = {"kind": "categorical", "proportions": {"a": 0.5, "c": 0.5}, "missing_share": 0.0}
    assert feature_psi(reference, same) == pytest.approx(0.0, abs=1e-12)
    assert feature_psi(reference, moved) > 1.0


def test_numeric_statistics_binned_differently_are_refused() -> None:
    current = {**_numeric([0.5, 0.5]), "edges": [5.0]}
    with pytest.raises(ValueError, match="reference edges"):
        feature_psi(_numeric([0.25, 0.25, 0.25, 0.25]), current)


def test_compute_drift_flags_only_features_above_the_threshold_worst_first() -> None:
    reference = {
        "stable": _numeric([0.25, 0.25, 0.25, 0.25]),
        "shifted": _numeric([0.25, 0.25, 0.25, 0.25]),
        "slight": _numeric([0.25, 0.25, 0.25, 0.25]),
        "not_scored": _numeric([0.25, 0.25, 0.25, 0.25]),
    }
    current = {
        "stable": _numeric([0.25, 0.25, 0.25, 0.25]),
        "shifted": _numeric([0.05, 0.05, 0.2, 0.7]),
        "slight": _numeric([0.2, 0.25, 0.25, 0.3]),
    }
    rows = compute_drift(reference, current, warning_threshold=0.25)
    assert [r.feature for r in rows] == ["shifted", "slight", "stable"]
    assert [r.level for r in rows] == ["warning", "ok", "ok"]
    assert drift_warnings(rows) == ["shifted"]


def test_mixed_reference_weights_the_weeks_of_the_scored_students() -> None:
    by_week = {
        1: {"x": _numeric([1.0, 0.0, 0.0, 0.0])},
        4: {"x": _numeric([0.0, 0.0, 0.0, 1.0], missing=0.5)},
    }
    # Three students near week 1 (0.8, 1.2, 2.4 -> 1) and one past week 4 (6.0 -> 4).
    mixed = mixed_reference(by_week, [0.8, 1.2, 2.4, 6.0])["x"]
    assert mixed["missing_share"] == pytest.approx(0.125)
    # Present shares: 0.75 in the lowest bin, 0.125 in the highest, of 0.875 present.
    assert mixed["proportions"] == pytest.approx([0.75 / 0.875, 0.0, 0.0, 0.125 / 0.875])
    assert mixed["edges"] == [1.0, 2.0, 3.0]


@pytest.fixture(scope="module")
def week_model(simulated_dataset: tuple[pd.DataFrame, pd.Series]) -> tuple[Any, pd.DataFrame]:
    """A real model trained on the simulated cohorts, days active growing with the week."""
    from earlywarn.training.fit import feature_columns, fit_retention_model, split_by_time
    from tests.fixtures.training_data import COHORT_STARTS, SIM_FEATURES

    frame, _ = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    model = fit_retention_model(split, columns, seed=7)
    return model, split


def test_week_matched_reference_sees_no_drift_where_pooled_weeks_would(
    week_model: tuple[Any, Any],
) -> None:
    model, split = week_model
    # Training learns the per-week reference; set it aside to see the pooled one alone.
    learned = model.reference_stats_by_week_
    assert learned == reference_by_week(model, split.train)
    model.reference_stats_by_week_ = None
    # This week's students are all at checkpoint week 2 of a later, unchanged cohort.
    scored = split.test[split.test["checkpoint_week"] == 2]
    pooled = scoring_drift(model, scored, warning_threshold=0.25)
    assert "days_active_first_term" in drift_warnings(pooled)

    model.reference_stats_by_week_ = learned
    try:
        matched = scoring_drift(model, scored, warning_threshold=0.25)
        assert drift_warnings(matched) == []
        # A real shift still shows: the platform stops recording half the activity.
        halved = scored.assign(days_active_first_term=scored["days_active_first_term"] // 2)
        shifted = scoring_drift(model, halved, warning_threshold=0.25)
        assert drift_warnings(shifted) == ["days_active_first_term"]
    finally:
        model.reference_stats_by_week_ = learned


def test_nothing_scored_means_no_drift(week_model: tuple[Any, Any]) -> None:
    model, split = week_model
    assert scoring_drift(model, split.test.iloc[:0], warning_threshold=0.25) == []


def test_the_scoring_clock_is_never_reported_as_drift(week_model: tuple[Any, Any]) -> None:
    """Scoring mid-week (week 2.4) differs from whole training weeks by design, not by data."""
    model, split = week_model
    scored = split.test[split.test["checkpoint_week"] == 2]
    mid_week = scored.assign(checkpoint_week=2.4)
    rows = scoring_drift(model, mid_week, warning_threshold=0.25)
    assert "checkpoint_week" not in {row.feature for row in rows}
    assert drift_warnings(rows) == []
