"""The tables. One migration creates them on PostgreSQL and SQLite alike, so types stay portable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the backend stored (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(20), default="investigating")
    service: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(300))
    channel: Mapped[str | None] = mapped_column(String(40))
    thread_ts: Mapped[str | None] = mapped_column(String(40))
    declared_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime | None]
    roles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    summary: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    last_update_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Migration 0002 (incidents opened by alerts): `open_key` is the alert dedupe key while the incident
    # is open and NULL once resolved; its unique index is what lets one open incident exist per key,
    # however many instances receive the same alert at once (NULLs never collide, on both backends).
    open_key: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(40))
    link: Mapped[str | None] = mapped_column(Text)
    recovered_at: Mapped[datetime | None]
    keep_open: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    root_edited_at: Mapped[datetime | None]
    deploy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # 0005: `public` or `private` on the status page once someone (or a security declaration) says so;
    # NULL follows the catalog (status_page.components and default_visibility).
    visibility: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # 0011: a silence (app/core/silences.py) is in force while `silenced_until` is in the future;
    # lifting it sets it to NULL, so each change is one conditional UPDATE.
    silenced_until: Mapped[datetime | None]
    silenced_at: Mapped[datetime | None]
    silenced_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    silence_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_incidents_state", "state"),
        Index("ix_incidents_fingerprint", "fingerprint"),
        Index("ix_incidents_thread", "channel", "thread_ts"),
        Index("uq_incidents_open_key", "open_key", unique=True),
        Index("ix_incidents_silenced_until", "silenced_until"),
    )


class IncidentEvent(Base):
    """One line of an incident's timeline. `public` lines are what the status page may show."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_incident_events_incident", "incident_id", "at"),)


class AuditHead(Base):
    """The single row every audit append locks first, so concurrent writers cannot fork the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    # 0007: HMAC of (seq, hash) under AUDIT_KEY, NULL when the last append had no key: without the
    # key, nobody can move the head back over entries they deleted from the chain's end.
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(Base):
    """Append-only and hash-chained: `hash` covers this row's content and `prev_hash`."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(300))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 0007: "sha256" (no key; every entry before AUDIT_KEY was set) or "hmac-sha256" (keyed).
    scheme: Mapped[str] = mapped_column(String(16), default="sha256", server_default="sha256")

    __table_args__ = (Index("ix_audit_events_at", "at"),)


class AuditAnchor(Base):
    """A head of the chain posted outside the database (`pitcrew audit anchor`, daily by default),
    kept here too so that `pitcrew audit verify` compares the chain with the last one by itself."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(40))
    message_ts: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))


class ProposedAction(Base):
    """A destructive action waiting for confirmation; `status` moves once, in one atomic UPDATE."""

    __tablename__ = "proposed_actions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    proposed_by: Mapped[str] = mapped_column(String(40))
    confirmed_by: Mapped[str | None] = mapped_column(String(40))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(String(40))
    message_ts: Mapped[str | None] = mapped_column(String(40))
    thread_ts: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_proposed_actions_status", "status"),)


class ProposalApproval(Base):
    """One operator's approval of a proposal (migration 0006): the primary key counts each person once."""

    __tablename__ = "proposal_approvals"

    proposal_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("proposed_actions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # "proposer", "confirm", or "earlier": carried over from the proposal this one renews
    role: Mapped[str] = mapped_column(String(20))
    approved_at: Mapped[datetime]


class Job(Base):
    """Scheduled work kept in the database, claimed by one instance at a time."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_jobs_due", "status", "run_at"),)


class SlackPace(Base):
    """When a lane of Slack calls (a channel's posts, the root edits) is next free (app/store/slack_pace.py).

    Epoch seconds rather than a timestamp: taking a share is one UPDATE adding seconds to it, and
    adding a number is the same SQL on PostgreSQL and SQLite where adding an interval is not.
    """

    __tablename__ = "slack_pace"

    lane: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_free_at: Mapped[float] = mapped_column(Float)


class ReceivedAlert(Base):
    """Every webhook body as received, read or not, so that nothing sent to pitcrew is lost."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str | None] = mapped_column(String(20))
    service: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(8))
    title: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    # 0002: a body carrying several alerts is stored once, on its first row; the others point to it.
    body_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        Index("ix_alerts_fingerprint", "fingerprint"),
        Index("ix_alerts_incident", "incident_id"),
        Index("ix_alerts_received_at", "received_at"),
    )


