"""The students being computed as of one instant, and what every family shares about them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from earlywarn.features.calendar import NEVER, US_PER_DAY
from earlywarn.features.prepared import Prepared


@dataclass
class View:
    """All students of some cohorts (first terms), as of the instant ``t`` (UTC microseconds).

    ``local[code]`` is the position in this view of the student with that code, or -1.
    ``enr`` holds the first-term enrollments of these students seen as of ``t``, with ``pos``.
    """

    prep: Prepared
    t: int
    cohorts: np.ndarray
    students: np.ndarray
    local: np.ndarray
    term: np.ndarray  # each student's first term
    start_us: np.ndarray  # local start of the first term
    enr: dict[str, np.ndarray]
    deadline_day: np.ndarray  # first deadline as a due_day of the first term; NaN when none
    deadline_us: np.ndarray  # first deadline instant; NEVER when none

    @property
    def n(self) -> int:
        return len(self.students)


def course_min_due(prep: Prepared) -> np.ndarray:
    """Per course, the smallest due_day of its graded items (NaN when it has none)."""
    key = "course_min_due"
    if key not in prep.cache:
        items = prep.items
        graded = items["graded"] & ~np.isnan(items["due_day"])
        out = np.full(prep.n_courses, np.inf)
        np.minimum.at(out, items["course"][graded], items["due_day"][graded])
        out[np.isinf(out)] = np.nan
        prep.cache[key] = out
    value: np.ndarray = prep.cache[key]  # type: ignore[assignment]
    return value


def build_view(prep: Prepared, cohorts: np.ndarray, t: int) -> View:
    """The view of every student whose first term is one of ``cohorts``, as of ``t``."""
    cohorts = np.asarray(cohorts, dtype=np.int64)
    in_cohort = np.isin(prep.student_first_term, cohorts)
    students = np.flatnonzero(in_cohort)
    local = np.full(prep.n_students, -1, dtype=np.int64)
    local[students] = np.arange(len(students))
    term = prep.student_first_term[students]

    e = prep.enrollments
    keep = e["first_term"] & in_cohort[e["student"]] & (e["seen_us"] <= t)
    enr = {k: v[keep] for k, v in e.items()}
    enr["pos"] = local[enr["student"]]

    due = course_min_due(prep)[enr["course"]]
    deadline_day = np.full(len(students), np.inf)
    has_due = ~np.isnan(due)
    np.minimum.at(deadline_day, enr["pos"][has_due], due[has_due])
    deadline_day[np.isinf(deadline_day)] = np.nan
    deadline_us = np.full(len(students), NEVER, dtype=np.int64)
    known = ~np.isnan(deadline_day)
    if known.any():
        days = prep.term_start_day[term[known]] + deadline_day[known].astype(np.int64) + 1
        deadline_us[known] = prep.zones.midnight_us(days, prep.term_program[term[known]])
    return View(
        prep=prep,
        t=t,
        cohorts=cohorts,
        students=students,
        local=local,
        term=term,
        start_us=prep.term_start_us[term],
        enr=enr,
        deadline_day=deadline_day,
        deadline_us=deadline_us,
    )


def still_enrolled(view: View) -> np.ndarray:
    """Per student of the view: False when every first-term enrollment seen as of ``t`` has been
    dropped as of ``t`` (the student has left their first term), True otherwise.

    A student with no enrollment seen yet counts as enrolled (nothing has been dropped). Weekly
    lists and training snapshots keep only enrolled students: a student who has already left is
    neither someone an advisor can still reach nor an open question for the model.
    """
    pos = view.enr["pos"]
    seen = np.bincount(pos, minlength=view.n)
    dropped = np.bincount(pos[view.enr["dropped_seen_us"] <= view.t], minlength=view.n)
    left: np.ndarray = (seen > 0) & (dropped == seen)
    return ~left


def days_between(later_us: np.ndarray | int, earlier_us: np.ndarray | int) -> np.ndarray:
    """(later - earlier) in days, as floats."""
    return (
        np.asarray(later_us, dtype=np.float64) - np.asarray(earlier_us, dtype=np.float64)
    ) / US_PER_DAY


def local_day_of_instant(view: View) -> np.ndarray:
    """The local day number of ``t`` in each student's program time zone."""
    program = view.prep.student_program[view.students]
    return view.prep.zones.local_day(np.full(view.n, view.t, dtype=np.int64), program)
