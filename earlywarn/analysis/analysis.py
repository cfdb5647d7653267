"""The driver analysis: one double-lasso model per driver, ranked, beside its naive comparison.

Each driver's interval is computed at the level where it varies (students, or first-term course
sets for a course-design driver), every p-value gets a Benjamini-Hochberg q-value across the
drivers of the run, and a course-design estimate resting on fewer than ``min_courses`` courses
is marked as a hint rather than a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Literal

from earlywarn.analysis.design import DRIVER_GROUPS, DRIVERS_IN_REPORT_ORDER, AnalysisFrame
from earlywarn.features.catalogue import COURSE_STRUCTURE_DRIVERS, YES_NO_DRIVERS


@dataclass(frozen=True)
class DriverEffect:
    """One driver's estimated effect on first-year retention (percentage points)."""

    driver: str
    group: str
    yes_no: bool
    measurable: bool
    effect_pp: float | None = None
    ci_low_pp: float | None = None
    ci_high_pp: float | None = None
    p25: float | None = None
    p75: float | None = None
    n: int = 0
    naive_pp: float | None = None
    p_value: float | None = None
    programs: int = 0
    controls: list[str] = field(default_factory=list)
    reason: str | None = None
    name: str = ""  # the plain name from the glossary
    q_value: float | None = None
    cluster_level: str = "student"  # "student" or "course" (first-term course set)
    clusters: int = 0
    interval_method: str | None = None
    courses: int | None = None  # course-design drivers: distinct courses carrying the variation
    hint: bool = False  # a course-design estimate on fewer courses than the setting asks

    @property
    def finding(self) -> bool:
        """Named in the summary: q < 0.05, not a hint, and a nonzero span of the driver."""
        return (
            self.measurable
            and self.q_value is not None
            and self.q_value < SIGNIFICANCE
            and not self.hint
            and self.p25 != self.p75
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "finding": self.finding}


SIGNIFICANCE = 0.05


def group_of(driver: str) -> str:
    return next(group for group, members in DRIVER_GROUPS.items() if driver in members)


def estimate_driver(
    analysis: AnalysisFrame,
    driver: str,
    *,
    penalty: Literal["plugin", "cv"] = "plugin",
    random_state: int = 0,
    min_courses: int = 30,
) -> DriverEffect:
    """Fit the double-lasso model of one driver on the rows where the driver has a value."""
    from earlywarn.analysis.design import candidate_controls, courses_in
    from earlywarn.analysis.estimator import DoubleLassoEffect
    from earlywarn.analysis.glossary import plain_name
    from earlywarn.analysis.naive import naive_effect_pp
    from earlywarn.core.errors import DriverNotMeasurable

    yes_no = driver in YES_NO_DRIVERS
    course_level = driver in COURSE_STRUCTURE_DRIVERS
    base = partial(
        DriverEffect,
        driver=driver,
        group=group_of(driver),
        yes_no=yes_no,
        name=plain_name(driver),
        cluster_level="course" if course_level else "student",
    )
    if driver in analysis.unmeasurable:
        return base(measurable=False, reason=analysis.unmeasurable[driver])
    values = analysis.drivers[driver]
    rows = values.index[values.notna()]
    if len(rows) == 0:
        return base(measurable=False, reason="no student with a known outcome has a value")
    controls = candidate_controls(analysis, driver, rows)
    X = controls.assign(**{driver: values.loc[rows]})
    retained = analysis.students.loc[rows, "retained"].to_numpy()
    programs = analysis.students.loc[rows, "program_id"].to_numpy()
    clusters = None
    courses = None
    if course_level:
        if analysis.course_sets is None:
            return base(measurable=False, reason="the analysis frame has no first-term courses")
        sets = analysis.course_sets.loc[rows]
        rows = sets.index[sets.notna()]
        X, retained, programs = (
            X.loc[rows],
            analysis.students.loc[rows, "retained"].to_numpy(),
            (analysis.students.loc[rows, "program_id"].to_numpy()),
        )
        clusters = sets.loc[rows].to_numpy()
        courses = courses_in(sets.loc[rows])
        if len(set(clusters)) < 2:
            return base(
                measurable=False,
                n=len(rows),
                courses=courses,
                reason="every student took the same first-term courses",
            )
    estimator = DoubleLassoEffect(driver, binary=yes_no, penalty=penalty, random_state=random_state)
    try:
        estimator.fit(X, retained, programs, clusters)
    except DriverNotMeasurable as exc:
        return base(measurable=False, n=len(rows), courses=courses, reason=str(exc))
    naive = naive_effect_pp(values.loc[rows], retained, p25=estimator.p25_, p75=estimator.p75_)
    return base(
        measurable=True,
        effect_pp=estimator.effect_pp_,
        ci_low_pp=estimator.ci_low_pp_,
        ci_high_pp=estimator.ci_high_pp_,
        p25=estimator.p25_,
        p75=estimator.p75_,
        n=estimator.n_,
        naive_pp=naive,
        p_value=estimator.p_value_,
        programs=estimator.n_programs_,
        controls=list(estimator.controls_),
        clusters=estimator.n_clusters_,
        interval_method=estimator.interval_method_,
        courses=courses,
        hint=courses is not None and courses < min_courses,
    )


def analyse_drivers(
    analysis: AnalysisFrame,
    *,
    penalty: Literal["plugin", "cv"] = "plugin",
    random_state: int = 0,
    min_courses: int = 30,
) -> list[DriverEffect]:
    """Every driver's effect with its q-value, ranked by size (largest first); unmeasurable last."""
    results = [
        estimate_driver(
            analysis, d, penalty=penalty, random_state=random_state, min_courses=min_courses
        )
        for d in DRIVERS_IN_REPORT_ORDER
    ]
    return rank(with_q_values(results))


def with_q_values(results: list[DriverEffect]) -> list[DriverEffect]:
    """Benjamini-Hochberg q-values across the drivers that have a p-value (the drivers tested)."""
    from dataclasses import replace

    from scipy.stats import false_discovery_control

    tested = [i for i, r in enumerate(results) if r.measurable and r.p_value is not None]
    if not tested:
        return list(results)
    q = false_discovery_control([results[i].p_value for i in tested], method="bh")
    out = list(results)
    for i, value in zip(tested, q, strict=True):
        out[i] = replace(out[i], q_value=float(value))
    return out


def tested(results: Sequence[DriverEffect]) -> int:
    """How many drivers the q-values were adjusted across."""
    return sum(r.q_value is not None for r in results)


def rank(results: list[DriverEffect]) -> list[DriverEffect]:
    measured = sorted((r for r in results if r.measurable), key=lambda r: -abs(r.effect_pp or 0.0))
    return measured + [r for r in results if not r.measurable]
