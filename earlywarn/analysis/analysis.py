"""The driver analysis: one double-lasso model per driver, ranked, beside its naive comparison."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Literal

from earlywarn.analysis.design import DRIVER_GROUPS, DRIVERS, AnalysisFrame
from earlywarn.features.catalogue import YES_NO_DRIVERS


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

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def group_of(driver: str) -> str:
    return next(group for group, members in DRIVER_GROUPS.items() if driver in members)


def estimate_driver(
    analysis: AnalysisFrame,
    driver: str,
    *,
    penalty: Literal["plugin", "cv"] = "plugin",
    random_state: int = 0,
) -> DriverEffect:
    """Fit the double-lasso model of one driver on the rows where the driver has a value."""
    from earlywarn.analysis.design import candidate_controls
    from earlywarn.analysis.estimator import DoubleLassoEffect
    from earlywarn.analysis.naive import naive_effect_pp
    from earlywarn.core.errors import DriverNotMeasurable

    yes_no = driver in YES_NO_DRIVERS
    base = partial(DriverEffect, driver=driver, group=group_of(driver), yes_no=yes_no)
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
    estimator = DoubleLassoEffect(driver, binary=yes_no, penalty=penalty, random_state=random_state)
    try:
        estimator.fit(X, retained, programs)
    except DriverNotMeasurable as exc:
        return base(measurable=False, n=len(rows), reason=str(exc))
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
        programs=estimator.n_clusters_,
        controls=list(estimator.controls_),
    )


def analyse_drivers(
    analysis: AnalysisFrame,
    *,
    penalty: Literal["plugin", "cv"] = "plugin",
    random_state: int = 0,
) -> list[DriverEffect]:
    """Every driver's effect, ranked by size (largest first); unmeasurable drivers last."""
    results = [
        estimate_driver(analysis, d, penalty=penalty, random_state=random_state) for d in DRIVERS
    ]
    return rank(results)


def rank(results: list[DriverEffect]) -> list[DriverEffect]:
    measured = sorted((r for r in results if r.measurable), key=lambda r: -abs(r.effect_pp or 0.0))
    return measured + [r for r in results if not r.measurable]
