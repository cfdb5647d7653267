"""The documented list of first-term features: every column the model may use, in output order.

Each :class:`FeatureSpec` says in one line what the feature measures, which family computes it,
its kind, whether it is a sensitive attribute (left out of the model by default, kept for the
fairness audit) and the direction of its effect on retention where that is not in doubt
(``monotone``: +1 more is better, -1 more is worse, 0 no constraint). docs/features.md is
generated from this registry and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FeatureKind = Literal["numeric", "binary", "categorical"]

#: Support ticket categories counted separately (case-insensitive); every other category counts
#: only in ``support_tickets`` (the total).
SUPPORT_TICKET_CATEGORIES = ("technical", "billing", "enrollment", "academic")


@dataclass(frozen=True)
class FeatureSpec:
    """What one feature column means and how a model may use it."""

    description: str
    family: str
    kind: FeatureKind = "numeric"
    sensitive: bool = False
    monotone: int = 0


def _specs() -> dict[str, FeatureSpec]:
    s = FeatureSpec
    specs: dict[str, FeatureSpec] = {
        # the checkpoint
        "checkpoint_week": s(
            "Weeks since the local start of the first term (fractional).", "checkpoint"
        ),
        # first deadline
        "first_assessment_on_time": s(
            "1 if an item due at the first deadline was on time and scored at least pass_score.",
            "first_deadline",
            "binary",
            monotone=1,
        ),
        "first_assessment_submitted": s(
            "1 if any item due at the first deadline has been submitted, on time or late.",
            "first_deadline",
            "binary",
            monotone=1,
        ),
        "first_deadline_passed": s(
            "1 once the first deadline (earliest due instant of the first-term items) has passed.",
            "first_deadline",
            "binary",
        ),
        "days_until_first_deadline": s(
            "Days from the as-of instant to the first deadline (negative once it has passed).",
            "first_deadline",
        ),
        "days_active_before_first_deadline": s(
            "Distinct local days with first-term activity before the first deadline (to date).",
            "first_deadline",
            monotone=1,
        ),
        "learning_hours_before_first_deadline": s(
            "Hours of first-term activity before the first deadline (to date).",
            "first_deadline",
            monotone=1,
        ),
        # activity to date
        "days_active_first_term": s(
            "Distinct local days with at least one first-term activity row, to date.",
            "activity",
            monotone=1,
        ),
        "learning_hours_first_term": s(
            "Hours of first-term activity to date (missing when no row records minutes).",
            "activity",
            monotone=1,
        ),
        "hours_per_active_day": s(
            "Learning hours per active day in the first term, to date.", "activity"
        ),
        "days_since_last_activity": s(
            "Days since the last first-term activity (since the term start when there is none).",
            "activity",
            monotone=-1,
        ),
        "active_days_last_14": s(
            "Distinct active local days among the 14 local days before the as-of day.",
            "activity",
            monotone=1,
        ),
        "active_day_rate_change": s(
            "Share of the last 14 days active minus the share of the term's earlier days active.",
            "activity",
        ),
        # submissions to date
        "on_time_weight_share": s(
            "Share of the grade weight already due that was submitted on time.",
            "submissions",
            monotone=1,
        ),
        "late_submissions": s(
            "Graded items submitted only after their due instant, to date.", "submissions"
        ),
        "missing_submissions": s(
            "Graded items already due with no submission at all, to date.",
            "submissions",
            monotone=-1,
        ),
        "graded_score": s(
            "Grade-weighted mean of the best score of each graded item scored so far "
            "(the plain mean while every item scored weighs 0).",
            "submissions",
            monotone=1,
        ),
        # load and drops
        "courses_enrolled": s("First-term courses, dropped ones included.", "load"),
        "courses_active": s("First-term courses not dropped (to date).", "load"),
        "load_vs_program_median": s(
            "First-term courses relative to the program's median first-term course count.", "load"
        ),
        "courses_dropped": s("First-term courses dropped, to date.", "load"),
        "dropped_after_deadline": s(
            "1 if a first-term course was dropped after the term's drop deadline.",
            "load",
            "binary",
            monotone=-1,
        ),
        "required_courses": s("First-term courses marked required.", "load"),
        "grade_first_term": s(
            "Mean final grade of the first-term courses; missing until the first term has ended.",
            "load",
            monotone=1,
        ),
        # forum
        "forum_days_accessing": s("Distinct local days with any first-term forum action.", "forum"),
        "forum_days_posting": s(
            "Distinct local days with a first-term forum thread or reply.", "forum"
        ),
        "forum_threads_started": s("First-term forum threads started.", "forum"),
        "forum_replies": s("First-term forum replies.", "forum"),
        # support
        "support_tickets": s(
            "Support tickets opened since the start of the first term.", "support"
        ),
    }
    for category in SUPPORT_TICKET_CATEGORIES:
        specs[f"support_tickets_{category}"] = s(
            f"Support tickets of category '{category}' opened since the start of the first term.",
            "support",
        )
    specs.update(
        {
            # before the degree
            "open_course_enrollments": s(
                "Open courses enrolled in before the first term's start date.", "prior"
            ),
            "open_course_paid_enrollments": s(
                "Paid open-course enrollments before the first term's start date.", "prior"
            ),
            "open_course_completions": s(
                "Open courses completed before the first term's start date.", "prior"
            ),
            "stackable_open_enrollments": s(
                "Stackable open courses enrolled in before the first term's start date.", "prior"
            ),
            "stackable_open_completions": s(
                "Stackable open courses completed before the first term's start date.", "prior"
            ),
            "completed_open_course": s(
                "1 if any open course was completed before the first term's start date.",
                "prior",
                "binary",
            ),
            "stackable_open_course": s(
                "1 if a stackable open course was enrolled in before the first term's start date.",
                "prior",
                "binary",
            ),
            "days_from_platform_join_to_start": s(
                "Days from platform registration to the first term's start date.", "prior"
            ),
            "days_from_admission_to_start": s(
                "Days from admission to the first term's start date.", "prior"
            ),
            # the student
            "age": s("Age at the start of the first term.", "student", sensitive=True),
            # Prior education is academic preparation, not a protected characteristic: the model
            # uses it by default (on OULAD it took the withdrawn week-1 ROC-AUC from 0.624 to
            # 0.643); it is never a reason an advisor reads (family "student"), and the audit
            # reports every education group. Leave the column out of the data to keep it out.
            "education_level": s(
                "Education level (highest qualification before the degree) as the institution "
                "records it; a model input, never a reason.",
                "student",
                "categorical",
            ),
            "country_group": s(
                "Country group as the institution records it.",
                "student",
                "categorical",
                sensitive=True,
            ),
            # the program
            "program": s(
                "The student's program, so the model can learn each program's own base rate.",
                "program",
                "categorical",
            ),
            "terms_per_year": s("Terms per year of the student's program.", "program"),
            "terms_allowed_missing": s(
                "Terms a student of the program may skip and still be enrolled.", "program"
            ),
        }
    )
    specs.update(
        {
            # submission timing (new work only: banked results left out)
            "items_submitted": s(
                "First-term graded items handed in so far (banked results not counted).", "timing"
            ),
            "mean_days_early": s(
                "Mean days between each item's first submission and its due instant (< 0: late).",
                "timing",
            ),
            "early_submission_share": s(
                "Share of the items handed in so far that arrived at least 2 days before due.",
                "timing",
            ),
            "days_since_last_submission": s(
                "Days since the last first-term submission (since the term start when none).",
                "timing",
            ),
            # banked results (optional submissions.is_banked)
            "banked_items": s(
                "First-term graded items with a banked result (carried over from an earlier "
                "attempt); missing without is_banked.",
                "banked",
            ),
            "banked_grade_share": s(
                "Grade weight of the banked items per first-term course; missing without "
                "is_banked.",
                "banked",
            ),
            # background (optional students.prior_attempts, students.first_term_credits)
            "prior_attempts": s(
                "Earlier attempts at the program before this first term (students.prior_attempts).",
                "background",
            ),
            "first_term_credits": s(
                "The whole first-term credit load, all programs (students.first_term_credits).",
                "background",
            ),
            "days_enrolled_before_start": s(
                "Days from the first first-term enrollment to the term start (< 0: enrolled late).",
                "background",
            ),
            # what earlier cohorts say (outcomes of earlier students known as of t)
            "program_not_retained_rate": s(
                "The program's rate of not being retained among earlier students whose first "
                "term ended before t (outcomes table), shrunk toward the institution's rate; "
                "missing without outcomes.",
                "program",
                monotone=-1,
            ),
            # the student relative to the still-enrolled peers of their first term
            "graded_score_cohort_rank": s(
                "Percentile rank (0 to 1) of graded_score among the cohort's enrolled students.",
                "cohort",
                monotone=1,
            ),
            "on_time_share_cohort_rank": s("Same for on_time_weight_share.", "cohort", monotone=1),
            "items_submitted_cohort_rank": s("Same for items_submitted.", "cohort"),
            "days_early_cohort_rank": s("Same for mean_days_early.", "cohort"),
            "days_active_cohort_rank": s("Same for days_active_first_term.", "cohort", monotone=1),
        }
    )
    # Course design: each value is a mean over the student's first-term courses.
    design: dict[str, str] = {
        "has_staff_graded": "Has a graded staff_graded item (0/1).",
        "has_peer_graded": "Has a graded peer_graded item (0/1).",
        "has_programming": "Has a graded programming item (0/1).",
        "has_hands_on": (
            "Has a graded programming, staff_graded, peer_graded, discussion_prompt or team "
            "item (0/1)."
        ),
        "quiz_item_share": "Share of graded items that are quizzes.",
        "staff_graded_item_share": "Same for staff_graded items.",
        "peer_graded_item_share": "Same for peer_graded items.",
        "programming_item_share": "Same for programming items.",
        "quiz_grade_share": "Grade weight of graded quizzes.",
        "staff_grade_share": "Same for staff_graded items.",
        "peer_grade_share": "Same for peer_graded items.",
        "programming_grade_share": "Same for programming items.",
        "practice_share": "Share of ungraded items that are practice.",
        "video_share": "Same for video items.",
        "reading_share": "Same for reading items.",
        "weekly_videos_mean": "Videos per course week.",
        "weekly_readings_mean": "Same for readings.",
        "weekly_practice_mean": "Same for ungraded practice items.",
        "weekly_graded_mean": "Same for graded items.",
        "weekly_video_minutes_mean": "Same for video minutes.",
        "weekly_grade_weight_mean": "Same for grade weight.",
        "weekly_videos_cv": "Coefficient of variation of videos per course week.",
        "weekly_readings_cv": "Same for readings.",
        "weekly_practice_cv": "Same for ungraded practice items.",
        "weekly_graded_cv": "Same for graded items.",
        "weekly_video_minutes_cv": "Same for video minutes.",
        "weekly_grade_weight_cv": "Same for grade weight.",
        "graded_weight_centroid": (
            "sum(grade_weight x week) / course weeks (the report's graded points centroid)."
        ),
        "video_minutes_centroid": (
            "sum(video_minutes x week) / total video minutes / course weeks."
        ),
        "max_item_weight": "Largest grade weight of a single graded item.",
        "small_item_share": "Share of graded items under 5% of the grade.",
        "medium_item_share": "Same for items of 5% to 15% weight.",
        "large_item_share": "Same for items over 15% weight.",
        "first_week_video_minutes": "Video minutes in week 1.",
        "course_weeks": "Course length in weeks.",
    }
    for name, text in design.items():
        specs[name] = s(text, "design")
    specs["course_median_days_active"] = s(
        "Median days active of the course's past enrollments (terms ended before the as-of "
        "instant), over courses with such history.",
        "design",
    )
    return specs


FEATURES: dict[str, FeatureSpec] = _specs()

#: The features of a student's open (not-for-credit) courses before the degree.
PRIOR_OPEN_FEATURES: tuple[str, ...] = (
    "open_course_enrollments",
    "open_course_paid_enrollments",
    "open_course_completions",
    "stackable_open_enrollments",
    "stackable_open_completions",
    "completed_open_course",
    "stackable_open_course",
)

#: The drivers of the report's three families. Course structure: what a course's design is,
#: averaged over a student's first-term courses (the last one, the typical days active, comes from
#: earlier students of the course).
OPEN_CONTENT_DRIVERS: tuple[str, ...] = ("completed_open_course", "stackable_open_course")
BEHAVIOUR_DRIVERS: tuple[str, ...] = (
    "first_assessment_on_time",
    "days_active_first_term",
    "learning_hours_first_term",
    "days_active_before_first_deadline",
    "learning_hours_before_first_deadline",
    "grade_first_term",
    "courses_enrolled",
    "courses_dropped",
    "dropped_after_deadline",
)
COURSE_STRUCTURE_DRIVERS: tuple[str, ...] = (
    "has_staff_graded",
    "has_hands_on",
    "practice_share",
    "video_share",
    "reading_share",
    "staff_grade_share",
    "peer_grade_share",
    "quiz_grade_share",
    "graded_weight_centroid",
    "max_item_weight",
    "course_median_days_active",
)

#: The 22 drivers of docs/driver-definitions.md, in its order; each is a feature column of the
#: same name.
DRIVERS: tuple[str, ...] = (*OPEN_CONTENT_DRIVERS, *BEHAVIOUR_DRIVERS, *COURSE_STRUCTURE_DRIVERS)

#: The drivers by family, in the report's display order.
DRIVER_GROUPS: dict[str, tuple[str, ...]] = {
    "Open content": OPEN_CONTENT_DRIVERS,
    "Course structure": COURSE_STRUCTURE_DRIVERS,
    "Student behaviour": BEHAVIOUR_DRIVERS,
}

#: The drivers whose effect is measured from 0 to 1 rather than from the 25th to the 75th
#: percentile (the "yes/no" column of docs/driver-definitions.md).
YES_NO_DRIVERS = frozenset(
    {
        "completed_open_course",
        "stackable_open_course",
        "first_assessment_on_time",
        "dropped_after_deadline",
        "has_staff_graded",
        "has_hands_on",
    }
)


def feature_names(*, include_sensitive: bool = True) -> list[str]:
    """The feature columns in output order, optionally without the sensitive attributes."""
    return [n for n, spec in FEATURES.items() if include_sensitive or not spec.sensitive]


def render_markdown() -> str:
    """docs/features.md: every feature in one line, grouped by family."""
    lines = [
        "# First-term features",
        "",
        "Generated from `earlywarn/features/catalogue.py` (a test keeps this file in step).",
        "Every feature is computed as of an instant t from the rows visible at t",
        '(CONTRACT.md, "as of").',
        "Kinds: numeric, binary (0/1), categorical. Sensitive attributes are left out of the model",
        "by default and kept for the fairness audit. Monotone: the direction of the effect on",
        "retention where it is not in doubt (+1, -1; 0 when unconstrained).",
        "",
        "Missing values: a count is 0 when its table exists but the student has no rows yet, and",
        "missing (NaN) when the optional table itself is absent (activity, forum_activity,",
        "support_tickets, open_content) or the value is undefined (a share of nothing, no first",
        "deadline, grade_first_term before the first term has ended). `checkpoint_week` is",
        "fractional in `features_as_of` and a whole week in training snapshots. Local days and",
        "deadlines use the program's time zone; an item is due at the end of its local due day.",
        "",
        "| feature | family | kind | sensitive | monotone | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for name, spec in FEATURES.items():
        if spec.family == "design":
            description = f"Mean over first-term courses: {spec.description}"
        else:
            description = spec.description
        lines.append(
            f"| {name} | {spec.family} | {spec.kind} | {'yes' if spec.sensitive else ''} | "
            f"{spec.monotone:+d} | {description} |".replace("| +0 |", "| 0 |")
        )
    lines.append("")
    return "\n".join(lines)
