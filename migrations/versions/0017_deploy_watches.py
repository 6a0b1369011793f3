"""deploy_watches: the post-deploy watch of each (service, deployment)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 23:10:00

One row per watch, created by `INSERT ... ON CONFLICT (watch_key) DO NOTHING`, so a deploy webhook
delivered twice (Railway and Vercel both retry), or received by two instances at once, starts one
watch. Every later change (watching, a look, the end) is a conditional UPDATE on `status`, so a
newer deploy superseding the watch and the watch's own last look never both win.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deploy_watches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("watch_key", sa.String(length=300), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("deployment_id", sa.String(length=200), nullable=False),
        sa.Column("cause", sa.String(length=60), nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=True),
        sa.Column("alert_source", sa.String(length=40), nullable=False),
        sa.Column("alert_fingerprint", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("looks", sa.Integer(), nullable=False),
        sa.Column("deploy", sa.JSON(), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("last", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("superseded_by", sa.String(length=200), nullable=True),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("message_ts", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_deploy_watches_watch_key", "deploy_watches", ["watch_key"], unique=True)
    op.create_index("ix_deploy_watches_service_status", "deploy_watches", ["service", "status"])


def downgrade() -> None:
    op.drop_index("ix_deploy_watches_service_status", table_name="deploy_watches")
    op.drop_index("uq_deploy_watches_watch_key", table_name="deploy_watches")
    op.drop_table("deploy_watches")
