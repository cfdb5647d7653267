"""Cross-fitted calibration, the choice of model form, and calibration against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earlywarn.model.metrics import expected_calibration_error
from earlywarn.training.evaluate import evaluate_by_week
from earlywarn.training.fit import feature_columns, fit_retention_model, split_by_time
from earlywarn.training.params import CROSS_FIT_FOLDS
from tests.fixtures.training_data import COHORT_STARTS, SIM_FEATURES


def test_cross_fitted_model_trains_on_every_earlier_cohort_and_calibrates_out_of_fold(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, truth = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    model = fit_retention_model(split, columns, seed=3)
    # Every training row is a calibration row (scored by a fold model that never saw it), and
    # the final booster keeps the folds' mean number of trees.
    assert model.calibration_rows_ == len(split.train)
    assert len(model.fold_trees_) == CROSS_FIT_FOLDS
    assert model.best_iteration_ == round(np.mean(model.fold_trees_))
    assert model.best_iteration_ > 1
    risk = model.predict_risk(split.test)
    true_risk = 1.0 - split.test["student_id"].map(truth).to_numpy()
    # Against the true probabilities the calibrated risk is close; a shifted one is not.
    assert expected_calibration_error(true_risk, risk) < 0.05
    assert expected_calibration_error(true_risk, np.clip(risk + 0.1, 0, 1)) > 0.07


def test_a_category_first_seen_in_the_latest_earlier_cohort_is_known_to_the_model(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, _ = simulated_dataset
    frame = frame.copy()
    frame["program_id"] = frame["program_id"].astype(str)
    frame.loc[frame["cohort"].isin(["T5", "T6"]), "program_id"] = "NEW"
    specs = SIM_FEATURES | {
        "program": SIM_FEATURES["country_group"].__class__("program", "context", "categorical")
    }
    frame["program"] = frame["program_id"].astype("category")
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(specs, list(frame.columns), include_sensitive=False)
    model = fit_retention_model(split, columns, seed=3)
    # The program is known through its own historical rate, from the latest earlier cohort's
    # students, not the institution's rate that an unknown program gets.
    assert model.history_ is not None
    assert model.history_.students_["NEW"] > 0
    new_rate = model.history_.transform(pd.Series(["NEW"]))[0]
    assert new_rate != pytest.approx(model.history_.overall_)
    assert model.history_.transform(pd.Series(["NEVER-SEEN"]))[0] == model.history_.overall_


def test_calibration_error_vs_truth_is_zero_for_the_truth_and_the_shift_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.05, 0.85, 5000)
    assert expected_calibration_error(truth, truth) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error(truth, truth + 0.1) == pytest.approx(0.1)
    # Over-confident by a factor: still measured per bin of the prediction.
    assert expected_calibration_error(truth, np.clip(1.2 * truth, 0, 1)) > 0.05


def test_evaluation_reports_calibration_vs_truth_only_when_the_truth_is_known() -> None:
    rng = np.random.default_rng(2)
    n = 400
    test = pd.DataFrame(
        {"student_id": [f"s{i}" for i in range(n)], "checkpoint_week": np.repeat([1, 2], n // 2)}
    )
    truth = rng.uniform(0.1, 0.6, n)
    at_risk = pd.Series((rng.random(n) < truth).astype(int))
    with_truth = evaluate_by_week(test, at_risk, truth + 0.05, truth, truth)
    assert [row["ece_vs_truth"] for row in with_truth["weeks"]] == pytest.approx([0.05, 0.05])
    without = evaluate_by_week(test, at_risk, truth, truth, None)
    assert all(row["ece_vs_truth"] is None for row in without["weeks"])


def test_training_keeps_the_model_form_whose_out_of_fold_scores_rank_better(
    simulated_dataset: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    import earlywarn.training.fit

    frame, _ = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    working = fit_retention_model(split, columns, seed=3)
    # A booster that learns keeps its trees, and the linear base is not tried.
    assert np.mean(working.fold_trees_) >= earlywarn.training.fit.LINEAR_BASE_BELOW_TREES
    assert set(working.form_window_auc_) == {"plain"}
    assert working.linear_base is False
    # A booster that cannot split ranks nobody on its own: the linear base is kept instead.
    crippled = earlywarn.training.fit.lightgbm_params(0) | {"min_child_samples": 10**7}
    monkeypatch.setattr(earlywarn.training.fit, "lightgbm_params", lambda seed: crippled)
    rescued = fit_retention_model(split, columns, seed=3)
    scores = rescued.form_window_auc_
    assert scores["plain"] == pytest.approx(0.5)
    assert scores["linear_base"] > 0.6
    assert rescued.linear_base is True


def test_window_auc_averages_the_window_weeks_that_hold_both_classes() -> None:
    from earlywarn.training.fit import window_auc

    y = np.array([0, 1, 0, 1, 1, 1, 0, 1])
    scores = np.array([0.1, 0.9, 0.8, 0.2, 0.5, 0.6, 0.3, 0.7])
    weeks = np.array([1, 1, 2, 2, 3, 3, 9, 9])  # week 3: one class; week 9: outside 1-8
    assert window_auc(y, scores, weeks) == pytest.approx((1.0 + 0.0) / 2)
    assert np.isnan(window_auc(np.ones(4), np.arange(4.0), np.ones(4)))
