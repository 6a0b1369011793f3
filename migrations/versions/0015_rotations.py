"""rotations: a secret rotated by pitcrew, one service after another, until every service has it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 21:20:00

One row per `@pitcrew rotate NAME`. `sealed` is the generated value under AES-GCM with a key derived
from AUDIT_KEY (app/core/value_vault.py), kept only until the last service is set, then NULL; the
value is never stored in the clear. `position` is the service whose proposal is open, moved by one
conditional UPDATE when that proposal is verified.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rotations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.String(length=32), nullable=True),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=True),
        sa.Column("thread_ts", sa.String(length=50), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("rotated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rotations_proposal_id", "rotations", ["proposal_id"])


def downgrade() -> None:
    op.drop_index("ix_rotations_proposal_id", table_name="rotations")
    op.drop_table("rotations")
