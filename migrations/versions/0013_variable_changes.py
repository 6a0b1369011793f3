"""variable changes: a variable set or removed from Slack with "revert after", until its reminder

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 20:10:00

One row per proposal that asked for a revert reminder. `old_sealed` is the old value encrypted with
a key derived from AUDIT_KEY (AES-GCM, app/core/value_vault.py), NULL without that key; it is cleared
when the reminder has proposed it back or the proposal ended without running. Only fingerprints
(keyed HMAC, app/core/value_fingerprints.py) are kept in the clear, never a value.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "variable_changes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("old_exists", sa.Boolean(), nullable=False),
        sa.Column("old_sealed", sa.Text(), nullable=True),
        sa.Column("old_fingerprint", sa.String(length=16), nullable=True),
        sa.Column("set_fingerprint", sa.String(length=16), nullable=True),
        sa.Column("revert_after_s", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=True),
        sa.Column("thread_ts", sa.String(length=50), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("variable_changes")
