"""The alerts joined to incidents (table `incident_alerts`), changed only by atomic statements.

An incident opened by an alert for a catalog service holds `service:<name>` as its open key, so
the unique index on `incidents.open_key` lets one open incident exist per service however many
instances receive its alerts at once (INSERT ... ON CONFLICT DO NOTHING: the loser joins the
winner). Each alert key that joined is a row here: a new source is one INSERT ... ON CONFLICT DO
NOTHING whose RETURNING says whether *this* caller added it (its thread note is posted once), a
recovery one UPDATE ... WHERE status = 'firing', and the incident's own recovery one UPDATE ...
WHERE NOT EXISTS (a firing row). Repeats only read, as in app/store/alert_joins.py (which keeps one
open incident per alert key for alerts that name no service).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.correlation import SERVICE_KEY_PREFIX, RelatedAlert
from app.store.models import Incident, IncidentAlert, ReceivedAlert


@dataclass(frozen=True)
class Candidate:
    """An open incident an alert may join: by its key, its service, or the service's open key."""

    incident_id: int
    alert_key: str | None
    service: str | None
    status: str | None
    open_key: str | None = None


@dataclass(frozen=True)
class OpenIncident:
    incident_id: int
    open_key: str | None
    recovered_at: datetime | None
    last_activity: datetime


@dataclass(frozen=True)
class NewAlert:
    incident_id: int
    alert_key: str
    source: str
    service: str | None
    title: str
    seen_at: datetime


