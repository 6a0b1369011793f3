"""report runs: the weekly report's claim, one row per week, so it posts once for all instances

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:15:00

The weekly report is a job (one row, its dedupe key its name), but a job can run twice: its lease
runs out while Slack is slow, or the schedule in pitcrew.yml changes under a pending job. The week's
post is claimed here first, by inserting the week's key (INSERT ... ON CONFLICT DO NOTHING): the
instance whose insert lands posts, any other sees the key taken and posts nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_runs",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("message_ts", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("report_runs")
