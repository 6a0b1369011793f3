"""log drain: runtime log lines Vercel delivers to POST /drains/vercel, masked, per project

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:00:00

Vercel's runtime-logs API is a live tail with no history; a log drain gives pitcrew one. Each line
is stored masked, kept `logs.retention_hours` (the purge job) and at most
`logs.max_rows_per_project` per project (trimmed as batches arrive, oldest first).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drain_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("deployment_id", sa.String(length=100), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drain_lines_project_id", "drain_lines", ["project_id", "id"])
    op.create_index("ix_drain_lines_project_at", "drain_lines", ["project_id", "at"])
    op.create_index("ix_drain_lines_received_at", "drain_lines", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_drain_lines_received_at", table_name="drain_lines")
    op.drop_index("ix_drain_lines_project_at", table_name="drain_lines")
    op.drop_index("ix_drain_lines_project_id", table_name="drain_lines")
    op.drop_table("drain_lines")
