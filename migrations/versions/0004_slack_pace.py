"""slack pace: when each lane of Slack calls (a channel's posts, the root edits) is next free

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:00:00

Slack lets an app post about one message a second in a channel, and edit messages some tens of
times a minute. Work that alerts cause takes its share of a lane's time here (one row per lane,
one UPDATE per share), so that any number of instances together keep to that pace.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_pace",
        sa.Column("lane", sa.String(length=60), nullable=False),
        sa.Column("next_free_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("lane"),
    )


def downgrade() -> None:
    op.drop_table("slack_pace")
