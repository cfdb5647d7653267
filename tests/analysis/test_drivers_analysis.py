"""The analysis across drivers: q-values, what each estimate rests on, what the summary names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earlywarn.analysis.analysis import analyse_drivers
from earlywarn.analysis.design import DRIVERS_IN_REPORT_ORDER, AnalysisFrame
from earlywarn.analysis.glossary import plain_name
from earlywarn.analysis.summary import summary_sentences

MEASURED = (
    "first_assessment_on_time",
    "completed_open_course",
    "has_staff_graded",
    "graded_weight_centroid",
)


def institution(*, seed: int, n: int = 3000, courses_per_program: int = 12) -> AnalysisFrame:
    """Four programs, each student in two first-term courses of their program.

    Passing the first assessment (+10 points) and staff-graded courses (+8 points per course
    share) drive retention; an open course (tied to age, which drives retention) and a late grade
    weight (tied to staff grading) have no effect at all.
    """
    rng = np.random.default_rng(seed)
    index = pd.Index([f"S{i:05d}" for i in range(n)], name="student_id")
    program = rng.integers(0, 4, n)
    picks = rng.integers(0, courses_per_program, (n, 2))
    picks[:, 1] = (picks[:, 0] + 1 + rng.integers(0, courses_per_program - 1, n)) % (
        courses_per_program
    )
    course = program[:, None] * courses_per_program + picks
    staff = rng.random(4 * courses_per_program) < 0.5
    late_weight = 0.7 + 0.1 * staff + rng.normal(0, 0.05, staff.size)
    age = rng.normal(0, 1, n)
    first = (rng.random(n) < 1 / (1 + np.exp(-0.8 * age))).astype(float)
    open_course = (rng.random(n) < 1 / (1 + np.exp(-age))).astype(float)
    has_staff = staff[course].mean(axis=1)
    probability = (
        0.55
        + 0.10 * first
        + 0.08 * has_staff
        + 0.06 * age
        + np.array([0, 0.03, -0.02, 0.01])[program]
    )
    retained = (rng.random(n) < np.clip(probability, 0, 1)).astype(float)
    drivers = pd.DataFrame(np.nan, index=index, columns=list(DRIVERS_IN_REPORT_ORDER))
    drivers["first_assessment_on_time"] = first
    drivers["completed_open_course"] = open_course
    drivers["has_staff_graded"] = has_staff
    drivers["graded_weight_centroid"] = late_weight[course].mean(axis=1)
    controls = drivers[list(MEASURED)].assign(age=age)
    sets = ["|".join(sorted(f"C{c:03d}" for c in row)) for row in course]
    return AnalysisFrame(
        students=pd.DataFrame(
            {
                "program_id": [f"P{p}" for p in program],
                "first_term_id": "T1",
                "retained": retained,
            },
            index=index,
        ),
        drivers=drivers,
        controls=controls,
        control_source={c: c for c in controls.columns},
        unmeasurable={d: "not in this test" for d in DRIVERS_IN_REPORT_ORDER if d not in MEASURED},
        course_sets=pd.Series(sets, index=index),
    )


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    return {r.driver: r for r in analyse_drivers(institution(seed=11), min_courses=30)}


def test_drivers_with_no_true_effect_are_not_named_in_the_summary(results: dict) -> None:
    first, _, _ = summary_sentences(
        list(results.values()), students=3000, programs=4, min_courses=30
    )
    assert first.startswith("Of 4 drivers tested on 3,000 students in 4 programs, ")
    assert plain_name("first_assessment_on_time").lower() in first.lower()
    assert plain_name("completed_open_course").lower() not in first.lower()
    assert plain_name("graded_weight_centroid").lower() not in first.lower()
    assert results["graded_weight_centroid"].q_value > 0.05
    assert results["completed_open_course"].q_value > 0.05


def test_each_estimate_says_what_it_rests_on(results: dict) -> None:
    student = results["first_assessment_on_time"]
    assert (student.cluster_level, student.interval_method, student.courses) == (
        "student",
        "hc1",
        None,
    )
    assert student.clusters == student.n == 3000
    design = results["has_staff_graded"]
    assert design.cluster_level == "course"
    assert design.courses == 48
    assert design.interval_method == "cr1_t"
    assert 30 <= design.clusters <= 4 * 66  # distinct course pairs
    assert not design.hint
    measured = [r for r in results.values() if r.measurable]
    assert len(measured) == len(MEASURED)
    q = sorted(r.q_value for r in measured)
    p = sorted(r.p_value for r in measured)
    assert all(qv >= pv for qv, pv in zip(q, p, strict=True))


def test_a_course_design_estimate_on_few_courses_is_a_hint() -> None:
    few = analyse_drivers(institution(seed=12, n=1500, courses_per_program=4), min_courses=30)
    design = next(r for r in few if r.driver == "has_staff_graded")
    assert design.courses == 16
    # 24 course pairs: too few clusters for CR1, so the wild cluster bootstrap sets the interval
    assert (design.clusters, design.interval_method) == (24, "wild_cluster_bootstrap_webb")
    assert design.ci_low_pp <= 8.0 <= design.ci_high_pp
    assert design.hint
    assert not design.finding
    first, second, _ = summary_sentences(few, students=1500, programs=4, min_courses=30)
    assert plain_name("has_staff_graded").lower() not in first.lower()
    assert "rest on fewer than 30 courses and are hints, not findings" in second
