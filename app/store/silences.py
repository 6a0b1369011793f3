"""An incident's silence in the database: set, lifted and expired each by one conditional UPDATE.

A silence is four columns of the incident row (migration 0011). Whoever silences, lifts or
expires it learns from RETURNING whether *this* call changed it, so a lift racing the expiry job
is announced once, and the alert path reads in one query which of a group's keys are silenced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.correlation import SERVICE_KEY_PREFIX
from app.core.silences import SILENCE_LIMIT, SilenceEvent
from app.store.models import Incident, IncidentAlert, IncidentEvent, ReceivedAlert


@dataclass(frozen=True)
class Lifted:
    """A silence that ended: since when it was in force, and who set it."""

    silenced_at: datetime | None
    silenced_by: str | None


async def silence(
    session: AsyncSession, incident_id: int, *, until: datetime, by: str, reason: str | None, now: datetime
) -> bool:
    """Silence an open incident until `until` (a new silence replaces one in force); False when resolved."""
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.state != "resolved")
            .values(
                silenced_until=until,
                # a silence extended keeps its start, so "alerts while silenced" counts from the first
                silenced_at=case((Incident.silenced_until > now, Incident.silenced_at), else_=now),
                silenced_by=by,
                silence_reason=reason,
            )
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def lift(session: AsyncSession, incident_id: int, *, now: datetime) -> Lifted | None:
    """End a silence in force now; None when there was none (never set, lifted or expired already)."""
    return await _end(session, and_(Incident.id == incident_id, Incident.silenced_until > now))


async def expire(session: AsyncSession, incident_id: int, *, until: datetime) -> Lifted | None:
    """End the silence that was to end at `until`; None when it was lifted, replaced or expired meanwhile."""
    return await _end(session, and_(Incident.id == incident_id, Incident.silenced_until == until))


async def _end(session: AsyncSession, condition: object) -> Lifted | None:
    before = (
        await session.execute(select(Incident.silenced_at, Incident.silenced_by).where(condition))  # type: ignore[arg-type]
    ).first()
    row = (
        await session.execute(
            update(Incident).where(condition).values(silenced_until=None).returning(Incident.id)  # type: ignore[arg-type]
        )
    ).first()
    if row is None:
        return None
    return Lifted(before.silenced_at if before else None, before.silenced_by if before else None)


@dataclass(frozen=True)
class InForce:
    """An incident silenced now: the alert path holds what would join it."""

    incident_id: int
    open_key: str | None
    service: str | None


async def in_force(session: AsyncSession, now: datetime) -> list[InForce]:
    """The open incidents silenced at `now`: one indexed query, mostly finding none."""
    rows = await session.execute(
        select(Incident.id, Incident.open_key, Incident.service).where(
            Incident.silenced_until > now, Incident.state != "resolved"
        )
    )
    return [InForce(row.id, row.open_key, row.service) for row in rows]


async def scope(session: AsyncSession, silenced: Sequence[InForce]) -> tuple[set[str], set[str]]:
    """(alert keys, services) of the silenced incidents: their open keys and joined alerts' keys, and
    the services they are about. An alert whose key is not one of these, and whose service is linked
    to none of these, cannot join one of them: the alert path asks nothing more about it."""
    keys = {row.open_key for row in silenced if row.open_key}
    services = {row.service for row in silenced if row.service}
    rows = await session.execute(
        select(IncidentAlert.alert_key, IncidentAlert.service).where(
            IncidentAlert.incident_id.in_(sorted({row.incident_id for row in silenced}))
        )
    )
    for row in rows:
        keys.add(row.alert_key)
        if row.service:
            services.add(row.service)
    return keys, services


async def silenced_now(
    session: AsyncSession, silenced: Sequence[InForce], keys: Sequence[str], services: Sequence[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Which of these alert keys and services belong to one of the `silenced` incidents, for alerts
    that join by their key only (no catalog service, or correlation off).

    ({key: incident id}, {service: incident id}): a key is the incident's open key or one of its
    joined alerts (`incident_alerts`); a service is that of an incident opened for the service as a
    whole (its open key `service:<name>`).
    """
    if not silenced or not (keys or services):
        return {}, {}
    by_key = {row.open_key: row.incident_id for row in silenced if row.open_key in set(keys)}
    by_service = {
        row.service: row.incident_id
        for row in silenced
        if row.service in set(services) and (row.open_key or "").startswith(SERVICE_KEY_PREFIX)
    }
    if keys:
        joined = await session.execute(
            select(IncidentAlert.alert_key, IncidentAlert.incident_id).where(
                IncidentAlert.incident_id.in_([row.incident_id for row in silenced]),
                IncidentAlert.alert_key.in_(sorted(set(keys))),
            )
        )
        for row in joined:
            by_key.setdefault(row.alert_key, row.incident_id)
    return by_key, by_service


async def firing_again(session: AsyncSession, incident_ids: Sequence[int]) -> None:
    """A silenced incident that had recovered fires again: forget the recovery, quietly.

    Its state is left as it is (no reopening, nothing posted), but the quiet-period resolution,
    which waits for the same recovery (`only_if_recovered_at`), no longer happens: an incident
    whose alert fires is not resolved behind the silence. Writes only rows that had recovered.
    """
    if not incident_ids:
        return
    await session.execute(
        update(Incident)
        .where(Incident.id.in_(sorted(set(incident_ids))), Incident.recovered_at.is_not(None))
        .values(recovered_at=None)
    )


async def alerts_since(session: AsyncSession, incident_id: int, since: datetime | None) -> int:
    """Firing alerts stored for the incident since `since` (what a silence held back, when it ends)."""
    if since is None:
        return 0
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ReceivedAlert)
            .where(
                ReceivedAlert.incident_id == incident_id,
                ReceivedAlert.status == "firing",
                ReceivedAlert.received_at >= since,
            )
        )
        or 0
    )


async def silence_events(session: AsyncSession, since: datetime, until: datetime) -> list[SilenceEvent]:
    """The silence lines of every incident's timeline that may bear on [since, until): a silence lasts
    at most SILENCE_LIMIT, so nothing set earlier than that before `since` reaches into it."""
    rows = await session.execute(
        select(IncidentEvent.incident_id, IncidentEvent.at, IncidentEvent.kind, IncidentEvent.data)
        .where(
            IncidentEvent.kind.in_(("silenced", "unsilenced")),
            IncidentEvent.at >= since - SILENCE_LIMIT,
            IncidentEvent.at < until,
        )
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    found = []
    for row in rows:
        end = (row.data or {}).get("until")
        found.append(
            SilenceEvent(row.incident_id, row.at, row.kind, datetime.fromisoformat(end) if end else None)
        )
    return found
