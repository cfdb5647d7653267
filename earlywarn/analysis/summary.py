"""What program staff read first: the three-sentence summary, the per-program table, the formats.

Every number of the report goes through the formatters here, so the terminal table, the HTML
report and the summary show the same value the same way: effects in points with a sign and one
decimal, p- and q-values with three decimals (``<0.001`` below that), counts with thousands
separators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from earlywarn.analysis.analysis import SIGNIFICANCE, DriverEffect, tested
from earlywarn.features.catalogue import COURSE_STRUCTURE_DRIVERS, YES_NO_DRIVERS

#: How many findings the summary names and the per-program table shows.
SHOWN_FINDINGS = 3


def points(value: float | None) -> str:
    """An effect or an interval end in percentage points: ``+1.2``."""
    return "-" if value is None else f"{value:+.1f}"


def interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{points(low)} to {points(high)}"


def probability(value: float | None) -> str:
    """A p- or q-value: ``0.012``, or ``<0.001``."""
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def count(value: int | None) -> str:
    """A count of students or courses: ``11,258``."""
    return "-" if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def findings(results: Sequence[DriverEffect]) -> list[DriverEffect]:
    """The drivers the summary may name, largest effect first."""
    return sorted((r for r in results if r.finding), key=lambda r: -abs(r.effect_pp or 0.0))


def summary_sentences(
    results: Sequence[DriverEffect], *, students: int, programs: int, min_courses: int
) -> list[str]:
    """Three sentences: what holds up, what is only a hint, and how to read it."""
    named = findings(results)
    n_tested = tested(results)
    scope = (
        f"Of {count(n_tested)} drivers tested on {count(students)} students in "
        f"{count(programs)} program{'s' if programs != 1 else ''}"
    )
    if named:
        shown = ", ".join(
            f"{r.name.lower() if i else r.name} ({points(r.effect_pp)} points)"
            for i, r in enumerate(named[:SHOWN_FINDINGS])
        )
        more = len(named) - SHOWN_FINDINGS
        tail = f", and {more} more in the table below" if more > 0 else ""
        first = (
            f"{scope}, {len(named)} still go with first-year retention after adjusting for "
            f"testing many at once (q < {SIGNIFICANCE}); the largest: {shown}{tail}."
        )
        if len(named) == 1:
            first = first.replace(" still go ", " still goes ")
    else:
        first = (
            f"{scope}, none goes with first-year retention clearly enough once adjusted for "
            f"testing many at once (q < {SIGNIFICANCE})."
        )
    hints = [r for r in results if r.measurable and r.hint]
    unmeasured = [r for r in results if not r.measurable]
    if hints:
        plural = len(hints) != 1
        second = (
            f"{len(hints)} course-design estimate{'s rest' if plural else ' rests'} on fewer than "
            f"{min_courses} courses and {'are hints' if plural else 'is a hint'}, not findings"
        )
    else:
        second = f"Every course-design estimate rests on at least {min_courses} courses"
    if unmeasured:
        second += (
            f"; {len(unmeasured)} driver{'s' if len(unmeasured) != 1 else ''} could not be "
            "measured in this data"
        )
    third = (
        "These are associations adjusted for what the data records, not experiments: use them "
        "to choose what to try and measure next."
    )
    return [first, second + ".", third]


@dataclass(frozen=True)
class ProgramTable:
    """One row per program: its size, its retention, and where it stands on the top drivers."""

    drivers: list[DriverEffect]  # the columns after students and retention
    rows: list[dict[str, Any]]  # name, students, retained, values (formatted, one per driver)


def program_table(
    programs: Sequence[Mapping[str, Any]], results: Sequence[DriverEffect]
) -> ProgramTable:
    """The findings (else the largest measured effects) as columns, each program's mean value."""

    columns = findings(results)[:SHOWN_FINDINGS]
    if not columns:
        measured = [r for r in results if r.measurable and r.p25 != r.p75]
        columns = sorted(measured, key=lambda r: -abs(r.effect_pp or 0.0))[:SHOWN_FINDINGS]
    rows = []
    for program in programs:
        means = program.get("driver_means", {})
        rows.append(
            {
                "name": program["name"],
                "students": count(program["students"]),
                "retained": percent(program["retained_pct"]),
                "values": [
                    # a yes/no driver's mean is the share of students with it
                    percent(means[r.driver] * 100)
                    if r.yes_no and r.driver in means
                    else format_value(r.driver, means.get(r.driver))
                    for r in columns
                ],
            }
        )
    return ProgramTable(drivers=list(columns), rows=rows)


def program_summaries(
    students: Any, drivers: Any, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Per program: id, name, students, first-year retention (%) and each driver's mean."""
    import math

    out = []
    for program_id, rows in students.groupby("program_id", sort=True):
        means = drivers.loc[rows.index].mean(numeric_only=True)
        out.append(
            {
                "program_id": str(program_id),
                "name": names.get(str(program_id), str(program_id)),
                "students": len(rows),
                "retained_pct": round(float(rows["retained"].mean()) * 100, 1),
                "driver_means": {
                    str(k): round(float(v), 4) for k, v in means.items() if not math.isnan(v)
                },
            }
        )
    return out


#: Course-design drivers whose values are shares of a course (or of courses, for yes/no ones):
#: shown in percent.
PERCENT_DRIVERS = frozenset(
    d for d in COURSE_STRUCTURE_DRIVERS if d.endswith("_share") or d in YES_NO_DRIVERS
)


def format_value(driver: str, value: float | None) -> str:
    """A driver value as a reader expects it (shares in percent, counts without decimals)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if driver in PERCENT_DRIVERS:
        return f"{value * 100:.1f}%"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.2f}"
