"""Bringing a state database to the current schema with Alembic, every time it is opened.

A new database is built by running every revision in ``earlywarn/state/migrations/versions``.
A database written before Alembic managed it (the first release: ``earlywarn_meta``
schema_version 1 and no ``alembic_version`` table) is stamped at the revision its tables match,
then upgraded in place. A database at a revision this earlywarn does not know was written by a
newer release and is refused, as is one whose ``earlywarn_meta`` says it is newer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

BASELINE = "0001_baseline"
# The revision a database written without Alembic is at, by a column that revision added.
_MARKERS: tuple[tuple[str, str, str], ...] = (
    ("0003_feedback_and_holdout", "feedback", "choice"),
    ("0002_delivery_queue_and_lease", "outbox", "next_attempt_at"),
)


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the state database (no alembic.ini: it ships in the package)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "earlywarn.state:migrations")
    config.attributes["connection"] = connection
    return config


def _pre_alembic_revision(conn: Connection) -> str | None:
    """The revision whose tables a database written without Alembic has (``None``: empty)."""
    from sqlalchemy import inspect

    inspector = inspect(conn)
    if not inspector.has_table("outbox"):
        return None
    for revision, table, column in _MARKERS:
        if inspector.has_table(table) and column in {
            c["name"] for c in inspector.get_columns(table)
        }:
            return revision
    return BASELINE


# Any fixed number: the key of the PostgreSQL advisory lock that serializes schema changes.
_SCHEMA_LOCK_KEY = 17_2026


def lock_schema(conn: Connection) -> None:
    """Make processes that open one new database at the same moment (two schedulers starting
    together) check and build its schema one after the other, not both at once.

    Called first in the opening transaction, it holds until that transaction ends: on SQLite a
    write lock taken up front (``BEGIN IMMEDIATE``; the other waits its busy timeout), on
    PostgreSQL a transaction-level advisory lock.
    """
    backend = conn.dialect.name
    if backend == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif backend == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY})")


def upgrade_to_head(conn: Connection, where: str) -> None:
    """Run every revision ``conn``'s database lacks, in the caller's transaction."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from earlywarn.core.errors import StateError

    config = alembic_config(conn)
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        found = _pre_alembic_revision(conn)
        if found is not None:
            command.stamp(config, found)
    elif current not in {r.revision for r in script.walk_revisions()}:
        raise StateError(
            f"{where}: the state database is at schema revision {current}, which this earlywarn "
            "does not know (a newer release wrote it); upgrade earlywarn"
        )
    command.upgrade(config, "head")
