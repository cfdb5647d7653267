"""Why a student scored high: that student's own model contributions, grouped into drivers.

The model's per-student contributions
(:meth:`earlywarn.model.artifact.RetentionModel.contributions`:
LightGBM ``pred_contrib`` for the trees plus the terms of the linear base; positive raises the
log-odds of not being retained; with the base value they add up to the student's margin) are
summed over the features of each *driver* (the first graded assignment, the study rhythm,
deadlines, grades, course load, ...; :mod:`earlywarn.scoring.reason_phrases`). A student's reasons
are
the drivers that raise their risk most, in that order: each is a sentence with the student's own
value beside what is typical in their intake (the students of the same first term scored with
them), and an action that fits that sentence.

Course design is shown apart: at most one ``context`` reason, after the student's own, which the
digest presents to the advisor as context, not as the student's doing. The checkpoint, the
program and the protected attributes (family ``student``) are never a reason.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from earlywarn.scoring.reason_phrases import REASON_DRIVERS, Driver, Phrase, Values
from earlywarn.state.records import Reason

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FAMILY_DRIVERS", "REASON_DRIVERS", "Driver", "Phrase", "explain", "render"]

# Features not listed in REASON_DRIVERS join a driver by their FeatureSpec family; None: never a
# reason.
FAMILY_DRIVERS: dict[str, str | None] = {
    "first_deadline": "first_assessment",
    "activity": "study_rhythm",
    "submissions": "deadlines",
    "load": "course_load",
    "forum": "forum",
    "support": "support",
    "prior": "prior_open_content",
    "design": "course_design",
    "timing": "deadlines",
    "cohort": "deadlines",  # the ranks of grades and activity are listed by name above
    "banked": "grades",
    "background": "course_load",
    "checkpoint": None,
    "program": None,
    # Protected attributes (age, education, country group; gender, disability, deprivation or
    # region when an institution adds them) are never a reason, even when the model uses them.
    "student": None,
}

# Values computed from the features for phrasing.
DERIVED: dict[str, Callable[[Values], Any]] = {
    "days_since_first_deadline": lambda v: -v["days_until_first_deadline"],
    "program_history_percent": lambda v: round(100 * v["program_history_rate"]),
}

# Shares of the intake for phrasing (``share_<name>``) beyond the 0/1 features' own means: the
# share of the intake (with a known value) whose feature is above zero.
INTAKE_SHARES: dict[str, str] = {
    "forum_opened": "forum_days_accessing",
    "forum_posted": "forum_days_posting",
    "took_open_course": "open_course_enrollments",
}

# A driver must raise the log-odds of risk by at least this much to be a reason.
MIN_CONTRIBUTION = 0.01
#: The drivers shown apart, as context for the advisor (course design).
CONTEXT_DRIVERS = frozenset(name for name, driver in REASON_DRIVERS.items() if driver.context)
# ------------------------------------------------------------------------------------------------


def _count(value: Any) -> str:
    return str(round(float(value)))


def _days(value: Any) -> str:
    days = math.floor(float(value))
    if days < 1:
        return "less than a day"
    return "1 day" if days == 1 else f"{days} days"


def _hours(value: Any) -> str:
    hours = float(value)
    text = f"{hours:.1f}".removesuffix(".0")
    return f"{text} hour" if text == "1" else f"{text} hours"


_FORMATS: dict[str, Callable[[Any], str]] = {
    "n": _count,
    "days": _days,
    "pct": lambda v: f"{round(float(v))}%",
    "share": lambda v: f"{round(100 * float(v))}%",
    "hours": _hours,
    "s": lambda v: "" if round(float(v)) == 1 else "s",
}


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in _FORMATS:
            return _FORMATS[format_spec](value)
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


class _Known(dict[str, Any]):
    """Values by name; a missing or unknown value reads as ``None`` (conditions fail on it)."""

    def __missing__(self, key: str) -> None:
        return None


def _placeholders(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def _known(values: Values) -> _Known:
    known = _Known({k: v for k, v in values.items() if not _is_missing(v)})
    for name, derive in DERIVED.items():
        try:
            derived = derive(known)
        except TypeError:
            continue
        if not _is_missing(derived):
            known[name] = derived
    return known


def phrase_for(driver_name: str, values: Values) -> tuple[str, str] | None:
    """The driver's sentence and action for one student's values (the first phrasing whose
    condition holds and whose placeholders all have values), or ``None``."""
    known = _known(values)
    for phrase in REASON_DRIVERS[driver_name].phrases:
        fields = _placeholders(phrase.template) + _placeholders(phrase.action)
        if any(known[field] is None for field in fields):
            continue
        try:
            applies = bool(phrase.when(known))
        except TypeError:  # a comparison with a missing value: this phrasing does not fit
            continue
        if applies:
            return (
                _FORMATTER.format(phrase.template, **known),
                _FORMATTER.format(phrase.action, **known),
            )
    return None


def render(driver_name: str, values: Values) -> str | None:
    """The driver's sentence for one student's values, or ``None`` when no phrasing fits."""
    found = phrase_for(driver_name, values)
    return None if found is None else found[0]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT differ from themselves
    except TypeError:  # pandas.NA: its truth value is ambiguous, and it means missing
        return True


def driver_of_feature(
    names: Sequence[str], families: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Which driver each feature's contribution counts towards (features with none are left out).

    ``families`` defaults to :data:`earlywarn.features.FEATURES`' families.
    """
    if families is None:
        from earlywarn.features.catalogue import FEATURES

        families = {name: spec.family for name, spec in FEATURES.items()}
    listed = {
        feature: driver for driver, spec in REASON_DRIVERS.items() for feature in spec.features
    }
    mapping: dict[str, str] = {}
    for name in names:
        driver = listed.get(name) or FAMILY_DRIVERS.get(families.get(name, ""))
        if driver is not None:
            mapping[name] = driver
    return mapping


