"""The program's historical rate as of t uses only outcomes of earlier students whose first term
ended before t: never a later cohort's, never the scored cohort's own (no label leakage)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from earlywarn.contract import Tables, load_tables
from earlywarn.features.assemble import first_term_features
from tests.paths import TEST_DATA

SLICE = TEST_DATA / "oulad_slice"
RATE = "program_not_retained_rate"


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    from earlywarn.importers.oulad.convert import import_oulad

    folder = tmp_path_factory.mktemp("oulad") / "contract"
    import_oulad(SLICE, folder)
    return load_tables(folder)


def _flipped(tables: Tables, term: str) -> Tables:
    """The same tables with every outcome of students whose first term is ``term`` reversed."""
    outcomes = tables.outcomes
    assert outcomes is not None
    first = tables.students.set_index("student_id")["first_term_id"].astype(str)
    mine = outcomes["student_id"].astype(str).map(first).eq(term).to_numpy()
    assert mine.any()
    retained = outcomes["retained"].to_numpy(bool)
    flipped = outcomes.assign(retained=np.where(mine, ~retained, retained))
    return dataclasses.replace(tables, outcomes=flipped)


def _rates(tables: Tables, term: str, at: pd.Timestamp) -> np.ndarray:
    ids = tables.students.loc[
        tables.students["first_term_id"].astype(str) == term, "student_id"
    ].astype(str)
    return first_term_features(tables, at, ids)[RATE].to_numpy()


def test_the_rate_as_of_t_uses_only_outcomes_known_by_t(tables: Tables) -> None:
    starts = tables.terms.set_index("term_id")["start_date"]
    at = pd.Timestamp(starts["EEE-2014B"]).tz_localize("UTC") + pd.Timedelta(days=28)
    before = _rates(tables, "EEE-2014B", at)
    assert np.isfinite(before).all()
    # The scored cohort's own outcomes and those of a cohort still running at t change nothing.
    assert np.array_equal(_rates(_flipped(tables, "EEE-2014B"), "EEE-2014B", at), before)
    assert np.array_equal(_rates(_flipped(tables, "AAA-2013J"), "EEE-2014B", at), before)
    # A cohort whose term ended before t is history: reversing its outcomes moves the rate.
    assert not np.array_equal(_rates(_flipped(tables, "DDD-2013B"), "EEE-2014B", at), before)


def test_before_any_outcome_is_known_the_rate_is_missing(tables: Tables) -> None:
    starts = tables.terms.set_index("term_id")["start_date"]
    at = pd.Timestamp(starts["DDD-2013B"]).tz_localize("UTC") + pd.Timedelta(days=7)
    assert np.isnan(_rates(tables, "DDD-2013B", at)).all()
