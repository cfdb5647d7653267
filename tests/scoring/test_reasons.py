"""Reasons: a student's own contributions grouped into drivers, said with the student's own values
beside what is typical in their intake, each with an action that fits it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from earlywarn.features.catalogue import FEATURES
from earlywarn.scoring.reasons import (
    CONTEXT_DRIVERS,
    REASON_DRIVERS,
    driver_contributions,
    driver_of_feature,
    explain,
    intake_values,
    phrase_for,
    render,
)


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
                "days_until_first_deadline": -2.4,
                "share_first_assessment_submitted": 0.9,
            },
            "has not submitted the first graded assignment (due 2 days ago); 90% of this intake "
            "submitted it",
        ),
        (
            "first_assessment",
            {
                "first_deadline_passed": 0,
                "days_until_first_deadline": 3.5,
                "days_active_before_first_deadline": 1,
                "typical_days_active_before_first_deadline": 4,
            },
            "the first graded assignment is due in 3 days; active on 1 day so far; typical in "
            "this intake: 4",
        ),
        (
            "study_rhythm",
            {
                "days_since_last_activity": 9.2,
                "active_days_last_14": 1,
                "typical_active_days_last_14": 6,
            },
            "no study activity for 9 days; active on 1 of the last 14 days; typical in this "
            "intake: 6",
        ),
        (
            "deadlines",
            {"missing_submissions": 3, "typical_missing_submissions": 0},
            "has 3 graded items past due and not submitted; typical in this intake: 0",
        ),
        (
            "grades",
            {"graded_score": 48.4, "typical_graded_score": 71.0},
            "average score so far 48%; typical in this intake: 71%",
        ),
        (
            "course_load",
            {"dropped_after_deadline": 0, "courses_dropped": 2, "courses_enrolled": 3},
            "dropped 2 of 3 first-term courses",
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
    # No intake comparison known: the phrasing that needs it gives way to one that does not.
    assert render("grades", {"graded_score": 48.4}) == "scores on graded work so far"
    # NaN and pandas NA count as missing, not as numbers.
    assert render("grades", {"graded_score": math.nan, "grade_first_term": pd.NA}) == (
        "scores on graded work so far"
    )


def test_every_student_driver_can_always_be_said_and_acted_on() -> None:
    """Whatever is known, a driver that raises risk has a sentence and an action, so the reasons
    listed are always exactly the largest contributions."""
    for name, driver in REASON_DRIVERS.items():
        found = phrase_for(name, {})
        assert found is not None, name
        if not driver.context:
            assert found[1].endswith("."), name


def test_an_upcoming_deadline_is_named_and_a_passed_one_never_is() -> None:
    ahead = phrase_for(
        "first_assessment",
        {
            "first_deadline_passed": 0,
            "days_until_first_deadline": 5.2,
            "days_active_before_first_deadline": 0,
            "typical_days_active_before_first_deadline": 3,
        },
    )
    assert ahead is not None
    assert "within 5 days, before the first graded assignment is due" in ahead[1]
    passed = phrase_for(
        "first_assessment",
        {
            "first_deadline_passed": 1,
            "first_assessment_submitted": 0,
            "days_until_first_deadline": -12.0,
            "share_first_assessment_submitted": 0.8,
        },
    )
    assert passed is not None
    assert "due 12 days ago" in passed[0]
    assert "due" not in passed[1]
    assert "deadline" not in passed[1]


def test_reasons_follow_the_contributions_in_order() -> None:
    contributions = {
        "first_assessment_submitted": 0.5,
        "days_until_first_deadline": 0.2,  # same driver: 0.7 in all
        "active_days_last_14": 0.3,
        "days_since_last_activity": 0.2,  # study rhythm: 0.5
        "graded_score": -0.4,  # lowers risk: never a reason
        "dropped_after_deadline": 0.6,
        "days_from_admission_to_start": 0.05,  # fourth: beyond the top three
        "expected_value": -1.2,  # the base value is no driver
    }
    values = {
        "first_deadline_passed": 1,
        "first_assessment_submitted": 0,
        "days_until_first_deadline": -2.0,
        "active_days_last_14": 2,
        "days_since_last_activity": 3.0,
        "graded_score": 95.0,
        "dropped_after_deadline": 1,
    }
    reasons = _explain_one(contributions, values)
    assert [r.driver for r in reasons] == ["first_assessment", "course_load", "study_rhythm"]
    assert reasons[1].text == "dropped a course after the drop deadline"
    assert "pathway" in reasons[1].action
    assert [r.driver for r in _explain_one(contributions, values, top=1)] == ["first_assessment"]


def test_drivers_that_lower_risk_give_no_reason() -> None:
    assert _explain_one({"graded_score": -0.8, "active_days_last_14": -0.1}, {}) == []


def test_course_design_is_context_after_the_students_own_reasons() -> None:
    # Course design raises the risk most, yet it is shown after the student's own reasons, as
    # context without an action.
    reasons = _explain_one(
        {"has_staff_graded": 0.9, "open_course_enrollments": 0.3, "courses_dropped": 0.1},
        {"has_staff_graded": 0.0, "open_course_enrollments": 0, "courses_dropped": 1},
    )
    assert [r.driver for r in reasons] == ["prior_open_content", "course_load", "course_design"]
    assert reasons[-1].action == ""
    assert {"course_design", "program_history"} == CONTEXT_DRIVERS


def test_the_programs_record_is_context_with_its_rate() -> None:
    # The program's rate with earlier students raises the risk most: shown after the student's own
    # reason, as context, with the rate in words.
    reasons = _explain_one(
        {"program_history_rate": 0.8, "courses_dropped": 0.1},
        {"program_history_rate": 0.283, "courses_dropped": 1},
    )
    assert [r.driver for r in reasons] == ["course_load", "program_history"]
    assert reasons[-1].text == (
        "in past terms 28% of this program's first-term students were not retained"
    )
    assert reasons[-1].action == ""


def test_every_feature_has_a_driver_except_the_hidden_ones() -> None:
    mapping = driver_of_feature(list(FEATURES))
    hidden = {name for name, spec in FEATURES.items() if name not in mapping}
    assert hidden == {
        name
        for name, spec in FEATURES.items()
        if spec.family in {"checkpoint", "program", "student"}
    } - {"program"}
    # The program's own effect is part of its history, shown as context, never as a reason.
    assert mapping["program"] == "program_history"
    # Sensitive attributes are never shown to an advisor as a reason.
    assert not any(FEATURES[name].sensitive for name in mapping)
    assert mapping["graded_score"] == "grades"
    assert mapping["grade_first_term"] == "grades"


def test_driver_contributions_sum_the_features_of_each_driver() -> None:
    frame = pd.DataFrame(
        {"active_days_last_14": [0.25, -0.5], "days_since_last_activity": [0.5, 0.25]}
    )
    summed = driver_contributions(frame)
    assert summed["study_rhythm"].tolist() == [0.75, -0.25]


def test_the_intake_comparison_is_each_first_terms_own() -> None:
    features = pd.DataFrame(
        {
            "first_term_id": ["A", "A", "A", "B"],
            "active_days_last_14": [1.0, 5.0, 9.0, 2.0],
            "first_assessment_submitted": [1.0, 0.0, 1.0, 0.0],
        }
    )
    intake = intake_values(features)
    assert intake["typical_active_days_last_14"].tolist() == [5.0, 5.0, 5.0, 2.0]
    assert intake["share_first_assessment_submitted"].tolist() == pytest.approx(
        [2 / 3, 2 / 3, 2 / 3, 0.0]
    )


def test_actions_differ_with_what_the_sentence_says() -> None:
    """The same driver gives different advice for a student gone quiet and one studying in long
    sessions: advice follows the reason, not only its family."""
    quiet = phrase_for(
        "study_rhythm",
        {
            "days_since_last_activity": 12,
            "active_days_last_14": 0,
            "typical_active_days_last_14": 6,
        },
    )
    long_days = phrase_for(
        "study_rhythm",
        {
            "days_since_last_activity": 1,
            "active_days_last_14": 7,
            "typical_active_days_last_14": 6,
            "active_day_rate_change": 0.0,
            "days_active_first_term": 10,
            "hours_per_active_day": 4.0,
            "typical_hours_per_active_day": 1.5,
        },
    )
    assert quiet is not None
    assert long_days is not None
    assert quiet[1] != long_days[1]
    assert "shorter sessions" in long_days[1]
