"""The state database: scoring runs, weekly scores, drift and the email outbox.

Scoring writes here and digests read from here::

    from earlywarn.state import ScoreRow, ScoringRun, open_state, save_scores, week_key

    engine = open_state(settings.state_url)
    run = ScoringRun(as_of=as_of, model_name="retention", model_version="3",
                     started_at=clock(), finished_at=clock(), n_students=len(students),
                     drift=(DriftRow("days_active_first_week", 0.31, "warning"),))
    save_scores(engine, run, [ScoreRow(student_id="s1", risk=0.62, tier="high",
                                       program_id="p1", advisor_id="a1", courses="Stats 101",
                                       reasons=[{"driver": ..., "text": ..., "action": ...}])])

A week is keyed by :func:`week_key` (the Monday of the as-of instant's week in the schedule's
time zone); saving scores for a week that already has them replaces them in one transaction.
Importing this package is cheap: SQLAlchemy is loaded only when a function touches the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from earlywarn.core.errors import StateError
from earlywarn.state.outbox import (
    OPERATOR_ID,
    OutboxEntry,
    OutgoingMessage,
    outbox_entries,
)
from earlywarn.state.records import (
    TIERS,
    DriftRow,
    Reason,
    ScoreRow,
    ScoringRun,
    StoredRun,
    StoredScore,
    Tier,
    tier_for,
    week_key,
    week_start,
)
from earlywarn.state.runs import latest_run, recent_runs, run_for_week
from earlywarn.state.scores import (
    previous_scored_week,
    save_scores,
    scored_weeks,
    scores_for_week,
    student_history,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine


def open_state(url: str) -> Engine:
    """An engine on the state database at ``url`` (``Settings.state_url``), with its tables.

    Any SQLAlchemy URL works; SQLite is the default and its folder is created when needed.
    """
    from earlywarn.state.schema import create_state_engine

    return create_state_engine(url)


__all__ = [
    "OPERATOR_ID",
    "TIERS",
    "DriftRow",
    "OutboxEntry",
    "OutgoingMessage",
    "Reason",
    "ScoreRow",
    "ScoringRun",
    "StateError",
    "StoredRun",
    "StoredScore",
    "Tier",
    "latest_run",
    "open_state",
    "outbox_entries",
    "previous_scored_week",
    "recent_runs",
    "run_for_week",
    "save_scores",
    "scored_weeks",
    "scores_for_week",
    "student_history",
    "tier_for",
    "week_key",
    "week_start",
]
