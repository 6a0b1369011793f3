"""proposal approvals: one row per operator who approved a proposed action

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:00:00

With `actions.second_approver`, an action runs once two distinct operators approved it. Each
approval is one INSERT that the primary key (proposal, user) makes idempotent, taken while the
proposal's row is locked, so two clicks at once on two instances still count as two people at most
once each, and the one that completes the pair is the one that runs it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposal_approvals",
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposed_actions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("proposal_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("proposal_approvals")
