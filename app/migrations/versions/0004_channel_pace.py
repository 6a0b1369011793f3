"""channel pace: when each Slack channel is next free for pitcrew's own posts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:00:00

Slack lets an app post about one message a second in a channel. Work that posts because alerts
arrived reserves its share of the channel's time here (one row per channel, one UPDATE per
reservation), so that any number of instances together keep to that pace.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_pace",
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("next_free_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_pace")
