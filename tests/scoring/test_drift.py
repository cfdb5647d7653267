"""Drift: the population stability index on known distributions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from earlywarn.scoring.drift import (
    CALENDAR_FEATURES,
    EPSILON,
    alarm_threshold,
    compute_drift,
    drift_summary_line,
    drift_warnings,
    feature_psi,
    psi,
    scoring_drift,
)
from earlywarn.scoring.drift_snapshot import mixed_reference, reference_by_week


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


def test_mixed_reference_weights_the_cells_of_the_scored_students() -> None:
    by_week = {
        1: {"x": {**_numeric([1.0, 0.0, 0.0, 0.0]), "rows": 100}},
        4: {"x": {**_numeric([0.0, 0.0, 0.0, 1.0], missing=0.5), "rows": 50}},
    }
    # Three students in week 1 and one in week 4; a week without a reference is left out.
    mixed = mixed_reference(by_week, [1, 1, 1, 4, 9])
    x = mixed.stats["x"]
    assert x["missing_share"] == pytest.approx(0.125)
    # Present shares: 0.75 in the lowest bin, 0.125 in the highest, of 0.875 present.
    assert x["proportions"] == pytest.approx([0.75 / 0.875, 0.0, 0.0, 0.125 / 0.875])
    assert x["edges"] == [1.0, 2.0, 3.0]
    # Effective reference size of the mixture: n^2 / sum(n_w^2 / N_w) = 16 / (9/100 + 1/50).
    assert mixed.rows == pytest.approx(16 / (9 / 100 + 1 / 50))


def test_the_alarm_threshold_shrinks_with_the_sample_to_its_floor() -> None:
    small = alarm_threshold(11, 40, 5000, tests=60, false_alarm_rate=0.01, floor=0.25)
    large = alarm_threshold(11, 4000, 50000, tests=60, false_alarm_rate=0.01, floor=0.25)
    assert small > 0.8  # 40 students: sampling noise alone reaches PSI 0.5 now and then
    assert large == 0.25  # thousands: the effect-size floor decides
    more_tests = alarm_threshold(11, 40, 5000, tests=600, false_alarm_rate=0.01, floor=0.25)
    assert more_tests > small  # more features checked, each held to a stricter bound


def test_unchanged_data_alarms_at_most_at_the_stated_rate() -> None:
    """Many runs of 20 features drawn from the reference itself: the share of runs with any
    alarm stays under the false-alarm rate (the effect floor set aside)."""
    rng = np.random.default_rng(11)
    shares = np.array([0.05, 0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.05])
    reference_rows, students, features, runs, rate = 4000, 60, 20, 400, 0.05
    reference = {
        f"f{i}": {
            **_numeric_bins(rng.multinomial(reference_rows, shares) / reference_rows),
            "rows": reference_rows,
        }
        for i in range(features)
    }
    alarmed_runs = 0
    for _ in range(runs):
        current = {
            name: {**_numeric_bins(rng.multinomial(students, shares) / students), "rows": students}
            for name in reference
        }
        rows = compute_drift(
            reference,
            current,
            warning_threshold=1e-9,
            false_alarm_rate=rate,
            reference_rows=reference_rows,
        )
        alarmed_runs += any(row.level == "warning" for row in rows)
    assert alarmed_runs / runs <= rate


def _numeric_bins(proportions: np.ndarray) -> dict:
    edges = [float(i) for i in range(1, len(proportions))]
    return {"kind": "numeric", "edges": edges, "proportions": list(proportions), "missing_share": 0}


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


def _scoring_drift(model: Any, rows: pd.DataFrame) -> list:
    return scoring_drift(model, rows, warning_threshold=0.25, false_alarm_rate=0.01)


def test_week_matched_reference_sees_no_drift_where_pooled_weeks_would(
    week_model: tuple[Any, Any],
) -> None:
    model, split = week_model
    # Training learns the per-week references; set them aside to see the pooled one alone.
    learned = model.reference_stats_by_week_, model.reference_stats_by_program_week_
    assert learned[0] == reference_by_week(model, split.train)
    model.reference_stats_by_week_ = model.reference_stats_by_program_week_ = None
    # This week's students are all at checkpoint week 2 of a later, unchanged cohort.
    scored = split.test[split.test["checkpoint_week"] == 2]
    try:
        pooled = _scoring_drift(model, scored)
        assert "days_active_first_term" in drift_warnings(pooled)
        model.reference_stats_by_week_, model.reference_stats_by_program_week_ = learned
        matched = _scoring_drift(model, scored)
        assert drift_warnings(matched) == []
        # A real shift still shows: the platform stops recording half the activity.
        halved = scored.assign(days_active_first_term=scored["days_active_first_term"] // 2)
        shifted = _scoring_drift(model, halved)
        assert drift_warnings(shifted) == ["days_active_first_term"]
    finally:
        model.reference_stats_by_week_, model.reference_stats_by_program_week_ = learned


def test_nothing_scored_means_no_drift(week_model: tuple[Any, Any]) -> None:
    model, split = week_model
    assert _scoring_drift(model, split.test.iloc[:0]) == []


def test_the_calendar_is_never_reported_as_drift(week_model: tuple[Any, Any]) -> None:
    model, split = week_model
    rows = _scoring_drift(model, split.test[split.test["checkpoint_week"] == 2])
    assert rows
    assert not {row.feature for row in rows} & ({"checkpoint_week"} | CALENDAR_FEATURES)


def test_the_summary_line_names_what_moved_and_what_to_check() -> None:
    from earlywarn.state.records import DriftRow

    quiet = [DriftRow("days_active_first_term", 0.05, "ok", 0.25)]
    assert drift_summary_line(quiet).startswith("Drift: none")
    loud = [
        DriftRow("learning_hours_first_term", 5.5, "warning", 0.25),
        DriftRow("missing_submissions", 0.6, "warning", 0.3, "program P02"),
        DriftRow("graded_score", 0.1, "ok", 0.25),
    ]
    line = drift_summary_line(loud)
    assert "\n" not in line
    assert "learning_hours_first_term" in line
    assert "missing_submissions" in line
    assert "graded_score" not in line
    assert "activity" in line
    assert "submissions" in line
