"""The retention model and its truth: drivers by their exact definitions, p, and true effects.

First-year retention probability is additive on the probability scale:

    p = clip(base + program effect + confounders + sum_d beta_d * (x_d - centre_d)
             + nonlinear terms, 0.02, 0.98)

where every x_d is one of the 22 drivers of docs/driver-definitions.md, computed here from the very
rows the generator writes, as of the end of the student's first term. A missing driver value
contributes nothing (it counts as its centre). beta_d = target_d / designed IQR_d (config.py).
The nonlinear terms (:func:`nonlinear_terms`: two thresholds and an interaction) make the truth
something a tree model can learn better than a logistic one; a driver's true effect holds them at
each student's actual values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from earlywarn.features.catalogue import YES_NO_DRIVERS
from earlywarn.synthetic.behaviour import NO_DROP, TermBehaviour, TermEnrollments
from earlywarn.synthetic.config import (
    AGE_CENTRE,
    AGE_POINTS_PER_YEAR,
    BASE_RETENTION,
    COUNTRY_POINTS,
    DRIVER_TARGETS,
    EDUCATION_POINTS,
    HEAVY_LOAD_COURSES,
    HEAVY_LOAD_DAY_POINTS,
    LATE_ADMISSION_DAYS,
    LATE_ADMISSION_POINTS,
    LONG_TIME_LEARNER_DAYS,
    LONG_TIME_LEARNER_POINTS,
    LOW_ACTIVITY_DAYS,
    LOW_ACTIVITY_POINTS,
    OPEN_UNFINISHED_FREE_POINTS,
    P_MAX,
    P_MIN,
    PASS_SCORE,
    SILENT_BEFORE_DEADLINE_DAYS,
    SILENT_MISSED_DEADLINE_POINTS,
    SIMULATED_DRIVERS,
)


def coefficients(
    iqr: dict[str, float] | None = None, nonlinear: dict[str, float] | None = None
) -> dict[str, float]:
    """Each driver's coefficient (probability per unit): its target, less what the nonlinear
    terms already carry of it, over its IQR.

    ``iqr`` gives measured interquartile ranges (a calibration pass); missing or zero ones fall
    back to the designed range in config.py. Yes/no drivers always use 1. ``nonlinear`` gives the
    points the nonlinear terms add when the driver moves from its low to its high value
    (:func:`nonlinear_shares`, from the same pass), so the driver's whole effect is its target.
    """
    out: dict[str, float] = {}
    for name, (target, designed, _) in DRIVER_TARGETS.items():
        spread = designed
        if iqr is not None and name not in YES_NO_DRIVERS and iqr.get(name, 0.0) > 0:
            spread = iqr[name]
        carried = (nonlinear or {}).get(name, 0.0)
        out[name] = (target - carried) / 100.0 / spread
    return out


def nonlinear_shares(drivers: dict[str, np.ndarray], known: np.ndarray) -> dict[str, float]:
    """Per driver, the mean change of :func:`nonlinear_terms` (in points, before clipping) when
    the driver moves from its low to its high value (0 to 1, or its 25th to its 75th
    percentile) for every known-label student, the others as they are."""
    sub = {name: values[known] for name, values in drivers.items()}
    actual = nonlinear_terms(sub)
    n = len(actual)
    out: dict[str, float] = {}
    for name in SIMULATED_DRIVERS:
        x = sub[name]
        present = x[~np.isnan(x)]
        if name in YES_NO_DRIVERS:
            low, high = 0.0, 1.0
        elif present.size:
            low, high = (float(v) for v in np.percentile(present, [25, 75]))
        else:
            continue
        at_low = nonlinear_terms({**sub, name: np.full(n, low)})
        at_high = nonlinear_terms({**sub, name: np.full(n, high)})
        change = float(np.mean(at_high - at_low) * 100.0)
        if change != 0.0:
            out[name] = change
    return out


def centres() -> dict[str, float]:
    return {name: centre for name, (_, _, centre) in DRIVER_TARGETS.items()}


@dataclass(frozen=True)
class CohortContext:
    """What the driver computation needs about one term besides its behaviour."""

    term_start: int
    term_deadline: int  # epoch day of the drop deadline
    item_due_us: np.ndarray  # per item (global), due instant in this term; unused for ungraded
    course_first_due_us: np.ndarray  # per course (global): earliest due instant in this term
    item_course: np.ndarray
    course_design: dict[str, np.ndarray]
    course_history_median: np.ndarray  # per course (global), NaN when no earlier enrollment


def cohort_drivers(
    cohort: np.ndarray, enr: TermEnrollments, beh: TermBehaviour, ctx: CohortContext
) -> dict[str, np.ndarray]:
    """The 14 first-term drivers that behaviour and course design determine, per cohort student.

    ``cohort`` lists the students (global rows) whose first term this is, sorted; the open-course
    drivers come from :func:`open_course_drivers`. Every row the behaviour holds is before the end
    of the term, so "seen as of t" keeps them all.
    """
    n = cohort.size
    is_first = enr.first_term
    e_rows = np.flatnonzero(is_first)
    local = np.searchsorted(cohort, enr.student)  # position in cohort, valid where is_first
    e_local = local[e_rows]
    out: dict[str, np.ndarray] = {}
    count = np.bincount(e_local, minlength=n).astype(float)
    out["courses_enrolled"] = count
    dropped = enr.drop_rel[e_rows] != NO_DROP
    out["courses_dropped"] = np.bincount(e_local, weights=dropped, minlength=n)
    late_drop = dropped & (ctx.term_start + enr.drop_rel[e_rows] > ctx.term_deadline)
    out["dropped_after_deadline"] = (np.bincount(e_local, weights=late_drop, minlength=n) > 0) * 1.0
    courses = enr.course[e_rows]
    for name, values in ctx.course_design.items():
        out[name] = np.bincount(e_local, weights=values[courses], minlength=n) / count
    hist = ctx.course_history_median[courses]
    has_hist = ~np.isnan(hist)
    hist_n = np.bincount(e_local, weights=has_hist, minlength=n)
    hist_sum = np.bincount(e_local, weights=np.where(has_hist, hist, 0.0), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["course_median_days_active"] = np.where(hist_n > 0, hist_sum / hist_n, np.nan)

    grade = beh.final_grade[e_rows]
    graded = ~np.isnan(grade)
    g_n = np.bincount(e_local, weights=graded, minlength=n)
    g_sum = np.bincount(e_local, weights=np.where(graded, grade, 0.0), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["grade_first_term"] = np.where(g_n > 0, g_sum / g_n, np.nan)

    first_deadline = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_deadline, e_local, ctx.course_first_due_us[courses])

    # Activity of the first-term enrollments: distinct local days, hours, before the deadline.
    act_first = is_first[beh.act_enrollment]
    a_local = local[beh.act_enrollment[act_first]]
    a_day = beh.act_day[act_first]
    a_min = beh.act_minutes[act_first]
    a_before = beh.act_started_us[act_first] < first_deadline[a_local]
    span = int(a_day.max()) + 1 if a_day.size else 1
    out["days_active_first_term"] = _distinct_days(a_local, a_day, span, n)
    out["learning_hours_first_term"] = np.bincount(a_local, weights=a_min, minlength=n) / 60.0
    out["days_active_before_first_deadline"] = _distinct_days(
        a_local[a_before], a_day[a_before], span, n
    )
    out["learning_hours_before_first_deadline"] = (
        np.bincount(a_local[a_before], weights=a_min[a_before], minlength=n) / 60.0
    )

    # First assessment: an on-time, passing submission of an item due at the first deadline.
    sub_first = is_first[beh.sub_enrollment]
    s_local = local[beh.sub_enrollment[sub_first]]
    s_due = ctx.item_due_us[beh.sub_item[sub_first]]
    ok = (
        (s_due == first_deadline[s_local])
        & (beh.sub_at_us[sub_first] <= s_due)
        & (beh.sub_score[sub_first] >= PASS_SCORE)
    )
    out["first_assessment_on_time"] = (np.bincount(s_local[ok], minlength=n) > 0) * 1.0
    return out


def _distinct_days(who: np.ndarray, day: np.ndarray, span: int, n: int) -> np.ndarray:
    keys = np.unique(who.astype(np.int64) * span + day)
    return np.bincount(keys // span, minlength=n).astype(float)


def confounder_points(
    *,
    age: np.ndarray,
    education: list[str],
    country: list[str],
    joined_lead_days: np.ndarray,
    admitted_lead_days: np.ndarray,
    open_unfinished_free: np.ndarray,
) -> np.ndarray:
    """The baseline shift (probability) from observed student variables."""
    points = (
        AGE_POINTS_PER_YEAR * (age - AGE_CENTRE)
        + np.array([EDUCATION_POINTS[e] for e in education])
        + np.array([COUNTRY_POINTS[c] for c in country])
        + LONG_TIME_LEARNER_POINTS * (joined_lead_days >= LONG_TIME_LEARNER_DAYS)
        + LATE_ADMISSION_POINTS * (admitted_lead_days < LATE_ADMISSION_DAYS)
        + OPEN_UNFINISHED_FREE_POINTS * open_unfinished_free
    )
    out: np.ndarray = points / 100.0
    return out


def nonlinear_terms(drivers: dict[str, np.ndarray]) -> np.ndarray:
    """The truth's shapes no linear model has (probability; documented in
    ``_truth/outcome_model.json`` and docs/synthetic.md), each keeping the drivers' directions:

    * a threshold on the first deadline: a student who missed it (not on time) *and* was active
      on fewer than ``SILENT_BEFORE_DEADLINE_DAYS`` days before it loses
      ``SILENT_MISSED_DEADLINE_POINTS``;
    * a threshold on engagement: fewer than ``LOW_ACTIVITY_DAYS`` days active in the first term
      loses ``LOW_ACTIVITY_POINTS``;
    * an interaction: under a heavy load (``HEAVY_LOAD_COURSES`` or more first-term courses) each
      day active above or below its centre counts ``HEAVY_LOAD_DAY_POINTS`` more.
    """
    on_time = np.nan_to_num(drivers["first_assessment_on_time"], nan=1.0)
    before = np.nan_to_num(drivers["days_active_before_first_deadline"], nan=np.inf)
    days = drivers["days_active_first_term"]
    known_days = ~np.isnan(days)
    courses = np.nan_to_num(drivers["courses_enrolled"], nan=0.0)
    centre = DRIVER_TARGETS["days_active_first_term"][2]
    out: np.ndarray = (
        SILENT_MISSED_DEADLINE_POINTS * ((on_time < 0.5) & (before < SILENT_BEFORE_DEADLINE_DAYS))
        + LOW_ACTIVITY_POINTS * (known_days & (np.nan_to_num(days) < LOW_ACTIVITY_DAYS))
        + HEAVY_LOAD_DAY_POINTS
        * (courses >= HEAVY_LOAD_COURSES)
        * np.where(known_days, np.nan_to_num(days) - centre, 0.0)
    ) / 100.0
    return out


def linear_predictor(
    drivers: dict[str, np.ndarray], baseline: np.ndarray, beta: dict[str, float]
) -> np.ndarray:
    """base + program + confounders + the drivers' terms + :func:`nonlinear_terms`, before
    clipping."""
    centre = centres()
    lin = BASE_RETENTION + baseline + nonlinear_terms(drivers)
    for name in SIMULATED_DRIVERS:
        x = drivers[name]
        lin = lin + np.where(np.isnan(x), 0.0, beta[name] * (x - centre[name]))
    out: np.ndarray = lin
    return out


def retention_probability(
    drivers: dict[str, np.ndarray], baseline: np.ndarray, beta: dict[str, float]
) -> np.ndarray:
    """The true first-year retention probability of each student."""
    out: np.ndarray = np.clip(linear_predictor(drivers, baseline, beta), P_MIN, P_MAX)
    return out


def measured_iqr(drivers: dict[str, np.ndarray], known: np.ndarray) -> dict[str, float]:
    """Each driver's 75th minus 25th percentile over the known-label students."""
    out: dict[str, float] = {}
    for name in SIMULATED_DRIVERS:
        x = drivers[name][known]
        x = x[~np.isnan(x)]
        out[name] = float(np.subtract(*np.percentile(x, [75, 25]))) if x.size else 0.0
    return out