def _is_pg(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def _insert(session: AsyncSession, table: object):  # type: ignore[no-untyped-def]
    return (pg_insert if _is_pg(session) else sqlite_insert)(table)  # type: ignore[arg-type]


async def candidates(
    session: AsyncSession, *, keys: Sequence[str], services: Sequence[str], open_keys: Sequence[str]
) -> list[Candidate]:
    """Open incidents holding one of these alert keys, an alert of one of these services, or one of
    these open keys."""
    found: list[Candidate] = []
    if keys or services:
        joined = (
            select(IncidentAlert.incident_id, IncidentAlert.alert_key, IncidentAlert.service, IncidentAlert.status)
            .join(Incident, Incident.id == IncidentAlert.incident_id)
            .where(Incident.state != "resolved")
            .where(IncidentAlert.alert_key.in_(list(keys)) | IncidentAlert.service.in_(list(services)))
        )
        found += [Candidate(r.incident_id, r.alert_key, r.service, r.status) for r in await session.execute(joined)]
    if open_keys:
        holders = select(Incident.id, Incident.service, Incident.open_key).where(
            Incident.open_key.in_(list(open_keys))
        )
        # The service an open key stands for (`service:api`), whatever the incident is titled after now.
        found += [
            Candidate(r.id, None, _key_service(r.open_key) or r.service, None, r.open_key)
            for r in await session.execute(holders)
        ]
    return found


def _key_service(open_key: str | None) -> str | None:
    if open_key and open_key.startswith(SERVICE_KEY_PREFIX):
        return open_key[len(SERVICE_KEY_PREFIX) :]
    return None


async def joined_open(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these alert keys are joined to an incident that is not resolved."""
    if not keys:
        return set()
    rows = await session.scalars(
        select(IncidentAlert.alert_key)
        .join(Incident, Incident.id == IncidentAlert.incident_id)
        .where(IncidentAlert.alert_key.in_(sorted(set(keys))), Incident.state != "resolved")
    )
    return set(rows)


async def incidents(session: AsyncSession, ids: Sequence[int]) -> dict[int, OpenIncident]:
    """These incidents if still open, share-locked (PostgreSQL) until the commit so that a resolution
    cannot slip in between choosing one and joining it; in id order, as every instance locks."""
    if not ids:
        return {}
    query = (
        select(
            Incident.id,
            Incident.open_key,
            Incident.recovered_at,
            Incident.started_at,
            Incident.last_seen_at,
            Incident.last_update_at,
        )
        .where(Incident.id.in_(sorted(set(ids))), Incident.state != "resolved")
        .order_by(Incident.id)
    )
    if _is_pg(session):
        query = query.with_for_update(read=True)
    return {
        r.id: OpenIncident(
            r.id,
            r.open_key,
            r.recovered_at,
            max(t for t in (r.started_at, r.last_seen_at, r.last_update_at) if t is not None),
        )
        for r in await session.execute(query)
    }


async def lock_group(session: AsyncSession, name: str) -> None:
    """Serialise the opening of incidents for one group of linked services (PostgreSQL): two alerts
    for api and db arriving together on two instances then open one incident, not two. Held until
    the commit; SQLite has one writer at a time anyway."""
    if _is_pg(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"pitcrew:{name}"})


async def open_incident(
    session: AsyncSession,
    *,
    open_key: str,
    alert_key: str,
    title: str,
    severity: str,
    service: str,
    description: str | None,
    source: str,
    link: str | None,
    count: int,
    seen_at: datetime,
) -> int | None:
    """Open an incident under `open_key`; None when another holds that key (then join that one)."""
    stmt = (
        _insert(session, Incident)
        .values(
            title=title,
            severity=severity,
            state="investigating",
            service=service,
            description=description,
            fingerprint=alert_key,
            open_key=open_key,
            source=source,
            link=link,
            roles={},
            occurrences=count,
            started_at=seen_at,
            last_seen_at=seen_at,
            keep_open=False,
            escalation_level=0,
        )
        .on_conflict_do_nothing(index_elements=["open_key"])
        .returning(Incident.id)
    )
    row = (await session.execute(stmt)).first()
    return row.id if row is not None else None


async def retire_key(session: AsyncSession, incident_id: int, open_key: str) -> bool:
    """Free a stale incident's service key (inactive past `correlate_minutes`), so a new outage of
    the service opens an incident of its own; the old one stays open with its alerts."""
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.open_key == open_key)
            .values(open_key=None)
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def reopen(session: AsyncSession, incident_id: int) -> bool:
    """An alert fired during the quiet period: the incident is not recovered any more (once)."""
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.recovered_at.is_not(None), Incident.state != "resolved")
            .values(
                recovered_at=None,
                state=case((Incident.state == "monitoring", "investigating"), else_=Incident.state),
            )
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def add(session: AsyncSession, alerts: Sequence[NewAlert]) -> set[tuple[int, str]]:
    """Join these alerts to their incidents; the (incident, key) pairs this call added."""
    if not alerts:
        return set()
    unique = {(a.incident_id, a.alert_key): a for a in alerts}
    ordered = [unique[k] for k in sorted(unique)]
    stmt = (
        _insert(session, IncidentAlert)
        .values(
            [
                {
                    "incident_id": a.incident_id,
                    "alert_key": a.alert_key,
                    "source": a.source,
                    "service": a.service,
                    "title": a.title[:300],
                    "status": "firing",
                    "first_seen_at": a.seen_at,
                }
                for a in ordered
            ]
        )
        .on_conflict_do_nothing(index_elements=["incident_id", "alert_key"])
        .returning(IncidentAlert.incident_id, IncidentAlert.alert_key)
    )
    return {(r.incident_id, r.alert_key) for r in await session.execute(stmt)}


async def refire(session: AsyncSession, incident_id: int, alert_key: str) -> bool:
    """A recovered alert of the incident fires again; True if this call flipped it."""
    row = (
        await session.execute(
            update(IncidentAlert)
            .where(
                IncidentAlert.incident_id == incident_id,
                IncidentAlert.alert_key == alert_key,
                IncidentAlert.status == "recovered",
            )
            .values(status="firing", recovered_at=None)
            .returning(IncidentAlert.id)
        )
    ).first()
    return row is not None


async def recover(session: AsyncSession, alert_key: str, now: datetime) -> tuple[int, bool] | None:
    """Mark the key's alert recovered in its open incident: (incident id, whether this call did it);
    None when no open incident holds the key (an incident from before correlation, or none).

    The incident row is locked first (PostgreSQL), so a refiring of another of its alerts, which
    share-locks it, is either committed before this decides or sees the incident recovered after.
    """
    rows = (
        await session.execute(
            select(IncidentAlert.incident_id, IncidentAlert.status)
            .join(Incident, Incident.id == IncidentAlert.incident_id)
            .where(IncidentAlert.alert_key == alert_key, Incident.state != "resolved")
            .order_by(IncidentAlert.incident_id.desc())
        )
    ).all()
    if not rows:
        return None
    firing = [r.incident_id for r in rows if r.status == "firing"]
    incident_id = firing[0] if firing else rows[0].incident_id
    if not firing:
        return incident_id, False
    if _is_pg(session):
        await session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    row = (
        await session.execute(
            update(IncidentAlert)
            .where(
                IncidentAlert.incident_id == incident_id,
                IncidentAlert.alert_key == alert_key,
                IncidentAlert.status == "firing",
            )
            .values(status="recovered", recovered_at=now)
            .returning(IncidentAlert.id)
        )
    ).first()
    return incident_id, row is not None


def _none_firing(incident_id: object):  # type: ignore[no-untyped-def]
    return ~exists().where(IncidentAlert.incident_id == incident_id, IncidentAlert.status == "firing")


async def recovered_if_all(session: AsyncSession, incident_id: int, now: datetime) -> bool:
    """The incident recovers (monitoring, the quiet period starts) once no joined alert fires; once."""
    row = (
        await session.execute(
            update(Incident)
            .where(
                Incident.id == incident_id,
                Incident.recovered_at.is_(None),
                Incident.state != "resolved",
                _none_firing(incident_id),
            )
            .values(
                recovered_at=now,
                state=case((Incident.state.in_(("investigating", "identified")), "monitoring"), else_=Incident.state),
            )
            .returning(Incident.id)
        )
    ).first()
    return row is not None


async def firing_count(session: AsyncSession, incident_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(IncidentAlert)
            .where(IncidentAlert.incident_id == incident_id, IncidentAlert.status == "firing")
        )
        or 0
    )


async def related(session: AsyncSession, incident_id: int) -> tuple[RelatedAlert, ...]:
    """The incident's joined alerts in joining order, each with how many of its alerts fired."""
    rows = (
        await session.execute(
            select(IncidentAlert)
            .where(IncidentAlert.incident_id == incident_id)
            .order_by(IncidentAlert.first_seen_at, IncidentAlert.id)
        )
    ).scalars().all()
    if not rows:
        return ()
    counts: Counter[str] = Counter()
    for r in await session.execute(
        select(ReceivedAlert.source, ReceivedAlert.fingerprint, func.count())
        .where(ReceivedAlert.incident_id == incident_id, ReceivedAlert.status == "firing")
        .group_by(ReceivedAlert.source, ReceivedAlert.fingerprint)
    ):
        counts[f"{r[0]}:{r[1]}"] += int(r[2])
    return tuple(
        RelatedAlert(
            key=r.alert_key,
            source=r.source,
            service=r.service,
            title=r.title,
            status=r.status,
            events=max(1, counts.get(r.alert_key, 0)),
        )
        for r in rows
    )


async def brief(session: AsyncSession, incident_ids: Sequence[int]) -> dict[int, tuple[RelatedAlert, ...]]:
    """The joined alerts of several incidents in one query, without their event counts (`events` is
    1): what the status page needs to know which services an incident affects."""
    if not incident_ids:
        return {}
    found: dict[int, list[RelatedAlert]] = {}
    rows = await session.scalars(
        select(IncidentAlert)
        .where(IncidentAlert.incident_id.in_(sorted(set(incident_ids))))
        .order_by(IncidentAlert.first_seen_at, IncidentAlert.id)
    )
    for r in rows:
        found.setdefault(r.incident_id, []).append(
            RelatedAlert(key=r.alert_key, source=r.source, service=r.service, title=r.title, status=r.status)
        )
    return {incident_id: tuple(alerts) for incident_id, alerts in found.items()}


async def services(session: AsyncSession, incident_id: int) -> list[str]:
    """The services of the incident's joined alerts, in joining order."""
    rows = await session.scalars(
        select(IncidentAlert.service)
        .where(IncidentAlert.incident_id == incident_id, IncidentAlert.service.is_not(None))
        .order_by(IncidentAlert.first_seen_at, IncidentAlert.id)
    )
    return list(dict.fromkeys(r for r in rows if r))


async def retitle(
    session: AsyncSession, incident_id: int, *, title: str, service: str
) -> tuple[str, str | None] | None:
    """Title an open incident after its cause, once: (its title and service before), or None when a
    person declared it (their title stays), it is resolved, or it is about that service already.

    The row is locked first (PostgreSQL), so two instances retitling at once record it once."""
    query = select(Incident.title, Incident.service).where(Incident.id == incident_id)
    if _is_pg(session):
        query = query.with_for_update()
    before = (await session.execute(query)).first()
    row = (
        await session.execute(
            update(Incident)
            .where(
                Incident.id == incident_id,
                Incident.declared_by.is_(None),
                Incident.state != "resolved",
                Incident.service.is_(None) | (Incident.service != service),
            )
            .values(title=title, service=service)
            .returning(Incident.id)
        )
    ).first()
    if row is None or before is None:
        return None
    return before.title, before.service


async def move(session: AsyncSession, *, from_id: int, to_id: int, keys: Sequence[str] | None = None) -> int:
    """Move joined alerts (these keys, or all) and their received alerts to another incident; how many
    keys moved. A key the target holds already keeps the target's row."""
    query = select(IncidentAlert).where(IncidentAlert.incident_id == from_id)
    if keys is not None:
        query = query.where(IncidentAlert.alert_key.in_(list(keys)))
    rows = list((await session.execute(query)).scalars().all())
    held = set(
        (
            await session.scalars(
                select(IncidentAlert.alert_key).where(
                    IncidentAlert.incident_id == to_id, IncidentAlert.alert_key.in_([r.alert_key for r in rows])
                )
            )
        ).all()
    )
    for r in rows:
        if r.alert_key in held:
            await session.delete(r)
        else:
            r.incident_id = to_id
        source, _, fingerprint = r.alert_key.partition(":")
        await session.execute(
            update(ReceivedAlert)
            .where(
                ReceivedAlert.incident_id == from_id,
                ReceivedAlert.source == source,
                ReceivedAlert.fingerprint == fingerprint,
            )
            .values(incident_id=to_id)
        )
    await session.flush()
    return len(rows)


async def unrecover(session: AsyncSession, incident_id: int) -> bool:
    """Firing alerts arrived by a merge or a split: the incident is not recovered any more."""
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id, Incident.recovered_at.is_not(None), ~_none_firing(incident_id))
            .values(
                recovered_at=None,
                state=case((Incident.state == "monitoring", "investigating"), else_=Incident.state),
            )
            .returning(Incident.id)
        )
    ).first()
    return row is not None
