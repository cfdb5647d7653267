"""Training machinery: time split, metrics, audit, oracle, reproducibility, summary shape."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from earlywarn.core.errors import UsageError
from earlywarn.core.settings import Settings, load_settings
from earlywarn.model.metrics import expected_calibration_error
from earlywarn.training.baseline import baseline_risk, fit_baseline
from earlywarn.training.evaluate import (
    age_band,
    classification_metrics,
    ece_if_calibrated,
    oracle_risk,
    read_truth,
    subgroup_audit,
)
from earlywarn.training.fit import (
    design_profiles,
    feature_columns,
    observed_columns,
    risk_target,
    split_by_time,
    start_period,
    without_cohort_constants,
    without_course_design,
)
from earlywarn.training.params import (
    DESIGN_MIN_PROFILES,
    LEFT_OUT_OF_MODEL,
    monotone_directions,
)
from earlywarn.training.pipeline import train_on_dataset
from tests.fixtures.training_data import COHORT_STARTS, SIM_FEATURES, simulate_dataset


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return load_settings(tmp_path)


def test_split_trains_on_every_earlier_cohort_and_no_student_twice(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, _ = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    assert split.test_cohorts == ["T6"]
    # The most recent earlier cohort trains too: nothing is held out whole.
    assert set(split.train["cohort"].astype(str)) == {"T1", "T2", "T3", "T4", "T5"}
    assert not set(split.train["student_id"]) & set(split.test["student_id"])
    assert len(split.train) + len(split.test) == len(frame)


def test_cohorts_starting_in_the_same_season_are_tested_together() -> None:
    frame, _ = simulate_dataset(n_per_cohort=40)
    starts = dict(COHORT_STARTS) | {"T5": pd.Timestamp("2025-01-20")}
    split = split_by_time(frame, starts)
    assert split.test_cohorts == ["T5", "T6"]
    assert split.test_period == "2024-12 winter"


def test_start_periods_are_seasons_in_time_order() -> None:
    days = ["2025-08-31", "2025-09-01", "2025-11-30", "2025-12-01", "2026-02-28", "2026-03-01"]
    periods = [start_period(pd.Timestamp(d)) for d in days]
    assert periods == [
        "2025-06 summer",
        "2025-09 fall",
        "2025-09 fall",
        "2025-12 winter",
        "2025-12 winter",
        "2026-03 spring",
    ]
    assert periods == sorted(periods)


def test_too_few_cohorts_is_a_usage_error() -> None:
    frame, _ = simulate_dataset(n_per_cohort=10)
    one = frame[frame["cohort"].isin(["T1"])]
    with pytest.raises(UsageError, match="only 1 start period"):
        split_by_time(one, COHORT_STARTS)


def test_unlabelled_rows_are_left_out() -> None:
    frame, _ = simulate_dataset(n_per_cohort=20)
    frame = frame.assign(retained=frame["retained"].astype("float64"))
    frame.loc[frame["cohort"] == "T6", "retained"] = np.nan
    split = split_by_time(frame, COHORT_STARTS)
    assert split.test_cohorts == ["T5"]


def test_monotone_directions_point_at_risk() -> None:
    directions = monotone_directions(SIM_FEATURES)
    assert directions["first_assessment_on_time"] == -1  # on time lowers risk
    assert directions["courses_dropped"] == 1  # drops raise risk
    assert directions["video_share"] == 0
    assert directions["country_group"] == 0


def test_features_never_observed_in_training_are_dropped(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, _ = simulated_dataset
    frame = frame.assign(grade_first_term=np.nan)
    specs = dict(SIM_FEATURES) | {"grade_first_term": SIM_FEATURES["video_share"]}
    columns = feature_columns(specs, list(frame.columns), include_sensitive=False)
    kept, dropped = observed_columns(columns, frame)
    assert dropped == ["grade_first_term"]
    assert "grade_first_term" not in {c.name for c in kept}


def test_course_design_is_left_out_when_a_few_designs_would_name_their_courses(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, _ = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    # Many distinct designs: kept.
    assert design_profiles(split.train, SIM_FEATURES) >= DESIGN_MIN_PROFILES
    kept, left_out = without_course_design(columns, split.train, SIM_FEATURES)
    assert left_out == []
    assert "video_share" in {c.name for c in kept}
    # One design per program (a few courses, as in OULAD): each value names a program's course.
    few = split.train.assign(video_share=split.train["program_id"].astype(str).str.len() * 0.1)
    few["video_share"] += split.train["program_id"].astype(str).map(hash) % 7 * 0.01
    kept, left_out = without_course_design(columns, few, SIM_FEATURES)
    assert left_out == ["video_share"]
    assert "video_share" not in {c.name for c in kept}


def test_a_number_the_same_for_a_whole_cohort_week_is_left_out(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    """It says nothing about the student and only names the cohort's course; the week, the
    program and every number that differs between students of a cohort-week stay."""
    frame, _ = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    train = split.train.assign(
        program=split.train["program_id"].astype("category"),
        # The days to the cohort's first deadline: one value per cohort and week.
        video_share=split.train["cohort"].cat.codes * 10.0 - split.train["checkpoint_week"],
    )
    train.loc[train.index[::50], "video_share"] = np.nan  # a missing value is not a second value
    specs = SIM_FEATURES | {
        "program": SIM_FEATURES["country_group"].__class__("program", "context", "categorical")
    }
    columns = feature_columns(specs, [*train.columns], include_sensitive=False)
    kept, left_out = without_cohort_constants(columns, train)
    assert left_out == ["video_share"]
    names = {c.name for c in kept}
    assert {"checkpoint_week", "program", "days_active_first_term"} <= names
    assert "video_share" not in names
    # One student with another value in one cohort-week: it tells students apart, so it stays.
    train.loc[train.index[1], "video_share"] = -999.0
    assert without_cohort_constants(columns, train)[1] == []
    # One student per cohort-week shows nothing either way: every number stays.
    single = train.drop_duplicates(["cohort", "checkpoint_week"])
    assert without_cohort_constants(columns, single)[1] == []


def test_reviewed_features_never_reach_the_model() -> None:
    specs = dict.fromkeys(LEFT_OUT_OF_MODEL, SIM_FEATURES["video_share"]) | {
        "x": SIM_FEATURES["video_share"]
    }
    columns = feature_columns(specs, [*specs, "checkpoint_week"], include_sensitive=True)
    assert [c.name for c in columns] == ["x", "checkpoint_week"]


def test_baseline_leaves_out_features_never_observed_in_training(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    # Warnings are errors here: an imputer fitted on an all-missing column would warn.
    frame, _ = simulated_dataset
    frame = frame.assign(grade_first_term=np.nan)
    specs = dict(SIM_FEATURES) | {"grade_first_term": SIM_FEATURES["video_share"]}
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(specs, list(frame.columns), include_sensitive=False)
    pipeline = fit_baseline(split, columns, seed=0)
    assert "grade_first_term" not in set(pipeline.feature_names_in_)
    risk = baseline_risk(pipeline, split.test, columns)
    assert risk.shape == (len(split.test),)
    assert ((risk > 0) & (risk < 1)).all()


def test_baseline_takes_the_programs_rate_and_not_the_program_itself(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    """The two are collinear in a linear model, so a program new to it would get an arbitrary
    offset; the model has both (the booster splits one program against the rest)."""
    frame, _ = simulated_dataset
    frame = frame.assign(program=frame["program_id"].astype("category"))
    specs = SIM_FEATURES | {
        "program": SIM_FEATURES["country_group"].__class__("program", "context", "categorical")
    }
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(specs, list(frame.columns), include_sensitive=False)
    assert "program" in {c.name for c in columns}
    pipeline = fit_baseline(split, columns, seed=0)
    assert "program_history_rate" in set(pipeline.feature_names_in_)
    assert "program" not in set(pipeline.feature_names_in_)
    test = split.test.assign(program_history_rate=np.float32(0.3))
    new = test.assign(program="a program never seen")
    np.testing.assert_allclose(
        baseline_risk(pipeline, new, columns), baseline_risk(pipeline, test, columns)
    )


def test_ece_noise_floor_covers_calibrated_predictions_and_shrinks_with_rows() -> None:
    rng = np.random.default_rng(5)
    small = rng.uniform(0.05, 0.6, 500)
    large = rng.uniform(0.05, 0.6, 20_000)
    floor_small, p95_small = ece_if_calibrated(small, seed=1)
    floor_large, p95_large = ece_if_calibrated(large, seed=1)
    assert p95_large < p95_small
    assert 0 < floor_large < floor_small
    assert floor_small < p95_small
    # Labels drawn from the predictions (perfect calibration) stay under the 95th percentile
    # about 95% of the time.
    inside = [
        expected_calibration_error(rng.random(500) < small, small) <= p95_small for _ in range(200)
    ]
    assert 0.88 <= np.mean(inside) <= 0.99
    # Certain predictions have no sampling noise at all.
    assert ece_if_calibrated(np.array([0.0, 1.0, 1.0, 0.0])) == (0.0, 0.0)


def test_metrics_by_hand() -> None:
    at_risk = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 2)
    risk = np.linspace(0.95, 0.05, 20)  # riskiest first
    m = classification_metrics(at_risk, risk)
    # The top 10% are rows 0 and 1, both at risk: precision 1, and 2 of the 4 at-risk caught.
    assert m["top10_precision"] == pytest.approx(1.0)
    assert m["top10_recall"] == pytest.approx(0.5)
    assert m["n"] == 20
    assert m["at_risk_rate"] == pytest.approx(0.2)
    assert 0.5 < m["roc_auc"] < 1.0
    one_class = classification_metrics(np.zeros(5), np.full(5, 0.1))
    assert one_class["roc_auc"] is None
    assert one_class["top10_recall"] is None


def test_audit_reports_the_largest_gap() -> None:
    rng = np.random.default_rng(0)
    n = 400
    group = pd.Series(np.where(np.arange(n) < 200, "a", "b"))
    at_risk = pd.Series(rng.integers(0, 2, n))
    # Informative scores for group a, noise for group b.
    risk = np.where(group == "a", at_risk * 0.6 + rng.random(n) * 0.4, rng.random(n))
    audit = subgroup_audit({"country_group": group}, at_risk, risk)
    gap = audit["country_group"]["largest_gap"]["roc_auc"]
    assert gap["highest"] == "a"
    assert gap["lowest"] == "b"
    groups = audit["country_group"]["groups"]
    assert gap["gap"] == pytest.approx(groups["a"]["roc_auc"] - groups["b"]["roc_auc"])
    assert gap["gap"] > 0.3


def test_age_bands() -> None:
    bands = age_band(pd.Series([18, 25, 34, 35, 44, 45, 80, np.nan]))
    assert list(bands) == [
        "under 25",
        "25-34",
        "25-34",
        "35-44",
        "35-44",
        "45 and over",
        "45 and over",
        "unknown",
    ]


def test_oracle_from_the_truth_file(tmp_path, simulated_dataset) -> None:  # type: ignore[no-untyped-def]
    frame, truth = simulated_dataset
    assert read_truth(tmp_path) is None
    (tmp_path / "_truth").mkdir()
    truth.rename_axis("student_id").reset_index().to_csv(
        tmp_path / "_truth" / "students.csv", index=False
    )
    read = read_truth(tmp_path)
    assert read is not None
    test = frame.head(6)
    risk = oracle_risk(test, read)
    assert risk is not None
    np.testing.assert_allclose(risk, 1 - truth.loc[test["student_id"].astype(str)].to_numpy())


def test_same_seed_same_metrics_and_the_summary_shape(
    settings: Settings, simulated_dataset: tuple[pd.DataFrame, pd.Series]
) -> None:
    frame, truth = simulated_dataset
    first = train_on_dataset(frame, SIM_FEATURES, COHORT_STARTS, settings, truth=truth)
    second = train_on_dataset(frame, SIM_FEATURES, COHORT_STARTS, settings, truth=truth)
    assert first.evaluation == second.evaluation
    summary = json.loads(json.dumps(first.summary()))
    assert summary["model_name"] == "earlywarn-retention"
    assert summary["test_cohort"] == "2024-12 winter"
    assert [w["week"] for w in summary["weeks"]] == [2, 4, 6]
    keys = {"week", "n", "positives", "roc_auc", "roc_auc_ci", "pr_auc", "brier", "ece"}
    keys |= {"baseline_roc_auc", "prior_roc_auc", "oracle_roc_auc", "top_n_precision"}
    keys |= {"top_n_recall", "oracle_ece", "ece_floor", "ece_floor_p95", "ece_debiased"}
    for week in summary["weeks"]:
        assert keys <= set(week)
        assert isinstance(week["oracle_roc_auc"], float)
        low, high = week["roc_auc_ci"]
        assert low < week["roc_auc"] < high
        assert week["ece_floor"] < week["ece_floor_p95"]
        assert week["ece_debiased"] == pytest.approx(week["ece"] - week["ece_floor"])
    assert {"split", "model", "baseline", "evaluation"} <= set(summary["step_seconds"])
    # No pooled or label-chosen headline: the one summary is the named window's mean weekly AUC.
    assert "overall" not in summary
    assert "last_checkpoint" not in summary
    assert summary["window"]["name"] == "mean weekly ROC-AUC, weeks 1-8"
    window = summary["window"]
    assert window["mean_roc_auc"] == pytest.approx(
        np.mean([w["roc_auc"] for w in summary["weeks"]])
    )
    # The booster learns (more than one tree) and the model beats chance, bounded by the oracle.
    assert summary["trees"] > 1
    assert 0.6 < window["mean_roc_auc"] <= window["mean_oracle_roc_auc"] + 0.02
    assert "program_id" in summary["fairness"]["attributes"]
    assert risk_target(first.split.test).sum() > 0


def test_a_different_seed_changes_the_model(
    settings: Settings, simulated_dataset: tuple[pd.DataFrame, pd.Series]
) -> None:
    frame, _ = simulated_dataset
    base = train_on_dataset(frame, SIM_FEATURES, COHORT_STARTS, settings)
    other = train_on_dataset(
        frame, SIM_FEATURES, COHORT_STARTS, load_settings(settings.home, seed=settings.seed + 1)
    )
    assert not np.array_equal(base.test_risk, other.test_risk)
