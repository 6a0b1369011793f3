"""Incident rows and their timelines in the database, changed only by atomic statements.

Two people may click the same button, and two jobs may fall due, at the same moment; so every
change that must happen once is one conditional statement whose RETURNING says whether *this*
caller made it (compare-and-set), never a read followed by a write: an acknowledgement, a
resolution, an escalation step or a reminder is one UPDATE ... WHERE <not done yet> RETURNING.

Here: declaring an incident by hand, reading incidents back as IncidentView, the changes of its
lifecycle, and its timeline (incident_events). How alerts open, join, reopen and recover incidents
is app/store/alert_joins.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incidents import DeployNote, IncidentView, TimelineEntry
from app.store import related_alerts
from app.store.models import Incident, IncidentEvent


async def create_declared(
    session: AsyncSession,
    *,
    title: str,
    severity: str,
    service: str | None,
    description: str | None,
    declared_by: str,
    now: datetime,
    visibility: str | None = None,
    open_key: str | None = None,
) -> int | None:
    """Record a declared incident; None when `open_key` is given and another open incident holds it
    (one INSERT ... ON CONFLICT DO NOTHING: the service's alerts then keep joining that one)."""
    values = {
        "visibility": visibility,
        "title": title,
        "severity": severity,
        "state": "investigating",
        "service": service,
        "description": description,
        "declared_by": declared_by,
        "open_key": open_key,
        "roles": {},
        "occurrences": 1,
        "started_at": now,
        "keep_open": False,
        "escalation_level": 0,
    }
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Incident).values(**values)
    if open_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["open_key"])
    row = (await session.execute(stmt.returning(Incident.id))).first()
    return row.id if row is not None else None


async def get(session: AsyncSession, incident_id: int) -> IncidentView | None:
    """The incident with its joined alerts (correlation: each source's state, for the root message)."""
    row = await session.get(Incident, incident_id, populate_existing=True)
    if row is None:
        return None
    return replace(to_view(row), related=await related_alerts.related(session, incident_id))


async def by_thread(session: AsyncSession, channel: str, thread_ts: str) -> IncidentView | None:
    row = await session.scalar(
        select(Incident).where(Incident.channel == channel, Incident.thread_ts == thread_ts).limit(1)
    )
    return to_view(row) if row is not None else None


async def list_open(session: AsyncSession) -> list[IncidentView]:
    rows = await session.scalars(select(Incident).where(Incident.state != "resolved").order_by(Incident.id))
    return [to_view(r) for r in rows]


async def for_status_page(session: AsyncSession, since: datetime) -> list[IncidentView]:
    """Open incidents, and those resolved since `since`; newest first."""
    rows = await session.scalars(
        select(Incident)
        .where(or_(Incident.state != "resolved", Incident.resolved_at >= since))
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(200)
    )
    views = [to_view(r) for r in rows]
    joined = await related_alerts.brief(session, [v.id for v in views])
    return [replace(v, related=joined.get(v.id, ())) for v in views]


async def set_visibility(session: AsyncSession, incident_id: int, visibility: str) -> str | None:
    """Mark the incident public or private; the visibility it had before (None: the catalog's)."""
    before = await session.scalar(select(Incident.visibility).where(Incident.id == incident_id).with_for_update())
    await session.execute(update(Incident).where(Incident.id == incident_id).values(visibility=visibility))
    return before


def to_view(row: Incident) -> IncidentView:
    return IncidentView(
        id=row.id,
        title=row.title,
        severity=row.severity,
        state=row.state,
        started_at=row.started_at,
        service=row.service,
        description=row.description,
        source=row.source,
        link=row.link,
        fingerprint=row.fingerprint,
        declared_by=row.declared_by,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        roles=dict(row.roles or {}),
        occurrences=row.occurrences,
        last_seen_at=row.last_seen_at,
        last_update_at=row.last_update_at,
        resolved_at=row.resolved_at,
        recovered_at=row.recovered_at,
        summary=row.summary,
        keep_open=bool(row.keep_open),
        channel=row.channel,
        thread_ts=row.thread_ts,
        deploy=DeployNote.from_json(row.deploy),
        escalation_level=row.escalation_level or 0,
        escalated_at=row.escalated_at,
        reminded_at=row.reminded_at,
        root_edited_at=row.root_edited_at,
        visibility=row.visibility,
        silenced_until=row.silenced_until,
        silenced_by=row.silenced_by,
        silence_reason=row.silence_reason,
    )


# --- changes, each one statement ----------------------------------------------------------------


async def set_root(session: AsyncSession, incident_id: int, *, channel: str, ts: str) -> bool:
    """Record the root message; False when another poster got there first.

    Posting is not editing: `root_edited_at` stays unset, so the edit budget (chat.update calls)
    is not spent on the posts of an alert storm's new incidents.
    """
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.thread_ts.is_(None))
            .values(channel=channel, thread_ts=ts)
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def set_deploy(session: AsyncSession, incident_id: int, deploy: DeployNote | None) -> None:
    await session.execute(
        update(Incident).where(Incident.id == incident_id).values(deploy=deploy.to_json() if deploy else None)
    )


