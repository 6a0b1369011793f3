"""webhook replays: the signed bodies already received, so that one sent again is not acted on

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 17:00:00

Sentry signs the body alone (no timestamp in the signature), so a captured request stays valid
for ever. One row per body received (a hash of its signature and body), inserted with ON CONFLICT
DO NOTHING: of two deliveries of the same body, on however many instances, one is acted on.
Rows older than the replay window are deleted as new bodies arrive.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_replays",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_webhook_replays_received_at", "webhook_replays", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_replays_received_at", table_name="webhook_replays")
    op.drop_table("webhook_replays")