class RunbookRun(Base):
    """One run of a runbook in an incident's thread (migration 0003). `state` is the core's RunState as
    JSON; `version` moves by one on every change, and every change is `UPDATE ... WHERE version = ?`,
    so of two clicks on one step exactly one acts. `active_key` (`<incident>:<runbook>` while the run
    is unfinished, NULL after) is unique: one run of a runbook per incident at a time, across instances."""

    __tablename__ = "runbook_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    runbook: Mapped[str] = mapped_column(String(63))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    active_key: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(40))
    thread_ts: Mapped[str | None] = mapped_column(String(40))
    message_ts: Mapped[str | None] = mapped_column(String(40))
    busy_step: Mapped[str | None] = mapped_column(String(63))
    busy_by: Mapped[str | None] = mapped_column(String(40))
    busy_since: Mapped[datetime | None]
    proposal_id: Mapped[str | None] = mapped_column(String(40))
    started_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_runbook_runs_incident", "incident_id"),
        Index("ix_runbook_runs_proposal", "proposal_id"),
        Index("uq_runbook_runs_active", "active_key", unique=True),
    )


class WebhookReplay(Base):
    """A signed webhook body already received (migration 0009), by the hash of its signature and body:
    the primary key makes "first time?" one INSERT ... ON CONFLICT DO NOTHING (app/store/webhook_replays.py)."""

    __tablename__ = "webhook_replays"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]

    __table_args__ = (Index("ix_webhook_replays_received_at", "received_at"),)


class DrainLine(Base):
    """One runtime log line a Vercel log drain delivered (migration 0010), masked before it was stored.

    Kept `logs.retention_hours` and at most `logs.max_rows_per_project` per project (oldest first),
    so that `/logs <vercel service> --since 30m` has a history Vercel's own API does not give."""

    __tablename__ = "drain_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(100))
    deployment_id: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime]
    received_at: Mapped[datetime]
    level: Mapped[str | None] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_drain_lines_project_id", "project_id", "id"),
        Index("ix_drain_lines_project_at", "project_id", "at"),
        Index("ix_drain_lines_received_at", "received_at"),
    )


class VariableChange(Base):
    """A variable change proposed with "revert after" (migration 0013): what to propose back, and when.

    `old_sealed` is the old value under AES-GCM (app/core/value_vault.py), never in the clear, and is
    cleared once the reminder has proposed it back or the change never ran (status `forgotten`).
    Status: proposed (waiting for the confirmation), waiting (done; the reminder job is due at
    `due_at`), reminded, forgotten."""

    __tablename__ = "variable_changes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the proposal's id
    service: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(256))
    old_exists: Mapped[bool] = mapped_column(Boolean)
    old_sealed: Mapped[str | None] = mapped_column(Text)
    old_fingerprint: Mapped[str | None] = mapped_column(String(16))
    set_fingerprint: Mapped[str | None] = mapped_column(String(16))
    revert_after_s: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(50))
    thread_ts: Mapped[str | None] = mapped_column(String(50))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    proposed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]

