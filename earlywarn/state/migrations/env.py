"""Alembic's environment: run on the connection :mod:`earlywarn.state.migrate` hands over."""

from __future__ import annotations

from alembic import context

from earlywarn.state.schema import metadata


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    # Batch mode lets a revision change a column on SQLite, which has no ALTER COLUMN.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
