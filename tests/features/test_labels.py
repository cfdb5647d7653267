"""First-year retention labels, as CONTRACT.md derives them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earlywarn.contract import Tables, load_tables
from earlywarn.features.labels import anniversary_terms, retention_labels
from tests.factories import minimal_institution, write_institution

Frames = dict[str, pd.DataFrame]
# T-NY-2024F (the anniversary term of New York's fall 2023 cohort) has its drop deadline on
# 2024-09-16; that New York day ends at 2024-09-17T04:00Z.
DEADLINE_ENDS = pd.Timestamp("2024-09-17T04:00:00Z")


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., Tables]:
    counter = iter(range(1000))

    def make(change: Callable[[Frames], None] | None = None, drop: tuple[str, ...] = ()) -> Tables:
        frames = minimal_institution()
        if change is not None:
            change(frames)
        for name in drop:
            frames.pop(name)
        return load_tables(write_institution(tmp_path / f"i{next(counter)}", frames, "csv"))

    return make


def add_enrollment(frames: Frames, *rows: tuple[str, ...]) -> None:
    enr = frames["enrollments"]
    frames["enrollments"] = pd.concat([enr, pd.DataFrame(list(rows), columns=enr.columns)])


def test_anniversary_term_is_the_first_starting_335_days_later(
    build: Callable[..., Tables],
) -> None:
    tables = build()
    terms = tables.terms["term_id"].to_numpy()
    # Fall 2023 + 335 days = 2024-08-04: winter 2024 is too early, fall 2024 is the one.
    assert list(terms[anniversary_terms(tables)]) == [
        "T-NY-2024F",
        "T-NY-2024F",
        "T-NY-2024F",
        "T-IN-2024J",
        "T-IN-2024J",
    ]


def test_unknown_until_the_drop_deadline_day_of_the_anniversary_term_ends(
    build: Callable[..., Tables],
) -> None:
    tables = build(drop=("outcomes",))
    before = retention_labels(tables, DEADLINE_ENDS - pd.Timedelta(microseconds=1))
    assert before[["S001", "S002", "S003"]].isna().all()
    after = retention_labels(tables, DEADLINE_ENDS)
    assert after[["S001", "S002", "S003"]].tolist() == [1.0, 0.0, 0.0]
    assert after.index.name == "student_id"
    assert list(after.index) == [f"S00{i}" for i in range(1, 6)]
    # Kolkata: T-IN-2024J's deadline 2024-07-15 ends at 2024-07-14T18:30Z + 1 day.
    assert retention_labels(tables, pd.Timestamp("2024-07-15T18:29:59Z"))[["S004"]].isna().all()
    assert retention_labels(tables, pd.Timestamp("2024-07-15T18:30:00Z"))["S004"] == 1.0
    assert retention_labels(tables, pd.Timestamp("2024-07-15T18:30:00Z"))["S005"] == 0.0


@pytest.mark.parametrize(("dropped_on", "retained"), [("2024-09-10", 0.0), ("2024-09-16", 1.0),
                                                      ("2024-09-20", 1.0)])  # fmt: skip
def test_dropped_before_the_deadline_is_not_retained(
    build: Callable[..., Tables], dropped_on: str, retained: float
) -> None:
    def change(frames: Frames) -> None:
        add_enrollment(frames, ("S002", "C-NY-101", "T-NY-2024F", "2024-08-15", dropped_on, "", ""))

    labels = retention_labels(build(change), pd.Timestamp("2025-01-01", tz="UTC"))
    assert labels["S002"] == retained


def test_no_anniversary_term_means_unknown_forever(build: Callable[..., Tables]) -> None:
    def change(frames: Frames) -> None:
        terms, enr = frames["terms"], frames["enrollments"]
        frames["terms"] = terms[terms["term_id"] != "T-NY-2024F"]
        frames["enrollments"] = enr[enr["term_id"] != "T-NY-2024F"]

    labels = retention_labels(
        build(change, drop=("outcomes",)), pd.Timestamp("2030-01-01", tz="UTC")
    )
    assert labels[["S001", "S002", "S003"]].isna().all()
    assert labels["S004"] == 1.0


def test_outcomes_override_the_derived_label(build: Callable[..., Tables]) -> None:
    def change(frames: Frames) -> None:
        frames["outcomes"] = pd.DataFrame(
            [("S001", "false"), ("S004", "true"), ("S005", "true")],
            columns=["student_id", "retained"],
        )

    tables = build(change)
    late = retention_labels(tables, pd.Timestamp("2025-01-01", tz="UTC"))
    assert late[["S001", "S002", "S004", "S005"]].tolist() == [0.0, 0.0, 1.0, 1.0]
    early = retention_labels(
        tables, pd.Timestamp("2023-10-01", tz="UTC")
    )  # derived labels unknown yet
    assert early["S001"] == 0.0
    assert early["S005"] == 1.0
    assert np.isnan(early["S002"])
