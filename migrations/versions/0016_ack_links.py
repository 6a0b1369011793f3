"""ack_links: the single-use, expiring links of webhook pages (GET /ack/<token>)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:40:00

Only the SHA-256 of each token is stored (the token itself goes out in the page and nowhere else);
`used_at` is set by one `UPDATE ... WHERE used_at IS NULL AND expires_at > now`, so a link
acknowledges at most once however many times it is opened.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ack_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_ack_links_incident_id", "ack_links", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_ack_links_incident_id", table_name="ack_links")
    op.drop_table("ack_links")
