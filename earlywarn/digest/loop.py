"""What advisors recorded, and the holdout, applied to the week's selection before rendering.

:func:`close_loop` takes the selection of :func:`~earlywarn.digest.selection.select_digests` and
returns the digests advisors actually get:

- **Holdout.** With ``holdout_share`` above 0, every student flagged for the first time in their
  term gets an arm (:mod:`earlywarn.state.holdout`); students in the ``withhold`` arm are left
  out of every digest of the term (their arm is stored, so turning the share to 0 later does not
  bring them back before the term is over).
- **Not at risk.** A student their advisor marked *not at risk* is not listed again for
  ``not_at_risk_weeks`` weeks, unless their tier is higher now than when it was marked.
- **Could not reach.** A student whose latest record is *could not reach* moves to the top.
- **What was recorded.** Each student line carries their latest record, and each digest lists
  what its advisor recorded since the previous week's digest.
- **Links and contact.** With both ``secret_key`` and ``base_url`` set, each student line gets
  its signed feedback link and each digest its advisor-page link; without them the digest has
  no links and says where to get them. The student's own email, phone and record link are added
  from the contract's optional columns and ``student_record_url``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from earlywarn.core.links import make_url
from earlywarn.digest.selection import AdvisorDigest, Roster, Selection, StudentLine
from earlywarn.state.feedback import Feedback, latest_by_student, list_feedback
from earlywarn.state.holdout import Flagged, assign_arms, assignments

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from earlywarn.core.settings import Settings

TIER_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class LoopOutcome:
    """What the loop changed this week (ids and counts only: safe to log)."""

    withheld: int = 0
    quiet: int = 0
    moved_up: int = 0
    linked: bool = False


def weeks_between(earlier: str, later: str) -> int:
    """Whole weeks from one week key (a Monday, ``YYYY-MM-DD``) to another."""
    return (date.fromisoformat(later) - date.fromisoformat(earlier)).days // 7


def record_url(settings: Settings, student_id: str) -> str | None:
    """The student's record in the institution's systems (``student_record_url``)."""
    from urllib.parse import quote

    template = settings.student_record_url
    return template.replace("{student_id}", quote(student_id, safe="")) if template else None


def is_quiet(latest: Feedback | None, tier: str, week: str, quiet_weeks: int) -> bool:
    """Marked *not at risk* fewer than ``quiet_weeks`` weeks ago, and the tier has not risen."""
    if latest is None or latest.choice != "not_at_risk" or latest.week >= week:
        return False
    if weeks_between(latest.week, week) >= quiet_weeks:
        return False
    return TIER_RANK.get(tier, 0) <= TIER_RANK.get(latest.tier or "high", 2)


def _recorded(entry: Feedback | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "label": entry.label,
        "choice": entry.choice,
        "date": entry.recorded_at.strftime("%Y-%m-%d"),
        "week": entry.week,
    }


def close_loop(
    settings: Settings,
    engine: Engine,
    roster: Roster,
    selection: Selection,
    *,
    week: str,
    now: datetime,
) -> tuple[Selection, LoopOutcome]:
    """The selection as advisors get it (see the module docstring)."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    base = settings.base_url
    linked = bool(secret and base)

    flagged = [
        Flagged(s.student_id, roster.students[s.student_id].term_id or "", s.tier, s.risk)
        for d in selection.digests
        for s in d.students
        if s.student_id in roster.students
    ]
    if settings.holdout_share > 0:
        arms = assign_arms(
            engine, flagged, share=settings.holdout_share, seed=settings.seed, week=week, now=now
        )
    else:
        arms = {(a.student_id, a.term_id): a for a in assignments(engine)}
    withheld = {key[0] for key, a in arms.items() if a.arm == "withhold"}
    terms = {f.student_id: f.term_id for f in flagged}

    outcome = LoopOutcome(linked=linked)
    digests: list[AdvisorDigest] = []
    week_begins = datetime.combine(date.fromisoformat(week), datetime.min.time(), tzinfo=now.tzinfo)
    for digest in selection.digests:
        advisor_id = digest.advisor.advisor_id
        entries = list_feedback(engine, advisor_id=advisor_id)
        latest = latest_by_student(e for e in entries if e.week < week)
        lines: list[StudentLine] = []
        quiet = 0
        for s in digest.students:
            if s.student_id in withheld and (s.student_id, terms.get(s.student_id, "")) in arms:
                outcome = replace(outcome, withheld=outcome.withheld + 1)
                continue
            mine = latest.get(s.student_id)
            if is_quiet(mine, s.tier, week, settings.not_at_risk_weeks):
                quiet += 1
                continue
            contact = roster.students.get(s.student_id)
            extra: dict[str, object] = {
                "recorded": _recorded(mine),
                "moved_up": mine is not None and mine.choice == "could_not_reach",
                "email": contact.email if contact else None,
                "phone": contact.phone if contact else None,
                "record_url": record_url(settings, s.student_id),
                "feedback_url": (
                    make_url(base, secret, "student", advisor_id, week, s.student_id)
                    if base and secret
                    else None
                ),
            }
            lines.append(replace(s, extra=extra))
        lines.sort(key=lambda s: (not s.extra["moved_up"], -s.risk, s.student_id))
        outcome = replace(
            outcome,
            quiet=outcome.quiet + quiet,
            moved_up=outcome.moved_up + sum(1 for s in lines if s.extra["moved_up"]),
        )
        since = week_begins - timedelta(days=7)
        names = {sid: c.name for sid, c in roster.students.items()}
        last_week = [
            {
                "student_id": e.student_id,
                "name": names.get(e.student_id, e.student_id),
                "label": e.label,
                "date": e.recorded_at.strftime("%Y-%m-%d"),
            }
            for e in entries
            if e.week < week and e.recorded_at >= since
        ]
        if not lines:
            continue
        digests.append(
            AdvisorDigest(
                advisor=digest.advisor,
                students=tuple(lines),
                shown=tuple(lines[: settings.digest_max_students]),
                extra={
                    "page_url": make_url(base, secret, "advisor", advisor_id, week)
                    if base and secret
                    else None,
                    "recorded_last_week": last_week,
                    "quiet": quiet,
                    "quiet_weeks": settings.not_at_risk_weeks,
                },
            )
        )
    return replace(selection, digests=digests), outcome