async def claim_root_edit(session: AsyncSession, incident_id: int, *, now: datetime, not_before: datetime) -> bool:
    """Take the right to edit the root message now, if the last edit was at or before `not_before`."""
    row = (
        await session.execute(
            update(Incident)
            .where(
                Incident.id == incident_id,
                or_(Incident.root_edited_at.is_(None), Incident.root_edited_at <= not_before),
            )
            .values(root_edited_at=now)
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def mark_root_edited(session: AsyncSession, incident_id: int, now: datetime) -> None:
    await session.execute(update(Incident).where(Incident.id == incident_id).values(root_edited_at=now))


async def acknowledge(session: AsyncSession, incident_id: int, *, by: str, now: datetime) -> bool:
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.acknowledged_at.is_(None), Incident.state != "resolved")
            .values(acknowledged_by=by, acknowledged_at=now)
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def set_state(session: AsyncSession, incident_id: int, state: str) -> str | None:
    """Move an open incident to `state`; the previous state, or None if it is resolved or already there."""
    current = await session.scalar(select(Incident.state).where(Incident.id == incident_id))
    if current is None or current == "resolved" or current == state:
        return None
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.state == current)
            .values(state=state)
            .returning(Incident.id)
        )
    ).first()
    return current if row is not None else None


async def set_severity(session: AsyncSession, incident_id: int, severity: str) -> str | None:
    """The previous severity, or None when the incident is resolved or has this severity already."""
    current = await session.scalar(
        select(Incident.severity).where(Incident.id == incident_id, Incident.state != "resolved")
    )
    if current is None or current == severity:
        return None
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.severity == current, Incident.state != "resolved")
            .values(severity=severity)
            .returning(Incident.id)
        )
    ).first()
    return current if row is not None else None


async def assign_role(session: AsyncSession, incident_id: int, role: str, user: str) -> str | None:
    """Give `role` to `user`; the previous holder ("" when none). Locked so two assignments cannot interleave."""
    query = select(Incident).where(Incident.id == incident_id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        return None
    roles = dict(row.roles or {})
    previous = roles.get(role, "")
    roles[role] = user
    row.roles = roles
    await session.flush()
    return previous


async def record_update(session: AsyncSession, incident_id: int, now: datetime) -> None:
    await session.execute(update(Incident).where(Incident.id == incident_id).values(last_update_at=now))


async def keep_open(session: AsyncSession, incident_id: int) -> bool:
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.state != "resolved", Incident.keep_open.is_(False))
            .values(keep_open=True)
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def resolve(
    session: AsyncSession,
    incident_id: int,
    *,
    summary: str | None,
    now: datetime,
    only_if_recovered_at: datetime | None = None,
) -> bool:
    """Resolve once: the open key is released so the next alert for it opens a new incident.

    `only_if_recovered_at` makes it the quiet-period resolution: it happens only while the
    incident is still monitoring the same recovery and nobody asked to keep it open.
    """
    conditions = [Incident.id == incident_id, Incident.state != "resolved"]
    if only_if_recovered_at is not None:
        conditions += [
            Incident.state == "monitoring",
            Incident.recovered_at == only_if_recovered_at,
            Incident.keep_open.is_(False),
        ]
    values: dict[str, Any] = {"state": "resolved", "resolved_at": now, "open_key": None}
    if summary is not None:
        values["summary"] = summary
    row = (await session.execute(update(Incident).where(*conditions).values(**values).returning(Incident.id))).first()
    return row is not None


async def escalated(session: AsyncSession, incident_id: int, *, level: int, new_level: int, now: datetime) -> bool:
    """Record one escalation step, once: only the caller that moves the level from `level` wins."""
    row = (
        await session.execute(
            update(Incident)
            .where(
                Incident.id == incident_id,
                Incident.escalation_level == level,
                Incident.acknowledged_at.is_(None),
                Incident.state != "resolved",
            )
            .values(escalation_level=new_level, escalated_at=now)
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def set_level(session: AsyncSession, incident_id: int, level: int) -> None:
    await session.execute(update(Incident).where(Incident.id == incident_id).values(escalation_level=level))


async def reminded(session: AsyncSession, incident_id: int, *, seen: datetime | None, now: datetime) -> bool:
    """Record a reminder once: only if nobody reminded since `seen` (the value the caller read)."""
    same = Incident.reminded_at.is_(None) if seen is None else Incident.reminded_at == seen
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, same, Incident.state != "resolved")
            .values(reminded_at=now)
            .returning(Incident.id)
        )
    ).first()
    return row is not None


# --- the timeline -------------------------------------------------------------------------------


async def add_event(
    session: AsyncSession,
    incident_id: int,
    *,
    at: datetime,
    kind: str,
    text: str,
    actor: str | None = None,
    public: bool = False,
    data: Mapping[str, Any] | None = None,
) -> None:
    session.add(
        IncidentEvent(
            incident_id=incident_id, at=at, kind=kind, actor=actor, text=text, public=public, data=dict(data or {})
        )
    )
    await session.flush()


async def timeline(session: AsyncSession, incident_id: int, *, public_only: bool = False) -> list[TimelineEntry]:
    query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
    if public_only:
        query = query.where(IncidentEvent.public.is_(True))
    rows = await session.scalars(query.order_by(IncidentEvent.at, IncidentEvent.id))
    return [TimelineEntry(at=r.at, kind=r.kind, text=r.text, actor=r.actor, public=r.public) for r in rows]


async def public_updates(session: AsyncSession, incident_ids: Sequence[int]) -> dict[int, list[TimelineEntry]]:
    """The public lines of several incidents at once (the status page shows up to 200 incidents)."""
    if not incident_ids:
        return {}
    rows = await session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id.in_(list(incident_ids)), IncidentEvent.public.is_(True))
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    found: dict[int, list[TimelineEntry]] = {i: [] for i in incident_ids}
    for r in rows:
        found[r.incident_id].append(TimelineEntry(at=r.at, kind=r.kind, text=r.text, actor=r.actor, public=True))
    return found


async def count_events(session: AsyncSession, incident_id: int, kind: str) -> int:
    return int(
        (
            await session.scalar(
                select(func.count())
                .select_from(IncidentEvent)
                .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind)
            )
        )
        or 0
    )
