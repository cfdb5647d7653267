"""What the pages show: a student's row and an advisor's students, from the state database.

Pure reads; every function takes the advisor a signed link names and returns only that
advisor's students (the stored week's advisor, and the roster's current advisor when the app
has the data folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from earlywarn.state import StoredScore, scored_weeks, scores_for_week, student_history, tier_for
from earlywarn.state.feedback import Feedback, latest_by_student, list_feedback
from earlywarn.state.holdout import assignments

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from earlywarn.core.settings import Settings
    from earlywarn.digest.selection import Roster

TREND_WEEKS = 4


@dataclass(frozen=True)
class StudentView:
    student_id: str
    name: str
    risk: float
    tier: str
    week: str
    trend: list[dict[str, Any]]
    reasons: list[dict[str, str]]
    actions: list[str]
    recorded: Feedback | None
    email: str | None = None
    phone: str | None = None
    record_url: str | None = None
    courses: list[str] = field(default_factory=list)


def withheld_students(engine: Engine) -> set[str]:
    return {a.student_id for a in assignments(engine) if a.arm == "withhold"}


def belongs_to(score: StoredScore, advisor_id: str, roster: Roster | None) -> bool:
    """``score``'s student is ``advisor_id``'s (then, and now when the roster is known)."""
    if score.advisor_id != advisor_id:
        return False
    if roster is not None:
        contact = roster.students.get(score.student_id)
        return contact is not None and contact.advisor_id == advisor_id
    return True


def _view(
    settings: Settings,
    engine: Engine,
    score: StoredScore,
    roster: Roster | None,
    recorded: Feedback | None,
) -> StudentView:
    from earlywarn.digest.loop import record_url

    history = student_history(engine, score.student_id)[-TREND_WEEKS:]
    contact = roster.students.get(score.student_id) if roster else None
    actions: list[str] = []
    for r in score.reasons:
        if r.action and r.action not in actions:
            actions.append(r.action)
    return StudentView(
        student_id=score.student_id,
        name=contact.name if contact else score.student_id,
        risk=score.risk,
        tier=tier_for(score.risk, high=settings.tier_high, medium=settings.tier_medium),
        week=score.week,
        trend=[{"week": h.week, "risk": h.risk} for h in history],
        reasons=[{"text": r.text, "action": r.action} for r in score.reasons[:3]],
        actions=actions[:2],
        recorded=recorded,
        email=contact.email if contact else None,
        phone=contact.phone if contact else None,
        record_url=record_url(settings, score.student_id),
        courses=list(contact.courses) if contact and contact.courses else score.courses.split("; "),
    )


def student_view(
    settings: Settings,
    engine: Engine,
    roster: Roster | None,
    *,
    advisor_id: str,
    student_id: str,
    week: str,
) -> StudentView | None:
    """The student's row of the digest week, or ``None`` when not this advisor's student."""
    score = next((s for s in scores_for_week(engine, week) if s.student_id == student_id), None)
    if score is None or not belongs_to(score, advisor_id, roster):
        return None
    if student_id in withheld_students(engine):
        return None
    mine = list_feedback(engine, advisor_id=advisor_id, students=[student_id])
    return _view(settings, engine, score, roster, mine[0] if mine else None)


def advisor_view(
    settings: Settings, engine: Engine, roster: Roster | None, *, advisor_id: str
) -> tuple[str | None, list[StudentView]]:
    """The latest scored week and ``advisor_id``'s flagged students in it, riskiest first."""
    weeks = scored_weeks(engine)
    if not weeks:
        return None, []
    week = weeks[-1]
    withheld = withheld_students(engine)
    latest = latest_by_student(list_feedback(engine, advisor_id=advisor_id))
    views = [
        _view(settings, engine, s, roster, latest.get(s.student_id))
        for s in scores_for_week(engine, week)
        if s.risk >= settings.tier_medium
        and s.student_id not in withheld
        and belongs_to(s, advisor_id, roster)
    ]
    return week, views
