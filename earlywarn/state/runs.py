"""Reading scoring runs (and their drift) back from the state database."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from earlywarn.state.records import DriftRow, StoredRun

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, RowMapping, Select


def _run(conn: Connection, row: RowMapping) -> StoredRun:
    from sqlalchemy import select

    from earlywarn.state import schema

    d = schema.drift
    drift_rows = conn.execute(
        select(d).where(d.c.run_id == row["run_id"]).order_by(d.c.psi.desc(), d.c.feature)
    ).mappings()
    # Thresholds live in the run's drift summary (runs stored before they existed have none).
    summary = json.loads(row["drift_summary"] or "{}")
    thresholds, scopes = summary.get("thresholds", {}), summary.get("scopes", {})
    return StoredRun(
        run_id=row["run_id"],
        as_of=row["as_of"],
        model_name=row["model_name"],
        model_version=row["model_version"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        n_students=row["n_students"],
        drift=tuple(
            DriftRow(
                r["feature"],
                r["psi"],
                r["level"],
                thresholds.get(r["feature"]),
                scopes.get(r["feature"], ""),
            )
            for r in drift_rows
        ),
        details=json.loads(row["details"]),
        n_scored=row["n_scored"],
        n_high=row["n_high"],
        n_medium=row["n_medium"],
        n_low=row["n_low"],
        stored_week=row["week"],
    )


def _first(engine: Engine, query: Select[Any]) -> StoredRun | None:
    with engine.connect() as conn:
        row = conn.execute(query.limit(1)).mappings().first()
        return None if row is None else _run(conn, row)


def latest_run(engine: Engine) -> StoredRun | None:
    """The most recently started scoring run, or ``None`` when nothing was scored yet."""
    from sqlalchemy import select

    from earlywarn.state import schema

    t = schema.scoring_runs
    return _first(engine, select(t).order_by(t.c.started_at.desc(), t.c.run_id.desc()))


def run_for_week(engine: Engine, week: str) -> StoredRun | None:
    """The run whose scores are ``week``'s current ones (the last to score it), or ``None``."""
    from sqlalchemy import select

    from earlywarn.state import schema

    s, t = schema.scores, schema.scoring_runs
    current = select(s.c.run_id).where(s.c.week == week).limit(1).scalar_subquery()
    found = _first(engine, select(t).where(t.c.run_id == current))
    if found is not None:
        return found
    # A week scored with zero students has no score rows: fall back to its latest run.
    return _first(
        engine, select(t).where(t.c.week == week).order_by(t.c.started_at.desc(), t.c.run_id.desc())
    )


def recent_runs(engine: Engine, limit: int = 10) -> list[StoredRun]:
    """The last ``limit`` scoring runs, newest first."""
    from sqlalchemy import select

    from earlywarn.state import schema

    t = schema.scoring_runs
    query = select(t).order_by(t.c.started_at.desc(), t.c.run_id.desc()).limit(limit)
    with engine.connect() as conn:
        return [_run(conn, row) for row in conn.execute(query).mappings().all()]
