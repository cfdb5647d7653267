"""Storing a scoring run's scores, and reading a week's scores back."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import StateError
from earlywarn.core.time import aware_utc
from earlywarn.state.records import Reason, ScoreRow, ScoringRun, StoredScore

if TYPE_CHECKING:
    from sqlalchemy import Engine, RowMapping


def _drift_summary(run: ScoringRun) -> dict[str, Any]:
    worst = max(run.drift, key=lambda d: d.psi, default=None)
    return {
        "features": len(run.drift),
        "warnings": sorted(d.feature for d in run.drift if d.level == "warning"),
        "max_psi": None if worst is None else worst.psi,
        "max_psi_feature": None if worst is None else worst.feature,
        "as_of": run.as_of.isoformat(),
        "alarm": any(d.level == "warning" for d in run.drift),
        "thresholds": {d.feature: d.threshold for d in run.drift if d.threshold is not None},
        "scopes": {d.feature: d.scope for d in run.drift if d.scope},
    }


def save_scores(engine: Engine, run: ScoringRun, rows: Sequence[ScoreRow]) -> None:
    """Record ``run`` and make ``rows`` the scores of its week, in one transaction.

    Any scores already stored for ``run.week`` are deleted first, so rescoring a week replaces it
    (never duplicates it) while earlier weeks stay as history. The run row (with tier counts and a
    drift summary) and its drift rows are kept for every run. Raises :class:`StateError` when a
    student appears twice in ``rows`` or the run id was already stored.
    """
    from sqlalchemy import delete, insert, select

    from earlywarn.state import schema

    counts = Counter(row.student_id for row in rows)
    duplicated = sorted(s for s, n in counts.items() if n > 1)
    if duplicated:
        raise StateError(
            f"scoring run {run.run_id}: student {duplicated[0]} is scored twice "
            f"({len(duplicated)} students duplicated); score each student once per week"
        )
    tiers = Counter(row.tier for row in rows)
    week = run.week
    as_of = aware_utc(run.as_of)
    with engine.begin() as conn:
        exists = conn.execute(
            select(schema.scoring_runs.c.run_id).where(schema.scoring_runs.c.run_id == run.run_id)
        ).first()
        if exists is not None:
            raise StateError(f"scoring run {run.run_id} is already stored; give each run a new id")
        conn.execute(
            insert(schema.scoring_runs).values(
                run_id=run.run_id,
                week=week,
                as_of=as_of,
                model_name=run.model_name,
                model_version=str(run.model_version),
                started_at=run.started_at,
                finished_at=run.finished_at,
                n_students=run.n_students,
                n_scored=len(rows),
                n_high=tiers["high"],
                n_medium=tiers["medium"],
                n_low=tiers["low"],
                drift_summary=json.dumps(_drift_summary(run)),
                details=json.dumps(dict(run.details), default=str),
            )
        )
        if run.drift:
            conn.execute(
                insert(schema.drift),
                [
                    {"run_id": run.run_id, "feature": d.feature, "psi": d.psi, "level": d.level}
                    for d in run.drift
                ],
            )
        conn.execute(delete(schema.scores).where(schema.scores.c.week == week))
        if rows:
            conn.execute(
                insert(schema.scores),
                [
                    {
                        "student_id": row.student_id,
                        "week": week,
                        "risk": row.risk,
                        "tier": row.tier,
                        "advisor_id": row.advisor_id,
                        "program_id": row.program_id,
                        "courses": row.courses,
                        "reasons": json.dumps([r.to_json() for r in row.reasons]),
                        "model_version": str(run.model_version),
                        "as_of": as_of,
                        "run_id": run.run_id,
                    }
                    for row in rows
                ],
            )


def _stored(row: RowMapping) -> StoredScore:
    return StoredScore(
        student_id=row["student_id"],
        risk=row["risk"],
        tier=row["tier"],
        program_id=row["program_id"],
        advisor_id=row["advisor_id"],
        courses=row["courses"],
        reasons=tuple(Reason(**r) for r in json.loads(row["reasons"])),
        week=row["week"],
        as_of=row["as_of"],
        model_version=row["model_version"],
        run_id=row["run_id"],
    )


def scores_for_week(engine: Engine, week: str) -> list[StoredScore]:
    """Every stored score of ``week``, highest risk first (ties by student id)."""
    from sqlalchemy import select

    from earlywarn.state import schema

    t = schema.scores
    query = select(t).where(t.c.week == week).order_by(t.c.risk.desc(), t.c.student_id)
    with engine.connect() as conn:
        return [_stored(row) for row in conn.execute(query).mappings()]


def scored_weeks(engine: Engine) -> list[str]:
    """The weeks that have scores, oldest first."""
    from sqlalchemy import select

    from earlywarn.state import schema

    query = select(schema.scores.c.week).distinct().order_by(schema.scores.c.week)
    with engine.connect() as conn:
        return [str(w) for w in conn.execute(query).scalars()]


def previous_scored_week(engine: Engine, week: str) -> str | None:
    """The latest week before ``week`` that has scores, or ``None``."""
    from sqlalchemy import func, select

    from earlywarn.state import schema

    query = select(func.max(schema.scores.c.week)).where(schema.scores.c.week < week)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else str(found)


def student_history(engine: Engine, student_id: str) -> list[StoredScore]:
    """One student's scores, week by week, oldest first."""
    from sqlalchemy import select

    from earlywarn.state import schema

    t = schema.scores
    query = select(t).where(t.c.student_id == student_id).order_by(t.c.week)
    with engine.connect() as conn:
        return [_stored(row) for row in conn.execute(query).mappings()]
