"""The retention model artifact: behaviour, calibration, contributions and drift references.

Trained once per module on a simulated dataset whose true signal is known (tests/fixtures/
training_data.py): missing the first deadline, fewer active days and dropped courses raise risk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from earlywarn.core.settings import Settings
from earlywarn.model.artifact import EXPECTED_VALUE, RetentionModel
from earlywarn.model.calibration import calibration_folds, fit_calibrator, week_bands
from earlywarn.model.columns import FeatureColumn
from earlywarn.model.linear import MonotoneLinear
from earlywarn.model.metrics import expected_calibration_error, weekly_ece
from earlywarn.scoring.drift import drift_warnings, reference_by_week, scoring_drift
from earlywarn.training.fit import (
    DatasetSplit,
    feature_columns,
    fit_retention_model,
    risk_target,
    split_by_time,
)
from earlywarn.training.params import lightgbm_params
from tests.fixtures.training_data import COHORT_STARTS, SIM_FEATURES


def split_and_columns(
    frame: pd.DataFrame, *, include_sensitive: bool = False
) -> tuple[DatasetSplit, list[FeatureColumn]]:
    """The simulated dataset split by time, and the model's columns."""
    split = split_by_time(frame, COHORT_STARTS)
    return split, feature_columns(
        SIM_FEATURES, list(frame.columns), include_sensitive=include_sensitive
    )


