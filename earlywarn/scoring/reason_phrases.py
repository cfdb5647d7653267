"""The editable table of reasons: each driver's features, and its sentences with their actions.

Phrasings are tried in order: the first whose condition holds and whose placeholders (feature
names; ``typical_<f>``, the intake's median; ``share_<f>``, the intake's share) all have values
is used, with its own action. Each student driver ends with a phrasing that always applies. The
actions follow Coursera's "Drivers of Retention in Online Degree Programs" in our own words;
only the phrasing of a first deadline still ahead names a deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from earlywarn.features.catalogue import PRIOR_OPEN_FEATURES

Values = Mapping[str, Any]


@dataclass(frozen=True)
class Phrase:
    """One way to say a driver, and what to do about it."""

    template: str
    action: str = ""
    when: Callable[[Values], bool] = lambda values: True


@dataclass(frozen=True)
class Driver:
    """Features an advisor understands as one; ``context``: shown apart (course design)."""

    features: tuple[str, ...]
    phrases: tuple[Phrase, ...]
    context: bool = False


P = Phrase
TYPICAL = "; typical in this intake: "

REASON_DRIVERS: dict[str, Driver] = {
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
                "has not submitted the first graded assignment (due "
                "{days_since_first_deadline:days} ago); "
                "{share_first_assessment_submitted:share} of this intake submitted it",
                "Get in touch this week to ask what got in the way of the first graded "
                "assignment, and offer office hours or a one-on-one session to catch up on it and "
                "on the work still to come.",
                lambda v: v["first_deadline_passed"] == 1 and v["first_assessment_submitted"] == 0,
            ),
            P(
                "did not pass the first graded assignment on time (handed in late or scored below "
                "the pass mark); {share_first_assessment_on_time:share} of this intake did",
                "Go over the feedback on the first graded assignment together and offer office "
                "hours or a one-on-one session before the next graded item.",
                lambda v: v["first_deadline_passed"] == 1 and v["first_assessment_on_time"] == 0,
            ),
            P(
                "the first graded assignment is due in {days_until_first_deadline:days}; active on "
                "{days_active_before_first_deadline:n} day{days_active_before_first_deadline:s} so "
                "far" + TYPICAL + "{typical_days_active_before_first_deadline:n}",
                "Reach out within {days_until_first_deadline:days}, before the first graded "
                "assignment is due, and offer office hours or a one-on-one session to get it "
                "started.",
                lambda v: (
                    v["first_deadline_passed"] == 0 and 1 <= v["days_until_first_deadline"] <= 14
                ),
            ),
            P(
                "the first graded assignment is not due for {days_until_first_deadline:days}; "
                "active on {days_active_before_first_deadline:n} "
                "day{days_active_before_first_deadline:s} so far; typical in this intake: "
                "{typical_days_active_before_first_deadline:n}",
                "Offer office hours or a one-on-one session now, to plan the weeks before the "
                "first graded assignment and get started on it early.",
                lambda v: v["first_deadline_passed"] == 0 and v["days_until_first_deadline"] > 14,
            ),
            P(
                "the first graded assignment is due today; active on "
                "{days_active_before_first_deadline:n} day{days_active_before_first_deadline:s} so "
                "far" + TYPICAL + "{typical_days_active_before_first_deadline:n}",
                "Send a short note today with the support on offer (office hours, a one-on-one "
                "session) for the first graded assignment.",
                lambda v: v["first_deadline_passed"] == 0,
            ),
            P(
                "active on {days_active_before_first_deadline:n} "
                "day{days_active_before_first_deadline:s} before the first deadline"
                "; typical in this intake: {typical_days_active_before_first_deadline:n}",
                "Ask how the first graded assignment went and offer office hours or a one-on-one "
                "session for the graded work still to come.",
            ),
            P(
                "the start of the term, up to the first graded assignment",
                "Ask how the first graded assignment went and offer office hours or a one-on-one "
                "session for the graded work still to come.",
            ),
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
                "no study activity for {days_since_last_activity:days}; active on "
                "{active_days_last_14:n} of the last 14 days; typical in this intake: "
                "{typical_active_days_last_14:n}",
                "Get in touch this week: ask what changed, and agree one short study session.",
                lambda v: v["days_since_last_activity"] >= 7,
            ),
            P(
                "active on {active_days_last_14:n} of the last 14 days; typical in this intake: "
                "{typical_active_days_last_14:n}",
                "Encourage short, frequent study sessions on more days of the week "
                "({typical_active_days_last_14:n} of 14 is typical here) and help set a weekly "
                "routine.",
                lambda v: v["active_days_last_14"] < v["typical_active_days_last_14"],
            ),
            P(
                "studying on fewer days than earlier in the term (active on "
                "{active_days_last_14:n} of the last 14 days)",
                "Ask what changed in the last two weeks (work, family, a hard topic) and plan "
                "study time for the coming week together.",
                lambda v: v["active_day_rate_change"] < -0.1,
            ),
            P(
                "active on {days_active_first_term:n} day{days_active_first_term:s} this term, "
                "{hours_per_active_day:hours} per active day; typical in this intake: "
                "{typical_hours_per_active_day:hours}",
                "Suggest spreading the same study time over more, shorter sessions.",
                lambda v: v["hours_per_active_day"] > v["typical_hours_per_active_day"],
            ),
            P(
                "active on {days_active_first_term:n} day{days_active_first_term:s} this term"
                "; typical in this intake: {typical_days_active_first_term:n}",
                "Encourage short, frequent study sessions on most days of the week and help set "
                "a weekly routine.",
            ),
            P(
                "study activity this term",
                "Ask how studying is going and encourage short, frequent study sessions.",
            ),
        ),
    ),
    "deadlines": Driver(
        features=("on_time_weight_share", "late_submissions", "missing_submissions"),
        phrases=(
            P(
                "has {missing_submissions:n} graded item{missing_submissions:s} past due and not "
                "submitted" + TYPICAL + "{typical_missing_submissions:n}",
                "Ask whether the missing work can still be handed in, and plan the graded work "
                "still to come together, with office hours or a one-on-one session.",
                lambda v: v["missing_submissions"] >= 1,
            ),
            P(
                "submitted {late_submissions:n} graded item{late_submissions:s} after it was due"
                "; typical in this intake: {typical_late_submissions:n}",
                "Plan the graded work still to come together, with a start date for each item "
                "well before it has to be handed in.",
                lambda v: v["late_submissions"] >= 1,
            ),
            P(
                "handed in {on_time_weight_share:share} of the graded work due so far on time"
                "; typical in this intake: {typical_on_time_weight_share:share}",
                "Plan the graded work still to come together; offer office hours for the next.",
                lambda v: v["on_time_weight_share"] < 1,
            ),
            P(
                "last handed in graded work {days_since_last_submission:days} ago"
                "; typical in this intake: {typical_days_since_last_submission:days}",
                "Ask about the next graded item and offer help to start on it this week.",
                lambda v: v["days_since_last_submission"] > v["typical_days_since_last_submission"],
            ),
            P(
                "handed in {items_submitted:n} graded item{items_submitted:s} so far"
                "; typical in this intake: {typical_items_submitted:n}",
                "Ask about the next graded item and offer help to start on it this week.",
            ),
            P(
                "how graded work has been handed in so far",
                "Plan the graded work still to come together and offer office hours.",
            ),
        ),
    ),
    "grades": Driver(
        features=("graded_score", "grade_first_term", "graded_score_cohort_rank"),
        phrases=(
            P(
                "first-term final grades average {grade_first_term:pct}; typical in this intake: "
                "{typical_grade_first_term:pct}",
                "Talk through the grading expectations for the next term's courses and point to "
                "tutoring or office hours early on.",
            ),
            P(
                "average score so far {graded_score:pct}" + TYPICAL + "{typical_graded_score:pct}",
                "Go through the feedback on marked work, clarify grading expectations with "
                "examples of strong work, and point to tutoring or office hours.",
            ),
            P(
                "scores on graded work so far",
                "Clarify grading expectations with examples of strong work, and point to "
                "tutoring or office hours.",
            ),
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
                "Talk through what the late drop means for the degree pathway and plan the "
                "remaining courses together.",
                lambda v: v["dropped_after_deadline"] == 1,
            ),
            P(
                "dropped {courses_dropped:n} of {courses_enrolled:n} first-term "
                "course{courses_enrolled:s}",
                "Ask why the course was dropped and plan the degree pathway: which courses to "
                "take when.",
                lambda v: v["courses_dropped"] >= 1,
            ),
            P(
                "taking {courses_active:n} course{courses_active:s}; typical in this intake: "
                "{typical_courses_active:n}",
                "Talk through the course load and the degree pathway: which courses to take "
                "next term, and a load that fits around work and family.",
                lambda v: v["courses_active"] != v["typical_courses_active"],
            ),
            P(
                "the course load this term ({courses_active:n} course{courses_active:s})",
                "Talk through the course load, and plan study time around work and family.",
            ),
            P(
                "the course load this term",
                "Talk through the course load and the degree pathway.",
            ),
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
            P(
                "has not opened the course forums; {share_forum_opened:share} of this intake has",
                "Point to the course forums and one thread to start with, as a place to ask "
                "questions and meet classmates.",
                lambda v: v["forum_days_accessing"] == 0,
            ),
            P(
                "reads the course forums but has not posted; {share_forum_posted:share} of this "
                "intake has posted",
                "Suggest asking one question in the course forums this week, or joining a study "
                "group.",
                lambda v: v["forum_days_posting"] == 0,
            ),
            P(
                "used the course forums on {forum_days_accessing:n} "
                "day{forum_days_accessing:s}" + TYPICAL + "{typical_forum_days_accessing:n}",
                "Suggest a study group or the course forums as a regular place to work with "
                "classmates.",
            ),
            P(
                "use of the course forums",
                "Suggest a study group or the course forums as a place to meet classmates.",
            ),
        ),
    ),
    "support": Driver(
        features=("support_tickets",),
        phrases=(
            P(
                "opened {support_tickets:n} support ticket{support_tickets:s} since the term "
                "began" + TYPICAL + "{typical_support_tickets:n}",
                "Check that the issues raised with support were resolved, and offer a "
                "one-on-one session for anything still in the way.",
                lambda v: v["support_tickets"] >= 1,
            ),
            P(
                "support requests this term",
                "Ask whether anything technical or administrative is in the way.",
            ),
        ),
    ),
    "prior_open_content": Driver(
        features=PRIOR_OPEN_FEATURES,
        phrases=(
            P(
                "took no open course on the platform before the degree; "
                "{share_took_open_course:share} of this intake did",
                "Offer a short walkthrough of how courses on the platform work (videos, graded "
                "items, forums), since these are their first courses here.",
                lambda v: v["open_course_enrollments"] == 0,
            ),
            P(
                "completed none of the {open_course_enrollments:n} open "
                "course{open_course_enrollments:s} taken before the degree",
                "Ask what got in the way of finishing the open courses before the degree, and "
                "offer help with the same hurdles now.",
                lambda v: v["open_course_completions"] == 0,
            ),
            P(
                "completed {open_course_completions:n} open course{open_course_completions:s} "
                "before the degree, none that counts towards it",
                "Ask what they expect of the degree, and point to the support on offer.",
                lambda v: v["stackable_open_enrollments"] == 0,
            ),
            P(
                "open courses taken before the degree",
                "Ask about their experience of online courses before the degree.",
            ),
        ),
    ),
    "enrollment_timing": Driver(
        features=(
            "days_from_platform_join_to_start",
            "days_from_admission_to_start",
            "days_enrolled_before_start",
        ),
        phrases=(
            P(
                "was admitted {days_from_admission_to_start:days} before the term started"
                "; typical in this intake: {typical_days_from_admission_to_start:days}",
                "Check that getting started is complete (platform access, orientation).",
                lambda v: (
                    v["days_from_admission_to_start"] < v["typical_days_from_admission_to_start"]
                ),
            ),
            P(
                "joined the learning platform {days_from_platform_join_to_start:days} before the "
                "term started" + TYPICAL + "{typical_days_from_platform_join_to_start:days}",
                "Offer a short walkthrough of the learning platform and where to find help.",
                lambda v: (
                    v["days_from_platform_join_to_start"]
                    < v["typical_days_from_platform_join_to_start"]
                ),
            ),
            P(
                "how recently they joined before the term",
                "Check that getting started is complete (platform access, orientation).",
            ),
        ),
    ),
    "course_design": Driver(
        features=("course_median_days_active",),
        context=True,
        phrases=(
            P(
                "none of the first-term courses has a staff-graded assessment",
                when=lambda v: v["has_staff_graded"] == 0,
            ),
            P(
                "the first-term courses have no hands-on project",
                when=lambda v: v["has_hands_on"] == 0,
            ),
            P(
                "past students of these courses were typically active on "
                "{course_median_days_active:n} days a term",
            ),
            P("the design of the first-term courses"),
        ),
    ),
    "program_history": Driver(
        features=("program_history_rate", "program"),
        context=True,
        phrases=(
            P(
                "in past terms {program_history_percent:n}% of this program's first-term "
                "students were not retained"
            ),
            P("past first-term students of this program were often not retained"),
        ),
    ),
}
