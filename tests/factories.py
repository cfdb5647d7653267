"""Small contract folders built in code, for tests of every stage.

:func:`minimal_institution` is a tiny but complete institution that passes every rule of
CONTRACT.md, as raw frames of strings exactly as they would appear in CSV files ("" is an empty
field). Break one thing in a copy to test a rule; write it with :func:`write_institution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from earlywarn.contract.schema import TABLES

Rows = list[tuple[str, ...]]


def _frame(columns: str, rows: Rows) -> pd.DataFrame:
    names = columns.split()
    for row in rows:
        assert len(row) == len(names), (names, row)
    return pd.DataFrame(rows, columns=names, dtype=str)


def minimal_institution() -> dict[str, pd.DataFrame]:
    """Every contract table, valid, with two programs in different time zones.

    Program NY (America/New_York, with DST: its fall 2023 term crosses the November change) and
    program IN (Asia/Kolkata, no DST). Each program has an anniversary term for its first-term
    students (T-NY-2024F, T-IN-2024J). S001 is retained (enrolled in the anniversary term), S002
    dropped after the deadline, S003 has no advisor, S004 and S005 study in Kolkata.
    """
    programs = _frame(
        "program_id name terms_per_year terms_allowed_missing timezone",
        [
            ("NY", "Data Science (New York)", "3", "1", "America/New_York"),
            ("IN", "Computer Science (India)", "2", "", "Asia/Kolkata"),
        ],
    )
    terms = _frame(
        "term_id program_id start_date end_date drop_deadline season",
        [
            ("T-NY-2023F", "NY", "2023-09-04", "2023-12-15", "2023-09-18", "fall"),
            ("T-NY-2024W", "NY", "2024-01-08", "2024-04-19", "2024-01-22", "winter"),
            ("T-NY-2024F", "NY", "2024-09-02", "2024-12-13", "2024-09-16", "fall"),
            ("T-IN-2023J", "IN", "2023-07-03", "2023-11-24", "", "summer"),
            ("T-IN-2024J", "IN", "2024-07-01", "2024-11-22", "2024-07-15", ""),
        ],
    )
    advisors = _frame(
        "advisor_id name email",
        [
            ("A1", "Ana Advisor", "ana.advisor@uni.example"),
            ("A2", "Ravi Mentor", "ravi@uni.example"),
        ],
    )
    students = _frame(
        "student_id program_id first_term_id advisor_id display_name age country_group "
        "education_level platform_joined_on admitted_on",
        [
            ("S001", "NY", "T-NY-2023F", "A1", "Jo Smith", "34", "US", "bachelor", "2022-05-01",
             "2023-06-15"),
            ("S002", "NY", "T-NY-2023F", "A1", "Lee Chan", "27", "US", "master", "", "2023-07-01"),
            ("S003", "NY", "T-NY-2023F", "", "", "", "", "", "", ""),
            ("S004", "IN", "T-IN-2023J", "A2", "Priya Rao", "22", "IN", "bachelor", "2021-01-10",
             "2023-05-20"),
            ("S005", "IN", "T-IN-2023J", "A2", "Arjun Das", "41", "IN", "", "", ""),
        ],
    )  # fmt: skip
    courses = _frame(
        "course_id program_id title weeks",
        [
            ("C-NY-101", "NY", "Foundations of Data", "12"),
            ("C-NY-102", "NY", "Programming I", "10"),
            ("C-IN-201", "IN", "Algorithms", "16"),
        ],
    )
    course_items = _frame(
        "item_id course_id week item_type graded grade_weight due_day video_minutes",
        [
            ("I1", "C-NY-101", "1", "video", "false", "", "", "12.5"),
            ("I2", "C-NY-101", "2", "quiz", "TRUE", "0.4", "13", ""),
            ("I3", "C-NY-101", "6", "peer_graded", "1", "0.6", "41", ""),
            ("I4", "C-NY-102", "1", "reading", "0", "", "", ""),
            ("I5", "C-NY-102", "3", "programming", "true", "1", "20", ""),
            ("I6", "C-IN-201", "1", "video", "False", "", "", "8"),
            ("I7", "C-IN-201", "2", "quiz", "true", "0.3", "13", ""),
            ("I8", "C-IN-201", "8", "staff_graded", "true", "0.7", "55", ""),
            ("I9", "C-IN-201", "3", "discussion_prompt", "false", "0", "", ""),
        ],
    )
    enrollments = _frame(
        "student_id course_id term_id enrolled_on dropped_on final_grade is_required",
        [
            ("S001", "C-NY-101", "T-NY-2023F", "2023-08-20", "", "88.5", "true"),
            ("S001", "C-NY-102", "T-NY-2023F", "2023-08-20", "", "91", "false"),
            ("S001", "C-NY-101", "T-NY-2024F", "2024-08-15", "", "", ""),
            ("S002", "C-NY-101", "T-NY-2023F", "2023-08-25", "2023-10-02", "", "true"),
            ("S003", "C-NY-102", "T-NY-2023F", "2023-09-04", "", "55", ""),
            ("S004", "C-IN-201", "T-IN-2023J", "2023-06-25", "", "81.5", "1"),
            ("S005", "C-IN-201", "T-IN-2023J", "2023-06-30", "", "40", "0"),
            ("S004", "C-IN-201", "T-IN-2024J", "2024-06-20", "", "", ""),
        ],
    )
    submissions = _frame(
        "student_id item_id term_id submitted_at score",
        [
            # On time: due at the end of 2023-09-17 in New York.
            ("S001", "I2", "T-NY-2023F", "2023-09-17T22:15:00-04:00", "90"),
            # Late: after 2023-10-15 ended in New York.
            ("S001", "I3", "T-NY-2023F", "2023-10-16T14:00:00Z", "75.5"),
            ("S001", "I5", "T-NY-2023F", "2023-09-20 10:00:00", "100"),
            ("S002", "I2", "T-NY-2023F", "2023-09-16T09:00:00+00:00", ""),
            # A second attempt after the DST change (New York is UTC-5 from 2023-11-05).
            ("S001", "I3", "T-NY-2023F", "2023-11-06T08:30:00.250-05:00", "82"),
            ("S003", "I5", "T-NY-2023F", "2023-09-25T01:00:00", "60"),
            ("S004", "I7", "T-IN-2023J", "2023-07-16T23:30:00+05:30", "70"),
            ("S005", "I7", "T-IN-2023J", "2023-07-17T04:00:00+05:30", "35"),
            ("S004", "I8", "T-IN-2023J", "2023-08-27T12:00:00Z", "88"),
        ],
    )
    activity = _frame(
        "student_id course_id term_id started_at minutes item_id",
        [
            ("S001", "C-NY-101", "T-NY-2023F", "2023-09-04T20:00:00-04:00", "35", "I1"),
            ("S001", "C-NY-101", "T-NY-2023F", "2023-09-05T01:30:00Z", "12.5", ""),
            ("S001", "C-NY-102", "T-NY-2023F", "2023-09-06T14:00:00Z", "", "I4"),
            ("S002", "C-NY-101", "T-NY-2023F", "2023-09-05T13:00:00", "5", "I1"),
            ("S003", "C-NY-102", "T-NY-2023F", "2023-11-05T05:30:00Z", "0", ""),
            ("S004", "C-IN-201", "T-IN-2023J", "2023-07-03T10:00:00+05:30", "42", "I6"),
            ("S005", "C-IN-201", "T-IN-2023J", "2023-07-04T18:29:59Z", "18", "I9"),
        ],
    )
    forum_activity = _frame(
        "student_id course_id term_id at action",
        [
            ("S001", "C-NY-101", "T-NY-2023F", "2023-09-06T12:00:00Z", "view"),
            ("S001", "C-NY-101", "T-NY-2023F", "2023-09-06T12:05:00Z", "reply"),
            ("S004", "C-IN-201", "T-IN-2023J", "2023-07-05T09:00:00+05:30", "thread"),
        ],
    )
    open_content = _frame(
        "student_id open_course_id enrolled_on paid completed_on stackable",
        [
            ("S001", "OPEN-ML", "2022-06-01", "true", "2022-08-01", "true"),
            ("S004", "OPEN-PY", "2022-01-15", "false", "", "FALSE"),
        ],
    )
    support_tickets = _frame(
        "student_id opened_at category",
        [
            ("S002", "2023-09-20T15:00:00Z", "billing"),
            ("S005", "2023-07-10T11:00:00+05:30", "technical"),
        ],
    )
    outcomes = _frame(
        "student_id retained",
        [("S004", "true"), ("S005", "False")],
    )
    return {
        "programs": programs,
        "terms": terms,
        "students": students,
        "courses": courses,
        "course_items": course_items,
        "enrollments": enrollments,
        "submissions": submissions,
        "advisors": advisors,
        "activity": activity,
        "forum_activity": forum_activity,
        "open_content": open_content,
        "support_tickets": support_tickets,
        "outcomes": outcomes,
    }


_ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "string": pa.string(),
}


def _arrow_column(table: str, name: str, values: pd.Series) -> pa.Array:
    """A raw string column as the Arrow type the contract names (strings when it does not parse).

    Strings that do not parse stay strings, so a test can put a bad value in a Parquet file too.
    """
    spec = TABLES.get(table)
    kind = "string"
    if spec is not None and name in spec.names:
        kind = spec.column(name).type
    raw = [None if (v is None or v == "") else str(v) for v in values.tolist()]
    try:
        if kind == "int":
            return pa.array([None if v is None else int(v) for v in raw], pa.int64())
        if kind == "float":
            return pa.array([None if v is None else float(v) for v in raw], pa.float64())
        if kind == "bool":
            return pa.array([None if v is None else _parse_bool(v) for v in raw], pa.bool_())
        if kind == "date":
            days = pd.to_datetime(pd.Series(raw, dtype=object), format="%Y-%m-%d")
            return pa.array(days.dt.date.where(days.notna(), None), pa.date32())
        if kind == "timestamp":
            stamps = pd.to_datetime(pd.Series(raw, dtype=object), format="ISO8601", utc=True)
            micros = stamps.dt.tz_convert(None).dt.as_unit("us").to_numpy()
            naive = pa.array(micros, pa.timestamp("us"), from_pandas=True)
            return naive.cast(_ARROW_TYPES["timestamp"])
    except (ValueError, TypeError):
        pass
    return pa.array(raw, pa.string())


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(text)


def write_institution(
    folder: Path,
    frames: Mapping[str, pd.DataFrame],
    fmt: str | Mapping[str, str] = "csv",
) -> Path:
    """Write ``frames`` as a contract folder: ``<table>.csv`` or ``<table>.parquet`` each.

    ``fmt`` is ``"csv"``, ``"parquet"``, or a mapping table -> format (tables it does not name are
    CSV). Parquet columns get the Arrow types the contract names (int64, float64, bool, date32,
    timestamp[us, tz=UTC], string). Returns ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        table_fmt = fmt if isinstance(fmt, str) else fmt.get(table, "csv")
        if table_fmt == "csv":
            frame.to_csv(folder / f"{table}.csv", index=False)
        elif table_fmt == "parquet":
            arrays = [_arrow_column(table, str(name), frame[name]) for name in frame.columns]
            arrow = pa.Table.from_arrays(arrays, names=[str(name) for name in frame.columns])
            pq.write_table(arrow, folder / f"{table}.parquet")
        else:
            raise ValueError(f"unknown format {table_fmt!r} for {table}")
    return folder
