"""The program's historical not-retained rate: counted per student, shrunk, out of fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earlywarn.model.history import SHRINK_STUDENTS, HistoricalRates, out_of_fold_rates


def test_each_student_counts_once_however_many_weeks_they_stayed() -> None:
    # A has one retained student seen for 9 weeks and one who left after 1: half not retained.
    keys = ["A"] * 10
    y = [0] * 9 + [1]
    students = ["s1"] * 9 + ["s2"]
    rates = HistoricalRates(shrink=0.0).fit(keys, y, students)
    assert rates.transform(["A"])[0] == pytest.approx(0.5)


def test_a_small_program_is_shrunk_toward_the_institution_and_a_new_one_gets_its_rate() -> None:
    keys = ["big"] * 1000 + ["small"] * 2
    y = [0] * 900 + [1] * 100 + [1, 1]
    students = [f"s{i}" for i in range(1002)]
    rates = HistoricalRates().fit(keys, y, students)
    overall = 102 / 1002
    assert rates.overall_ == pytest.approx(overall)
    small = rates.transform(["small"])[0]
    assert small == pytest.approx((2 + SHRINK_STUDENTS * overall) / (2 + SHRINK_STUDENTS))
    assert overall < small < 0.5  # two failures do not make a 100% program
    assert list(rates.transform(["new", None])) == [pytest.approx(overall)] * 2


def test_out_of_fold_rates_never_see_the_rows_own_label() -> None:
    rng = np.random.default_rng(0)
    n = 600
    keys = rng.choice(["A", "B", "C"], n)
    students = np.array([f"s{i}" for i in range(n)])
    folds = rng.integers(0, 3, n)
    y = rng.integers(0, 2, n)
    before = out_of_fold_rates(keys, y, students, folds)
    # Flipping the labels of fold 0 changes no value of fold 0, and changes those of the others.
    flipped = y.copy()
    flipped[folds == 0] = 1 - flipped[folds == 0]
    after = out_of_fold_rates(keys, flipped, students, folds)
    assert np.array_equal(before[folds == 0], after[folds == 0])
    assert not np.allclose(before[folds != 0], after[folds != 0])


def test_the_model_looks_the_rate_up_from_the_program_and_asks_for_the_program() -> None:
    from earlywarn.model.artifact import RetentionModel
    from earlywarn.model.columns import FeatureColumn
    from earlywarn.training.params import lightgbm_params

    rng = np.random.default_rng(1)
    n = 3000
    program = rng.choice(["low", "high"], n)
    x = rng.normal(size=n)
    y = (rng.random(n) < np.where(program == "high", 0.5, 0.1) + 0.05 * (x > 0)).astype(int)
    frame = pd.DataFrame({"student_id": [f"s{i}" for i in range(n)], "x": x, "program": program})
    model = RetentionModel(
        [FeatureColumn("x", "numeric")], lightgbm_params(0), n_estimators=30, history=True
    ).fit(frame, y)
    model.calibrate(model.raw_score(frame), y, None)
    assert model.feature_names == ["x", "program_history_rate"]
    assert model.input_kinds == {"x": "numeric", "program": "categorical"}
    high = model.predict_risk(pd.DataFrame({"x": [0.0], "program": ["high"]}))[0]
    low = model.predict_risk(pd.DataFrame({"x": [0.0], "program": ["low"]}))[0]
    assert high > low + 0.2
    with pytest.raises(KeyError, match="program"):
        model.predict_risk(pd.DataFrame({"x": [0.0]}))


def _programs_half_risky(seed: int, n: int = 6000) -> tuple[pd.DataFrame, np.ndarray]:
    """Twelve programs: six where half the students are not retained, six where a tenth are."""
    rng = np.random.default_rng(seed)
    names = [f"P{i:02d}" for i in range(12)]
    program = rng.choice(names, n)
    risky = np.isin(program, names[:6])
    x = rng.normal(size=n)
    y = (rng.random(n) < np.where(risky, 0.5, 0.1) + 0.05 * (x > 0)).astype(int)
    frame = pd.DataFrame({"student_id": [f"s{i}" for i in range(n)], "x": x, "program": program})
    frame["program"] = pd.Categorical(frame["program"], categories=names)
    return frame, y


def test_a_program_training_never_saw_is_scored_between_the_known_ones_not_with_one_side() -> None:
    """With many programs LightGBM could split a subset of them against the rest, and a program
    it never saw would follow whichever side was not chosen: scored as if it were all the safe
    programs, or all the risky ones. One program against the rest keeps a new one in between."""
    from earlywarn.model.artifact import RetentionModel
    from earlywarn.model.columns import FeatureColumn
    from earlywarn.training.params import lightgbm_params

    frame, y = _programs_half_risky(2)
    model = RetentionModel(
        [FeatureColumn("x", "numeric"), FeatureColumn("program", "categorical")],
        lightgbm_params(0),
        n_estimators=60,
    ).fit(frame, y)
    model.calibrate(model.raw_score(frame), y, None)
    rows = pd.DataFrame({"x": [0.0] * 3, "program": ["P00", "P11", "new"]})
    risky, safe, new = model.predict_risk(rows)
    assert risky > safe + 0.25
    assert safe + 0.05 < new < risky - 0.05


def test_the_linear_models_leave_the_program_out_beside_its_rate() -> None:
    """The program and its historical rate are collinear: in a linear model the program's
    indicators and the rate's coefficient trade off freely, and a new program (no indicator) gets
    what is left. The linear base and the logistic baseline use the rate alone."""
    from earlywarn.model.artifact import RetentionModel
    from earlywarn.model.columns import FeatureColumn
    from earlywarn.training.params import lightgbm_params

    frame, y = _programs_half_risky(3)
    columns = [FeatureColumn("x", "numeric"), FeatureColumn("program", "categorical")]
    model = RetentionModel(
        columns, lightgbm_params(0), n_estimators=20, history=True, linear_base=True
    ).fit(frame, y)
    linear = model.linear_
    assert linear is not None
    assert linear.categories_["program"] == []
    parts = linear.contributions(model._frame(frame))
    names = [c.name for c in linear.columns_]
    assert np.all(parts[:, names.index("program")] == 0.0)
    assert np.abs(parts[:, names.index("program_history_rate")]).max() > 0.1
