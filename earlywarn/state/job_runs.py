"""The ``job_runs`` table: what each weekly or retraining job did, for operators and ``status``.

One row per run of a job (by the scheduler or by hand): the job's name, when it started and
finished, its status (``running``, ``ok``, ``failed``, ``stopped``) and a JSON summary of what it
did. The table lives in the state database next to the scoring tables but has its own metadata;
the baseline migration creates it, and it is created on first use should it be missing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from earlywarn.core.time import aware_utc

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table

JobStatus = Literal["running", "ok", "failed", "stopped"]


@dataclass(frozen=True, kw_only=True)
class JobRun:
    """One run of a job, as stored."""

    run_id: str
    job: str
    started_at: datetime
    finished_at: datetime | None
    status: JobStatus
    summary: Mapping[str, Any] = field(default_factory=dict)


_table: Table | None = None


def _job_runs_table() -> Table:
    global _table
    if _table is None:
        from sqlalchemy import Column, MetaData, String, Table, Text

        from earlywarn.state.schema import UTCDateTime

        _table = Table(
            "job_runs",
            MetaData(),
            Column("run_id", String(64), primary_key=True),
            Column("job", String(64), nullable=False, index=True),
            Column("started_at", UTCDateTime, nullable=False, index=True),
            Column("finished_at", UTCDateTime),
            Column("status", String(10), nullable=False),
            Column("summary", Text, nullable=False),  # JSON
        )
    return _table


def _ready(engine: Engine) -> Table:
    table = _job_runs_table()
    table.create(engine, checkfirst=True)
    return table


def start_job_run(engine: Engine, job: str, started_at: datetime) -> str:
    """Record that ``job`` started; returns the run id to finish it with."""
    from sqlalchemy import insert

    table = _ready(engine)
    run_id = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            insert(table).values(
                run_id=run_id,
                job=job,
                started_at=aware_utc(started_at),
                finished_at=None,
                status="running",
                summary="{}",
            )
        )
    return run_id


def finish_job_run(
    engine: Engine,
    run_id: str,
    *,
    finished_at: datetime,
    status: JobStatus,
    summary: Mapping[str, Any],
) -> None:
    """Record how a job run ended and what it did."""
    from sqlalchemy import update

    table = _ready(engine)
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.run_id == run_id)
            .values(
                finished_at=aware_utc(finished_at),
                status=status,
                summary=json.dumps(dict(summary), default=str, sort_keys=True),
            )
        )


def recent_job_runs(engine: Engine, *, job: str | None = None, limit: int = 10) -> list[JobRun]:
    """The last ``limit`` runs (of ``job``, or of every job), newest first."""
    from sqlalchemy import select

    table = _ready(engine)
    query = select(table).order_by(table.c.started_at.desc(), table.c.run_id.desc()).limit(limit)
    if job is not None:
        query = query.where(table.c.job == job)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        JobRun(
            run_id=row["run_id"],
            job=row["job"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            status=row["status"],
            summary=json.loads(row["summary"]),
        )
        for row in rows
    ]