@pytest.fixture(scope="module")
def fitted(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> tuple[RetentionModel, pd.DataFrame]:
    frame, _ = simulated_dataset
    split, columns = split_and_columns(frame)
    return fit_retention_model(split, columns, seed=7), split.test


def test_missed_first_deadline_never_lowers_risk(
    fitted: tuple[RetentionModel, pd.DataFrame],
) -> None:
    model, test = fitted
    on_time = test.assign(first_assessment_on_time=1)
    missed = test.assign(first_assessment_on_time=0)
    assert (model.predict_risk(missed) >= model.predict_risk(on_time) - 1e-12).all()
    assert (model.predict_risk(missed) > model.predict_risk(on_time)).mean() > 0.5


def test_more_days_active_never_raises_risk(fitted: tuple[RetentionModel, pd.DataFrame]) -> None:
    model, test = fitted
    base = model.predict_risk(test)
    for extra in (1, 5, 20):
        more = test.assign(days_active_first_term=test["days_active_first_term"] + extra)
        assert (model.predict_risk(more) <= base + 1e-12).all()


def test_more_dropped_courses_never_lowers_risk(
    fitted: tuple[RetentionModel, pd.DataFrame],
) -> None:
    model, test = fitted
    more = test.assign(courses_dropped=test["courses_dropped"] + 1)
    assert (model.predict_risk(more) >= model.predict_risk(test) - 1e-12).all()


def test_risk_is_a_calibrated_probability(fitted: tuple[RetentionModel, pd.DataFrame]) -> None:
    model, test = fitted
    risk = model.predict_risk(test)
    assert ((risk >= 0) & (risk <= 1)).all()
    observed = risk_target(test).mean()
    assert abs(risk.mean() - observed) < 0.05, (risk.mean(), observed)
    # checkpoint_week is a feature, so the week-aware calibrators compete too.
    methods = {"sigmoid", "sigmoid_by_week", "sigmoid_by_band"}
    assert set(model.calibration_ece_) == methods
    assert model.calibration_method_ in methods
    chosen = model.calibration_ece_[model.calibration_method_]
    assert chosen <= min(model.calibration_ece_.values()) / 0.9 + 1e-12


def test_week_aware_calibration_fixes_a_map_that_changes_with_the_week() -> None:
    # Early scores rest on little behaviour: the same raw score means less at week 1 than at 9.
    rng = np.random.default_rng(3)
    n = 20_000  # each week fills its own isotonic band (ISOTONIC_BAND_ROWS) in the fitting half
    week = rng.choice([1.0, 9.0], n)
    raw = rng.normal(0.0, 1.5, n)
    truth = 1.0 / (1.0 + np.exp(-np.where(week == 1, 0.3 * raw - 0.8, 1.5 * raw + 0.4)))
    y = (rng.random(n) < truth).astype(int)
    fit, check = np.arange(n) < n // 2, np.arange(n) >= n // 2
    errors = {}
    for method in ("sigmoid", "sigmoid_by_week", "isotonic", "isotonic_by_week"):
        calibrator = fit_calibrator(method, raw[fit], y[fit], week[fit])
        errors[method] = weekly_ece(
            y[check], calibrator.transform(raw[check], week[check]), week[check]
        )
    assert errors["sigmoid_by_week"] < 0.6 * errors["sigmoid"], errors
    assert errors["isotonic_by_week"] < 0.6 * errors["isotonic"], errors
    with pytest.raises(ValueError, match="checkpoint_week"):
        fit_calibrator("isotonic_by_week", raw, y, None)


def test_isotonic_map_keeps_the_raw_score_order_and_stays_calibrated() -> None:
    """A step-shaped isotonic map ties students the raw score ranks apart and loses ROC-AUC;
    the centred map keeps their order inside the fitted range and is as calibrated."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    n = 8_000
    raw = rng.normal(-1.0, 0.4, n)  # close-together scores, like week 1's
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-raw))).astype(int)
    fit, check = np.arange(n) < n // 2, np.arange(n) >= n // 2
    for method in ("isotonic", "isotonic_by_week"):
        calibrator = fit_calibrator(method, raw[fit], y[fit], np.ones(n // 2))
        risk = calibrator.transform(raw[check], np.ones(n // 2))
        inside = (raw[check] > raw[fit].min()) & (raw[check] < raw[fit].max())
        order = np.argsort(raw[check][inside])
        assert (np.diff(risk[inside][order]) >= 0).all()
        steps = IsotonicRegression(out_of_bounds="clip").fit(raw[fit], y[fit]).predict(raw[check])
        auc_raw = roc_auc_score(y[check], raw[check])
        # Only the rows beyond the outermost block means share a value.
        assert roc_auc_score(y[check], risk) > roc_auc_score(y[check], steps)
        assert roc_auc_score(y[check], risk) == pytest.approx(auc_raw, abs=0.003)
        assert len(np.unique(risk)) > 0.9 * len(risk) > len(np.unique(steps))
        assert expected_calibration_error(y[check], risk) < 0.03
        assert abs(risk.mean() - y[check].mean()) < 0.02


def test_isotonic_map_saved_before_centring_still_scores_as_steps() -> None:
    """A champion pickled before the centred map existed has no centres: it keeps its steps."""
    rng = np.random.default_rng(6)
    raw = rng.normal(0.0, 1.0, 2_000)
    y = (rng.random(2_000) < 1.0 / (1.0 + np.exp(-raw))).astype(int)
    calibrator = fit_calibrator("isotonic", raw, y)
    del calibrator.centres_, calibrator.rates_
    np.testing.assert_array_equal(calibrator.transform(raw), calibrator.model_.predict(raw))


def test_week_bands_hold_enough_rows() -> None:
    weeks = np.repeat([1, 2, 3, 4, 5, 6], [5000, 4000, 1500, 1500, 1500, 500])
    # Week 1 and 2 each fill a band; 3-5 together do; week 6's 500 rows join the band before.
    assert week_bands(weeks, min_rows=4000) == [1.0, 2.0, 3.0]
    assert week_bands(weeks, min_rows=100_000) == [1.0]


def test_calibration_folds_keep_a_student_together_and_balance_labels() -> None:
    rng = np.random.default_rng(0)
    students = np.repeat(np.arange(1000), 3).astype(str)
    label = np.repeat(rng.random(1000) < 0.3, 3).astype(int)
    folds = calibration_folds(label, students, seed=1)
    per_student = pd.Series(folds).groupby(students).nunique()
    assert (per_student == 1).all()
    assert sorted(np.unique(folds)) == [0, 1, 2, 3, 4]
    rates = pd.Series(label).groupby(folds).mean()
    assert rates.max() - rates.min() < 0.01
    np.testing.assert_array_equal(folds, calibration_folds(label, students, seed=1))


def test_sensitive_attributes_are_left_out_unless_allowed(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, _ = simulated_dataset
    default = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    allowed = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=True)
    assert {"age", "country_group", "education_level"}.isdisjoint(c.name for c in default)
    assert {"age", "country_group", "education_level"} <= {c.name for c in allowed}
    assert Settings.model_fields["include_sensitive_attributes"].default is False


def test_predict_selects_its_own_columns(fitted: tuple[RetentionModel, pd.DataFrame]) -> None:
    model, test = fitted
    shuffled = test[list(reversed(test.columns))].assign(unrelated=1.0)
    np.testing.assert_array_equal(model.predict_risk(shuffled), model.predict_risk(test))
    with pytest.raises(KeyError, match="days_active_first_term"):
        model.predict_risk(test.drop(columns=["days_active_first_term"]))


def test_unseen_category_counts_as_missing(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, _ = simulated_dataset
    split, columns = split_and_columns(frame, include_sensitive=True)
    model = fit_retention_model(split, columns, seed=1)
    rows = split.test.head(20)
    unseen = model.predict_risk(rows.assign(country_group="atlantis"))
    missing = model.predict_risk(rows.assign(country_group=None))
    np.testing.assert_allclose(unseen, missing)
    assert model.categories_["country_group"] == ["east", "north", "south"]


def test_contributions_add_up_and_point_towards_risk(
    fitted: tuple[RetentionModel, pd.DataFrame],
) -> None:
    model, test = fitted
    contributions = model.contributions(test)
    assert list(contributions.columns) == [*model.feature_names, EXPECTED_VALUE]
    np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(test), atol=1e-9)
    missed = test["first_assessment_on_time"] == 0
    assert (contributions.loc[missed, "first_assessment_on_time"] > 0).all()
    assert (contributions.loc[~missed, "first_assessment_on_time"] < 0).all()


def test_reference_stats_describe_the_training_features(
    fitted: tuple[RetentionModel, pd.DataFrame],
) -> None:
    model, test = fitted
    stats = model.reference_stats
    assert set(stats) == set(model.feature_names)
    days = stats["days_active_first_term"]
    assert days["kind"] == "numeric"
    assert len(days["proportions"]) == len(days["edges"]) + 1
    assert sum(days["proportions"]) == pytest.approx(1.0)
    assert 0.0 <= days["missing_share"] <= 1.0
    # The same profile on new data has the same bins, and differs when the data shift.
    shifted = model.profile(test.assign(days_active_first_term=test["days_active_first_term"] + 30))
    assert shifted["days_active_first_term"]["edges"] == days["edges"]
    assert shifted["days_active_first_term"]["proportions"][-1] == pytest.approx(1.0)


def test_same_seed_gives_the_same_model(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
    fitted: tuple[RetentionModel, pd.DataFrame],
) -> None:
    frame, _ = simulated_dataset
    model, test = fitted
    split, columns = split_and_columns(frame)
    again = fit_retention_model(split, columns, seed=7)
    np.testing.assert_array_equal(again.predict_risk(test), model.predict_risk(test))


def test_rows_binned_once_give_the_same_booster_and_fold_models_stop_on_their_left_out_rows(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, _ = simulated_dataset
    split, columns = split_and_columns(frame)
    train = split.train
    y = risk_target(train).to_numpy()

    def model(trees: int) -> RetentionModel:
        return RetentionModel(columns, lightgbm_params(7), n_estimators=trees)

    template = model(2000)
    binned = template.bin_rows(train, y)
    own = model(30).fit(train, y)
    shared = model(30).fit(train, y, binned=binned)
    # The same trees (the parameters block differs only in the thread count recorded).
    assert shared.booster_.dump_model()["tree_info"] == own.booster_.dump_model()["tree_info"]
    np.testing.assert_array_equal(shared.raw_score(split.test), own.raw_score(split.test))
    with pytest.raises(ValueError, match="not the rows and columns"):
        model(30).fit(train.iloc[:-1], y[:-1], binned=binned)

    inside = np.arange(len(train)) % 3 != 0
    fold = model(2000).fit_fold(template, binned, inside)
    assert 1 <= fold.best_iteration_ < 2000  # stopped early on the rows left out
    scores = fold.raw_score(train[~inside])
    assert np.isfinite(scores).all()
    assert roc_auc_score(y[~inside], scores) > 0.6


def test_expected_calibration_error_by_hand() -> None:
    # Ten rows predicted 0.5 with 2 positives: one bin, |0.5 - 0.2| = 0.3.
    assert expected_calibration_error([1, 1] + [0] * 8, [0.5] * 10) == pytest.approx(0.3)
    # Two bins, each perfectly calibrated.
    y = [1, 0, 0, 0, 1, 1, 1, 0]
    p = [0.25] * 4 + [0.75] * 4
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_drift_on_unchanged_training_weeks_raises_no_warning(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
    fitted: tuple[RetentionModel, pd.DataFrame],
    tmp_path: Path,
) -> None:
    import joblib

    frame, _ = simulated_dataset
    model, _ = fitted
    split = split_by_time(frame, COHORT_STARTS)
    assert model.reference_stats_by_week_ is not None
    assert model.reference_stats_by_week_ == reference_by_week(model, split.train)
    # The per-week reference is learned state: it is saved and loaded with the model.
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert loaded.reference_stats_by_week_ == model.reference_stats_by_week_
    # A week's students scored on the very data the model was trained on: nothing drifted.
    early = split.train[split.train["checkpoint_week"] == 2]
    assert drift_warnings(scoring_drift(loaded, early, warning_threshold=0.25)) == []
    # Against the pooled reference (every week mixed), the same students look drifted: days
    # active grow with the week. This is what the per-week reference is for.
    pooled = joblib.load(tmp_path / "model.joblib")
    pooled.reference_stats_by_week_ = pooled.reference_stats_by_program_week_ = None
    assert "days_active_first_term" in drift_warnings(
        scoring_drift(pooled, early, warning_threshold=0.25)
    )


def test_linear_base_keeps_the_declared_directions_and_its_parts_add_up() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    helps = rng.normal(size=n)  # truly lowers risk
    wrong = rng.normal(size=n)  # truly lowers risk too, but declared to raise it
    program = pd.Categorical(rng.choice(["A", "B"], size=n), categories=["A", "B"])
    logit = -1.0 * helps - 0.8 * wrong + np.where(program == "B", 0.7, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"helps": helps, "wrong": wrong, "program": program})
    frame.loc[:99, "helps"] = np.nan
    columns = [
        FeatureColumn("helps", "numeric", -1),
        FeatureColumn("wrong", "numeric", +1),
        FeatureColumn("program", "categorical", 0),
    ]
    linear = MonotoneLinear().fit(frame, y, columns)
    coef = dict(zip(["helps", "wrong", "A", "B"], linear.coef_, strict=True))
    assert coef["helps"] < -0.5
    assert coef["wrong"] == 0.0  # held at its bound rather than turned around
    assert coef["B"] - coef["A"] > 0.4
    parts = linear.contributions(frame)
    assert parts.shape == (n, 3)
    np.testing.assert_allclose(parts.sum(axis=1) + linear.intercept_, linear.logit(frame))


def test_linear_base_stays_bounded_on_values_training_never_saw() -> None:
    """OULAD's test presentations carry programs and program constants training never saw: a
    feature constant in training and a new category must not swing the log-odds."""
    rng = np.random.default_rng(5)
    n = 2000
    helps = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(helps))).astype(int)
    frame = pd.DataFrame(
        {
            "helps": helps,
            "weekly_share": 0.1,  # one value in every training row (its float std is ~1e-17)
            "program": pd.Categorical(["A"] * n, categories=["A"]),
        }
    )
    columns = [
        FeatureColumn("helps", "numeric", -1),
        FeatureColumn("weekly_share", "numeric", 0),
        FeatureColumn("program", "categorical", 0),
    ]
    linear = MonotoneLinear().fit(frame, y, columns)
    later = pd.DataFrame(
        {
            "helps": [0.0, 50.0],
            "weekly_share": [0.3, 0.05],
            "program": pd.Categorical(["B", "A"], categories=["A", "B"]),
        }
    )
    logit = linear.logit(later)
    assert np.all(np.isfinite(logit))
    assert np.abs(logit - linear.intercept_).max() < 10  # clipped, never 1e14
    np.testing.assert_allclose(linear.contributions(later)[:, 1], 0.0, atol=1e-12)


def test_calibration_keeps_the_ranking_of_the_raw_score_in_every_week(
    fitted: tuple[RetentionModel, pd.DataFrame],
) -> None:
    """Within a checkpoint week, calibrated risk must order students exactly as the booster does:
    no plateau ties students it ranks apart, and no clip flattens the ends."""
    from scipy.stats import spearmanr

    model, test = fitted
    raw = model.raw_score(test)
    risk = model.predict_risk(test)
    for week in np.unique(test["checkpoint_week"]):
        rows = (test["checkpoint_week"] == week).to_numpy()
        assert len(np.unique(risk[rows])) == len(np.unique(raw[rows]))
        assert spearmanr(raw[rows], risk[rows]).statistic == pytest.approx(1.0)
    for method in ("sigmoid", "sigmoid_by_week", "sigmoid_by_band"):
        spread = np.linspace(raw.min(), raw.max(), 400)
        weeks = np.full(len(spread), 4.0)
        y = risk_target(test).to_numpy()
        calibrator = fit_calibrator(method, raw, y, model.checkpoint_weeks(test))
        mapped = calibrator.transform(spread, weeks)
        assert (np.diff(mapped) > 0).all(), method
