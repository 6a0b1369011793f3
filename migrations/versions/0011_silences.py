"""silences and maintenance windows: an incident's silence, windows and the alerts they held

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:45:00

A silence is four columns of the incident (one row, changed by conditional UPDATEs: silencing,
lifting and expiring are each one statement). A maintenance window is a row of its own; the
alerts it holds are one row per (window, dedupe key), upserted, so a storm during a window is
counted without a row per repeat, and the keys still firing at its end are one query.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("silenced_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("silenced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("silenced_by", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("silence_reason", sa.Text(), nullable=True))
    # the alert path asks, per group of alerts, which incidents are silenced now: mostly none
    op.create_index("ix_incidents_silenced_until", "incidents", ["silenced_until"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("message_ts", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_maintenance_windows_ends_at", "maintenance_windows", ["ends_at"])
    op.create_table(
        "maintenance_alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("window_id", _ID, sa.ForeignKey("maintenance_windows.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=True),
        sa.Column("fingerprint", sa.String(length=300), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handed_over_to", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_maintenance_alerts_window_key", "maintenance_alerts", ["window_id", "key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_maintenance_alerts_window_key", table_name="maintenance_alerts")
    op.drop_table("maintenance_alerts")
    op.drop_index("ix_maintenance_windows_ends_at", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
    op.drop_index("ix_incidents_silenced_until", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("silence_reason")
        batch.drop_column("silenced_by")
        batch.drop_column("silenced_at")
        batch.drop_column("silenced_until")
