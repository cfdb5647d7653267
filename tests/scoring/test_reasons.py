"""Reasons: contributions grouped into drivers, in plain words with the student's own values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from earlywarn.features.catalogue import FEATURES
from earlywarn.scoring.reasons import (
    DRIVERS,
    driver_contributions,
    driver_of_feature,
    explain,
    render,
)

FIRST_ASSESSMENT_ACTION = DRIVERS["first_assessment"].action


def _explain_one(contributions: dict[str, float], values: dict[str, object], top: int = 3):
    frame = pd.DataFrame([contributions])
    return explain(frame, pd.DataFrame([values]), top=top)[0]


@pytest.mark.parametrize(
    ("driver", "values", "text"),
    [
        (
            "first_assessment",
            {
                "first_deadline_passed": 1,
                "first_assessment_submitted": 0,
                "first_assessment_on_time": 0,
                "days_until_first_deadline": -2.4,
            },
            "has not submitted the first graded assignment (due 2 days ago)",
        ),
        (
            "first_assessment",
            {
                "first_deadline_passed": 1,
                "first_assessment_submitted": 0,
                "days_until_first_deadline": -0.3,
            },
            "has not submitted the first graded assignment (due less than a day ago)",
        ),
        (
            "first_assessment",
            {
                "first_deadline_passed": 1,
                "first_assessment_submitted": 1,
                "first_assessment_on_time": 0,
            },
            "did not pass the first graded assignment on time "
            "(handed in late or scored below the pass mark)",
        ),
        (
            "first_assessment",
            {
                "first_deadline_passed": 0,
                "days_until_first_deadline": 3.5,
                "days_active_before_first_deadline": 1,
            },
            "the first graded assignment is due in 3 days; active on 1 day so far",
        ),
        (
            "study_rhythm",
            {"days_since_last_activity": 9.2, "active_days_last_14": 1},
            "no study activity for 9 days; active on 1 of the last 14 days",
        ),
        (
            "study_rhythm",
            {"days_since_last_activity": 1.0, "active_days_last_14": 2},
            "active on 2 of the last 14 days",
        ),
        (
            "study_rhythm",
            {
                "days_since_last_activity": 0.5,
                "active_days_last_14": 9,
                "active_day_rate_change": -0.3,
            },
            "studying on fewer days than earlier in the term (active on 9 of the last 14 days)",
        ),
        (
            "study_rhythm",
            {
                "days_since_last_activity": 0.5,
                "active_days_last_14": 9,
                "days_active_first_term": 12,
                "hours_per_active_day": 3.25,
            },
            "active on 12 days this term, 3.2 hours per active day",
        ),
        (
            "deadlines",
            {"missing_submissions": 3, "late_submissions": 1, "on_time_weight_share": 0.2},
            "has 3 graded items past due and not submitted",
        ),
        (
            "deadlines",
            {"missing_submissions": 0, "late_submissions": 1, "on_time_weight_share": 0.6},
            "submitted 1 graded item after the deadline",
        ),
        (
            "deadlines",
            {"missing_submissions": 0, "late_submissions": 0, "on_time_weight_share": 0.75},
            "handed in 75% of the graded work due so far on time",
        ),
        ("grades", {"graded_score": 48.4}, "average score so far 48%"),
        (
            "grades",
            {"graded_score": 48.4, "grade_first_term": 61.6},
            "first-term final grades average 62%",
        ),
        (
            "course_load",
            {"dropped_after_deadline": 1, "courses_dropped": 1, "courses_enrolled": 3},
            "dropped a course after the drop deadline",
        ),
        (
            "course_load",
            {"dropped_after_deadline": 0, "courses_dropped": 2, "courses_enrolled": 3},
            "dropped 2 of 3 first-term courses",
        ),
        (
            "course_load",
            {
                "dropped_after_deadline": 0,
                "courses_dropped": 0,
                "courses_active": 1,
                "load_vs_program_median": 0.5,
            },
            "taking 1 course, a lighter load than most students in the program",
        ),
        ("forum", {"forum_days_accessing": 0}, "has not opened the course forums"),
        ("support", {"support_tickets": 2}, "opened 2 support tickets since the term began"),
        (
            "prior_open_content",
            {"open_course_enrollments": 0, "open_course_completions": 0},
            "took no open course on the platform before the degree",
        ),
        (
            "course_design",
            {"has_staff_graded": 0.0, "has_hands_on": 1.0},
            "none of the first-term courses has a staff-graded assessment",
        ),
    ],
)
def test_each_text_states_the_students_values(driver: str, values: dict, text: str) -> None:
    assert render(driver, values) == text


def test_missing_values_never_reach_the_text() -> None:
    # No value for the days: the phrasing that needs it is skipped for one that does not.
    values = {
        "first_deadline_passed": 1,
        "first_assessment_on_time": 0,
        "first_assessment_submitted": 0,
    }
    assert render("first_assessment", values) == (
        "did not pass the first graded assignment on time "
        "(handed in late or scored below the pass mark)"
    )
    # NaN and pandas NA count as missing, not as numbers.
    assert render("grades", {"graded_score": math.nan, "grade_first_term": pd.NA}) is None


def test_contributions_are_grouped_into_drivers_and_ranked() -> None:
    contributions = {
        "first_assessment_submitted": 0.5,
        "days_until_first_deadline": 0.2,  # same driver: 0.7 in all
        "active_days_last_14": 0.3,
        "days_since_last_activity": 0.2,  # study rhythm: 0.5
        "graded_score": -0.4,  # lowers risk: never a reason
        "dropped_after_deadline": 0.6,
        "expected_value": -1.2,  # the base value is no driver
    }
    values = {
        "first_deadline_passed": 1,
        "first_assessment_submitted": 0,
        "first_assessment_on_time": 0,
        "days_until_first_deadline": -2.0,
        "active_days_last_14": 2,
        "days_since_last_activity": 3.0,
        "graded_score": 95.0,
        "dropped_after_deadline": 1,
        "courses_dropped": 1,
    }
    reasons = _explain_one(contributions, values)
    assert [r.driver for r in reasons] == ["first_assessment", "course_load", "study_rhythm"]
    assert reasons[0].text == "has not submitted the first graded assignment (due 2 days ago)"
    assert reasons[0].action == FIRST_ASSESSMENT_ACTION
    assert reasons[1].text == "dropped a course after the drop deadline"
    assert "course load" in reasons[1].action
    assert "pathway" in reasons[1].action
    assert reasons[2].text == "active on 2 of the last 14 days"
    assert "short, frequent study sessions" in reasons[2].action

    assert [r.driver for r in _explain_one(contributions, values, top=1)] == ["first_assessment"]


def test_drivers_that_lower_risk_give_no_reason() -> None:
    assert _explain_one({"graded_score": -0.8, "active_days_last_14": -0.1}, {}) == []


def test_fixed_facts_have_no_action_and_actionable_drivers_do() -> None:
    for fixed in ("prior_open_content", "course_design", "enrollment_timing"):
        assert DRIVERS[fixed].action == ""
    for actionable in ("first_assessment", "study_rhythm", "deadlines", "grades", "course_load"):
        assert DRIVERS[actionable].action.endswith(".")
    reasons = _explain_one(
        {"has_staff_graded": 0.4, "open_course_enrollments": 0.3},
        {"has_staff_graded": 0.0, "open_course_enrollments": 0},
    )
    # Fixed facts are context, not a to-do list: at most one is shown.
    assert [(r.driver, r.action) for r in reasons] == [("course_design", "")]


def test_every_feature_has_a_driver_except_the_hidden_ones() -> None:
    mapping = driver_of_feature(list(FEATURES))
    hidden = {name for name, spec in FEATURES.items() if name not in mapping}
    assert hidden == {
        name
        for name, spec in FEATURES.items()
        if spec.family in {"checkpoint", "program", "student"}
    }
    # Sensitive attributes are never shown to an advisor as a reason.
    assert not any(FEATURES[name].sensitive for name in mapping)
    # Features the table lists by name go to that driver even across families.
    assert mapping["graded_score"] == "grades"
    assert mapping["grade_first_term"] == "grades"


def test_driver_contributions_sum_the_features_of_each_driver() -> None:
    frame = pd.DataFrame(
        {"active_days_last_14": [0.25, -0.5], "days_since_last_activity": [0.5, 0.25]}
    )
    summed = driver_contributions(frame)
    assert summed["study_rhythm"].tolist() == [0.75, -0.25]


def test_actionable_reasons_come_first_and_fixed_facts_are_capped_at_one() -> None:
    # The fixed facts raise the risk most, yet the advisor reads first what they can act on.
    contributions = {
        "has_staff_graded": 0.9,  # course design: a fixed fact
        "days_from_admission_to_start": 0.8,  # admission timing: a fixed fact
        "open_course_enrollments": 0.7,  # prior open courses: a fixed fact
        "first_assessment_submitted": 0.1,
        "courses_dropped": 0.05,
    }
    values = {
        "has_staff_graded": 0.0,
        "days_from_admission_to_start": 12.0,
        "open_course_enrollments": 0,
        "first_deadline_passed": 1,
        "first_assessment_submitted": 0,
        "days_until_first_deadline": -4.0,
        "courses_dropped": 1,
        "courses_enrolled": 3,
        "dropped_after_deadline": 0,
    }
    reasons = _explain_one(contributions, values)
    assert [r.driver for r in reasons] == ["first_assessment", "course_load", "course_design"]
    assert [bool(r.action) for r in reasons] == [True, True, False]
    assert reasons[2].text == "none of the first-term courses has a staff-graded assessment"
    # With room for only one reason, it is the actionable one.
    assert [r.driver for r in _explain_one(contributions, values, top=1)] == ["first_assessment"]


def test_forum_use_is_never_given_as_a_reason_for_risk() -> None:
    contributions = {"forum_days_accessing": 0.4, "forum_replies": 0.2}
    active = {"forum_days_accessing": 16, "forum_days_posting": 5}
    assert _explain_one(contributions, active) == []
    silent = {"forum_days_accessing": 16, "forum_days_posting": 0}
    [reason] = _explain_one(contributions, silent)
    assert reason.text == "reads the course forums but has not posted"


# What the report grounds an advisor's action in (Coursera, "Drivers of Retention in Online
# Degree Programs"): support on the first assessment (resources, office hours, one-on-one help),
# frequent short study sessions, course load and pathway guidance, clear grading expectations
# with examples, and the forums and peers.
GROUNDED_SUGGESTIONS = (
    "office hours",
    "short, frequent study sessions",
    "course load and the degree pathway",
    "grading expectations",
    "course forums",
)


@pytest.mark.parametrize("driver", [name for name, spec in DRIVERS.items() if spec.action])
def test_every_action_is_one_of_the_reports_grounded_suggestions(driver: str) -> None:
    action = DRIVERS[driver].action
    assert any(suggestion in action for suggestion in GROUNDED_SUGGESTIONS), action
