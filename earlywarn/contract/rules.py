"""The contract's rules that relate several columns or tables, vectorised over row codes.

Each check works on the row codes of reference columns (see ``LoadedTable.codes``): looking up
"the program of this student's first term" is two array lookups, not a join. A check is skipped
when a table or column it needs could not be read; the reason is already reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from earlywarn.contract.schema import GRADE_WEIGHT_TOLERANCE

if TYPE_CHECKING:
    from earlywarn.contract.parse import LoadedTable
    from earlywarn.contract.report import ProblemLog


def _lookup(parent: np.ndarray, codes: np.ndarray, fill: int = -1) -> np.ndarray:
    """``parent[codes]``, with ``fill`` where a code is -1 (empty or unknown reference)."""
    out = np.full(len(codes), fill, dtype=parent.dtype)
    known = codes >= 0
    out[known] = parent[codes[known]]
    return out


def check_cross_table_rules(tables: dict[str, LoadedTable], log: ProblemLog) -> None:
    """Check every rule that involves more than one column."""
    _check_date_order(tables, log)
    _check_same_program(tables, log)
    _check_course_items(tables, log)
    _check_submissions(tables, log)
    _check_activity_items(tables, log)


def _check_date_order(tables: dict[str, LoadedTable], log: ProblemLog) -> None:
    terms = tables.get("terms")
    if terms is not None and terms.has("start_date") and terms.has("end_date"):
        start, end = terms.values("start_date"), terms.values("end_date")
        both = terms.present("start_date") & terms.present("end_date")
        log.rows(terms.raw, "end_date", "end_date must be after start_date", both & (end <= start))
        if terms.has("drop_deadline"):
            deadline = terms.values("drop_deadline")
            inside = (deadline >= start) & (deadline <= end)
            log.rows(
                terms.raw,
                "drop_deadline",
                "drop_deadline must be from start_date to end_date",
                both & terms.present("drop_deadline") & ~inside,
            )
    for name, later in (("enrollments", "dropped_on"), ("open_content", "completed_on")):
        table = tables.get(name)
        if table is None or not table.has(later) or not table.has("enrolled_on"):
            continue
        both = table.present("enrolled_on") & table.present(later)
        before = table.values(later) < table.values("enrolled_on")
        log.rows(table.raw, later, f"{later} must be on or after enrolled_on", both & before)


def _check_same_program(tables: dict[str, LoadedTable], log: ProblemLog) -> None:
    """A student's first term, courses and terms all belong to the student's program."""
    students, terms, courses = tables.get("students"), tables.get("terms"), tables.get("courses")
    if students is None or terms is None:
        return
    term_program = terms.code("program_id")
    student_program = students.code("program_id")
    if term_program is None or student_program is None:
        return
    first_term = students.code("first_term_id")
    if first_term is not None:
        other = _lookup(term_program, first_term)
        log.rows(
            students.raw,
            "first_term_id",
            "first_term_id is a term of another program: use a term of the student's program",
            (other >= 0) & (student_program >= 0) & (other != student_program),
        )
    enrollments = tables.get("enrollments")
    if enrollments is None:
        return
    enrolled_student = enrollments.code("student_id")
    if enrolled_student is None:
        return
    program = _lookup(student_program, enrolled_student)
    enrolled_term = enrollments.code("term_id")
    if enrolled_term is not None:
        other = _lookup(term_program, enrolled_term)
        log.rows(
            enrollments.raw,
            "term_id",
            "term_id is a term of another program than the student's",
            (other >= 0) & (program >= 0) & (other != program),
        )
    course_program = None if courses is None else courses.code("program_id")
    enrolled_course = enrollments.code("course_id")
    if course_program is not None and enrolled_course is not None:
        other = _lookup(course_program, enrolled_course)
        log.rows(
            enrollments.raw,
            "course_id",
            "course_id is a course of another program than the student's",
            (other >= 0) & (program >= 0) & (other != program),
        )


def _check_course_items(tables: dict[str, LoadedTable], log: ProblemLog) -> None:
    """Weeks within the course, graded items complete, grade weights adding up to 1."""
    items, courses = tables.get("course_items"), tables.get("courses")
    if items is None:
        return
    item_course = items.code("course_id")
    if courses is not None and item_course is not None and courses.has("weeks"):
        weeks = np.where(courses.present("weeks"), courses.values("weeks"), np.inf)
        limit = _lookup(weeks, item_course, fill=np.inf)  # type: ignore[arg-type]
        log.rows(
            items.raw,
            "week",
            "week is after the course's last week (courses.weeks)",
            items.present("week") & (items.values("week") > limit),
        )
    if not items.has("graded"):
        return
    graded = items.present("graded") & items.values("graded").astype(bool)
    for column, what in (("grade_weight", "the share of the grade"), ("due_day", "the deadline")):
        if not items.has(column):
            continue
        missing = graded & items.columns[column].missing
        log.rows(
            items.raw,
            column,
            f"graded items need a {column} ({what})",
            missing,
            lambda rows: [""] * len(rows),
        )
    if item_course is None or not items.has("grade_weight") or courses is None:
        return
    weights = np.where(graded & items.present("grade_weight"), items.values("grade_weight"), 0.0)
    counted = graded & (item_course >= 0)
    totals = np.bincount(item_course[counted], weights=weights[counted], minlength=courses.rows)
    has_graded = np.bincount(item_course[counted], minlength=courses.rows) > 0
    off = has_graded & (np.abs(totals - 1.0) > GRADE_WEIGHT_TOLERANCE)
    if off.any():
        # Point at the first graded item of each course whose weights do not add up.
        first_of_course = np.full(courses.rows, -1)
        rows = np.flatnonzero(counted)[::-1]
        first_of_course[item_course[rows]] = rows
        flagged = np.zeros(items.rows, dtype=bool)
        flagged[first_of_course[off]] = True
        course_total = dict(zip(first_of_course[off].tolist(), totals[off].tolist(), strict=True))
        log.rows(
            items.raw,
            "grade_weight",
            "the grade weights of this item's course's graded items add up to "
            "the value shown, not 1 (within 0.01)",
            flagged,
            lambda rows: [f"{course_total[int(r)]:.4g}" for r in rows],
        )


def _check_submissions(tables: dict[str, LoadedTable], log: ProblemLog) -> None:
    """Submissions are of graded items, in a term in which the student takes the item's course."""
    submissions, items, enrollments = (
        tables.get("submissions"),
        tables.get("course_items"),
        tables.get("enrollments"),
    )
    if submissions is None or items is None:
        return
    item = submissions.code("item_id")
    if item is None:
        return
    if items.has("graded"):
        graded = items.present("graded") & items.values("graded").astype(bool)
        log.rows(
            submissions.raw,
            "item_id",
            "item_id is not a graded item: only graded items take submissions",
            (item >= 0) & ~_lookup(graded.astype(np.int8), item, fill=1).astype(bool),
        )
    item_course = items.code("course_id")
    student, term = submissions.code("student_id"), submissions.code("term_id")
    if enrollments is None or item_course is None or student is None or term is None:
        return
    e_student, e_course, e_term = (
        enrollments.code("student_id"),
        enrollments.code("course_id"),
        enrollments.code("term_id"),
    )
    if e_student is None or e_course is None or e_term is None:
        return
    n_courses = int(max(item_course.max(initial=0), e_course.max(initial=0))) + 2
    n_terms = int(max(term.max(initial=0), e_term.max(initial=0))) + 2

    def keys(s: np.ndarray, c: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (s.astype(np.int64) * n_courses + c) * n_terms + t

    known = (e_student >= 0) & (e_course >= 0) & (e_term >= 0)
    enrolled = np.unique(keys(e_student[known], e_course[known], e_term[known]))
    course = _lookup(item_course, item)
    checkable = (student >= 0) & (course >= 0) & (term >= 0)
    found = np.isin(keys(student, course, term), enrolled)
    log.rows(
        submissions.raw,
        "term_id",
        "the student is not enrolled in the item's course in this term (no such enrollments row)",
        checkable & ~found,
    )


def _check_activity_items(tables: dict[str, LoadedTable], log: ProblemLog) -> None:
    """An activity row's item, where given, is an item of that row's course."""
    activity, items = tables.get("activity"), tables.get("course_items")
    if activity is None or items is None:
        return
    item, course, item_course = (
        activity.code("item_id"),
        activity.code("course_id"),
        items.code("course_id"),
    )
    if item is None or course is None or item_course is None:
        return
    other = _lookup(item_course, item)
    log.rows(
        activity.raw,
        "item_id",
        "item_id is an item of another course than this row's course_id",
        (other >= 0) & (course >= 0) & (other != course),
    )