class MaintenanceWindow(Base):
    """A maintenance window (migration 0011): alerts for `services` between `starts_at` and `ends_at`
    open no incident. `started_at`, `ended_at` and `cancelled_at` are each set once (a conditional
    UPDATE), so the start and end are announced once whichever instance runs the job."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    services: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (Index("ix_maintenance_windows_ends_at", "ends_at"),)


class MaintenanceAlert(Base):
    """The alerts of one dedupe key a window held: one row, upserted per group of arrivals."""

    __tablename__ = "maintenance_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    window_id: Mapped[int] = mapped_column(BigId, ForeignKey("maintenance_windows.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(40))
    service: Mapped[str | None] = mapped_column(String(100), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str | None] = mapped_column(String(8), nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    count: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    handed_over_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("uq_maintenance_alerts_window_key", "window_id", "key", unique=True),)


class IncidentAlert(Base):
    """One alert (source and fingerprint) joined to an incident (migration 0010, correlation).

    An incident opened by an alert for a catalog service collects every source's alert for that
    service and its dependencies: one row per alert key, with whether it is still firing. The
    incident recovers when none of its rows is firing. The unique (incident, key) pair makes "a new
    source joined" one INSERT ... ON CONFLICT DO NOTHING, so its thread note is posted once.
    """

    __tablename__ = "incident_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    alert_key: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(40))
    service: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="firing")
    first_seen_at: Mapped[datetime]
    recovered_at: Mapped[datetime | None]

    __table_args__ = (
        Index("uq_incident_alerts_key", "incident_id", "alert_key", unique=True),
        Index("ix_incident_alerts_alert_key", "alert_key"),
        Index("ix_incident_alerts_service", "service"),
    )


class ReportRun(Base):
    """0012: one row per weekly report posted (`weekly:<local date>`): the insert is the claim, so
    the week's report posts once whichever instances run its job (app/store/reports.py)."""

    __tablename__ = "report_runs"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    claimed_at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(String(40))
    message_ts: Mapped[str | None] = mapped_column(String(40))


class OncallOverride(Base):
    """0014: `user_id` holds `rotation`'s shift over [starts_at, ends_at) (app/store/oncall.py);
    `ended_at` is set once, by the job that ends it and announces so."""

    __tablename__ = "oncall_overrides"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rotation: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_oncall_overrides_span", "rotation", "ends_at"),)


class OncallHandoff(Base):
    """0014: one row per hand-off announced (`<rotation>@<UTC instant>`): the insert is the claim."""

    __tablename__ = "oncall_handoffs"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    claimed_at: Mapped[datetime]
    message_ts: Mapped[str | None] = mapped_column(String(40))


class OncallLock(Base):
    """0014: a row per rotation, updated before an override is added (a row lock on PostgreSQL), so
    concurrent overrides are checked for overlap one after the other."""

    __tablename__ = "oncall_locks"

    rotation: Mapped[str] = mapped_column(String(40), primary_key=True)
    touched_at: Mapped[datetime]


class Rotation(Base):
    """A secret rotation (migration 0015): the services in order, the one whose proposal is open, and
    the generated value sealed (app/core/value_vault.py) until every service has it, then NULL.
    Status: running, done, stopped."""

    __tablename__ = "rotations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    services: Mapped[list[str]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer)
    proposal_id: Mapped[str | None] = mapped_column(String(32), index=True)
    sealed: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(50))
    thread_ts: Mapped[str | None] = mapped_column(String(50))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    rotated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class AckLink(Base):
    """An ack link sent in a webhook page (migration 0016): only the SHA-256 of its random token is
    kept, so a database reader cannot acknowledge; `used_at` is set once, by a conditional UPDATE."""

    __tablename__ = "ack_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DeployWatch(Base):
    """A post-deploy watch (migration 0017): one per `watch_key` (a service's deployment, or a restart
    of one), inserted with ON CONFLICT DO NOTHING and moved by conditional UPDATEs on `status`
    (starting → watching → healthy | regressed | superseded | ended)."""

    __tablename__ = "deploy_watches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    watch_key: Mapped[str] = mapped_column(String(300))
    service: Mapped[str] = mapped_column(String(100))
    deployment_id: Mapped[str] = mapped_column(String(200))
    cause: Mapped[str] = mapped_column(String(60))
    proposal_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    alert_source: Mapped[str] = mapped_column(String(40))
    alert_fingerprint: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[float] = mapped_column(Float)
    deployed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    looks: Mapped[int] = mapped_column(Integer)
    deploy: Mapped[dict[str, Any]] = mapped_column(JSON)
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON)
    last: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    superseded_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (
        Index("uq_deploy_watches_watch_key", "watch_key", unique=True),
        Index("ix_deploy_watches_service_status", "service", "status"),
    )
