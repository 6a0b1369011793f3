"""runbook runs: one row per run of a runbook in an incident's thread

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00

A run's progress lives here, never in process memory, so that a restart of pitcrew or another
instance continues where the run was. `version` is the compare-and-set counter every change goes
through (two clicks on one step: one acts). `active_key` is `<incident id>:<runbook>` while the run
is unfinished and NULL after; its unique index allows one unfinished run of a runbook per incident
(NULLs never collide, on PostgreSQL or SQLite), so two people pressing Run at once start one run.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runbook_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("runbook", sa.String(length=63), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("active_key", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("thread_ts", sa.String(length=40), nullable=True),
        sa.Column("message_ts", sa.String(length=40), nullable=True),
        sa.Column("busy_step", sa.String(length=63), nullable=True),
        sa.Column("busy_by", sa.String(length=40), nullable=True),
        sa.Column("busy_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proposal_id", sa.String(length=40), nullable=True),
        sa.Column("started_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("runbook_runs", schema=None) as batch_op:
        batch_op.create_index("ix_runbook_runs_incident", ["incident_id"], unique=False)
        batch_op.create_index("ix_runbook_runs_proposal", ["proposal_id"], unique=False)
        batch_op.create_index("uq_runbook_runs_active", ["active_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("runbook_runs", schema=None) as batch_op:
        batch_op.drop_index("uq_runbook_runs_active")
        batch_op.drop_index("ix_runbook_runs_proposal")
        batch_op.drop_index("ix_runbook_runs_incident")
    op.drop_table("runbook_runs")
