"""Maintenance windows: open (now or planned), list, cancel, announce, and hand over at the end.

`/incident maintenance api 2h upgrading Postgres` opens a window: its start and its end are jobs
(`maintenance.start`, `maintenance.end`), so a planned window starts on whichever instance is up
then, and every announcement is made once (a conditional UPDATE decides who makes it). While the
window is in force, alerts for its services that would open an incident are held
(app/flows/alert_gate.py) and listed on the window's message (`maintenance.refresh`, edited in
place). At its end, each held alert still firing goes through the alert path as if it arrived
then, in the transaction that ends the window: it opens its incident, exactly once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.alerts import make_alert
from app.core.incidents import incident_ref
from app.core.maintenance import MaintenanceError, OpenWindow, WindowView
from app.core.secrets import scrub
from app.deps import Deps
from app.flows import alert_gate
from app.flows.alert_batches import Arrival, apply_group
from app.flows.incident_policy import policy_of
from app.store import audit as audit_store
from app.store import maintenance as store
from app.store.db import transaction
from app.store.jobs import enqueue
from app.store.models import MaintenanceAlert

START_JOB, END_JOB = "maintenance.start", "maintenance.end"
REFRESH_JOB = alert_gate.REFRESH_JOB


class MaintenanceNotifier(Protocol):
    """How windows are told to people (the updates channel, for Slack: app/slack/maintenance_notifier.py)."""

    async def post_window(self, window: WindowView) -> tuple[str, str] | None:
        """Announce the window; (channel, ts) of the message, None when there is nowhere to post."""
        ...

    async def update_window(self, window: WindowView) -> None:
        """Edit the window's message in place (the alerts it held so far)."""
        ...

    async def post_window_end(self, window: WindowView, handed_over: Sequence[str]) -> None:
        """Announce the end (or the cancellation), naming the incidents opened by alerts still firing."""
        ...


async def open_window(deps: Deps, request: OpenWindow, *, by: str) -> WindowView:
    """Record a window and schedule its start and end; planned ones start at `request.starts_at`."""
    now = deps.clock()
    starts_at = request.starts_at or now
    ends_at = starts_at + request.duration
    async with transaction(deps.sessions) as session:
        window_id = await store.create(
            session, services=request.services, reason=request.reason, by=by, now=now, starts_at=starts_at,
            ends_at=ends_at,
        )
        await enqueue(
            session, kind=START_JOB, payload={"window_id": window_id}, run_at=starts_at, now=now,
            dedupe_key=f"{START_JOB}:{window_id}",
        )
        await enqueue(
            session, kind=END_JOB, payload={"window_id": window_id, "ends_at": ends_at.isoformat()}, run_at=ends_at,
            now=now, dedupe_key=f"{END_JOB}:{window_id}:{ends_at.timestamp():.0f}",
        )
        await _audit(deps, session, by, "maintenance.open", window_id, now, {
            "services": ",".join(request.services), "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(), "reason": request.reason[:300],
        })
        view = await store.get(session, window_id)
    assert view is not None
    return view


async def upcoming(deps: Deps) -> list[WindowView]:
    async with transaction(deps.sessions) as session:
        return await store.upcoming(session, deps.clock())


async def cancel(deps: Deps, window_id: int, *, by: str) -> WindowView:
    """Cancel a planned window, or end one in force now; MaintenanceError when unknown or over."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await store.get(session, window_id)
        if view is None:
            raise MaintenanceError(f"there is no maintenance window {window_id} (see `/incident maintenance list`)")
        if not await store.cancel(session, window_id, by=by, now=now):
            raise MaintenanceError(f"{view.ref} is {view.state(now)} already; nothing to cancel")
        await _audit(deps, session, by, "maintenance.cancel", window_id, now, {"was": view.state(now)})
        if view.started_at is not None or view.state(now) == "active":
            await enqueue(
                session, kind=END_JOB, payload={"window_id": window_id, "cancelled": True}, run_at=now, now=now,
                dedupe_key=f"{END_JOB}:{window_id}:cancelled",
            )
        view = await store.get(session, window_id)
    assert view is not None
    return view


async def start(deps: Deps, notifier: MaintenanceNotifier, window_id: int) -> None:
    """The start job: announce the window once; its message is then edited as alerts arrive."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        if not await store.mark_started(session, window_id, now):
            return
        view = await store.get(session, window_id)
    if view is None:
        return
    posted = await notifier.post_window(view)
    if posted is not None:
        async with transaction(deps.sessions) as session:
            await store.set_message(session, window_id, channel=posted[0], ts=posted[1])


async def refresh(deps: Deps, notifier: MaintenanceNotifier, window_id: int) -> None:
    async with transaction(deps.sessions) as session:
        view = await store.get(session, window_id)
    if view is not None and view.message_ts:
        await notifier.update_window(view)


async def end(
    deps: Deps, notifier: MaintenanceNotifier, window_id: int, *, ends_at: datetime | None, cancelled: bool = False
) -> list[int]:
    """The end job (or a cancel's): end the window once, hand over what still fires, announce it.

    Returns the incidents the handed-over alerts opened or joined.
    """
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        if not cancelled:
            if ends_at is None or not await store.mark_ended(session, window_id, now=now, ends_at=ends_at):
                return []
        incidents = await _hand_over(session, deps, window_id, now)
        view = await store.get(session, window_id)
    if view is None:
        return incidents
    await notifier.post_window_end(view, [incident_ref(i) for i in incidents])
    return incidents


async def _hand_over(session: AsyncSession, deps: Deps, window_id: int, now: datetime) -> list[int]:
    firing = await store.still_firing(session, window_id)
    if not firing:
        return []
    by_source: dict[str, list[MaintenanceAlert]] = defaultdict(list)
    for row in firing:
        by_source[row.source].append(row)
    arrivals = [
        Arrival(
            source=source,
            # what is kept of this "body": where the alerts came from, not a copy of what the tool sent
            body=json.dumps({"maintenance_window": window_id, "handed_over": [r.key for r in rows]}).encode(),
            alerts=[
                make_alert(
                    source=r.source, fingerprint=r.fingerprint, status="firing", title=r.title, service=r.service,
                    severity=r.severity, details=r.details or "", link=r.link,
                )
                for r in rows
            ],
            now=now,
        )
        for source, rows in sorted(by_source.items())
    ]
    outcomes = await apply_group(session, deps, policy_of(deps), arrivals)
    opened: list[int] = []
    for rows, results in zip((by_source[s] for s in sorted(by_source)), outcomes, strict=True):
        for row, outcome in zip(rows, results, strict=True):
            await store.handed_over(session, row.id, outcome.incident_id)
            if outcome.incident_id is not None and outcome.incident_id not in opened:
                opened.append(outcome.incident_id)
    await _audit(deps, session, "pitcrew", "maintenance.handover", window_id, now, {
        "alerts": len(firing), "incidents": ",".join(incident_ref(i) for i in opened),
    })
    return opened


async def _audit(
    deps: Deps, session: AsyncSession, actor: str, action: str, window_id: int, now: datetime, params: dict[str, object]
) -> None:
    await audit_store.append(
        session,
        at=now, actor=actor, action=action, target=f"MW-{window_id}",
        params=scrub(params, deps.secret_values()), outcome="ok",
    )
