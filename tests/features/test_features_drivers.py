"""The 22 drivers as the feature code computes them equal the generator's own truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from earlywarn.contract import load_tables
from earlywarn.features import DRIVERS, first_term_features


def test_drivers_match_the_synthetic_truth(small_institution: Path) -> None:
    """As of the end of each cohort's first term (docs/driver-definitions.md), value for value."""
    tables = load_tables(small_institution)
    truth = pd.read_csv(
        small_institution / "_truth" / "students.csv", dtype={"student_id": str}
    ).set_index("student_id")
    terms = tables.terms.set_index("term_id")
    programs = tables.programs.set_index("program_id")
    students = tables.students
    compared = 0
    for term_id, members in students.groupby("first_term_id", observed=True)["student_id"]:
        term = terms.loc[term_id]
        tz = programs.loc[term["program_id"], "timezone"]
        end = pd.Timestamp(term["end_date"] + pd.Timedelta(days=1)).tz_localize(tz)
        if end > pd.Timestamp("2026-10-19", tz="UTC"):  # the generator's "today"
            continue
        mine = first_term_features(tables, end, list(members)).set_index("student_id")
        expected = truth.loc[mine.index]
        for name in DRIVERS:
            ours = mine[name].to_numpy(np.float64)
            theirs = expected[name].to_numpy(np.float64)
            assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-9, equal_nan=True), (term_id, name)
        compared += len(mine)
    assert compared > 500


def test_every_driver_is_in_exactly_one_family() -> None:
    from earlywarn.features.catalogue import DRIVER_GROUPS, FEATURES

    members = [d for group in DRIVER_GROUPS.values() for d in group]
    assert sorted(members) == sorted(DRIVERS)
    assert len(members) == len(set(members)) == 22
    assert set(DRIVERS) <= set(FEATURES)
