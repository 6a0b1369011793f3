"""audit mac: keyed audit chain (scheme per entry), the head's MAC, and anchors

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 17:00:00

Entries already stored were chained with plain SHA-256: they get scheme "sha256" and stay
verifiable as they are; entries written with AUDIT_KEY set are "hmac-sha256". `audit_anchors` keeps
the heads `pitcrew audit anchor` posted, for `pitcrew audit verify` to compare with.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=16), nullable=False, server_default="sha256"))
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("message_ts", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("audit_anchors")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("scheme")
