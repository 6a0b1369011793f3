"""What holds an alert back before it opens, joins or reopens an incident: silences and maintenance.

The alert path (app/flows/alert_batches.py) asks `hold` once per group of arrivals, in the group's
transaction, and leaves alone every alert held here:

- a firing alert whose incident is silenced (the incident holds its key, or it was opened for the
  alert's service as a whole: correlation) is stored against that incident (so it is
  counted) and does nothing else: no root edit, no note, no reopening, no page (if the incident
  had recovered, the recovery is quietly forgotten, so it is not auto-resolved while firing);
- an alert for a service under a maintenance window in force, whose key has no open incident,
  is recorded on the window (one row per key, app/store/maintenance.py) and opens nothing; the
  window's message is edited by a job, and the window's end hands a still-firing alert over.

Recoveries of a silenced incident pass (they only move it towards resolution), as do alerts that
join an incident opened before the window: that outage predates the maintenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.alerts import Alert, dedupe_key
from app.core.correlation import service_key
from app.store import maintenance as windows
from app.store import silences
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


async def hold(session: AsyncSession, group: Sequence[Arriving]) -> dict[tuple[int, int], Held]:
    """The alerts of the group (by position: arrival, alert) that silences and windows hold."""
    if not any(a.alerts for a in group):
        return {}
    now = max(a.now for a in group)
    held: dict[tuple[int, int], Held] = {}
    keys = {(i, j): dedupe_key(alert) for i, a in enumerate(group) for j, alert in enumerate(a.alerts)}
    firing = [(pos, alert) for pos in keys if (alert := group[pos[0]].alerts[pos[1]]).status == "firing"]
    by_key, by_service = await silences.silenced_now(
        session, [keys[pos] for pos, _ in firing], [a.service for _, a in firing if a.service], now
    )
    for pos, alert in firing:
        incident_id = by_key.get(keys[pos]) or (by_service.get(alert.service) if alert.service else None)
        if incident_id is not None:
            held[pos] = Held("silenced", incident_id)
    await silences.firing_again(session, sorted({h.incident_id for h in held.values() if h.incident_id}))
    in_force = await windows.in_force(session, now)
    if in_force:
        await _maintenance(session, group, keys, held, in_force)
    return held


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
    # An alert that would join an incident opened before the window (its key's, or its service's as a
    # whole under correlation) joins it: that outage is not the maintenance.
    service_keys = {pos: service_key(group[pos[0]].alerts[pos[1]].service or "") for pos in candidates}
    wanted = sorted({keys[pos] for pos in candidates} | set(service_keys.values()))
    open_keys = set(await session.scalars(select(Incident.open_key).where(Incident.open_key.in_(wanted))))
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
