"""on call: overrides of the rotations, the hand-off claims, and a lock row per rotation

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:00:00

Who is on call is computed from pitcrew.yml (app/core/oncall.py); only what people decide is
stored: `oncall_overrides` (someone takes a rotation's shift for a while; `ended_at` set once by the
job that ends it). `oncall_handoffs` holds one row per hand-off announced (`<rotation>@<instant>`):
the insert (ON CONFLICT DO NOTHING) is the claim, so one instance posts the summary and updates the
user group. `oncall_locks` has a row per rotation, updated before an override is added, so two
overrides added at once on PostgreSQL are checked for overlap one after the other.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("rotation", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_oncall_overrides_span", "oncall_overrides", ["rotation", "ends_at"])
    op.create_table(
        "oncall_handoffs",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_ts", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "oncall_locks",
        sa.Column("rotation", sa.String(length=40), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rotation"),
    )


def downgrade() -> None:
    op.drop_table("oncall_locks")
    op.drop_table("oncall_handoffs")
    op.drop_index("ix_oncall_overrides_span", table_name="oncall_overrides")
    op.drop_table("oncall_overrides")
