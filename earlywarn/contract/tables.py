"""The typed, validated tables of one institution, as every stage after the loader sees them.

Only :func:`earlywarn.contract.load_tables` builds a :class:`Tables`, and only from data that passed
every rule of CONTRACT.md, so no later stage re-checks the contract.

In-memory conventions (the loader guarantees them, every other module relies on them):

* Each table is a ``pandas.DataFrame`` with a fresh ``RangeIndex`` and exactly the contract's
  columns (optional columns that the file lacks are added, filled with their default or missing).
  Columns the contract does not name are dropped (the loader warns about them).
* ``string`` key columns (``programs.program_id``, ``students.student_id``, ...) are pandas ``str``.
* Reference columns (a column whose rule is "a program", "a student", "a term", "a course", "an
  item", "an advisor") are ``category`` whose categories are *exactly* the referenced table's key
  values in that table's row order. So ``tables.activity["student_id"].cat.codes`` is the row of
  ``tables.students`` each activity row belongs to, with no string hashing. An empty optional
  reference (``students.advisor_id``, ``activity.item_id``) is code -1.
* Other ``string`` columns (names, ``country_group``, ``category``, ``item_type``, ``action``,
  ``season``, ``open_course_id``) are pandas ``str`` with missing values as NA.
* ``int`` columns are ``int64``; an optional ``int`` without a default is ``float64`` with NaN.
* ``float`` columns are ``float64`` with NaN for missing.
* ``bool`` columns are ``bool``; optional ``bool`` columns are pandas ``boolean`` (nullable).
* ``date`` columns are ``datetime64[s]`` without a time zone: the calendar day at midnight, to be
  read in the program's time zone (see :mod:`earlywarn.core.time`). Missing is ``NaT``.
* ``timestamp`` columns are ``datetime64[us, UTC]``.
* Optional tables that the folder lacks are ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REQUIRED_TABLES = (
    "programs",
    "terms",
    "students",
    "courses",
    "course_items",
    "enrollments",
    "submissions",
)
OPTIONAL_TABLES = (
    "advisors",
    "activity",
    "forum_activity",
    "open_content",
    "support_tickets",
    "outcomes",
)
ALL_TABLES = REQUIRED_TABLES + OPTIONAL_TABLES


@dataclass(frozen=True)
class Tables:
    """One institution's data, typed and validated. Treat the frames as read-only."""

    programs: pd.DataFrame
    terms: pd.DataFrame
    students: pd.DataFrame
    courses: pd.DataFrame
    course_items: pd.DataFrame
    enrollments: pd.DataFrame
    submissions: pd.DataFrame
    advisors: pd.DataFrame | None = None
    activity: pd.DataFrame | None = None
    forum_activity: pd.DataFrame | None = None
    open_content: pd.DataFrame | None = None
    support_tickets: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None
    # Where each table came from (table name -> file), for messages and data fingerprints.
    sources: dict[str, Path] = field(default_factory=dict)
    # Optional columns each file lacked (table name -> column names). They are in the frames,
    # filled as missing; a feature that needs to tell "absent" from "empty so far" asks here, not
    # the values, since which values exist depends on which rows are visible.
    absent_columns: dict[str, frozenset[str]] = field(default_factory=dict)

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table``'s file has ``column`` (an absent optional column reads as missing)."""
        return self.get(table) is not None and column not in self.absent_columns.get(
            table, frozenset()
        )

    def get(self, name: str) -> pd.DataFrame | None:
        """The table called ``name`` (``None`` for an absent optional table)."""
        if name not in ALL_TABLES:
            raise KeyError(name)
        frame: pd.DataFrame | None = getattr(self, name)
        return frame

    def present(self) -> dict[str, pd.DataFrame]:
        """The tables the folder holds, by name, in contract order."""
        return {name: frame for name in ALL_TABLES if (frame := self.get(name)) is not None}
