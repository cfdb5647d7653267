"""Before the degree: open (not-for-credit) courses and how long the student had been around."""

from __future__ import annotations

import numpy as np

from earlywarn.features.calendar import NO_DAY, day_numbers
from earlywarn.features.catalogue import PRIOR_OPEN_FEATURES
from earlywarn.features.prepared import Prepared
from earlywarn.features.view import View


def _open_rows(prep: Prepared) -> dict[str, np.ndarray]:
    key = "open_content"
    if key not in prep.cache:
        oc = prep.tables.open_content
        assert oc is not None
        student = oc["student_id"].cat.codes.to_numpy(np.int64)
        program = prep.student_program[student]
        enrolled = day_numbers(oc["enrolled_on"])
        completed = day_numbers(oc["completed_on"])
        zones = prep.zones
        prep.cache[key] = {
            "student": student,
            "enrolled_day": enrolled,
            "enrolled_seen_us": zones.midnight_us(
                np.where(enrolled == NO_DAY, NO_DAY, enrolled + 1), program
            ),
            "completed_day": completed,
            "completed_seen_us": zones.midnight_us(
                np.where(completed == NO_DAY, NO_DAY, completed + 1), program
            ),
            "paid": oc["paid"].astype("boolean").fillna(False).to_numpy(bool),
            "stackable": oc["stackable"].astype("boolean").fillna(False).to_numpy(bool),
        }
    value: dict[str, np.ndarray] = prep.cache[key]  # type: ignore[assignment]
    return value


def prior_features(view: View) -> dict[str, np.ndarray]:
    """Open-course history before the first term's start date, and lead times to that start."""
    prep, n, t = view.prep, view.n, view.t
    start_day = prep.term_start_day[view.term]
    out: dict[str, np.ndarray] = {}
    for name, column in (
        ("days_from_platform_join_to_start", "platform_joined_on"),
        ("days_from_admission_to_start", "admitted_on"),
    ):
        key = ("student_days", column)
        if key not in prep.cache:
            prep.cache[key] = day_numbers(prep.tables.students[column])
        days: np.ndarray = prep.cache[key][view.students]  # type: ignore[index]
        out[name] = np.where(days == NO_DAY, np.nan, (start_day - days).astype(np.float64))
    if prep.tables.open_content is None:
        out.update({name: np.full(n, np.nan) for name in PRIOR_OPEN_FEATURES})
        return out
    rows = _open_rows(prep)
    pos = view.local[rows["student"]]
    mine = pos >= 0
    if n == 0:
        out.update({name: np.zeros(0) for name in PRIOR_OPEN_FEATURES})
        return out
    before = start_day[np.where(mine, pos, 0)]
    enrolled = (
        mine
        & (rows["enrolled_day"] != NO_DAY)
        & (rows["enrolled_day"] < before)
        & (rows["enrolled_seen_us"] <= t)
    )
    completed = (
        enrolled
        & (rows["completed_day"] != NO_DAY)
        & (rows["completed_day"] < before)
        & (rows["completed_seen_us"] <= t)
    )
    stackable = rows["stackable"]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(pos[mask], minlength=n).astype(np.float64)

    out["open_course_enrollments"] = count(enrolled)
    out["open_course_paid_enrollments"] = count(enrolled & rows["paid"])
    out["open_course_completions"] = count(completed)
    out["stackable_open_enrollments"] = count(enrolled & stackable)
    out["stackable_open_completions"] = count(completed & stackable)
    out["completed_open_course"] = (out["open_course_completions"] > 0).astype(np.float64)
    out["stackable_open_course"] = (out["stackable_open_enrollments"] > 0).astype(np.float64)
    return out
