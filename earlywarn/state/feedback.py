"""What advisors recorded about their students from the digest's links (table ``feedback``).

One row per advisor, student and digest week: recording again replaces the choice (and says
so through :attr:`Recorded.replaced`). Notes are stored for the advisor and the operator, never
logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

# choice key -> what the advisor reads on the button and in the digest
CHOICES: dict[str, str] = {
    "reached_out": "reached out",
    "already_in_touch": "already in touch",
    "could_not_reach": "could not reach",
    "not_at_risk": "not at risk",
    "flagged_wrongly": "flagged wrongly",
}
WRONG_CHOICES = frozenset({"flagged_wrongly", "not_at_risk"})


@dataclass(frozen=True)
class Feedback:
    advisor_id: str
    student_id: str
    week: str
    choice: str
    note: str | None
    tier: str | None
    recorded_at: datetime
    times_recorded: int

    @property
    def label(self) -> str:
        return CHOICES.get(self.choice, self.choice)

    def to_json(self) -> dict[str, str]:
        return {
            "advisor_id": self.advisor_id,
            "student_id": self.student_id,
            "week": self.week,
            "choice": self.choice,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True)
class Recorded:
    feedback: Feedback
    replaced: str | None  # the choice recorded before, when this replaced one


def record_feedback(
    engine: Engine,
    *,
    advisor_id: str,
    student_id: str,
    week: str,
    choice: str,
    note: str | None,
    tier: str | None,
    now: datetime,
) -> Recorded:
    """Store ``choice`` (one of :data:`CHOICES`), keeping only the latest per advisor, student
    and week."""
    from sqlalchemy import insert, select, update

    from earlywarn.state.schema import feedback

    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}")
    text = " ".join((note or "").split())[:2000] or None
    if choice != "flagged_wrongly":
        text = None
    key = (
        (feedback.c.advisor_id == advisor_id)
        & (feedback.c.student_id == student_id)
        & (feedback.c.week == week)
    )
    with engine.begin() as conn:
        before = conn.execute(
            select(feedback.c.choice, feedback.c.times_recorded).where(key)
        ).first()
        values = {"choice": choice, "note": text, "tier": tier, "recorded_at": now}
        if before is None:
            times = 1
            conn.execute(
                insert(feedback).values(
                    advisor_id=advisor_id,
                    student_id=student_id,
                    week=week,
                    times_recorded=1,
                    **values,
                )
            )
        else:
            times = int(before.times_recorded) + 1
            conn.execute(update(feedback).where(key).values(times_recorded=times, **values))
    row = Feedback(advisor_id, student_id, week, choice, text, tier, now, times)
    return Recorded(row, None if before is None else str(before.choice))


def list_feedback(
    engine: Engine,
    *,
    advisor_id: str | None = None,
    students: Iterable[str] | None = None,
) -> list[Feedback]:
    """Recorded feedback, newest first (optionally one advisor's, or some students')."""
    from sqlalchemy import select

    from earlywarn.state.schema import feedback

    query = select(feedback).order_by(
        feedback.c.recorded_at.desc(), feedback.c.advisor_id, feedback.c.student_id
    )
    if advisor_id is not None:
        query = query.where(feedback.c.advisor_id == advisor_id)
    if students is not None:
        query = query.where(feedback.c.student_id.in_(list(students)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Feedback(
            r.advisor_id,
            r.student_id,
            r.week,
            r.choice,
            r.note,
            r.tier,
            r.recorded_at,
            r.times_recorded,
        )
        for r in rows
    ]


def latest_by_student(entries: Iterable[Feedback]) -> dict[str, Feedback]:
    """Each student's newest entry (``entries`` newest first, as :func:`list_feedback` gives)."""
    latest: dict[str, Feedback] = {}
    for entry in entries:
        latest.setdefault(entry.student_id, entry)
    return latest


def _share(wrong: int, total: int) -> float | None:
    return round(wrong / total, 4) if total else None


def feedback_summary(entries: Iterable[Feedback]) -> dict[str, object]:
    """Counts per choice, and the share of flags marked wrong (``not at risk`` or ``flagged
    wrongly``) among the flags an advisor recorded anything about, per advisor and per tier."""
    rows = list(entries)
    by_choice = {key: sum(1 for e in rows if e.choice == key) for key in CHOICES}

    def group(key: str) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        for name in sorted({str(getattr(e, key) or "unknown") for e in rows}):
            mine = [e for e in rows if str(getattr(e, key) or "unknown") == name]
            wrong = sum(1 for e in mine if e.choice in WRONG_CHOICES)
            out[name] = {
                "recorded": len(mine),
                "marked_wrong": wrong,
                "wrong_share": _share(wrong, len(mine)),
            }
        return out

    wrong = sum(1 for e in rows if e.choice in WRONG_CHOICES)
    return {
        "recorded": len(rows),
        "by_choice": by_choice,
        "marked_wrong": wrong,
        "wrong_share": _share(wrong, len(rows)),
        "per_advisor": group("advisor_id"),
        "per_tier": group("tier"),
    }
