"""published: an incident's visibility on the status page; alert bodies found by age for the purge

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 17:00:00

`incidents.visibility` is `public`, `private`, or NULL for "as the catalog says" (status_page
components and default_visibility), so a change to pitcrew.yml applies to incidents already open.
The index on `alerts.received_at` lets the retention purge find old bodies without a full scan.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("visibility", sa.String(length=10), nullable=True))
    op.create_index("ix_alerts_received_at", "alerts", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_received_at", table_name="alerts")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("visibility")
