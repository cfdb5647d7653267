"""One test per rule of CONTRACT.md: the minimal institution with exactly one thing broken."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from earlywarn.contract import validate_folder
from earlywarn.core.errors import Problem
from tests.factories import minimal_institution, write_institution

Frames = dict[str, pd.DataFrame]


def set_cell(table: str, row: int, column: str, value: str) -> Callable[[Frames], None]:
    def change(frames: Frames) -> None:
        frames[table].loc[row, column] = value

    return change


def problems_after(
    tmp_path: Path, change: Callable[[Frames], None], fmt: str = "csv"
) -> list[Problem]:
    frames = minimal_institution()
    change(frames)
    folder = write_institution(tmp_path / "data", frames, fmt)
    report = validate_folder(folder)
    assert report.tables is None or not report.problems
    return report.problems


def test_minimal_institution_is_valid(tmp_path: Path) -> None:
    report = validate_folder(write_institution(tmp_path, minimal_institution()))
    assert report.problems == []
    assert report.warnings == []
    assert report.tables is not None
    assert report.row_counts["students"] == 5


# (change, file, line, column, shown value, words of the rule)
CELL_CASES = [
    # types
    (
        set_cell("course_items", 1, "graded", "yes"),
        "course_items.csv",
        3,
        "graded",
        "yes",
        "not a bool",
    ),
    (
        set_cell("terms", 0, "start_date", "2023/09/04"),
        "terms.csv",
        2,
        "start_date",
        "2023/09/04",
        "not a date",
    ),
    (
        set_cell("terms", 0, "start_date", "2023-02-30"),
        "terms.csv",
        2,
        "start_date",
        "2023-02-30",
        "not a date",
    ),
    (
        set_cell("submissions", 2, "submitted_at", "yesterday"),
        "submissions.csv",
        4,
        "submitted_at",
        "yesterday",
        "not an ISO 8601 timestamp",
    ),
    (
        set_cell("courses", 0, "weeks", "12.5"),
        "courses.csv",
        2,
        "weeks",
        "12.5",
        "not a whole number",
    ),
    (
        set_cell("submissions", 0, "score", "ninety"),
        "submissions.csv",
        2,
        "score",
        "ninety",
        "not a number",
    ),
    (
        set_cell("programs", 0, "terms_per_year", "99999999999999999999"),
        "programs.csv",
        2,
        "terms_per_year",
        "99999999999999999999",
        "too large: a whole number here must be at most 2^53",
    ),
    (
        set_cell("courses", 1, "weeks", "12345678901234567890123"),  # 23 digits
        "courses.csv",
        3,
        "weeks",
        "12345678901234567890123",
        "too large: a whole number here must be at most 2^53",
    ),
    (
        set_cell("activity", 0, "minutes", "1e400"),
        "activity.csv",
        2,
        "minutes",
        "1e400",
        "too large: beyond the largest number a 64-bit float holds",
    ),
    # required values
    (
        set_cell("students", 1, "first_term_id", ""),
        "students.csv",
        3,
        "first_term_id",
        "",
        "a value is required",
    ),
    # unique keys
    (
        set_cell("programs", 1, "program_id", "NY"),
        "programs.csv",
        3,
        "program_id",
        "NY",
        "duplicate program_id",
    ),
    (
        set_cell("terms", 1, "term_id", "T-NY-2023F"),
        "terms.csv",
        3,
        "term_id",
        "T-NY-2023F",
        "duplicate term_id",
    ),
    (
        set_cell("students", 4, "student_id", "S001"),
        "students.csv",
        6,
        "student_id",
        "S001",
        "duplicate student_id",
    ),
    (
        set_cell("courses", 2, "course_id", "C-NY-101"),
        "courses.csv",
        4,
        "course_id",
        "C-NY-101",
        "duplicate course_id",
    ),
    (
        set_cell("course_items", 3, "item_id", "I1"),
        "course_items.csv",
        5,
        "item_id",
        "I1",
        "duplicate item_id",
    ),
    (
        set_cell("advisors", 1, "advisor_id", "A1"),
        "advisors.csv",
        3,
        "advisor_id",
        "A1",
        "duplicate advisor_id",
    ),
    (
        set_cell("outcomes", 1, "student_id", "S004"),
        "outcomes.csv",
        3,
        "student_id",
        "S004",
        "duplicate student_id",
    ),
    # references
    (
        set_cell("students", 0, "program_id", "XX"),
        "students.csv",
        2,
        "program_id",
        "XX",
        "not a program_id in programs.csv",
    ),
    (
        set_cell("terms", 1, "program_id", "XX"),
        "terms.csv",
        3,
        "program_id",
        "XX",
        "not a program_id",
    ),
    (
        set_cell("students", 0, "first_term_id", "T-IN-2023J"),
        "students.csv",
        2,
        "first_term_id",
        "T-IN-2023J",
        "a term of another program",
    ),
    (
        set_cell("students", 0, "first_term_id", "T-XX"),
        "students.csv",
        2,
        "first_term_id",
        "T-XX",
        "not a term_id in terms.csv",
    ),
    (
        set_cell("students", 0, "advisor_id", "A9"),
        "students.csv",
        2,
        "advisor_id",
        "A9",
        "not an advisor_id in advisors.csv",
    ),
    (
        set_cell("courses", 0, "program_id", "XX"),
        "courses.csv",
        2,
        "program_id",
        "XX",
        "not a program_id",
    ),
    (
        set_cell("course_items", 0, "course_id", "C-XX"),
        "course_items.csv",
        2,
        "course_id",
        "C-XX",
        "not a course_id in courses.csv",
    ),
    (
        set_cell("enrollments", 0, "student_id", "S999"),
        "enrollments.csv",
        2,
        "student_id",
        "S999",
        "not a student_id in students.csv",
    ),
    (
        set_cell("enrollments", 4, "course_id", "C-IN-201"),
        "enrollments.csv",
        6,
        "course_id",
        "C-IN-201",
        "a course of another program",
    ),
    (
        set_cell("enrollments", 2, "term_id", "T-IN-2024J"),
        "enrollments.csv",
        4,
        "term_id",
        "T-IN-2024J",
        "a term of another program",
    ),
    (
        set_cell("submissions", 5, "item_id", "I4"),
        "submissions.csv",
        7,
        "item_id",
        "I4",
        "not a graded item",
    ),
    (
        set_cell("submissions", 5, "item_id", "I-none"),
        "submissions.csv",
        7,
        "item_id",
        "I-none",
        "not an item_id in course_items.csv",
    ),
    (
        set_cell("submissions", 5, "term_id", "T-NY-2024W"),
        "submissions.csv",
        7,
        "term_id",
        "T-NY-2024W",
        "not enrolled in the item's course in this term",
    ),
    (
        set_cell("activity", 0, "student_id", "S999"),
        "activity.csv",
        2,
        "student_id",
        "S999",
        "not a student_id",
    ),
    (
        set_cell("activity", 0, "course_id", "C-XX"),
        "activity.csv",
        2,
        "course_id",
        "C-XX",
        "not a course_id",
    ),
    (
        set_cell("activity", 0, "term_id", "T-XX"),
        "activity.csv",
        2,
        "term_id",
        "T-XX",
        "not a term_id",
    ),
    (
        set_cell("activity", 0, "item_id", "I4"),
        "activity.csv",
        2,
        "item_id",
        "I4",
        "an item of another course",
    ),
    (
        set_cell("forum_activity", 2, "student_id", "S999"),
        "forum_activity.csv",
        4,
        "student_id",
        "S999",
        "not a student_id",
    ),
    (
        set_cell("forum_activity", 2, "course_id", "C-XX"),
        "forum_activity.csv",
        4,
        "course_id",
        "C-XX",
        "not a course_id",
    ),
    (
        set_cell("forum_activity", 2, "term_id", "T-XX"),
        "forum_activity.csv",
        4,
        "term_id",
        "T-XX",
        "not a term_id",
    ),
    (
        set_cell("open_content", 1, "student_id", "S999"),
        "open_content.csv",
        3,
        "student_id",
        "S999",
        "not a student_id",
    ),
    (
        set_cell("support_tickets", 1, "student_id", "S999"),
        "support_tickets.csv",
        3,
        "student_id",
        "S999",
        "not a student_id",
    ),
    (
        set_cell("outcomes", 1, "student_id", "S999"),
        "outcomes.csv",
        3,
        "student_id",
        "S999",
        "not a student_id",
    ),
    # one of
    (
        set_cell("course_items", 0, "item_type", "lecture"),
        "course_items.csv",
        2,
        "item_type",
        "lecture",
        "must be one of video, reading",
    ),
    (
        set_cell("terms", 0, "season", "autumn"),
        "terms.csv",
        2,
        "season",
        "autumn",
        "must be one of fall, winter, spring, summer",
    ),
    (
        set_cell("forum_activity", 0, "action", "like"),
        "forum_activity.csv",
        2,
        "action",
        "like",
        "must be one of view, thread, reply",
    ),
    # ranges
    (
        set_cell("programs", 0, "terms_per_year", "0"),
        "programs.csv",
        2,
        "terms_per_year",
        "0",
        "at least 1",
    ),
    (
        set_cell("programs", 0, "terms_allowed_missing", "-1"),
        "programs.csv",
        2,
        "terms_allowed_missing",
        "-1",
        "at least 0",
    ),
    (set_cell("courses", 0, "weeks", "0"), "courses.csv", 2, "weeks", "0", "1 to 52"),
    (set_cell("courses", 0, "weeks", "53"), "courses.csv", 2, "weeks", "53", "1 to 52"),
    (
        set_cell("course_items", 0, "week", "13"),
        "course_items.csv",
        2,
        "week",
        "13",
        "after the course's last week",
    ),
    (set_cell("course_items", 0, "week", "0"), "course_items.csv", 2, "week", "0", "at least 1"),
    (
        set_cell("course_items", 8, "grade_weight", "1.5"),
        "course_items.csv",
        10,
        "grade_weight",
        "1.5",
        "0 to 1",
    ),
    (
        set_cell("course_items", 1, "due_day", "-1"),
        "course_items.csv",
        3,
        "due_day",
        "-1",
        "at least 0",
    ),
    (
        set_cell("course_items", 0, "video_minutes", "-2"),
        "course_items.csv",
        2,
        "video_minutes",
        "-2",
        "at least 0",
    ),
    (
        set_cell("enrollments", 0, "final_grade", "100.5"),
        "enrollments.csv",
        2,
        "final_grade",
        "100.5",
        "0 to 100",
    ),
    (set_cell("submissions", 0, "score", "-1"), "submissions.csv", 2, "score", "-1", "0 to 100"),
    (set_cell("students", 0, "age", "13"), "students.csv", 2, "age", "13", "14 to 100"),
    (set_cell("students", 0, "age", "101"), "students.csv", 2, "age", "101", "14 to 100"),
    (
        set_cell("activity", 1, "minutes", "-0.5"),
        "activity.csv",
        3,
        "minutes",
        "-0.5",
        "at least 0",
    ),
    # dates in order
    (
        set_cell("terms", 0, "end_date", "2023-09-04"),
        "terms.csv",
        2,
        "end_date",
        "2023-09-04",
        "end_date must be after start_date",
    ),
    (
        set_cell("terms", 0, "drop_deadline", "2023-12-16"),
        "terms.csv",
        2,
        "drop_deadline",
        "2023-12-16",
        "drop_deadline must be from start_date to end_date",
    ),
    (
        set_cell("terms", 0, "drop_deadline", "2023-09-03"),
        "terms.csv",
        2,
        "drop_deadline",
        "2023-09-03",
        "drop_deadline must be from start_date to end_date",
    ),
    (
        set_cell("enrollments", 3, "dropped_on", "2023-08-24"),
        "enrollments.csv",
        5,
        "dropped_on",
        "2023-08-24",
        "dropped_on must be on or after enrolled_on",
    ),
    (
        set_cell("open_content", 0, "completed_on", "2022-05-31"),
        "open_content.csv",
        2,
        "completed_on",
        "2022-05-31",
        "completed_on must be on or after enrolled_on",
    ),
    # graded items
    (
        set_cell("course_items", 4, "due_day", ""),
        "course_items.csv",
        6,
        "due_day",
        "",
        "graded items need a due_day",
    ),
    # time zones, email, outcomes
    (
        set_cell("programs", 1, "timezone", "Asia/Bombay2"),
        "programs.csv",
        3,
        "timezone",
        "Asia/Bombay2",
        "unknown time zone",
    ),
    (
        set_cell("advisors", 0, "email", "ana at uni"),
        "advisors.csv",
        2,
        "email",
        "ana at uni",
        "not an email address",
    ),
    (
        set_cell("outcomes", 0, "retained", "maybe"),
        "outcomes.csv",
        2,
        "retained",
        "maybe",
        "not a bool",
    ),
    # earlywarn extensions (optional columns)
    (
        set_cell("students", 1, "prior_attempts", "-1"),
        "students.csv",
        3,
        "prior_attempts",
        "-1",
        "out of range: must be at least 0",
    ),
    (
        set_cell("students", 1, "prior_attempts", "1.5"),
        "students.csv",
        3,
        "prior_attempts",
        "1.5",
        "not a whole number",
    ),
    (
        set_cell("students", 3, "first_term_credits", "-30"),
        "students.csv",
        5,
        "first_term_credits",
        "-30",
        "out of range: must be at least 0",
    ),
    (
        set_cell("students", 3, "first_term_credits", "sixty"),
        "students.csv",
        5,
        "first_term_credits",
        "sixty",
        "not a number",
    ),
    (
        set_cell("submissions", 4, "is_banked", "banked"),
        "submissions.csv",
        6,
        "is_banked",
        "banked",
        "not a bool",
    ),
]


@pytest.mark.parametrize(
    ("change", "file", "line", "column", "value", "rule"),
    CELL_CASES,
    ids=[f"{case[1]}:{case[3]}:{case[4]}" for case in CELL_CASES],
)
def test_each_rule_names_file_line_column_and_value(
    tmp_path: Path,
    change: Callable[[Frames], None],
    file: str,
    line: int,
    column: str,
    value: str,
    rule: str,
) -> None:
    problems = problems_after(tmp_path, change)
    matching = [p for p in problems if rule in p.rule]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert (problem.file, problem.row, problem.column) == (file, line, column)
    assert (problem.value or "") == value
    assert f"{file}, line {line}, column {column}" in str(problem)


def test_grade_weights_must_add_up_to_one(tmp_path: Path) -> None:
    problems = problems_after(tmp_path, set_cell("course_items", 2, "grade_weight", "0.5"))
    assert len(problems) == 1
    problem = problems[0]
    # Points at the course's first graded item and shows the total.
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "course_items.csv",
        3,
        "grade_weight",
        "0.9",
    )
    assert "add up to" in problem.rule


def test_grade_weights_within_tolerance_pass(tmp_path: Path) -> None:
    assert problems_after(tmp_path, set_cell("course_items", 2, "grade_weight", "0.605")) == []


def test_graded_item_needs_a_grade_weight(tmp_path: Path) -> None:
    problems = problems_after(tmp_path, set_cell("course_items", 4, "grade_weight", ""))
    rules = [p.rule for p in problems]
    assert any("graded items need a grade_weight" in r for r in rules), rules
    assert all(p.row == 6 for p in problems)


def test_duplicate_enrollment_key(tmp_path: Path) -> None:
    def duplicate(frames: Frames) -> None:
        frames["enrollments"] = pd.concat(
            [frames["enrollments"], frames["enrollments"].iloc[[0]]], ignore_index=True
        )

    problems = problems_after(tmp_path, duplicate)
    assert len(problems) == 1
    assert problems[0].row == 10
    assert problems[0].value == "S001/C-NY-101/T-NY-2023F"
    assert "duplicate key (student_id, course_id, term_id)" in problems[0].rule


def test_ids_are_text_007_is_not_7(tmp_path: Path) -> None:
    def ids(frames: Frames) -> None:
        frames["programs"].loc[0, "program_id"] = "007"
        frames["programs"].loc[1, "program_id"] = "7"
        for table in ("terms", "students", "courses"):
            frame = frames[table]
            frame["program_id"] = frame["program_id"].replace({"NY": "007", "IN": "7"})

    assert problems_after(tmp_path, ids) == []

    def mixed_up(frames: Frames) -> None:
        ids(frames)
        frames["courses"].loc[0, "program_id"] = "07"

    problems = problems_after(tmp_path, mixed_up)
    assert [(p.file, p.row, p.value) for p in problems if "program_id" in p.rule] == [
        ("courses.csv", 2, "07")
    ]


def test_advisor_without_advisors_table(tmp_path: Path) -> None:
    problems = problems_after(tmp_path, lambda frames: frames.pop("advisors"))
    assert {(p.file, p.column) for p in problems} == {("students.csv", "advisor_id")}
    assert "no advisors table" in problems[0].rule


def test_advisor_ids_may_be_absent_with_the_table(tmp_path: Path) -> None:
    def no_advisors(frames: Frames) -> None:
        frames.pop("advisors")
        frames["students"] = frames["students"].drop(columns="advisor_id")

    assert problems_after(tmp_path, no_advisors) == []


def test_missing_required_column(tmp_path: Path) -> None:
    problems = problems_after(
        tmp_path,
        lambda frames: frames.__setitem__("courses", frames["courses"].drop(columns="weeks")),
    )
    assert [str(p) for p in problems] == [
        "courses.csv, column weeks: required column weeks is missing from the header; add it"
    ]


def test_missing_required_table(tmp_path: Path) -> None:
    problems = problems_after(tmp_path, lambda frames: frames.pop("submissions"))
    assert len(problems) == 1
    assert "required table submissions is missing" in problems[0].rule


def test_problems_are_capped_per_rule(tmp_path: Path) -> None:
    def many(frames: Frames) -> None:
        activity = frames["activity"]
        frames["activity"] = pd.concat([activity] * 10, ignore_index=True)
        frames["activity"]["minutes"] = "-1"

    problems = problems_after(tmp_path, many)
    assert len(problems) == 21
    assert [p.row for p in problems[:20]] == list(range(2, 22))
    assert problems[20].row is None
    assert problems[20].rule.startswith("... and 50 more rows like this")


def test_parquet_problems_give_row_index(tmp_path: Path) -> None:
    problems = problems_after(tmp_path, set_cell("students", 2, "age", "thirty"), fmt="parquet")
    assert [str(p) for p in problems] == [
        "students.parquet, row 2, column age: not a whole number (value 'thirty')"
    ]


def test_extension_columns_load_typed_and_may_be_absent(tmp_path: Path) -> None:
    """The optional extension columns load with their contract types, empty cells as missing;
    without them (the synthetic generator writes none) the folder loads as before."""
    from earlywarn.contract import load_tables

    def extended(frames: Frames) -> None:
        frames["students"]["prior_attempts"] = ["0", "2", "", "1", "0"]
        frames["students"]["first_term_credits"] = ["60", "120", "", "30.5", "60"]
        frames["submissions"]["is_banked"] = ["false", "true", "", "0", "1", "", "", "", ""]

    assert problems_after(tmp_path / "with", extended) == []
    frames = minimal_institution()
    extended(frames)
    tables = load_tables(write_institution(tmp_path / "typed", frames))
    students, submissions = tables.students, tables.submissions
    assert students["prior_attempts"].tolist()[:2] == [0.0, 2.0]
    assert students["prior_attempts"].isna().tolist() == [False, False, True, False, False]
    assert students["first_term_credits"].tolist()[3] == 30.5
    assert submissions["is_banked"].dtype == "boolean"
    assert submissions["is_banked"].fillna(False).sum() == 2
    plain = load_tables(write_institution(tmp_path / "plain", minimal_institution()))
    assert plain.students["prior_attempts"].isna().all()
    assert plain.students["first_term_credits"].isna().all()
    assert plain.submissions["is_banked"].isna().all()


def test_an_overflowing_number_is_too_large_not_not_a_number(tmp_path: Path) -> None:
    problems = problems_after(tmp_path, set_cell("activity", 0, "minutes", "-1e400"))
    assert [p.rule for p in problems if p.column == "minutes"] == [
        "too large: beyond the largest number a 64-bit float holds (about 1.8e308)"
    ]
