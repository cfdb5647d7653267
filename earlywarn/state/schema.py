"""The state database's tables (SQLAlchemy Core) and :func:`create_state_engine`.

Tables: ``scoring_runs`` (one row per ``earlywarn score`` run), ``drift`` (per run and
feature), ``scores`` (one row per student and week; rescoring a week replaces its rows),
``outbox`` (one rendered message per recipient and week, with its delivery status) and
``scheduler_lease`` (the one scheduler allowed on this database, see :mod:`earlywarn.state.lease`).
Instants are stored as naive UTC and read back as aware UTC datetimes.

These definitions are what the code reads and writes; the database itself is built and upgraded
by the Alembic revisions in ``migrations/versions`` (:mod:`earlywarn.state.migrate`), run every
time a database is opened. Schema version 1 (revision 0001) is the first release; version 2
(revision 0002) adds the outbox's ``next_attempt_at`` and ``last_attempt_at`` and the
``scheduler_lease`` table; version 3 (revision 0003) adds ``feedback`` (what an advisor recorded
about a student from a digest link) and ``holdout`` (each flagged student's randomized arm for
the term). A database of an earlier release is upgraded in place.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.types import TypeDecorator

from earlywarn.core.time import aware_utc
from earlywarn.state.migrate import lock_schema, upgrade_to_head

SCHEMA_VERSION = 3


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC, so every backend compares instants correctly."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return aware_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return aware_utc(value)


metadata = MetaData()

meta = Table(
    "earlywarn_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

scoring_runs = Table(
    "scoring_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("week", String(10), nullable=False, index=True),
    Column("as_of", UTCDateTime, nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("n_students", Integer, nullable=False),
    Column("n_scored", Integer, nullable=False),
    Column("n_high", Integer, nullable=False),
    Column("n_medium", Integer, nullable=False),
    Column("n_low", Integer, nullable=False),
    Column("drift_summary", Text, nullable=False),  # JSON
    Column("details", Text, nullable=False),  # JSON
)

drift = Table(
    "drift",
    metadata,
    Column("run_id", String(64), ForeignKey("scoring_runs.run_id"), primary_key=True),
    Column("feature", String(200), primary_key=True),
    Column("psi", Float, nullable=False),
    Column("level", String(10), nullable=False),
)

scores = Table(
    "scores",
    metadata,
    Column("student_id", String(200), primary_key=True),
    Column("week", String(10), primary_key=True),
    Column("risk", Float, nullable=False),
    Column("tier", String(10), nullable=False),
    Column("advisor_id", String(200)),
    Column("program_id", String(200), nullable=False),
    Column("courses", Text, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list of {"driver", "text", "action"}
    Column("model_version", String(64), nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("run_id", String(64), ForeignKey("scoring_runs.run_id"), nullable=False),
    Index("ix_scores_week_advisor", "week", "advisor_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("recipient_id", String(200), primary_key=True),  # advisor_id, or "__operator__"
    Column("week", String(10), primary_key=True),
    Column("kind", String(10), nullable=False),  # "advisor" | "operator"
    Column("to_addr", Text, nullable=False),
    Column("from_addr", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("message", LargeBinary, nullable=False),  # the RFC 5322 bytes, exactly as sent
    Column("n_students", Integer, nullable=False),
    Column("status", String(10), nullable=False, index=True),  # pending | sent | failed
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("claimed_until", UTCDateTime),  # a sender's lease, so two processes never both send
    # Added in schema version 2 (migration 0002; nullable, so existing rows need no value):
    Column("next_attempt_at", UTCDateTime),  # deferred until then (None: never deferred)
    Column("last_attempt_at", UTCDateTime),
)

scheduler_lease = Table(
    "scheduler_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),  # host:pid:random, unique per process
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("home", Text, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Added in schema version 3 (migration 0003).
feedback = Table(
    "feedback",
    metadata,
    Column("advisor_id", String(200), primary_key=True),
    Column("student_id", String(200), primary_key=True),
    Column("week", String(10), primary_key=True),  # the digest week the link was sent in
    Column("choice", String(32), nullable=False),
    Column("note", Text),  # only with "flagged_wrongly"; never logged
    Column("tier", String(10)),  # the student's tier in that digest
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("times_recorded", Integer, nullable=False),
    Index("ix_feedback_student", "student_id", "recorded_at"),
)

holdout = Table(
    "holdout",
    metadata,
    Column("student_id", String(200), primary_key=True),
    Column("term_id", String(200), primary_key=True),
    Column("arm", String(10), nullable=False),  # notify | withhold
    Column("tier", String(10), nullable=False),  # tier when first flagged this term
    Column("risk", Float, nullable=False),  # risk when first flagged
    Column("week", String(10), nullable=False),  # week first flagged
    Column("share", Float, nullable=False),  # holdout_share at the draw
    Column("assigned_at", UTCDateTime, nullable=False),
)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_state_engine(url: str) -> Engine:
    """An engine on ``url`` with its database at the current schema (SQLite folders too).

    Raises :class:`~earlywarn.core.errors.SettingsError` when ``url`` is not a usable SQLAlchemy
    URL.
    """
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from earlywarn.core.errors import SettingsError

    try:
        parsed = make_url(url)
        is_sqlite = parsed.get_backend_name() == "sqlite"
        if is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        # Parse errors may quote the whole URL, password included: never show them.
        why = str(exc) if isinstance(exc, ImportError) else "not a SQLAlchemy URL"
        raise SettingsError(
            f"EARLYWARN_DATABASE_URL / database_url: cannot use this database URL ({why}); "
            "give a SQLAlchemy URL such as sqlite:////srv/earlywarn/earlywarn.db"
        ) from exc
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    where = parsed.render_as_string(hide_password=True)
    try:
        with engine.begin() as conn:
            lock_schema(conn)
            _refuse_newer(conn, where)
            upgrade_to_head(conn, where)
            found = conn.execute(
                select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar()
            # Kept for releases before Alembic, which refuse a database newer than they are.
            if found is None:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(found) < SCHEMA_VERSION:
                conn.execute(
                    update(meta)
                    .where(meta.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )
    except BaseException:
        engine.dispose()  # close the pooled connection now, not whenever it is collected
        raise
    return engine


def _refuse_newer(conn: Connection, where: str) -> None:
    """A database whose ``earlywarn_meta`` says a newer release wrote it is left alone."""
    from sqlalchemy import inspect

    from earlywarn.core.errors import StateError

    if not inspect(conn).has_table(meta.name):
        return
    found = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    if found is not None and int(found) > SCHEMA_VERSION:
        raise StateError(
            f"{where}: state schema version {found} is newer than this earlywarn "
            f"({SCHEMA_VERSION}); upgrade earlywarn"
        )
