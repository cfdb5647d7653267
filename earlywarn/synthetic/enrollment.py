"""Simulated enrollments: each first-term student's courses, and the terms that follow."""

from __future__ import annotations

import numpy as np

from earlywarn.synthetic.behaviour import (
    NO_DROP,
    TermEnrollments,
)
from earlywarn.synthetic.catalogue import Catalogue
from earlywarn.synthetic.population import Population


def simulate_first_term_enrollments(
    cohort: np.ndarray,
    p: int,
    term: int,
    cat: Catalogue,
    pop: Population,
    rng: np.random.Generator,
) -> TermEnrollments:
    """The cohort's first-term course choices, enrollment dates and drops."""
    m = cohort.size
    eng = pop.engagement[cohort]
    options = np.flatnonzero((cat.course_program == p) & cat.course_first_option)
    load_score = (
        0.15 * eng
        + 0.6 * (cat.full_load[p] - 2.4)
        - 0.012 * (pop.age[cohort] - 33)
        - 0.5 * ((cat.term_start[term] - pop.joined_day[cohort]) >= 365)
        + rng.logistic(0.0, 0.6, m)
    )
    n_courses = np.where(load_score < -0.7, 1, np.where(load_score > 0.9, 3, 2))
    n_courses = np.minimum(n_courses, options.size)
    keys = np.log(cat.course_popularity[options])[None, :] + rng.gumbel(size=(m, options.size))
    ranked = options[np.argsort(-keys, axis=1)]
    take = np.arange(options.size)[None, :] < n_courses[:, None]
    course = ranked[take]
    student = np.repeat(cohort, n_courses)
    k = student.size
    t_start = int(cat.term_start[term])
    deadline_rel = int(cat.term_deadline[term] - t_start)
    late_add = rng.random(k) < 0.1
    enrolled_rel = np.where(late_add, rng.integers(0, 6, k), -rng.integers(1, 45, k))
    e = pop.engagement[student]
    drop_logit = -1.2 - 0.35 * e + 0.6 * (np.repeat(n_courses, n_courses) - 2)
    drops = rng.random(k) < 1.0 / (1.0 + np.exp(-drop_logit))
    after = rng.random(k) < 0.38
    last = 7 * cat.course_weeks[course] - 7
    drop_rel = np.where(
        after,
        rng.integers(deadline_rel + 1, last),
        np.maximum(rng.integers(3, deadline_rel, k), enrolled_rel + 1),
    )
    return TermEnrollments(
        student=student,
        course=course,
        enrolled_day=t_start + enrolled_rel,
        drop_rel=np.where(drops, drop_rel, NO_DROP),
        first_term=np.ones(k, dtype=bool),
    )


def simulate_continuing_enrollments(
    scheduled: list[tuple[np.ndarray, np.ndarray]],
    p: int,
    term: int,
    term_index: int,
    cat: Catalogue,
    pop: Population,
    rng: np.random.Generator,
) -> TermEnrollments:
    """Enrollments of returning students. kind 0: any term; 1: anniversary term of a retained
    student (never dropped before the deadline); 2: anniversary term of a student who leaves
    (one course, dropped before the deadline)."""
    if not scheduled:
        empty = np.zeros(0, dtype=np.int64)
        return TermEnrollments(empty, empty, empty, empty, np.zeros(0, dtype=bool))
    students = np.concatenate([s for s, _ in scheduled])
    kind = np.concatenate([k for _, k in scheduled])
    order = np.argsort(students, kind="stable")
    students, kind = students[order], kind[order]
    pool = np.flatnonzero((cat.course_program == p) & ~cat.course_first_option)
    if pool.size == 0:
        pool = np.flatnonzero(cat.course_program == p)
    n_courses = np.where(kind == 2, 1, 1 + (rng.random(students.size) < 0.75))
    n_courses = np.minimum(n_courses, pool.size)
    student = np.repeat(students, n_courses)
    kinds = np.repeat(kind, n_courses)
    k = student.size
    slot = np.arange(k) - np.repeat(np.cumsum(n_courses) - n_courses, n_courses)
    course = pool[(student + 2 * term_index + slot) % pool.size]
    t_start = int(cat.term_start[term])
    deadline_rel = int(cat.term_deadline[term] - t_start)
    enrolled_rel = -rng.integers(1, 40, k)
    last = 7 * cat.course_weeks[course] - 7
    late_drop = rng.integers(deadline_rel + 1, last)
    early_drop = rng.integers(1, deadline_rel, k)
    u = rng.random(k)
    drop_rel = np.where(
        kinds == 2,
        early_drop,
        np.where(
            kinds == 1,
            np.where(u < 0.05, late_drop, NO_DROP),
            np.where(u < 0.05, early_drop, np.where(u < 0.1, late_drop, NO_DROP)),
        ),
    )
    return TermEnrollments(
        student=student,
        course=course,
        enrolled_day=t_start + enrolled_rel,
        drop_rel=drop_rel,
        first_term=np.zeros(k, dtype=bool),
    )


def concat_enrollments(a: TermEnrollments, b: TermEnrollments) -> TermEnrollments:
    return TermEnrollments(
        *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in TermEnrollments.__annotations__)
    )
