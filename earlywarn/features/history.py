"""What earlier cohorts say: the program's historical rate of not being retained.

A student's program rate as of t counts only earlier students whose outcome is in the
``outcomes`` table and whose first term ended before t (their outcome recorded by then: OULAD's
final result is known at the end of the presentation). A student of a term still running at t,
the test cohort included, never counts, so the rate as of t uses nothing after t. The rate is
shrunk toward the rate of every such earlier student of the institution by ``SHRINK_STUDENTS``
pseudo-students (an empirical-Bayes mean), so a program with little history sits near the
institution's rate and a new program takes it. Without an ``outcomes`` table, or before any
earlier outcome is known, the value is missing.
"""

from __future__ import annotations

import numpy as np

from earlywarn.features.view import View

#: Pseudo-students of the institution-wide rate mixed into each program's rate.
SHRINK_STUDENTS = 50.0


def _outcome_rows(view: View) -> dict[str, np.ndarray] | None:
    prep = view.prep
    key = "history_outcomes"
    if key not in prep.cache:
        outcomes = prep.tables.outcomes
        if outcomes is None or len(outcomes) == 0:
            prep.cache[key] = None
        else:
            student = outcomes["student_id"].cat.codes.to_numpy(np.int64)
            first = prep.student_first_term[student]
            prep.cache[key] = {
                "program": prep.student_program[student],
                "ends_us": prep.term_end_us[first],
                "not_retained": 1.0 - outcomes["retained"].to_numpy(bool).astype(np.float64),
            }
    value: dict[str, np.ndarray] | None = prep.cache[key]  # type: ignore[assignment]
    return value


def history_features(view: View) -> dict[str, np.ndarray]:
    """``program_not_retained_rate`` of each student's program as of ``view.t``."""
    prep, n = view.prep, view.n
    rows = _outcome_rows(view)
    missing = {"program_not_retained_rate": np.full(n, np.nan)}
    if rows is None:
        return missing
    known = rows["ends_us"] <= view.t
    if not known.any():
        return missing
    programs = int(prep.student_program.max()) + 1 if len(prep.student_program) else 0
    counts = np.bincount(rows["program"][known], minlength=programs).astype(np.float64)
    sums = np.bincount(
        rows["program"][known], weights=rows["not_retained"][known], minlength=programs
    )
    overall = float(rows["not_retained"][known].mean())
    rate = (sums + SHRINK_STUDENTS * overall) / (counts + SHRINK_STUDENTS)
    return {"program_not_retained_rate": rate[prep.student_program[view.students]]}
