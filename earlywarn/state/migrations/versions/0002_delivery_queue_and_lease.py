"""The outbox as a mail queue (next and last attempt times) and the scheduler's lease row.

Revision ID: 0002_delivery_queue_and_lease
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_delivery_queue_and_lease"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable: the rows already there need no value (never deferred, tried at unknown times).
    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime))
    op.add_column("outbox", sa.Column("last_attempt_at", sa.DateTime))
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("home", sa.Text, nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scheduler_lease")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("last_attempt_at")
        batch.drop_column("next_attempt_at")
