"""What a digest's heading and subject say besides counts: the program, the week of term, the model.

An advisor thinks in programs and weeks of term ("Data Science BSc, week 4"), not in ISO dates,
and in "the model trained on 14 Sep 2026", not in registry version numbers. A student's week is
the week of their first term (the glossary's *week of term*: week ``k`` is the ``k``-th seven-day
span from the term's start date), on the local day of the as-of instant in their program's time
zone. Pure functions of the loaded tables; no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from earlywarn.core.time import aware_utc

if TYPE_CHECKING:
    from earlywarn.contract.tables import Tables


@dataclass(frozen=True, order=True)
class ProgramWeek:
    """A program by name and the week of term its first-term students are in (``None``: the
    term has not started or has ended)."""

    name: str
    week: int | None

    @property
    def text(self) -> str:
        return self.name if self.week is None else f"{self.name}, week {self.week} of term"


def student_program_weeks(tables: Tables, as_of: datetime) -> dict[str, ProgramWeek]:
    """Each student's program name and week of their first term, as of ``as_of``."""
    import pandas as pd

    moment = pd.Timestamp(aware_utc(as_of))
    programs = tables.programs.set_index(tables.programs["program_id"].astype(str))
    zones = (
        programs["timezone"].astype(object).where(programs["timezone"].notna(), "UTC")
        if "timezone" in programs.columns
        else pd.Series("UTC", index=programs.index)
    )
    terms = tables.terms.set_index(tables.terms["term_id"].astype(str))
    local_day = {
        pid: moment.tz_convert(str(zone)).tz_localize(None).normalize()
        for pid, zone in zones.items()
    }
    found: dict[str, ProgramWeek] = {}
    students = tables.students
    for student_id, program_id, term_id in zip(
        students["student_id"].astype(str),
        students["program_id"].astype(str),
        students["first_term_id"].astype(str),
        strict=True,
    ):
        name = str(programs.at[program_id, "name"]) if program_id in programs.index else program_id
        week: int | None = None
        if term_id in terms.index and program_id in local_day:
            start = pd.Timestamp(terms.at[term_id, "start_date"]).normalize()
            end = pd.Timestamp(terms.at[term_id, "end_date"]).normalize()
            day = local_day[program_id]
            if start <= day <= end:
                week = (day - start).days // 7 + 1
        found[student_id] = ProgramWeek(name, week)
    return found


def programs_heading(weeks: Iterable[ProgramWeek]) -> str:
    """'Data Science BSc, week 4 of term'; the most common first when students span several
    ('... and Nursing, week 3 of term', or '... and 2 other programs')."""
    counted = Counter(weeks).most_common()
    if not counted:
        return ""
    ranked = [pw for pw, _ in sorted(counted, key=lambda item: (-item[1], item[0]))]
    if len(ranked) == 1:
        return ranked[0].text
    if len(ranked) == 2:
        return f"{ranked[0].text} and {ranked[1].text}"
    return f"{ranked[0].text} and {len(ranked) - 1} other programs"


def heading_for(students: Iterable[str], weeks: Mapping[str, ProgramWeek]) -> str:
    """The heading of a digest listing ``students`` (ids)."""
    return programs_heading(weeks[s] for s in students if s in weeks)


def model_text(trained_at: datetime | None, version: str) -> str:
    """'the model trained on 14 Sep 2026', or by version when the date is not known."""
    if trained_at is None:
        return f"model version {version}"
    day = aware_utc(trained_at)
    return f"the model trained on {day.day} {day:%b %Y}"


def parse_trained_at(value: object) -> datetime | None:
    """The training instant a scoring run kept in its details (ISO text), if any."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return aware_utc(datetime.fromisoformat(value))
    except ValueError:
        return None
