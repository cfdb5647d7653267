"""First-term features on tiny institutions where the right value is obvious."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.contract import Tables, load_tables
from earlywarn.core.errors import UsageError
from earlywarn.features import (
    DRIVERS,
    FEATURES,
    features_as_of,
    first_term_features,
)
from earlywarn.features.catalogue import render_markdown
from tests.factories import minimal_institution, write_institution
from tests.paths import REPO

Frames = dict[str, pd.DataFrame]
DOCS = REPO / "docs" / "features.md"


def ts(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., Tables]:
    """Write (a changed copy of) the minimal institution and load it back through the loader."""
    counter = iter(range(1000))

    def make(change: Callable[[Frames], None] | None = None, drop: tuple[str, ...] = ()) -> Tables:
        frames = minimal_institution()
        if change is not None:
            change(frames)
        for name in drop:
            frames.pop(name)
        folder = write_institution(tmp_path / f"inst{next(counter)}", frames, "csv")
        return load_tables(folder)

    return make


def row(frame: pd.DataFrame, student: str) -> pd.Series:
    return frame.set_index("student_id").loc[student]


def set_rows(frames: Frames, table: str, rows: list[tuple[str, ...]]) -> None:
    frames[table] = pd.DataFrame(rows, columns=frames[table].columns, dtype=str)


# --- the table as a whole ----------------------------------------------------------------------


def test_columns_registry_and_docs_agree(build: Callable[..., Tables]) -> None:
    frame = features_as_of(build(), ts("2023-10-01"))
    assert list(frame.columns) == ["student_id", "program_id", "first_term_id", *FEATURES]
    assert set(DRIVERS) <= set(FEATURES)
    assert len(DRIVERS) == 22
    for name, spec in FEATURES.items():
        assert spec.description
        assert "\n" not in spec.description
        expected = "category" if spec.kind == "categorical" else "float64"
        assert str(frame[name].dtype) == expected, name
    # Education is academic preparation and a model input; age and country group stay out.
    assert {n for n, s in FEATURES.items() if s.sensitive} == {"age", "country_group"}
    assert DOCS.read_text() == render_markdown(), "regenerate docs/features.md from the registry"


def test_only_students_whose_first_term_is_in_progress(build: Callable[..., Tables]) -> None:
    tables = build()
    # New York's fall term starts at local midnight 2023-09-04 = 04:00 UTC; Kolkata's is running.
    before = features_as_of(tables, ts("2023-09-04T03:59:59Z"))
    assert list(before["student_id"]) == ["S004", "S005"]
    at_start = features_as_of(tables, ts("2023-09-04T04:00:00Z"))
    assert sorted(at_start["student_id"]) == ["S001", "S002", "S003", "S004", "S005"]
    assert row(at_start, "S001")["checkpoint_week"] == 0.0
    # Kolkata's term ends at local midnight after 2023-11-24 = 18:30 UTC that day.
    late = features_as_of(tables, ts("2023-11-24T18:30:00Z"))
    # S002 dropped their only course on 2023-10-02: no longer an active first-term student.
    assert sorted(late["student_id"]) == ["S001", "S003"]


def test_students_who_dropped_every_first_term_course_leave_the_weekly_table(
    build: Callable[..., Tables],
) -> None:
    tables = build()
    # S002's only first-term course is dropped on 2023-10-02 (New York): seen from the local
    # midnight that ends that day, 2023-10-03 04:00 UTC.
    assert "S002" in set(features_as_of(tables, ts("2023-10-03T03:59:59Z"))["student_id"])
    after = features_as_of(tables, ts("2023-10-03T04:00:00Z"))
    assert sorted(after["student_id"]) == ["S001", "S003", "S004", "S005"]
    # The driver analysis still sees everyone, dropped or not.
    everyone = first_term_features(tables, ts("2023-10-03T04:00:00Z"))
    assert row(everyone, "S002")["courses_dropped"] == 1.0

    def add_second_course(frames: Frames) -> None:
        extra = frames["enrollments"].iloc[[3]].assign(course_id="C-NY-102", dropped_on="")
        frames["enrollments"] = pd.concat([frames["enrollments"], extra], ignore_index=True)

    # With one first-term course still open, S002 stays on the list.
    kept = features_as_of(build(add_second_course), ts("2023-10-03T04:00:00Z"))
    assert row(kept, "S002")["courses_active"] == 1.0


def test_first_term_features_for_chosen_students(build: Callable[..., Tables]) -> None:
    tables = build()
    frame = first_term_features(tables, ts("2024-01-01"), ["S005", "S001"])
    assert list(frame["student_id"]) == ["S005", "S001"]
    assert row(frame, "S001")["grade_first_term"] == pytest.approx((88.5 + 91) / 2)
    with pytest.raises(UsageError, match="S999"):
        first_term_features(tables, ts("2024-01-01"), ["S999"])


# --- activity and time zones ---------------------------------------------------------------------


def test_a_session_late_in_the_evening_counts_on_its_local_day(
    build: Callable[..., Tables],
) -> None:
    def change(frames: Frames) -> None:
        set_rows(
            frames,
            "activity",
            [
                # 23:30 and 00:30 New York time: two local days, one UTC day.
                ("S001", "C-NY-101", "T-NY-2023F", "2023-09-10T23:30:00-04:00", "30", ""),
                ("S001", "C-NY-101", "T-NY-2023F", "2023-09-11T00:30:00-04:00", "30", ""),
                # 00:30 and 23:30 on one New York day: one local day, two UTC days.
                ("S001", "C-NY-102", "T-NY-2023F", "2023-09-12T00:30:00-04:00", "60", ""),
                ("S001", "C-NY-102", "T-NY-2023F", "2023-09-12T23:30:00-04:00", "", ""),
                ("S002", "C-NY-101", "T-NY-2023F", "2023-09-12T23:30:00-04:00", "", ""),
            ],
        )

    frame = features_as_of(build(change), ts("2023-09-20"))
    s1, s2, s3 = (row(frame, s) for s in ("S001", "S002", "S003"))
    assert s1["days_active_first_term"] == 3
    assert s1["learning_hours_first_term"] == pytest.approx(2.0)
    assert s1["hours_per_active_day"] == pytest.approx(2.0 / 3)
    # The first deadline is the end of 2023-09-17 in New York: every row is before it.
    assert s1["days_active_before_first_deadline"] == 3
    assert s2["days_active_first_term"] == 1
    assert np.isnan(s2["learning_hours_first_term"])  # rows, but none records minutes
    assert s3["days_active_first_term"] == 0
    assert s3["learning_hours_first_term"] == 0
    # Last activity 2023-09-13T03:30Z; t = 2023-09-20T00:00Z.
    assert s1["days_since_last_activity"] == pytest.approx(6 + 20.5 / 24)
    # No activity: days since the term's local start (2023-09-04T04:00Z).
    assert s3["days_since_last_activity"] == pytest.approx(15 + 20 / 24)


def test_activity_before_the_first_deadline_is_partial_while_it_is_ahead(
    build: Callable[..., Tables],
) -> None:
    def change(frames: Frames) -> None:
        set_rows(
            frames,
            "activity",
            [
                ("S001", "C-NY-101", "T-NY-2023F", "2023-09-05T10:00:00-04:00", "60", ""),
                ("S001", "C-NY-101", "T-NY-2023F", "2023-09-17T23:00:00-04:00", "30", ""),
                ("S001", "C-NY-101", "T-NY-2023F", "2023-09-18T00:30:00-04:00", "90", ""),
            ],
        )

    tables = build(change)
    early = row(features_as_of(tables, ts("2023-09-10T12:00-04:00")), "S001")
    assert early["days_active_before_first_deadline"] == 1
    assert early["learning_hours_before_first_deadline"] == pytest.approx(1.0)
    assert early["first_deadline_passed"] == 0
    assert early["days_until_first_deadline"] == pytest.approx(7.5)
    later = row(features_as_of(tables, ts("2023-09-25")), "S001")
    assert later["days_active_before_first_deadline"] == 2
    assert later["learning_hours_before_first_deadline"] == pytest.approx(1.5)
    assert later["days_active_first_term"] == 3
    assert later["learning_hours_first_term"] == pytest.approx(3.0)
    assert later["first_deadline_passed"] == 1
    assert later["days_until_first_deadline"] < 0


def test_recent_activity_and_its_trend(build: Callable[..., Tables]) -> None:
    def change(frames: Frames) -> None:
        days = ["2023-09-05", "2023-09-06", "2023-09-25", "2023-10-10", "2023-10-14"]
        set_rows(
            frames,
            "activity",
            [("S001", "C-NY-101", "T-NY-2023F", f"{d}T12:00:00-04:00", "10", "") for d in days],
        )

    # As of local midnight 2023-10-16: the last 14 days are 10-02 .. 10-15; earlier: 09-04 .. 10-01.
    s1 = row(features_as_of(build(change), ts("2023-10-16T00:00-04:00")), "S001")
    assert s1["active_days_last_14"] == 2
    assert s1["active_day_rate_change"] == pytest.approx(2 / 14 - 3 / 28)


# --- submissions and the first deadline ---------------------------------------------------------


def test_the_deadline_is_the_end_of_the_local_due_day(build: Callable[..., Tables]) -> None:
    def change(frames: Frames) -> None:
        set_rows(
            frames,
            "submissions",
            [
                # I2 (40% of C-NY-101) is due at the end of 2023-09-17 in New York.
                ("S001", "I2", "T-NY-2023F", "2023-09-17T23:59:00-04:00", "90"),
                ("S002", "I2", "T-NY-2023F", "2023-09-18T00:01:00-04:00", "90"),
                ("S003", "I5", "T-NY-2023F", "2023-09-24T23:59:59-04:00", "40"),
                # I7 is due at the end of 2023-07-16 in Kolkata.
                ("S004", "I7", "T-IN-2023J", "2023-07-16T23:59:00+05:30", "70"),
                ("S005", "I7", "T-IN-2023J", "2023-07-16T18:31:00Z", "70"),
            ],
        )

    tables = build(change)
    frame = features_as_of(tables, ts("2023-10-01"))
    s1, s2, s3, s4, s5 = (row(frame, s) for s in ("S001", "S002", "S003", "S004", "S005"))
    assert s1["first_assessment_on_time"] == 1
    assert s1["first_assessment_submitted"] == 1
    assert s2["first_assessment_on_time"] == 0
    assert s2["first_assessment_submitted"] == 1
    assert s2["late_submissions"] == 1
    assert s4["first_assessment_on_time"] == 1
    assert s5["first_assessment_on_time"] == 0  # 00:01 on 2023-07-17 in Kolkata
    # S003 takes only C-NY-102: its first deadline is I5's, and 40 is below the pass score.
    assert s3["first_assessment_on_time"] == 0
    assert s3["first_assessment_submitted"] == 1
    assert s3["on_time_weight_share"] == 1.0
    assert (
        row(features_as_of(tables, ts("2023-10-01"), pass_score=40), "S003")[
            "first_assessment_on_time"
        ]
        == 1
    )
    # S001 by 2023-10-01: I2 (0.4) on time; I5 (1.0, due end of 09-24) missing; I3 not yet due.
    assert s1["on_time_weight_share"] == pytest.approx(0.4 / 1.4)
    assert s1["missing_submissions"] == 1
    assert s1["graded_score"] == pytest.approx(90)
    assert s2["graded_score"] == pytest.approx(90)


def test_a_submission_is_seen_only_after_it_happened(build: Callable[..., Tables]) -> None:
    def change(frames: Frames) -> None:
        set_rows(
            frames,
            "submissions",
            [("S001", "I2", "T-NY-2023F", "2023-09-10T12:00:00Z", "90")],
        )

    tables = build(change)
    before = row(features_as_of(tables, ts("2023-09-10T12:00:00Z")), "S001")
    assert before["first_assessment_submitted"] == 0
    assert np.isnan(before["graded_score"])
    after = row(features_as_of(tables, ts("2023-09-10T12:00:01Z")), "S001")
    assert after["first_assessment_on_time"] == 1
    assert after["graded_score"] == 90


def test_items_that_weigh_nothing_give_the_score_until_one_with_weight_is_scored(
    build: Callable[..., Tables],
) -> None:
    """A practice quiz marked graded but weighing 0 (OULAD's computer-marked tests in some
    modules) still tells how the student is doing: its plain mean is the score until an item with
    weight is scored, and then only the weighted items count."""

    def change(frames: Frames) -> None:
        items = frames["course_items"]
        items.loc[items["item_id"] == "I2", "grade_weight"] = "0"
        items.loc[items["item_id"] == "I3", "grade_weight"] = "1"
        subs = frames["submissions"]
        frames["submissions"] = subs[(subs["student_id"] != "S001") | (subs["item_id"] != "I5")]

    tables = build(change)
    # By 2023-10-01 S001 has only I2 scored (90, weight 0); by 2023-10-20 also I3 (75.5, weight 1).
    assert row(features_as_of(tables, ts("2023-10-01")), "S001")["graded_score"] == 90
    assert row(features_as_of(tables, ts("2023-10-20")), "S001")["graded_score"] == 75.5


# --- load, drops and grades ---------------------------------------------------------------------


def test_drops_and_grades_appear_when_their_day_has_ended(build: Callable[..., Tables]) -> None:
    tables = build()
    # S002 dropped C-NY-101 on 2023-10-02, after the 2023-09-18 deadline; seen from the end of
    # that New York day (2023-10-03T04:00Z).
    before = row(features_as_of(tables, ts("2023-10-03T03:59:59Z")), "S002")
    assert before["courses_dropped"] == 0
    assert before["dropped_after_deadline"] == 0
    # From then on S002 has left (not in features_as_of); first_term_features keeps everyone.
    after = row(first_term_features(tables, ts("2023-10-03T04:00:00Z")), "S002")
    assert after["courses_dropped"] == 1
    assert after["dropped_after_deadline"] == 1
    assert after["courses_enrolled"] == 1
    assert after["courses_active"] == 0
    s1 = row(features_as_of(tables, ts("2023-10-03T04:00:00Z")), "S001")
    assert s1["courses_enrolled"] == 2
    assert s1["required_courses"] == 1
    assert s1["load_vs_program_median"] == pytest.approx(2.0)  # NY students take 2, 1, 1
    # Final grades exist only once the term has ended (end of 2023-12-15 = 05:00Z on the 16th).
    open_term = first_term_features(tables, ts("2023-12-16T04:59:59Z"), ["S001"])
    assert np.isnan(open_term["grade_first_term"].iloc[0])
    ended = first_term_features(tables, ts("2023-12-16T05:00:00Z"), ["S001"])
    assert ended["grade_first_term"].iloc[0] == pytest.approx(89.75)


def test_enrollments_count_once_enrolled_on_has_ended(build: Callable[..., Tables]) -> None:
    tables = build()
    # S003 enrolled on 2023-09-04 (New York): seen from 2023-09-05T04:00Z.
    frame = features_as_of(tables, ts("2023-09-05T03:00:00Z"))
    assert row(frame, "S003")["courses_enrolled"] == 0
    assert np.isnan(row(frame, "S003")["days_until_first_deadline"])
    frame = features_as_of(tables, ts("2023-09-05T04:00:00Z"))
    assert row(frame, "S003")["courses_enrolled"] == 1


# --- forum, support and before the degree ------------------------------------------------------


def test_forum_support_and_open_courses(build: Callable[..., Tables]) -> None:
    def change(frames: Frames) -> None:
        set_rows(
            frames,
            "forum_activity",
            [
                ("S001", "C-NY-101", "T-NY-2023F", "2023-09-06T12:00:00Z", "view"),
                ("S001", "C-NY-101", "T-NY-2023F", "2023-09-06T23:30:00-04:00", "thread"),
                ("S001", "C-NY-102", "T-NY-2023F", "2023-09-07T01:00:00-04:00", "reply"),
                ("S001", "C-NY-102", "T-NY-2023F", "2023-09-07T02:00:00-04:00", "reply"),
            ],
        )
        set_rows(
            frames,
            "support_tickets",
            [
                ("S001", "2023-08-20T12:00:00Z", "technical"),  # before the term: not counted
                ("S001", "2023-09-08T12:00:00Z", "Technical"),
                ("S001", "2023-09-09T12:00:00Z", "billing"),
                ("S001", "2023-09-09T13:00:00Z", "lost keys"),
            ],
        )
        set_rows(
            frames,
            "open_content",
            [
                ("S001", "OPEN-ML", "2022-06-01", "true", "2022-08-01", "true"),
                ("S001", "OPEN-DS", "2023-01-01", "false", "2023-09-10", "false"),
                ("S001", "OPEN-X", "2023-09-05", "true", "", "true"),  # during the term
                ("S004", "OPEN-PY", "2022-01-15", "false", "", "FALSE"),
            ],
        )

    s1 = row(features_as_of(build(change), ts("2023-09-20")), "S001")
    assert s1["forum_days_accessing"] == 2
    assert s1["forum_days_posting"] == 2
    assert s1["forum_threads_started"] == 1
    assert s1["forum_replies"] == 2
    assert s1["support_tickets"] == 3
    assert s1["support_tickets_technical"] == 1
    assert s1["support_tickets_billing"] == 1
    assert s1["open_course_enrollments"] == 2
    assert s1["open_course_paid_enrollments"] == 1
    assert s1["open_course_completions"] == 1  # OPEN-DS was completed after the start
    assert s1["stackable_open_enrollments"] == 1
    assert s1["stackable_open_completions"] == 1
    assert s1["completed_open_course"] == 1
    assert s1["stackable_open_course"] == 1
    assert s1["days_from_platform_join_to_start"] == 491  # 2022-05-01 -> 2023-09-04
    assert s1["days_from_admission_to_start"] == 81


def test_missing_optional_tables_give_missing_values(build: Callable[..., Tables]) -> None:
    tables = build(
        drop=("activity", "forum_activity", "support_tickets", "open_content", "outcomes")
    )
    frame = features_as_of(tables, ts("2023-10-01"))
    assert len(frame) == 5
    for name in ("days_active_first_term", "forum_replies", "support_tickets"):
        assert frame[name].isna().all(), name
    assert frame["open_course_enrollments"].isna().all()
    assert frame["course_median_days_active"].isna().all()
    assert frame["courses_enrolled"].notna().all()


def test_student_and_program_attributes(build: Callable[..., Tables]) -> None:
    frame = features_as_of(build(), ts("2023-10-01"))
    s1 = row(frame, "S001")
    assert s1["age"] == 34
    assert s1["education_level"] == "bachelor"
    assert s1["country_group"] == "US"
    assert s1["terms_per_year"] == 3
    assert s1["terms_allowed_missing"] == 1
    assert list(frame["education_level"].cat.categories) == ["bachelor", "master"]
    assert np.isnan(row(frame, "S003")["age"])


# --- course design -------------------------------------------------------------------------------


def test_course_design_of_the_first_term_courses(build: Callable[..., Tables]) -> None:
    def change(frames: Frames) -> None:
        courses = frames["courses"]
        frames["courses"] = pd.concat(
            [courses, pd.DataFrame([("C-NY-103", "NY", "Project", "4")], columns=courses.columns)]
        )
        items = frames["course_items"]
        new_items = [
            # The report's example: 0, 25, 25 and 50% of the grade due in weeks 1 to 4.
            ("J1", "C-NY-103", "1", "quiz", "true", "0", "5", ""),
            ("J2", "C-NY-103", "2", "quiz", "true", "0.25", "12", ""),
            ("J3", "C-NY-103", "3", "peer_graded", "true", "0.25", "19", ""),
            ("J4", "C-NY-103", "4", "staff_graded", "true", "0.5", "26", ""),
            ("J5", "C-NY-103", "1", "video", "false", "", "", "30"),
            ("J6", "C-NY-103", "3", "video", "false", "", "", "10"),
            ("J7", "C-NY-103", "2", "practice", "false", "", "", ""),
            ("J8", "C-NY-103", "2", "reading", "false", "", "", ""),
        ]
        frames["course_items"] = pd.concat([items, pd.DataFrame(new_items, columns=items.columns)])
        enr = frames["enrollments"]
        enr.loc[enr["student_id"] == "S003", "course_id"] = "C-NY-103"
        subs = frames["submissions"]
        frames["submissions"] = subs[subs["student_id"] != "S003"]
        act = frames["activity"]
        act.loc[act["student_id"] == "S003", "course_id"] = "C-NY-103"

    s3 = row(features_as_of(build(change), ts("2023-10-01")), "S003")
    assert s3["graded_weight_centroid"] == pytest.approx(0.8125)
    assert s3["max_item_weight"] == 0.5
    assert s3["has_staff_graded"] == 1
    assert s3["has_hands_on"] == 1
    assert s3["has_programming"] == 0
    assert s3["quiz_item_share"] == 0.5
    assert s3["quiz_grade_share"] == 0.25
    assert s3["staff_grade_share"] == 0.5
    assert s3["peer_grade_share"] == 0.25
    assert s3["video_share"] == 0.5
    assert s3["practice_share"] == 0.25
    assert s3["reading_share"] == 0.25
    assert s3["small_item_share"] == 0.25
    assert s3["large_item_share"] == 0.75
    assert s3["first_week_video_minutes"] == 30
    assert s3["video_minutes_centroid"] == pytest.approx((30 * 1 + 10 * 3) / 40 / 4)
    assert s3["weekly_videos_mean"] == 0.5
    assert s3["weekly_graded_mean"] == 1
    assert s3["weekly_graded_cv"] == 0
    assert s3["course_weeks"] == 4
    # S001 takes C-NY-101 and C-NY-102: staff-graded in neither, hands-on in both.
    s1 = row(features_as_of(build(change), ts("2023-10-01")), "S001")
    assert s1["has_staff_graded"] == 0
    assert s1["has_hands_on"] == 1
    assert s1["max_item_weight"] == pytest.approx((0.6 + 1.0) / 2)


def test_course_median_days_active_uses_only_terms_ended_before_t(
    build: Callable[..., Tables],
) -> None:
    def change(frames: Frames) -> None:
        students = frames["students"]
        frames["students"] = pd.concat(
            [
                students,
                pd.DataFrame(
                    [("S006", "NY", "T-NY-2024F", "A1", "", "", "", "", "", "")],
                    columns=students.columns,
                ),
            ]
        )
        enr = frames["enrollments"]
        frames["enrollments"] = pd.concat(
            [
                enr,
                pd.DataFrame(
                    [("S006", "C-NY-101", "T-NY-2024F", "2024-08-20", "", "", "")],
                    columns=enr.columns,
                ),
            ]
        )
        act = frames["activity"]
        more = [
            # S001 in C-NY-101 during fall 2023: 09-04 (already), 09-20 and 10-20.
            ("S001", "C-NY-101", "T-NY-2023F", "2023-09-20T12:00:00Z", "5", ""),
            ("S001", "C-NY-101", "T-NY-2023F", "2023-10-20T12:00:00Z", "5", ""),
            # After the fall 2023 term ended, and after t below: never counted as of t.
            ("S001", "C-NY-101", "T-NY-2023F", "2024-09-20T12:00:00Z", "5", ""),
        ]
        frames["activity"] = pd.concat([act, pd.DataFrame(more, columns=act.columns)])

    tables = build(change)
    # C-NY-101 in fall 2023: S001 3 days, S002 1 day -> median 2.
    s6 = row(features_as_of(tables, ts("2024-09-10")), "S006")
    assert s6["course_median_days_active"] == 2
    # While fall 2023 runs, the course has no history.
    s1 = row(features_as_of(tables, ts("2023-10-01")), "S001")
    assert np.isnan(s1["course_median_days_active"])


# --- the command ---------------------------------------------------------------------------------


def test_features_command_writes_one_row_per_student(tmp_path: Path) -> None:
    folder = write_institution(tmp_path / "data", minimal_institution(), "parquet")
    runner = CliRunner()
    out = tmp_path / "features.parquet"
    result = runner.invoke(
        cli,
        [
            "--home",
            str(tmp_path),
            "features",
            str(folder),
            "--as-of",
            "2023-10-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert frame.columns[0] == "student_id"
    assert len(frame) == 5
    assert frame["student_id"].is_unique
    csv_out = tmp_path / "features.csv"
    result = runner.invoke(
        cli,
        ["--home", str(tmp_path), "features", str(folder), "--as-of", "2023-10-01T00:00Z",
         "--out", str(csv_out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pd.read_csv(csv_out)["student_id"].tolist() == frame["student_id"].tolist()


@pytest.mark.parametrize(
    ("as_of", "out", "message"),
    [("next tuesday", "f.csv", "ISO 8601"), ("2023-10-01", "f.xlsx", ".parquet or .csv")],
)
def test_features_command_rejects_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_of: str, out: str, message: str
) -> None:
    from earlywarn.cli import main

    folder = write_institution(tmp_path / "data", minimal_institution(), "csv")
    with pytest.raises(SystemExit) as exit_info:
        main(["--home", str(tmp_path), "features", str(folder), "--as-of", as_of, "--out",
              str(tmp_path / out)])  # fmt: skip
    assert exit_info.value.code == 2
    assert not (tmp_path / out).exists()
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error
