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
