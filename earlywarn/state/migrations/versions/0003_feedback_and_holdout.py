"""What advisors record from their digest links, and each flagged student's holdout arm.

Revision ID: 0003_feedback_and_holdout
Revises: 0002_delivery_queue_and_lease
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_feedback_and_holdout"
down_revision: str | None = "0002_delivery_queue_and_lease"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("advisor_id", sa.String(200), primary_key=True),
        sa.Column("student_id", sa.String(200), primary_key=True),
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("choice", sa.String(32), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("tier", sa.String(10)),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("times_recorded", sa.Integer, nullable=False),
    )
    op.create_index("ix_feedback_student", "feedback", ["student_id", "recorded_at"])
    op.create_table(
        "holdout",
        sa.Column("student_id", sa.String(200), primary_key=True),
        sa.Column("term_id", sa.String(200), primary_key=True),
        sa.Column("arm", sa.String(10), nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("holdout")
    op.drop_index("ix_feedback_student", table_name="feedback")
    op.drop_table("feedback")
