"""Everything the features need from the tables that does not depend on the as-of instant.

:func:`prepare` turns the loaded tables into integer arrays once (categorical codes, UTC
microseconds, local day numbers per program time zone), so that each as-of instant is a few
numpy masks and bincounts. Time-stamped first-term rows are grouped by cohort (the first term)
so that a cohort's rows are one contiguous slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from earlywarn.features.calendar import NO_DAY, Zones, day_numbers, to_us
from earlywarn.features.population import visibility_us

if TYPE_CHECKING:
    from earlywarn.contract import Tables


@dataclass
class CohortRows:
    """Rows of one time-stamped table grouped by cohort code (a term).

    ``order[offsets[c]:offsets[c + 1]]`` are the rows of cohort c. A cohort's rows are gathered
    on first use and kept until another cohort is asked for, so that the checkpoints of one
    cohort share one slice and only the cohorts in use are ever gathered.
    """

    arrays: dict[str, np.ndarray]
    order: np.ndarray
    offsets: np.ndarray
    _last: tuple[bytes, dict[str, np.ndarray]] | None = None

    @classmethod
    def build(cls, cohort: np.ndarray, n_cohorts: int, arrays: dict[str, np.ndarray]) -> CohortRows:
        small = cohort.astype(np.int16) if n_cohorts < 2**15 else cohort
        order = np.argsort(small, kind="stable")  # a radix sort for 16-bit codes
        counts = np.bincount(cohort, minlength=n_cohorts)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return cls(arrays, order, offsets)

    def take(self, cohorts: np.ndarray) -> dict[str, np.ndarray]:
        """The rows of the given cohorts (one slice each, concatenated)."""
        key = np.asarray(cohorts, dtype=np.int64).tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        parts = [self.order[self.offsets[c] : self.offsets[c + 1]] for c in cohorts]
        index = np.concatenate([np.zeros(0, dtype=np.int64), *parts])
        rows = {k: v[index] for k, v in self.arrays.items()}
        self._last = (key, rows)
        return rows


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a plain sort: faster than hashing for large int arrays)."""
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


