"""correlation: the alerts joined to an incident (one row per source and fingerprint)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:40:00

An alert for a service that has an open incident joins it instead of opening its own; each joined
alert is a row here with whether it still fires, so the incident recovers only when all have.
Incidents opened this way hold `service:<name>` as their `open_key`: the existing unique index on
`open_key` keeps one open incident per service across instances.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alert_key", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_incident_alerts_key", "incident_alerts", ["incident_id", "alert_key"], unique=True)
    op.create_index("ix_incident_alerts_alert_key", "incident_alerts", ["alert_key"])
    op.create_index("ix_incident_alerts_service", "incident_alerts", ["service"])


def downgrade() -> None:
    op.drop_index("ix_incident_alerts_service", table_name="incident_alerts")
    op.drop_index("ix_incident_alerts_alert_key", table_name="incident_alerts")
    op.drop_index("uq_incident_alerts_key", table_name="incident_alerts")
    op.drop_table("incident_alerts")