def driver_contributions(
    contributions: pd.DataFrame, families: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Per student (row) and driver (column): the sum of its features' contributions."""
    import pandas as pd

    mapping = driver_of_feature([str(c) for c in contributions.columns], families)
    grouped: dict[str, Any] = {}
    for driver in REASON_DRIVERS:
        columns = [feature for feature, d in mapping.items() if d == driver]
        if columns:
            grouped[driver] = contributions[columns].sum(axis=1)
    return pd.DataFrame(grouped, index=contributions.index)


def intake_values(features: pd.DataFrame) -> pd.DataFrame:
    """Per student, what is typical in their intake (the rows of the same ``first_term_id``,
    else ``program_id``, else all): ``typical_<f>`` the median of each numeric feature,
    ``share_<f>`` the mean of each 0/1 feature and of :data:`INTAKE_SHARES`."""
    import pandas as pd

    numeric = features.select_dtypes(include="number")
    shares = pd.DataFrame(index=features.index)
    for name, column in INTAKE_SHARES.items():
        if column in numeric.columns:
            values = numeric[column]
            shares[name] = (values > 0).astype(float).where(values.notna())
    binary = [c for c in numeric.columns if numeric[c].dropna().isin([0, 1]).all()]
    shares = pd.concat([numeric[binary], shares], axis=1)
    group = next((c for c in ("first_term_id", "program_id") if c in features.columns), None)
    if group is None:
        keys: Any = pd.Series(0, index=features.index)
    else:
        keys = features[group].astype(str)
    typical = numeric.groupby(keys).transform("median").add_prefix("typical_")
    share = shares.groupby(keys).transform("mean").add_prefix("share_")
    return pd.concat([typical, share], axis=1)


def explain(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    *,
    top: int = 3,
    families: Mapping[str, str] | None = None,
) -> list[list[Reason]]:
    """Each student's reasons: the ``top`` drivers that raise that student's risk most, largest
    first, then at most one context reason (:data:`CONTEXT_DRIVERS`: the course design, or the
    program's record with earlier students).

    ``contributions`` and ``features`` have one row per student in the same order (the model's
    :meth:`~earlywarn.model.artifact.RetentionModel.contributions` and the scored features).
    """
    import pandas as pd

    by_driver = driver_contributions(contributions, families)
    values = pd.concat(
        [features.reset_index(drop=True), intake_values(features).reset_index(drop=True)], axis=1
    )
    records = values.to_dict(orient="records")
    drivers = list(by_driver.columns)
    sums = by_driver.to_numpy(dtype=float)
    explained: list[list[Reason]] = []
    for row, student in zip(sums, records, strict=True):
        ranked = ranked_drivers(dict(zip(drivers, row, strict=True)))
        own = [d for d in ranked if d not in CONTEXT_DRIVERS]
        context = [d for d in ranked if d in CONTEXT_DRIVERS]
        reasons: list[Reason] = []
        for driver in own:
            if len(reasons) == top:
                break
            found = phrase_for(driver, student)
            if found is not None:
                reasons.append(Reason(driver=driver, text=found[0], action=found[1]))
        for driver in context[:1]:
            found = phrase_for(driver, student)
            if found is not None:
                reasons.append(Reason(driver=driver, text=found[0], action=""))
        explained.append(reasons)
    return explained


def ranked_drivers(amounts: Mapping[str, float]) -> list[str]:
    """The drivers that raise risk by at least :data:`MIN_CONTRIBUTION`, largest first (ties
    by name)."""
    raising = [(float(v), d) for d, v in amounts.items() if float(v) >= MIN_CONTRIBUTION]
    return [d for _, d in sorted(raising, key=lambda pair: (-pair[0], pair[1]))]
