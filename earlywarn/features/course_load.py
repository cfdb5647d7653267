"""Course load of the first term: courses taken, dropped, required, and the final grades."""

from __future__ import annotations

import numpy as np

from earlywarn.features.view import View


def _program_median_load(view: View) -> np.ndarray:
    """Per program: the median first-term course count of its students with any seen as of t."""
    prep, t = view.prep, view.t
    e = prep.enrollments
    seen = e["first_term"] & (e["seen_us"] <= t)
    key = ("program_median_load", int(seen.sum()))  # the seen set only grows with t
    if key not in prep.cache:
        per_student = np.bincount(e["student"][seen], minlength=prep.n_students)
        taking = per_student > 0
        program, loads = prep.student_program[taking], per_student[taking]
        order = np.lexsort((loads, program))
        program, loads = program[order], loads[order]
        n_programs = len(prep.zones.timezones)
        counts = np.bincount(program, minlength=n_programs)
        starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
        medians = np.full(n_programs, np.nan)
        has = counts > 0
        low = loads[starts[has] + (counts[has] - 1) // 2]
        high = loads[starts[has] + counts[has] // 2]
        medians[has] = (low + high) / 2.0
        prep.cache[key] = medians
    value: np.ndarray = prep.cache[key]  # type: ignore[assignment]
    return value


def load_features(view: View) -> dict[str, np.ndarray]:
    """Courses enrolled, active, dropped (and after the deadline), required, and the grade."""
    prep, n, t = view.prep, view.n, view.t
    enr = view.enr
    pos = enr["pos"]
    enrolled = np.bincount(pos, minlength=n).astype(np.float64)
    dropped = enr["dropped_seen_us"] <= t
    late_drop = dropped & (enr["dropped_day"] > prep.term_deadline_day[enr["term"]])
    n_dropped = np.bincount(pos[dropped], minlength=n).astype(np.float64)
    required = np.bincount(pos[enr["required"]], minlength=n).astype(np.float64)
    ended = prep.term_end_us[view.term] <= t
    graded = ended[pos] & ~np.isnan(enr["final_grade"])
    grade_sum = np.bincount(pos[graded], weights=enr["final_grade"][graded], minlength=n)
    grade_count = np.bincount(pos[graded], minlength=n)
    median = _program_median_load(view)[prep.student_program[view.students]]
    with np.errstate(divide="ignore", invalid="ignore"):
        grade = np.where(grade_count > 0, grade_sum / grade_count, np.nan)
        relative = np.where(median > 0, enrolled / median, np.nan)
    return {
        "courses_enrolled": enrolled,
        "courses_active": enrolled - n_dropped,
        "load_vs_program_median": relative,
        "courses_dropped": n_dropped,
        "dropped_after_deadline": (np.bincount(pos[late_drop], minlength=n) > 0).astype(np.float64),
        "required_courses": required,
        "grade_first_term": grade,
    }
