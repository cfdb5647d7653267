"""Baseline: the state database of the first release (earlywarn_meta schema_version 1).

Revision ID: 0001_baseline
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "earlywarn_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "scoring_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("n_students", sa.Integer, nullable=False),
        sa.Column("n_scored", sa.Integer, nullable=False),
        sa.Column("n_high", sa.Integer, nullable=False),
        sa.Column("n_medium", sa.Integer, nullable=False),
        sa.Column("n_low", sa.Integer, nullable=False),
        sa.Column("drift_summary", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_scoring_runs_week", "scoring_runs", ["week"])
    op.create_table(
        "drift",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("scoring_runs.run_id"), primary_key=True),
        sa.Column("feature", sa.String(200), primary_key=True),
        sa.Column("psi", sa.Float, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
    )
    op.create_table(
        "scores",
        sa.Column("student_id", sa.String(200), primary_key=True),
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("advisor_id", sa.String(200)),
        sa.Column("program_id", sa.String(200), nullable=False),
        sa.Column("courses", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("scoring_runs.run_id"), nullable=False),
    )
    op.create_index("ix_scores_week_advisor", "scores", ["week", "advisor_id"])
    op.create_table(
        "outbox",
        sa.Column("recipient_id", sa.String(200), primary_key=True),
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("to_addr", sa.Text, nullable=False),
        sa.Column("from_addr", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("n_students", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("claimed_until", sa.DateTime),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "job_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )
    op.create_index("ix_job_runs_job", "job_runs", ["job"])
    op.create_index("ix_job_runs_started_at", "job_runs", ["started_at"])


def downgrade() -> None:
    for table in ("job_runs", "outbox", "scores", "drift", "scoring_runs", "earlywarn_meta"):
        op.drop_table(table)
