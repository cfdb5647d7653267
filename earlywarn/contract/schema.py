"""CONTRACT.md as data: every table, every column, its type and its rule.

The loader and the validator are both driven by :data:`SCHEMA`, so a change to the contract is a
change here. Rules that relate several columns or tables (dates in order, grade weights adding up,
a course of the student's own program) live in :mod:`earlywarn.contract.rules`; each column whose
value such a rule checks says so in its ``rule`` text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "int", "float", "bool", "date", "timestamp"]

#: Values of this column may be missing or empty, but the column itself must be in the file.


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    ``optional``: the column may be absent from the file and its values may be empty.
    ``empty_ok``: the column must be present but its values may be empty (``due_day`` of an
    ungraded item). ``references`` names the table whose key this column must hold.
    """

    name: str
    type: ColumnType
    rule: str = ""
    optional: bool = False
    empty_ok: bool = False
    default: int | str | None = None
    unique: bool = False
    references: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def nullable(self) -> bool:
        """Whether a row may leave this column empty (after defaults are filled in)."""
        return (self.optional or self.empty_ok) and self.default is None


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its columns in contract order, its key and whether it is required."""

    name: str
    columns: tuple[Column, ...]
    required: bool = True
    key: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


ITEM_TYPES = (
    "video",
    "reading",
    "practice",
    "quiz",
    "staff_graded",
    "peer_graded",
    "programming",
    "discussion_prompt",
    "team",
    "plugin",
    "other",
)
SEASONS = ("fall", "winter", "spring", "summer")
FORUM_ACTIONS = ("view", "thread", "reply")

#: Graded items' weights in a course must add up to 1 within this tolerance.
GRADE_WEIGHT_TOLERANCE = 0.01


def _ref(
    name: str, table: str, rule: str, *, optional: bool = False, unique: bool = False
) -> Column:
    return Column(name, "string", rule, optional=optional, unique=unique, references=table)


SCHEMA: tuple[TableSpec, ...] = (
    TableSpec(
        "programs",
        (
            Column("program_id", "string", "unique", unique=True),
            Column("name", "string"),
            Column("terms_per_year", "int", "at least 1", minimum=1),
            Column(
                "terms_allowed_missing", "int", "at least 0", optional=True, default=0, minimum=0
            ),
            Column(
                "timezone",
                "string",
                "an IANA time zone name such as America/New_York",
                optional=True,
                default="UTC",
            ),
        ),
        key=("program_id",),
    ),
    TableSpec(
        "terms",
        (
            Column("term_id", "string", "unique", unique=True),
            _ref("program_id", "programs", "a program"),
            Column("start_date", "date"),
            Column("end_date", "date", "after start_date"),
            Column("drop_deadline", "date", "from start_date to end_date", optional=True),
            Column("season", "string", "one of the seasons", optional=True, choices=SEASONS),
        ),
        key=("term_id",),
    ),
    TableSpec(
        "students",
        (
            Column("student_id", "string", "unique", unique=True),
            _ref("program_id", "programs", "a program"),
            _ref("first_term_id", "terms", "a term of the same program"),
            _ref("advisor_id", "advisors", "an advisor", optional=True),
            Column("display_name", "string", optional=True),
            Column("age", "int", "14 to 100", optional=True, minimum=14, maximum=100),
            Column("country_group", "string", optional=True),
            Column("education_level", "string", optional=True),
            Column("platform_joined_on", "date", optional=True),
            Column("admitted_on", "date", optional=True),
            # earlywarn extensions (docs/contract.md): optional, known when the student enrolls
            Column(
                "prior_attempts",
                "int",
                "at least 0; earlier attempts at the program before the first term",
                optional=True,
                minimum=0,
            ),
            Column(
                "first_term_credits",
                "float",
                "at least 0; the student's whole credit load in the first term, all programs",
                optional=True,
                minimum=0,
            ),
            # Contact (docs/contract.md): optional, shown only to the student's advisor
            Column("email", "string", "the student's own email address", optional=True),
            Column("phone", "string", "the student's phone number", optional=True),
        ),
        key=("student_id",),
    ),
    TableSpec(
        "courses",
        (
            Column("course_id", "string", "unique", unique=True),
            _ref("program_id", "programs", "a program"),
            Column("title", "string"),
            Column("weeks", "int", "1 to 52", minimum=1, maximum=52),
        ),
        key=("course_id",),
    ),
    TableSpec(
        "course_items",
        (
            Column("item_id", "string", "unique", unique=True),
            _ref("course_id", "courses", "a course"),
            Column("week", "int", "1 to the course's weeks", minimum=1),
            Column("item_type", "string", "one of the item types", choices=ITEM_TYPES),
            Column("graded", "bool"),
            Column(
                "grade_weight",
                "float",
                "0 to 1; required for graded items, adding up to 1 per course",
                empty_ok=True,
                minimum=0,
                maximum=1,
            ),
            Column(
                "due_day",
                "int",
                "days after the term's start_date; required for graded items",
                empty_ok=True,
                minimum=0,
            ),
            Column("video_minutes", "float", "at least 0", optional=True, minimum=0),
        ),
        key=("item_id",),
    ),
    TableSpec(
        "enrollments",
        (
            _ref("student_id", "students", "a student"),
            _ref("course_id", "courses", "a course of the student's program"),
            _ref("term_id", "terms", "a term of the student's program"),
            Column("enrolled_on", "date"),
            Column("dropped_on", "date", "on or after enrolled_on", optional=True),
            Column("final_grade", "float", "0 to 100", optional=True, minimum=0, maximum=100),
            Column("is_required", "bool", optional=True),
        ),
        key=("student_id", "course_id", "term_id"),
    ),
    TableSpec(
        "submissions",
        (
            _ref("student_id", "students", "a student"),
            _ref("item_id", "course_items", "a graded item"),
            _ref("term_id", "terms", "a term in which the student is enrolled in the course"),
            Column("submitted_at", "timestamp"),
            Column("score", "float", "0 to 100", optional=True, minimum=0, maximum=100),
            # earlywarn extension (docs/contract.md): a result carried over from an earlier attempt
            Column("is_banked", "bool", optional=True),
        ),
    ),
    TableSpec(
        "advisors",
        (
            Column("advisor_id", "string", "unique", unique=True),
            Column("name", "string"),
            Column("email", "string", "an email address"),
        ),
        required=False,
        key=("advisor_id",),
    ),
    TableSpec(
        "activity",
        (
            _ref("student_id", "students", "a student"),
            _ref("course_id", "courses", "a course"),
            _ref("term_id", "terms", "a term"),
            Column("started_at", "timestamp"),
            Column("minutes", "float", "at least 0", optional=True, minimum=0),
            _ref("item_id", "course_items", "an item of the course", optional=True),
        ),
        required=False,
    ),
    TableSpec(
        "forum_activity",
        (
            _ref("student_id", "students", "a student"),
            _ref("course_id", "courses", "a course"),
            _ref("term_id", "terms", "a term"),
            Column("at", "timestamp"),
            Column("action", "string", "one of the forum actions", choices=FORUM_ACTIONS),
        ),
        required=False,
    ),
    TableSpec(
        "open_content",
        (
            _ref("student_id", "students", "a student"),
            Column("open_course_id", "string"),
            Column("enrolled_on", "date"),
            Column("paid", "bool"),
            Column("completed_on", "date", "on or after enrolled_on", optional=True),
            Column("stackable", "bool"),
        ),
        required=False,
    ),
    TableSpec(
        "support_tickets",
        (
            _ref("student_id", "students", "a student"),
            Column("opened_at", "timestamp"),
            Column("category", "string"),
        ),
        required=False,
    ),
    TableSpec(
        "outcomes",
        (
            _ref("student_id", "students", "unique; a student", unique=True),
            Column("retained", "bool"),
        ),
        required=False,
        key=("student_id",),
    ),
)

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in SCHEMA}


def key_column(table: str) -> str:
    """The single key column of a table that other tables reference."""
    key = TABLES[table].key
    if len(key) != 1:
        raise KeyError(f"{table} has no single-column key")
    return key[0]
