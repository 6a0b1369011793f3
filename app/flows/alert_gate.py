"""What holds an alert back before it opens, joins or reopens an incident: silences and maintenance.

The alert path (app/flows/alert_batches.py) asks `hold` once per group of arrivals, in the group's
transaction, and leaves alone every alert held here. The rules:

- **Silences.** A firing alert that joins, or would join, a silenced incident is held: for an alert
  of a catalog service, whatever correlation would join it to (its key's incident, its service's,
  or through `depends_on` either way: web's alert while api's incident is silenced); otherwise by
  its key. It is stored against that incident and counted, and recorded as one of its joined
  alerts (a new key joins quietly, a recovered one fires again), so the incident recovers only when
  it recovers too; and it does nothing else: no root edit, no note, no reopening, no page (an
  incident that had recovered quietly forgets the recovery, so it is not auto-resolved while
  firing). A silenced incident takes such alerts however long it has been quiet. Recoveries pass:
  they only move the incident towards resolution.
- **Maintenance.** An alert for a service under a window in force is recorded on the window (one
  row per key, app/store/maintenance.py) and opens nothing, unless it belongs to an outage that is
  already an incident: its key is an open incident's (its open key or one of its joined alerts),
  or, firing, its service's own incident is open. Those go to the incident, recoveries included,
  so an incident opened before the window still resolves when its alerts recover. A firing alert
  that would only join through `depends_on` is the maintenance's: its service is expected to
  misbehave during the window. The window's message is edited by a job, and the window's end hands
  a still-firing alert over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.alerts import Alert, dedupe_key
from app.core.correlation import component, service_key
from app.deps import Deps
from app.flows import correlation
from app.store import maintenance as windows
from app.store import related_alerts, silences
from app.store.alert_joins import FiringGroup
from app.store.jobs import enqueue
from app.store.models import Incident

WINDOW_EDIT_INTERVAL_S = 10
REFRESH_JOB = "maintenance.refresh"


class Arriving(Protocol):
    alerts: list[Alert]
    now: datetime


@dataclass(frozen=True)
class Held:
    """Why an alert was held (`silenced` or `maintenance`) and the incident it is stored against."""

    effect: str
    incident_id: int | None = None


async def hold(session: AsyncSession, deps: Deps, group: Sequence[Arriving]) -> dict[tuple[int, int], Held]:
    """The alerts of the group (by position: arrival, alert) that silences and windows hold."""
    if not any(a.alerts for a in group):
        return {}
    now = max(a.now for a in group)
    held: dict[tuple[int, int], Held] = {}
    keys = {(i, j): dedupe_key(alert) for i, a in enumerate(group) for j, alert in enumerate(a.alerts)}
    firing = [(pos, alert) for pos in keys if (alert := group[pos[0]].alerts[pos[1]]).status == "firing"]
    silenced = await silences.in_force(session, now) if firing else []
    if silenced:
        await _silenced(session, deps, group, keys, firing, silenced, held)
    in_force = await windows.in_force(session, now)
    if in_force:
        await _maintenance(session, group, keys, held, in_force)
    return held


async def _silenced(
    session: AsyncSession,
    deps: Deps,
    group: Sequence[Arriving],
    keys: dict[tuple[int, int], str],
    firing: Sequence[tuple[tuple[int, int], Alert]],
    silenced: Sequence[silences.InForce],
    held: dict[tuple[int, int], Held],
) -> None:
    """Hold every firing alert that joins, or would join, a silenced incident.

    An alert for a catalog service is held when the incident correlation would give it is silenced:
    by its key, its service, or `depends_on` either way (web's alert, when api's incident is
    silenced); it is recorded on that incident as a joined alert (`correlation.join_quietly`).
    Other alerts join by their key, as without correlation.
    """
    correlated: dict[str, list[tuple[int, int]]] = {}
    plain: list[tuple[tuple[int, int], Alert]] = []
    silenced_keys, silenced_services = await silences.scope(session, silenced)
    graph = deps.catalog.depends_on
    linked: dict[str, bool] = {}  # per service: is it linked to a silenced incident's service?
    for pos, alert in firing:
        service = alert.service or ""
        if correlation.correlates(deps, service):
            if service not in linked:
                linked[service] = bool(silenced_services.intersection(component(graph, service)))
            # only what may reach a silenced incident is asked about (a storm elsewhere costs nothing)
            if keys[pos] in silenced_keys or linked[service]:
                correlated.setdefault(keys[pos], []).append(pos)
        else:
            plain.append((pos, alert))
    groups = [_firing_group(group, key, positions) for key, positions in sorted(correlated.items())]
    joined = await correlation.join_quietly(session, deps, groups, {s.incident_id for s in silenced})
    for key, incident_id in joined.items():
        for pos in correlated[key]:
            held[pos] = Held("silenced", incident_id)
    by_key, by_service = await silences.silenced_now(
        session, silenced, [keys[pos] for pos, _ in plain], [a.service for _, a in plain if a.service]
    )
    for pos, alert in plain:
        incident_id = by_key.get(keys[pos]) or (by_service.get(alert.service) if alert.service else None)
        if incident_id is not None:
            held[pos] = Held("silenced", incident_id)
    await silences.firing_again(session, sorted({h.incident_id for h in held.values() if h.incident_id}))


def _firing_group(group: Sequence[Arriving], key: str, positions: Sequence[tuple[int, int]]) -> FiringGroup:
    alert = group[positions[0][0]].alerts[positions[0][1]]
    return FiringGroup(
        key=key, title=alert.title, severity=alert.severity or "", service=alert.service,
        description=alert.details or None, source=alert.source, link=alert.link, count=len(positions),
        seen_at=max(group[i].now for i, _ in positions),
    )


async def _maintenance(
    session: AsyncSession,
    group: Sequence[Arriving],
    keys: dict[tuple[int, int], str],
    held: dict[tuple[int, int], Held],
    in_force: Sequence[tuple[int, tuple[str, ...]]],
) -> None:
    window_of: dict[str, int] = {}
    for window_id, services in in_force:
        for service in services:
            window_of.setdefault(service, window_id)
    candidates = {
        pos: window_of[alert.service]
        for pos in keys
        if pos not in held and (alert := group[pos[0]].alerts[pos[1]]).service in window_of
    }
    if not candidates:
        return
    # An alert of an outage that is already an incident goes to it: its key is that incident's (its
    # open key, or one of its joined alerts: a recovery must reach it, or it never resolves), or it
    # fires for a service whose own incident is open (under correlation it would join that).
    service_keys = {pos: service_key(group[pos[0]].alerts[pos[1]].service or "") for pos in candidates}
    wanted = sorted({keys[pos] for pos in candidates} | set(service_keys.values()))
    open_keys = set(await session.scalars(select(Incident.open_key).where(Incident.open_key.in_(wanted))))
    open_keys |= await related_alerts.joined_open(session, sorted({keys[pos] for pos in candidates}))
    holds: dict[tuple[int, str], windows.Hold] = {}
    for pos, window_id in candidates.items():
        key = keys[pos]
        if key in open_keys or service_keys[pos] in open_keys:
            continue
        alert, at = group[pos[0]].alerts[pos[1]], group[pos[0]].now
        before = holds.get((window_id, key))
        holds[(window_id, key)] = windows.Hold(
            window_id=window_id, key=key, source=alert.source, service=alert.service, title=alert.title,
            severity=alert.severity, fingerprint=alert.fingerprint, link=alert.link, details=alert.details or None,
            status=alert.status, count=(before.count if before else 0) + (alert.status == "firing"), at=at,
        )
        held[pos] = Held("maintenance")
    await windows.hold(session, list(holds.values()))
    now = max(a.now for a in group)
    bucket = int(now.timestamp()) // WINDOW_EDIT_INTERVAL_S
    for window_id in sorted({w for w, _ in holds}):
        await enqueue(
            session,
            kind=REFRESH_JOB,
            payload={"window_id": window_id},
            run_at=datetime.fromtimestamp((bucket + 1) * WINDOW_EDIT_INTERVAL_S, tz=now.tzinfo),
            now=now,
            dedupe_key=f"{REFRESH_JOB}:{window_id}:{bucket}",
        )
