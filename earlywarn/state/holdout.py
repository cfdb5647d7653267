"""The randomized holdout (table ``holdout``): each flagged student's arm for the term.

When a student is first flagged in a term, a draw decides whether their advisor hears about
them (``notify``) or not (``withhold``). The draw is a uniform number made from a SHA-256 of
the seed, term, tier and student id: the same inputs give the same arm on every machine and
every rerun, and within each tier about ``share`` of the students are withheld. The arm is
stored once and never changes, whatever later weeks, settings or seeds say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sqlalchemy import Engine

Arm = Literal["notify", "withhold"]


@dataclass(frozen=True)
class Flagged:
    """A student flagged this week, a candidate for a first draw."""

    student_id: str
    term_id: str
    tier: str
    risk: float


@dataclass(frozen=True)
class Assignment:
    student_id: str
    term_id: str
    arm: Arm
    tier: str
    risk: float
    week: str


def draw(seed: int, term_id: str, tier: str, student_id: str) -> float:
    """A reproducible uniform number in [0, 1) for one student's draw."""
    digest = hashlib.sha256(f"{seed}\x1f{term_id}\x1f{tier}\x1f{student_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_arms(
    engine: Engine,
    flagged: Iterable[Flagged],
    *,
    share: float,
    seed: int,
    week: str,
    now: datetime,
) -> dict[tuple[str, str], Assignment]:
    """Every flagged student's arm, drawing (and storing) one for those without one yet."""
    from sqlalchemy import insert, select

    from earlywarn.state.schema import holdout

    candidates = list(flagged)
    with engine.begin() as conn:
        stored = {
            (r.student_id, r.term_id): Assignment(
                r.student_id, r.term_id, r.arm, r.tier, r.risk, r.week
            )
            for r in conn.execute(select(holdout)).all()
        }
        new = []
        for c in candidates:
            key = (c.student_id, c.term_id)
            if key in stored:
                continue
            arm: Arm = (
                "withhold" if draw(seed, c.term_id, c.tier, c.student_id) < share else "notify"
            )
            stored[key] = Assignment(c.student_id, c.term_id, arm, c.tier, c.risk, week)
            new.append(
                {
                    "student_id": c.student_id,
                    "term_id": c.term_id,
                    "arm": arm,
                    "tier": c.tier,
                    "risk": c.risk,
                    "week": week,
                    "share": share,
                    "assigned_at": now,
                }
            )
        if new:
            conn.execute(insert(holdout), new)
    return stored


def assignments(engine: Engine) -> list[Assignment]:
    """Every stored assignment."""
    from sqlalchemy import select

    from earlywarn.state.schema import holdout

    with engine.connect() as conn:
        rows = conn.execute(select(holdout).order_by(holdout.c.term_id, holdout.c.student_id))
        return [
            Assignment(r.student_id, r.term_id, r.arm, r.tier, r.risk, r.week) for r in rows.all()
        ]