def true_effects(
    drivers: dict[str, np.ndarray],
    baseline: np.ndarray,
    known: np.ndarray,
    beta: dict[str, float],
) -> dict[str, dict[str, float]]:
    """Each driver's effect: mean p with the driver at its 75th minus at its 25th percentile.

    Computed over the students with a known label (``known``); the percentiles use numpy's
    default linear interpolation over their non-missing values; yes/no drivers go from 0 to 1.
    Every other input keeps its actual value; the driver is set for every student, including
    those whose value was missing. The nonlinear terms are computed again with the driver set, so
    a driver they involve (the first deadline, days active, the course load) carries its share of
    them.
    """
    centre = centres()
    sub = {name: values[known] for name, values in drivers.items()}
    lin = linear_predictor(sub, baseline[known], beta)
    actual_nonlinear = nonlinear_terms(sub)
    effects: dict[str, dict[str, float]] = {}
    for name in SIMULATED_DRIVERS:
        x = sub[name]
        own = np.where(np.isnan(x), 0.0, beta[name] * (x - centre[name]))
        if name in YES_NO_DRIVERS:
            low, high = 0.0, 1.0
        else:
            low, high = (float(v) for v in np.percentile(x[~np.isnan(x)], [25, 75]))
        rest = lin - own - actual_nonlinear

        def p_at(value: float, name: str = name, rest: np.ndarray = rest) -> np.ndarray:
            nonlinear = nonlinear_terms({**sub, name: np.full(len(rest), value)})
            return np.clip(rest + beta[name] * (value - centre[name]) + nonlinear, P_MIN, P_MAX)

        p_low, p_high = p_at(low), p_at(high)
        effects[name] = {
            "effect_points": float(np.mean(p_high - p_low) * 100.0),
            "low": low,
            "high": high,
            "coefficient": beta[name],
            "target_points": DRIVER_TARGETS[name][0],
        }
    return effects