@dataclass
class History:
    """Days active of every enrollment, for the course medians of terms that have ended.

    An enrollment's days active counted from rows before its term's end are fixed once the term
    has ended; the few rows after the end (``late_*``) are added as of each instant.
    """

    full_before_end: np.ndarray  # per enrollment row
    late_enrollment: np.ndarray
    late_at: np.ndarray
    late_day: np.ndarray

    @classmethod
    def build(
        cls,
        student: np.ndarray,
        term: np.ndarray,
        course: np.ndarray,
        at: np.ndarray,
        day: np.ndarray,
        enrollments: dict[str, np.ndarray],
        term_end_day: np.ndarray,
        n_terms: int,
        n_courses: int,
    ) -> History:
        """Distinct (enrollment, local day) cells, counted without sorting every row.

        Platforms usually write an enrollment's rows together, so consecutive rows often share
        a cell: collapsing runs first leaves far fewer keys to sort. Any row order is correct.
        """
        n_enr = len(enrollments["student"])
        full = np.zeros(n_enr, dtype=np.int64)
        empty = np.zeros(0, dtype=np.int64)
        if n_enr == 0 or len(at) == 0:
            return cls(full, empty, empty, empty)
        e_key = (enrollments["student"] * n_terms + enrollments["term"]) * n_courses + enrollments[
            "course"
        ]
        order = np.argsort(e_key, kind="stable")
        sorted_keys = e_key[order]

        def enrollment_of(triple: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            pos = np.minimum(np.searchsorted(sorted_keys, triple), n_enr - 1)
            return order[pos], sorted_keys[pos] == triple

        # Intermediates of the length of the activity table are dropped as soon as they are used:
        # with OULAD's full clickstream each is 85 MB.
        triple = (student * n_terms + term) * n_courses + course
        late = day > term_end_day[term]
        late_triple = triple[late]
        d0 = int(day.min())
        span = int(day.max()) - d0 + 1
        triple *= span
        triple += day
        triple -= d0
        before_cells = triple[~late] if late.any() else triple
        del triple
        if len(before_cells):
            heads = np.concatenate([[True], before_cells[1:] != before_cells[:-1]])
            distinct = sorted_distinct(before_cells[heads])
            del before_cells, heads
            owner = distinct // span
            starts = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
            owners = owner[starts]
            counts = np.diff(np.concatenate([starts, [len(owner)]]))
            enr, matched = enrollment_of(owners)
            np.add.at(full, enr[matched], counts[matched])
        enr_late, matched_late = enrollment_of(late_triple)
        return cls(
            full,
            enr_late[matched_late],
            at[late][matched_late],
            day[late][matched_late],
        )


@dataclass
class Prepared:
    """The as-of-independent integer view of one institution's tables."""

    tables: Tables
    zones: Zones
    n_students: int
    n_terms: int
    n_courses: int
    student_program: np.ndarray
    student_first_term: np.ndarray
    term_program: np.ndarray
    term_start_day: np.ndarray
    term_end_day: np.ndarray
    term_deadline_day: np.ndarray
    term_start_us: np.ndarray
    term_end_us: np.ndarray  # the local midnight that ends end_date
    student_term_start_us: np.ndarray
    enrollments: dict[str, np.ndarray]
    items: dict[str, np.ndarray]
    activity: CohortRows | None
    history: History | None
    forum: CohortRows | None
    tickets: CohortRows | None
    submissions: CohortRows
    cache: dict[object, object] = field(default_factory=dict)


def prepare(tables: Tables) -> Prepared:
    """Build the integer arrays every feature family works on; linear in the number of rows."""
    programs, terms, students = tables.programs, tables.terms, tables.students
    zones = Zones([str(tz) for tz in programs["timezone"].fillna("UTC")])
    n_students, n_terms, n_courses = len(students), len(terms), len(tables.courses)
    student_program = students["program_id"].cat.codes.to_numpy(np.int64)
    student_first_term = students["first_term_id"].cat.codes.to_numpy(np.int64)
    term_program = terms["program_id"].cat.codes.to_numpy(np.int64)
    term_start_day = day_numbers(terms["start_date"])
    term_end_day = day_numbers(terms["end_date"])
    deadline = day_numbers(terms["drop_deadline"])
    term_deadline_day = np.where(deadline == NO_DAY, term_start_day, deadline)
    term_start_us = zones.midnight_us(term_start_day, term_program)
    term_end_us = zones.midnight_us(term_end_day + 1, term_program)

    enr = tables.enrollments
    e_student = enr["student_id"].cat.codes.to_numpy(np.int64)
    e_term = enr["term_id"].cat.codes.to_numpy(np.int64)
    e_program = term_program[e_term]
    enrolled_day = day_numbers(enr["enrolled_on"])
    dropped_day = day_numbers(enr["dropped_on"])
    seen_us, dropped_seen_us = visibility_us(enrolled_day, dropped_day, e_program, zones)
    required = enr["is_required"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    enrollments = {
        "student": e_student,
        "course": enr["course_id"].cat.codes.to_numpy(np.int64),
        "term": e_term,
        "seen_us": seen_us,
        "enrolled_day": enrolled_day,
        "dropped_day": dropped_day,
        "dropped_seen_us": dropped_seen_us,
        "final_grade": enr["final_grade"].to_numpy(np.float64),
        "required": required,
        "first_term": e_term == student_first_term[e_student],
    }

    ci = tables.course_items
    items = {
        "course": ci["course_id"].cat.codes.to_numpy(np.int64),
        "graded": ci["graded"].to_numpy(bool),
        "weight": ci["grade_weight"].to_numpy(np.float64),
        "due_day": ci["due_day"].to_numpy(np.float64),
    }

    def cohort_rows(
        frame: pd.DataFrame | None, time_col: str, extra: dict[str, str]
    ) -> CohortRows | None:
        if frame is None:
            return None
        student = frame["student_id"].cat.codes.to_numpy(np.int64)
        at = to_us(frame[time_col])
        first = student_first_term[student]
        if "term_id" in frame.columns:
            keep = frame["term_id"].cat.codes.to_numpy(np.int64) == first
        else:
            keep = np.ones(len(frame), dtype=bool)
        student, at, first = student[keep], at[keep], first[keep]
        arrays = {
            "student": student,
            "at": at,
            "day": zones.local_day(at, student_program[student]),
        }
        for name, column in extra.items():
            arrays[name] = frame[column].to_numpy()[keep]
        return CohortRows.build(first, n_terms, arrays)

    activity = None
    history = None
    if tables.activity is not None:
        act = tables.activity
        a_student = act["student_id"].cat.codes.to_numpy(np.int64)
        a_term = act["term_id"].cat.codes.to_numpy(np.int64)
        a_at = to_us(act["started_at"])
        a_day = zones.local_day(a_at, student_program[a_student])
        first_term = a_term == student_first_term[a_student]
        # Where every row is of a first term (OULAD), a view rather than a copy of each column.
        first: slice | np.ndarray = slice(None) if first_term.all() else first_term
        minutes = act["minutes"].to_numpy(np.float64)
        activity = CohortRows.build(
            a_term[first],
            n_terms,
            {
                "student": a_student[first],
                "at": a_at[first],
                "day": a_day[first],
                "minutes": minutes[first],
            },
        )
        history = History.build(
            a_student,
            a_term,
            act["course_id"].cat.codes.to_numpy(np.int64),
            a_at,
            a_day,
            enrollments,
            term_end_day,
            n_terms,
            n_courses,
        )
    forum = None
    if tables.forum_activity is not None:
        fa = tables.forum_activity
        forum = cohort_rows(
            fa.assign(
                _posting=fa["action"].isin(["thread", "reply"]).to_numpy(bool),
                _thread=(fa["action"] == "thread").to_numpy(bool),
            ),
            "at",
            {"posting": "_posting", "thread": "_thread"},
        )
    tickets = None
    if tables.support_tickets is not None:
        st = tables.support_tickets
        category = st["category"].str.strip().str.lower()
        from earlywarn.features.catalogue import SUPPORT_TICKET_CATEGORIES

        codes = np.full(len(st), -1, dtype=np.int64)
        for k, name in enumerate(SUPPORT_TICKET_CATEGORIES):
            codes[(category == name).fillna(False).to_numpy(bool)] = k
        tickets = cohort_rows(st.assign(_category=codes), "opened_at", {"category": "_category"})

    sub = tables.submissions
    s_item = sub["item_id"].cat.codes.to_numpy(np.int64)
    # is_banked is an optional extension column: NA (absent) reads as "not banked" here; the
    # banked family itself tells an absent column apart (features/banked.py).
    banked = sub["is_banked"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    sub_frame = sub.assign(_item=s_item, _score=sub["score"].to_numpy(np.float64), _banked=banked)
    submissions = cohort_rows(
        sub_frame, "submitted_at", {"item": "_item", "score": "_score", "banked": "_banked"}
    )
    assert submissions is not None
    return Prepared(
        tables=tables,
        zones=zones,
        n_students=n_students,
        n_terms=n_terms,
        n_courses=n_courses,
        student_program=student_program,
        student_first_term=student_first_term,
        term_program=term_program,
        term_start_day=term_start_day,
        term_end_day=term_end_day,
        term_deadline_day=term_deadline_day,
        term_start_us=term_start_us,
        term_end_us=term_end_us,
        student_term_start_us=term_start_us[student_first_term],
        enrollments=enrollments,
        items=items,
        activity=activity,
        history=history,
        forum=forum,
        tickets=tickets,
        submissions=submissions,
    )
