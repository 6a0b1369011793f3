"""incidents opened by alerts: open-key dedupe, recovery, escalation and root-message bookkeeping

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00

`incidents.open_key` holds the alert dedupe key (`source:fingerprint`) while the incident is open
and NULL once it is resolved. A plain unique index on it is the "one open incident per key" rule:
NULLs never collide on PostgreSQL or SQLite, so resolved incidents keep no claim on the key, and
two instances inserting the same key at once meet in the index instead of opening two incidents.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_INCIDENT_COLUMNS = (
    "open_key",
    "source",
    "link",
    "recovered_at",
    "keep_open",
    "escalation_level",
    "escalated_at",
    "reminded_at",
    "root_edited_at",
    "deploy",
)


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("open_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("link", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("keep_open", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("root_edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deploy", sa.JSON(), nullable=True))
        batch_op.create_index("uq_incidents_open_key", ["open_key"], unique=True)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_index("ix_alerts_incident", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_incident")
        batch_op.drop_column("body_id")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("uq_incidents_open_key")
        for column in reversed(_INCIDENT_COLUMNS):
            batch_op.drop_column(column)
