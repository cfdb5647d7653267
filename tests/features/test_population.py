"""One enrolment rule: features, scoring's course lists and the digest's roster agree on who is in
which first-term course, on both sides of a local midnight.

The instants are 23:30 and 00:30 local time around the day a first-term course was dropped, in
that program's own time zone: the drop is not known at 23:30 (its day has not ended) and is known
at 00:30, and every consumer must say the same at each instant.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from earlywarn.contract import Tables, load_tables
from earlywarn.digest.selection import roster_from_tables
from earlywarn.features import features_as_of
from earlywarn.features.population import first_term_enrollments
from earlywarn.scoring.score import student_context


@pytest.fixture(scope="module")
def tables(small_institution: Path) -> Tables:
    return load_tables(small_institution)


def _a_first_term_drop(tables: Tables) -> tuple[str, pd.Timestamp, str]:
    """A student, the day they dropped a first-term course mid-term, and their program's zone."""
    enr = tables.enrollments.astype({"student_id": str, "term_id": str})
    first = tables.students.astype({"student_id": str, "first_term_id": str}).set_index(
        "student_id"
    )["first_term_id"]
    terms = tables.terms.astype({"term_id": str}).set_index("term_id")
    dropped = enr[enr["dropped_on"].notna() & (enr["term_id"] == enr["student_id"].map(first))]
    # a drop a few weeks into the term, and the student keeps another course (stays enrolled)
    dropped = dropped[
        dropped["dropped_on"] >= dropped["term_id"].map(terms["start_date"]) + pd.Timedelta(days=14)
    ]
    others = enr.groupby("student_id").size()
    dropped = dropped[dropped["student_id"].map(others) > 1].sort_values("student_id")
    row = dropped.iloc[0]
    program = str(terms.at[row["term_id"], "program_id"])
    tz = tables.programs.astype({"program_id": str}).set_index("program_id").at[program, "timezone"]
    return str(row["student_id"]), pd.Timestamp(row["dropped_on"]), str(tz)


def _local(day: pd.Timestamp, hour: int, minute: int, tz: str) -> pd.Timestamp:
    return (day + pd.Timedelta(hours=hour, minutes=minute)).tz_localize(tz).tz_convert("UTC")


def _consumers_agree(tables: Tables, as_of: pd.Timestamp) -> dict[str, int]:
    features = features_as_of(tables, as_of)
    students = features["student_id"].astype(str)
    population = first_term_enrollments(tables, as_of)
    counts = population.groupby("student_id").size()
    expected = students.map(counts).fillna(0).astype(int)
    assert (features["courses_active"].astype(int).to_numpy() == expected.to_numpy()).all()

    titles = tables.courses.astype({"course_id": str}).set_index("course_id")["title"].astype(str)
    population_titles = population.assign(title=population["course_id"].map(titles))
    expected_titles = population_titles.groupby("student_id")["title"].agg(lambda t: set(t))
    context = student_context(tables, features["student_id"], as_of)
    roster = roster_from_tables(tables, as_of.to_pydatetime())
    for student in students:
        wanted = expected_titles.get(student, set())
        stored = {t for t in str(context.at[student, "courses"]).split("; ") if t}
        assert stored == wanted, student
        assert set(roster.students[student].courses) == wanted, student
    return dict(zip(students, features["courses_active"].astype(int), strict=True))


def test_features_scoring_and_digest_agree_on_enrolment_either_side_of_local_midnight(
    tables: Tables,
) -> None:
    student, day, tz = _a_first_term_drop(tables)
    before = _consumers_agree(tables, _local(day, 23, 30, tz))
    after = _consumers_agree(tables, _local(day, 24, 30, tz))
    # the drop is known only once its local day has ended
    assert after[student] == before[student] - 1
