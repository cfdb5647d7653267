"""Who is enrolled in which first-term course as of an instant: the one enrolment rule.

An enrollment counts from the end of its ``enrolled_on`` day and stops counting from the end of
its ``dropped_on`` day, each day read in the program's time zone (CONTRACT.md: a row dated ``d``
is known from the local midnight that ends ``d``). Features (through
:mod:`earlywarn.features.prepared`), training snapshots, the course lists that scoring stores and
the digest's roster all take their enrollments from here, so they cannot disagree near midnight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from earlywarn.core.time import AsOf, as_of_us
from earlywarn.features.calendar import NO_DAY, Zones, day_numbers

if TYPE_CHECKING:
    from earlywarn.contract import Tables

#: Columns of :func:`first_term_enrollments`, all plain strings.
ENROLLMENT_COLUMNS = ("student_id", "course_id", "term_id", "program_id")


def visibility_us(
    enrolled_day: np.ndarray, dropped_day: np.ndarray, program: np.ndarray, zones: Zones
) -> tuple[np.ndarray, np.ndarray]:
    """Per enrollment, the UTC microseconds from which it counts and from which its drop counts.

    ``enrolled_day`` and ``dropped_day`` are day numbers (``NO_DAY`` when missing: never seen,
    never dropped); ``program`` is each enrollment's program code, whose time zone decides the
    local midnight that ends the day.
    """

    def end_of(days: np.ndarray) -> np.ndarray:
        return zones.midnight_us(np.where(days == NO_DAY, NO_DAY, days + 1), program)

    return end_of(enrolled_day), end_of(dropped_day)


def first_term_enrollments(tables: Tables, as_of: AsOf) -> pd.DataFrame:
    """Each first-term enrollment current as of ``as_of``: counted and not dropped.

    Columns :data:`ENROLLMENT_COLUMNS` as strings, in the order of the enrollments table.
    """
    programs, terms, students = tables.programs, tables.terms, tables.students
    enr = tables.enrollments
    zones = Zones([str(tz) for tz in programs["timezone"].fillna("UTC")])
    program_codes = pd.Categorical(
        terms["program_id"].astype("string"), categories=programs["program_id"].astype("string")
    ).codes
    term_program = pd.Series(program_codes, index=terms["term_id"].astype("string"))
    term = enr["term_id"].astype("string")
    program = term_program.reindex(term).to_numpy(dtype=np.int64)
    seen_us, dropped_us = visibility_us(
        day_numbers(enr["enrolled_on"]), day_numbers(enr["dropped_on"]), program, zones
    )
    first_term = students.set_index(students["student_id"].astype("string"))["first_term_id"]
    student = enr["student_id"].astype("string")
    is_first = term.to_numpy(dtype=object) == first_term.astype("string").reindex(student).to_numpy(
        dtype=object
    )
    t = as_of_us(as_of)
    current = is_first & (seen_us <= t) & (dropped_us > t)
    programs_of = programs["program_id"].astype("string").to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "student_id": student.to_numpy(dtype=object)[current],
            "course_id": enr["course_id"].astype("string").to_numpy(dtype=object)[current],
            "term_id": term.to_numpy(dtype=object)[current],
            "program_id": programs_of[program[current]],
        },
        columns=list(ENROLLMENT_COLUMNS),
    )
