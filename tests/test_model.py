"""The retention model artifact: behaviour, calibration, contributions and drift references.

Trained once per module on a simulated dataset whose true signal is known (tests/fixtures/
training_data.py): missing the first deadline, fewer active days and dropped courses raise risk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earlywarn.model import EXPECTED_VALUE, RetentionModel, expected_calibration_error
from earlywarn.settings import Settings
from tests.fixtures.training_data import COHORT_STARTS, SIM_FEATURES
from training.fit import feature_columns, fit_retention_model, risk_target, split_by_time


@pytest.fixture(scope="module")
def fitted(
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
) -> tuple[RetentionModel, pd.DataFrame]:
    frame, _ = simulated_dataset
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
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
    assert model.calibration_method_ in ("sigmoid", "isotonic")
    assert set(model.calibration_ece_) == {"sigmoid", "isotonic"}


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
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=True)
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
    split = split_by_time(frame, COHORT_STARTS)
    columns = feature_columns(SIM_FEATURES, list(frame.columns), include_sensitive=False)
    again = fit_retention_model(split, columns, seed=7)
    np.testing.assert_array_equal(again.predict_risk(test), model.predict_risk(test))


def test_expected_calibration_error_by_hand() -> None:
    # Ten rows predicted 0.5 with 2 positives: one bin, |0.5 - 0.2| = 0.3.
    assert expected_calibration_error([1, 1] + [0] * 8, [0.5] * 10) == pytest.approx(0.3)
    # Two bins, each perfectly calibrated.
    y = [1, 0, 0, 0, 1, 1, 1, 0]
    p = [0.25] * 4 + [0.75] * 4
    assert expected_calibration_error(y, p) == pytest.approx(0.0)
