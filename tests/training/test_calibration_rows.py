"""Cross-fitted calibration, the choice of model form, and calibration against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earlywarn.model.artifact import RetentionModel, expected_calibration_error
from earlywarn.training.crossfit import out_of_fold_raw
from earlywarn.training.evaluate import evaluate_by_week
from earlywarn.training.fit import feature_columns, fit_retention_model, split_by_time
from earlywarn.training.select import paired_auc_difference, prefer_plain_booster
from tests.fixtures.training_data import COHORT_STARTS, SIM_FEATURES


def test_no_out_of_fold_score_comes_from_a_model_that_saw_the_student() -> None:
    students = np.repeat([f"s{i:03d}" for i in range(60)], 3)  # three checkpoint weeks each
    frame = pd.DataFrame({"student_id": students, "x": np.arange(len(students), dtype=float)})
    y = np.repeat(np.arange(60) % 2, 3)
    seen: list[set[str]] = []

    def fit_scorer(rows: pd.DataFrame, labels: np.ndarray):  # type: ignore[no-untyped-def]
        trained_on = set(rows["student_id"])
        seen.append(trained_on)

        def score(other: pd.DataFrame) -> np.ndarray:
            assert not trained_on & set(other["student_id"]), "scored a student it trained on"
            return np.full(len(other), float(len(seen)))

        return score

    scores = out_of_fold_raw(frame, y, students, fit_scorer, seed=1)
    assert len(seen) == 5
    assert not np.isnan(scores).any()
    # A student's three rows are scored by one fold model, and every fold model trained on the
    # students of the other folds only.
    assert (pd.Series(scores).groupby(students).nunique() == 1).all()
    assert all(len(trained) == 48 for trained in seen)


def test_cross_fitted_model_calibrates_on_training_and_held_out_rows(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> None:
    frame, truth = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    model = fit_retention_model(split, columns, seed=3)
    assert model.calibration_rows_ == len(split.train) + len(split.held_out)
    assert model.base_choice_ is not None
    assert model.base_choice_["standard_error"] > 0
    risk = model.predict_risk(split.test)
    true_risk = 1.0 - split.test["student_id"].map(truth).to_numpy()
    # Against the true probabilities the calibrated risk is close; a shifted one is not.
    assert expected_calibration_error(true_risk, risk) < 0.05
    assert expected_calibration_error(true_risk, np.clip(risk + 0.1, 0, 1)) > 0.07


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


def test_paired_auc_difference_sees_a_real_gain_and_not_noise() -> None:
    rng = np.random.default_rng(4)
    n_students, weeks = 2000, 4
    signal = rng.normal(size=n_students)
    y = (rng.random(n_students) < 1 / (1 + np.exp(-signal))).astype(int)
    groups = np.repeat(np.arange(n_students), weeks)
    labels = np.repeat(y, weeks)
    weak = np.repeat(signal, weeks) + rng.normal(0, 2.0, n_students * weeks)
    strong = np.repeat(signal, weeks) + rng.normal(0, 0.3, n_students * weeks)
    twin = weak + rng.normal(0, 0.05, n_students * weeks)  # the weak score, barely perturbed
    plain, gain, error = prefer_plain_booster(labels, weak, strong, groups, seed=0)
    assert plain
    assert gain > 0.1
    assert gain > 2 * error
    plain, gain, error = prefer_plain_booster(labels, weak, twin, groups, seed=0)
    assert not plain
    assert abs(gain) < 2 * error
    same, spread = paired_auc_difference(labels, weak, weak, groups, seed=0)
    assert same == 0.0
    assert spread == 0.0


def test_a_forced_form_skips_the_comparison(
    simulated_dataset: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    import earlywarn.training.fit

    frame, _ = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    monkeypatch.setattr(earlywarn.training.fit, "LINEAR_BASE", False)
    monkeypatch.setattr(earlywarn.training.fit, "CROSS_FIT_CALIBRATION", False)
    model: RetentionModel = fit_retention_model(split, columns, seed=3)
    assert model.linear_ is None
    assert model.base_choice_ is None
    assert model.calibration_rows_ == len(split.held_out)
