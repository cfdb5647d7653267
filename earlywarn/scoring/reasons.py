"""Why a student scored high: model contributions grouped into drivers a person understands.

The model's per-student contributions (LightGBM ``pred_contrib``: positive raises the risk of not
being retained) are summed over the features that make up one *driver* (the first graded
assignment, the study rhythm, deadlines, grades, course load, ...). Drivers that raise risk are
ranked by that sum; each becomes a sentence with the student's actual values and, where an advisor
can act on it, a suggested action.

Everything an institution may want to reword lives in ONE place: the :data:`DRIVERS` table just
below. Each driver lists its features, its phrasings (the first whose condition holds and whose
values are all known is used) and its action (empty for fixed facts an advisor cannot change, such
as open-course history before the degree or the design of a course). Features not listed fall
into a driver by their family in :data:`FAMILY_DRIVERS`; families mapped to ``None`` (the
checkpoint, program constants and the sensitive student attributes) are never shown as reasons.

The actions follow the findings of Coursera's "Drivers of Retention in Online Degree Programs":
support (resources, office hours, one-on-one help) on the first graded assessment, frequent short
study days rather than long sessions, guidance on course load and the degree pathway, clear
grading expectations with examples, and the course forums and peers. Every action is one of
these, in our own words (tests/test_reasons.py checks it).

Placeholders in a phrasing are feature names (or :data:`DERIVED` names) with a format: ``:n``
a whole number, ``:days`` "less than a day", "1 day", "3 days", ``:pct`` a 0-100 score as "48%",
``:share`` a 0-1 share as "40%", ``:hours`` "4.5 hours", ``:s`` a plural "s" unless the value is 1.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from earlywarn.features.catalogue import PRIOR_OPEN_FEATURES
from earlywarn.state.records import Reason

if TYPE_CHECKING:
    import pandas as pd

Values = Mapping[str, Any]


@dataclass(frozen=True)
class Phrase:
    """One way to say a driver: used when ``when`` holds and every placeholder has a value."""

    template: str
    when: Callable[[Values], bool] = lambda v: True


@dataclass(frozen=True)
class Driver:
    """A group of features an advisor understands, how to say it, and what to do about it."""

    features: tuple[str, ...]
    phrases: tuple[Phrase, ...]
    action: str = ""


P = Phrase

# ------------------------------------------------------------------------------------------------
# The editable table: drivers, their features, their phrasings and their suggested actions.
# ------------------------------------------------------------------------------------------------
DRIVERS: dict[str, Driver] = {
    "first_assessment": Driver(
        features=(
            "first_assessment_on_time",
            "first_assessment_submitted",
            "first_deadline_passed",
            "days_until_first_deadline",
            "days_active_before_first_deadline",
            "learning_hours_before_first_deadline",
        ),
        phrases=(
            P(
                "has not submitted the first graded assignment "
                "(due {days_since_first_deadline:days} ago)",
                lambda v: v["first_deadline_passed"] == 1 and v["first_assessment_submitted"] == 0,
            ),
            P(
                "did not pass the first graded assignment on time "
                "(handed in late or scored below the pass mark)",
                lambda v: v["first_deadline_passed"] == 1 and v["first_assessment_on_time"] == 0,
            ),
            P(
                "the first graded assignment is due in {days_until_first_deadline:days}; "
                "active on {days_active_before_first_deadline:n} "
                "day{days_active_before_first_deadline:s} so far",
                lambda v: v["first_deadline_passed"] == 0,
            ),
            P(
                "active on only {days_active_before_first_deadline:n} "
                "day{days_active_before_first_deadline:s} before the first deadline"
            ),
        ),
        action=(
            "Reach out before the next deadline and offer office hours or a one-on-one session, "
            "so the first graded assignment gets submitted and passed."
        ),
    ),
    "study_rhythm": Driver(
        features=(
            "days_active_first_term",
            "learning_hours_first_term",
            "hours_per_active_day",
            "days_since_last_activity",
            "active_days_last_14",
            "active_day_rate_change",
            "days_active_cohort_rank",
        ),
        phrases=(
            P(
                "no study activity for {days_since_last_activity:days}; "
                "active on {active_days_last_14:n} of the last 14 days",
                lambda v: v["days_since_last_activity"] >= 7,
            ),
            P(
                "active on {active_days_last_14:n} of the last 14 days",
                lambda v: v["active_days_last_14"] <= 5,
            ),
            P(
                "studying on fewer days than earlier in the term "
                "(active on {active_days_last_14:n} of the last 14 days)",
                lambda v: v["active_day_rate_change"] < -0.1,
            ),
            P(
                "active on {days_active_first_term:n} day{days_active_first_term:s} this term, "
                "{hours_per_active_day:hours} per active day",
                lambda v: v["hours_per_active_day"] >= 2,
            ),
            P("active on {days_active_first_term:n} day{days_active_first_term:s} this term"),
        ),
        action=(
            "Encourage short, frequent study sessions on most days of the week rather than a few "
            "long ones, and help set a weekly routine."
        ),
    ),
    "deadlines": Driver(
        features=("on_time_weight_share", "late_submissions", "missing_submissions"),
        phrases=(
            P(
                "has {missing_submissions:n} graded item{missing_submissions:s} past due "
                "and not submitted",
                lambda v: v["missing_submissions"] >= 1,
            ),
            P(
                "submitted {late_submissions:n} graded item{late_submissions:s} after the deadline",
                lambda v: v["late_submissions"] >= 1,
            ),
            P(
                "handed in {on_time_weight_share:share} of the graded work due so far on time",
                lambda v: v["on_time_weight_share"] < 1,
            ),
        ),
        action=(
            "Go through the coming deadlines together and offer office hours or a one-on-one "
            "session for the work that is due, so it gets submitted on time."
        ),
    ),
    "grades": Driver(
        features=("graded_score", "grade_first_term", "graded_score_cohort_rank"),
        phrases=(
            P("first-term final grades average {grade_first_term:pct}"),
            P("average score so far {graded_score:pct}"),
        ),
        action=(
            "Clarify grading expectations and criteria, share examples of strong work and common "
            "mistakes, and point to tutoring or office hours."
        ),
    ),
    "course_load": Driver(
        features=(
            "courses_enrolled",
            "courses_active",
            "load_vs_program_median",
            "courses_dropped",
            "dropped_after_deadline",
            "required_courses",
        ),
        phrases=(
            P(
                "dropped a course after the drop deadline",
                lambda v: v["dropped_after_deadline"] == 1,
            ),
            P(
                "dropped {courses_dropped:n} of {courses_enrolled:n} first-term "
                "course{courses_enrolled:s}",
                lambda v: v["courses_dropped"] >= 1,
            ),
            P(
                "taking {courses_active:n} course{courses_active:s}, a lighter load than most "
                "students in the program",
                lambda v: v["load_vs_program_median"] < 1,
            ),
            P(
                "taking {courses_active:n} course{courses_active:s}, a heavier load than most "
                "students in the program",
                lambda v: v["load_vs_program_median"] > 1,
            ),
            P("taking {courses_active:n} course{courses_active:s} this term"),
        ),
        action=(
            "Talk through the course load and the degree pathway: which courses to take when, "
            "and a load that fits around work and family."
        ),
    ),
    "forum": Driver(
        features=(
            "forum_days_accessing",
            "forum_days_posting",
            "forum_threads_started",
            "forum_replies",
        ),
        phrases=(
            P("has not opened the course forums", lambda v: v["forum_days_accessing"] == 0),
            P(
                "reads the course forums but has not posted",
                lambda v: v["forum_days_posting"] == 0,
            ),
            # No phrasing for a student who uses the forums: "used the forums on 16 days" would
            # read to an advisor as a cause of risk. The driver is then left out.
        ),
        action=(
            "Suggest the course forums or a study group as a place to ask questions and meet "
            "classmates."
        ),
    ),
    "support": Driver(
        features=("support_tickets",),
        phrases=(
            P(
                "opened {support_tickets:n} support ticket{support_tickets:s} since the term began",
                lambda v: v["support_tickets"] >= 1,
            ),
        ),
        action=(
            "Check that the issues raised with support were resolved, and offer office hours or "
            "a one-on-one session for anything still in the way."
        ),
    ),
    "prior_open_content": Driver(
        features=PRIOR_OPEN_FEATURES,
        phrases=(
            P(
                "took no open course on the platform before the degree",
                lambda v: v["open_course_enrollments"] == 0,
            ),
            P(
                "completed none of the {open_course_enrollments:n} open "
                "course{open_course_enrollments:s} taken before the degree",
                lambda v: v["open_course_completions"] == 0,
            ),
            P(
                "completed {open_course_completions:n} open course{open_course_completions:s} "
                "before the degree, none that counts towards it",
                lambda v: v["stackable_open_enrollments"] == 0,
            ),
        ),
        action="",  # a fixed fact: context for the conversation, nothing to act on
    ),
    "enrollment_timing": Driver(
        features=(
            "days_from_platform_join_to_start",
            "days_from_admission_to_start",
            "days_enrolled_before_start",
        ),
        phrases=(
            P(
                "was admitted {days_from_admission_to_start:days} before the term started",
                lambda v: v["days_from_admission_to_start"] < 30,
            ),
            P(
                "joined the learning platform {days_from_platform_join_to_start:days} "
                "before the term started",
                lambda v: v["days_from_platform_join_to_start"] < 30,
            ),
        ),
        action="",  # a fixed fact
    ),
    "course_design": Driver(
        features=("course_median_days_active",),
        phrases=(
            P(
                "none of the first-term courses has a staff-graded assessment",
                lambda v: v["has_staff_graded"] == 0,
            ),
            P(
                "the first-term courses have no hands-on project",
                lambda v: v["has_hands_on"] == 0,
            ),
            P(
                "past students of these courses were typically active on "
                "{course_median_days_active:n} days a term",
            ),
            P("the design of the first-term courses"),
        ),
        action="",  # course design is for program staff (see `earlywarn drivers`)
    ),
}

# Features not listed above join a driver by their FeatureSpec family; None: never a reason.
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
    "student": None,  # sensitive attributes are never a reason shown to an advisor
}

# Values computed from the features for phrasing.
DERIVED: dict[str, Callable[[Values], Any]] = {
    "days_since_first_deadline": lambda v: -v["days_until_first_deadline"],
}

# A driver must raise the log-odds of risk by at least this much to be a reason.
MIN_CONTRIBUTION = 0.01
# Reasons an advisor can act on come first; fixed facts (no action) follow, at most this many,
# so that course design or admission timing never crowd out what the advisor can do something
# about.
MAX_FIXED_FACTS = 1
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


def render(driver_name: str, values: Values) -> str | None:
    """The driver's sentence for one student's values, or ``None`` when no phrasing fits."""
    known = _Known({k: v for k, v in values.items() if not _is_missing(v)})
    for name, derive in DERIVED.items():
        try:
            derived = derive(known)
        except TypeError:
            continue
        if not _is_missing(derived):
            known[name] = derived
    for phrase in DRIVERS[driver_name].phrases:
        if any(known[field] is None for field in _placeholders(phrase.template)):
            continue
        try:
            applies = bool(phrase.when(known))
        except TypeError:  # a comparison with a missing value: this phrasing does not fit
            continue
        if applies:
            return _FORMATTER.format(phrase.template, **known)
    return None


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
    listed = {feature: driver for driver, spec in DRIVERS.items() for feature in spec.features}
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
    for driver in DRIVERS:
        columns = [feature for feature, d in mapping.items() if d == driver]
        if columns:
            grouped[driver] = contributions[columns].sum(axis=1)
    return pd.DataFrame(grouped, index=contributions.index)


def explain(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    *,
    top: int = 3,
    families: Mapping[str, str] | None = None,
) -> list[list[Reason]]:
    """Each student's top reasons: drivers that raise risk, in plain words. Drivers with an
    action come first, by how much they raise risk; then at most :data:`MAX_FIXED_FACTS` fixed
    facts (drivers without an action), largest first.

    ``contributions`` and ``features`` have one row per student in the same order (the model's
    :meth:`~earlywarn.model.artifact.RetentionModel.contributions` and the scored features).
    """
    by_driver = driver_contributions(contributions, families)
    records = features.to_dict(orient="records")
    drivers = list(by_driver.columns)
    sums = by_driver.to_numpy(dtype=float)
    explained: list[list[Reason]] = []
    for row, values in zip(sums, records, strict=True):
        ranked = sorted(
            (
                (float(amount), drivers[i])
                for i, amount in enumerate(row)
                if amount >= MIN_CONTRIBUTION
            ),
            key=lambda pair: (-pair[0], pair[1]),
        )
        actionable = [driver for _, driver in ranked if DRIVERS[driver].action]
        fixed = [driver for _, driver in ranked if not DRIVERS[driver].action]
        reasons: list[Reason] = []
        fixed_shown = 0
        for driver in actionable + fixed:
            if len(reasons) == top:
                break
            is_fixed = not DRIVERS[driver].action
            if is_fixed and fixed_shown >= MAX_FIXED_FACTS:
                break
            text = render(driver, values)
            if text is not None:
                reasons.append(Reason(driver=driver, text=text, action=DRIVERS[driver].action))
                fixed_shown += is_fixed
        explained.append(reasons)
    return explained
