"""First-year retention labels, exactly as CONTRACT.md derives them.

A student's anniversary term is the earliest term of their program starting at least 335 days
after their first term started. They are retained when they hold an enrollment in it that was not
dropped before its drop deadline (its start date where it has none). The label is unknown while
the anniversary term is missing or its drop-deadline day has not ended by the as-of instant.
``outcomes``, where present, overrides the derived label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from earlywarn.core.time import as_of_us
from earlywarn.features.calendar import NO_DAY, Zones, day_numbers

if TYPE_CHECKING:
    from earlywarn.contract import Tables

ANNIVERSARY_DAYS = 335


def anniversary_terms(tables: Tables) -> np.ndarray:
    """Per student (row order), the code of their anniversary term, or -1 when there is none."""
    terms, students = tables.terms, tables.students
    term_program = terms["program_id"].cat.codes.to_numpy(np.int64)
    start = day_numbers(terms["start_date"])
    student_program = students["program_id"].cat.codes.to_numpy(np.int64)
    first = students["first_term_id"].cat.codes.to_numpy(np.int64)
    target = start[first] + ANNIVERSARY_DAYS
    out = np.full(len(students), -1, dtype=np.int64)
    for program in np.unique(student_program):
        codes = np.flatnonzero(term_program == program)
        codes = codes[np.argsort(start[codes], kind="stable")]
        mine = student_program == program
        found = np.searchsorted(start[codes], target[mine], side="left")
        out[mine] = np.where(found < len(codes), codes[np.minimum(found, len(codes) - 1)], -1)
    return out


def retention_labels(tables: Tables, as_of: pd.Timestamp) -> pd.Series:
    """1.0 retained, 0.0 not retained, NaN unknown as of ``as_of``; indexed by student_id."""
    t = as_of_us(as_of)
    terms, students = tables.terms, tables.students
    zones = Zones([str(tz) for tz in tables.programs["timezone"].fillna("UTC")])
    term_program = terms["program_id"].cat.codes.to_numpy(np.int64)
    start = day_numbers(terms["start_date"])
    deadline = day_numbers(terms["drop_deadline"])
    deadline = np.where(deadline == NO_DAY, start, deadline)
    deadline_ends = zones.midnight_us(deadline + 1, term_program)

    anniversary = anniversary_terms(tables)
    has = anniversary >= 0
    known = np.zeros(len(students), dtype=bool)
    known[has] = deadline_ends[anniversary[has]] <= t

    enr = tables.enrollments
    e_student = enr["student_id"].cat.codes.to_numpy(np.int64)
    e_term = enr["term_id"].cat.codes.to_numpy(np.int64)
    enrolled = day_numbers(enr["enrolled_on"])
    dropped = day_numbers(enr["dropped_on"])
    enrolled_seen = zones.midnight_us(enrolled + 1, term_program[e_term]) <= t
    in_anniversary = e_term == anniversary[e_student]
    dropped_early = (dropped != NO_DAY) & (dropped < deadline[e_term])
    keeps = in_anniversary & enrolled_seen & ~dropped_early
    retained = np.bincount(e_student[keeps], minlength=len(students)) > 0

    labels = pd.Series(
        np.where(known, retained.astype(np.float64), np.nan),
        index=pd.Index(students["student_id"], name="student_id"),
        name="retained",
    )
    outcomes = tables.outcomes
    if outcomes is not None and len(outcomes):
        codes = outcomes["student_id"].cat.codes.to_numpy(np.int64)
        values = labels.to_numpy().copy()
        values[codes] = outcomes["retained"].to_numpy(bool).astype(np.float64)
        labels = pd.Series(values, index=labels.index, name="retained")
    return labels
