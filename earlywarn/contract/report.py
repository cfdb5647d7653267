"""What validating a data folder found: problems (capped per rule), warnings, counts, dates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from earlywarn.core.errors import Problem

if TYPE_CHECKING:
    from earlywarn.contract.read import RawTable
    from earlywarn.contract.tables import Tables

#: At most this many problems are listed per file, column and rule; the rest are counted.
PROBLEMS_PER_RULE = 20


class ProblemLog:
    """Collects problems, listing the first few rows that break each rule and counting the rest.

    Rows come in as numpy masks, so ten million bad rows cost one count, not ten million objects.
    """

    def __init__(self, per_rule: int = PROBLEMS_PER_RULE) -> None:
        self.per_rule = per_rule
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: Sequence[Problem]) -> None:
        self.problems.extend(problems)

    def rows(
        self,
        raw: RawTable,
        column: str | None,
        rule: str,
        bad: np.ndarray,
        values: Callable[[np.ndarray], Sequence[Any]] | None = None,
    ) -> int:
        """Report the rows where ``bad`` is true (a bool mask); returns how many there were.

        ``values`` gives the value to show for some row indexes; by default the cell as read.
        """
        index = np.flatnonzero(bad)
        if index.size == 0:
            return 0
        first = index[: self.per_rule]
        if values is not None:
            shown = list(values(first))
        elif column is not None and column in raw.data.column_names:
            shown = raw.data.column(column).take(first).to_pylist()
        else:
            shown = [None] * len(first)
        for row, value in zip(raw.location(first), shown, strict=True):
            text = None if value is None else str(value)
            self.add(Problem(raw.file, rule, row=int(row), column=column, value=text))
        if index.size > first.size:
            more = index.size - first.size
            self.add(
                Problem(raw.file, f"... and {more} more rows like this: {rule}", column=column)
            )
        return int(index.size)


@dataclass
class ValidationReport:
    """Everything ``validate_folder`` learnt about a data folder.

    ``tables`` is set only when there are no problems. ``unreadable`` is true when some file
    could not be read at all (missing, not UTF-8, empty), as opposed to data that breaks a rule.
    """

    folder: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    date_range: tuple[date, date] | None = None
    tables: Tables | None = None
    unreadable: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and self.tables is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``earlywarn validate --json``)."""
        return {
            "folder": str(self.folder),
            "ok": self.ok,
            "tables": {
                name: {"file": self.files[name].name, "rows": self.row_counts.get(name)}
                for name in self.files
            },
            "date_range": (
                None
                if self.date_range is None
                else [self.date_range[0].isoformat(), self.date_range[1].isoformat()]
            ),
            "warnings": list(self.warnings),
            "problems": [
                {
                    "file": p.file,
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "rule": p.rule,
                    "message": str(p),
                }
                for p in self.problems
            ],
        }
