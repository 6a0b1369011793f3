"""Writing alerts to the database in groups: what lets one instance take thousands of alerts a second.

An alert storm is thousands of small webhooks, each wanting the same few rows (one incident per
fingerprint). A transaction per webhook would spend most of its time on the transaction itself
(about a millisecond and a half of Python per transaction here), so webhooks that arrive together
are written together: `AlertWriter` queues each body, and one writer task at a time takes
everything queued and applies it in one transaction (group commit). While it writes, the next
group gathers; under load groups grow by themselves, at rest a group is one webhook. Each webhook
is answered only once its group is committed: "2xx once stored" holds.

Within a group, the firing alerts of each dedupe key are applied once: a new key opens one
incident however many of its alerts arrived together, and an open incident is joined by *reading*
it (under a shared lock, see app/store/alert_joins.py), so instances joining the same hot incidents
never wait on each other. Anything less common (a recovery, a key that both fires and recovers in
the group) goes alert by alert, in arrival order.
A group that fails is retried body by body, so one bad body cannot sink the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.alerts import Alert, dedupe_key
from app.core.incidents import Policy, incident_ref
from app.core.secrets import scrub
from app.deps import Deps
from app.flows import alert_gate, correlation
from app.flows.incident_deadlines import opened_bookkeeping, refresh_job, reschedule
from app.flows.incident_policy import policy_of
from app.flows.incident_views import get_view
from app.store import alert_joins
from app.store import alerts as alert_store
from app.store import audit as audit_store
from app.store import incidents as incident_store
from app.store.alert_joins import FiringGroup
from app.store.alerts import ReceivedBody, StoredAlert
from app.store.db import transaction
from app.store.jobs import enqueue

log = logging.getLogger("pitcrew.alerts")

MAX_GROUP = 256
LINGER_S = 0.005
RETRIES = 3


@dataclass(frozen=True)
class AlertOutcome:
    """What one alert did: opened, joined, reopened or recovered an incident, or nothing (`ignored`)."""

    fingerprint: str
    status: str
    effect: str
    incident_id: int | None

    @property
    def incident(self) -> str | None:
        return incident_ref(self.incident_id) if self.incident_id else None


@dataclass
class Arrival:
    """One readable webhook body waiting to be written, with its normalised alerts."""

    source: str
    body: bytes
    alerts: list[Alert]
    now: datetime
    done: asyncio.Future[list[AlertOutcome]] | None = field(default=None, repr=False)


class AlertWriter:
    """Group commit of webhook bodies for one app instance (the web edge owns one)."""

    def __init__(self, deps: Deps, *, max_group: int = MAX_GROUP, linger_s: float = LINGER_S) -> None:
        self.deps = deps
        self.max_group = max_group
        self.linger_s = linger_s
        self._queue: list[Arrival] = []
        self._task: asyncio.Task[None] | None = None
        self._wanted = 0
        self._grown = asyncio.Event()

    async def write(self, arrival: Arrival) -> list[AlertOutcome]:
        arrival.done = asyncio.get_running_loop().create_future()
        self._queue.append(arrival)
        if self._wanted and len(self._queue) >= self._wanted:
            self._grown.set()
        if self._task is None or self._task.done():
            # The writer runs while there is something to write and ends when the queue is empty:
            # no task outlives the work, and nothing is held in memory between storms.
            self._task = asyncio.create_task(self._drain(), name="pitcrew-alert-writer")
        return await arrival.done

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the webhooks that arrived in the same turn join this group
        last = 0
        while self._queue:
            await self._linger(last)
            group, self._queue = self._queue[: self.max_group], self._queue[self.max_group :]
            last = len(group)
            await write_group(self.deps, group)

    async def _linger(self, last: int) -> None:
        """Under load, wait a moment for the next group to fill up before writing it.

        When a big group is answered, its senders send their next alerts together, but the event
        loop reads them one by one; writing at once would send a group of two, then one of thirty,
        and so on. Waiting up to `linger_s` for three quarters of the last group's size keeps
        groups large (the cost of a transaction is shared by more alerts). At rest the last group
        was a single webhook, and nothing waits.
        """
        wanted = last * 3 // 4
        if wanted <= 1 or len(self._queue) >= wanted:
            return
        self._wanted = wanted
        self._grown.clear()
        try:
            await asyncio.wait_for(self._grown.wait(), self.linger_s)
        except TimeoutError:
            pass
        finally:
            self._wanted = 0


async def write_group(deps: Deps, group: Sequence[Arrival]) -> None:
    """Write a group in one transaction and settle each arrival's future; never raises."""
    try:
        results = await _with_retries(lambda: _write(deps, group))
    except Exception as err:
        if len(group) == 1:
            _settle(group[0], error=err)
            return
        log.warning("a group of %d webhooks failed (%s); writing them one by one", len(group), type(err).__name__)
        for arrival in group:
            try:
                [outcomes] = await _with_retries(lambda arrival=arrival: _write(deps, [arrival]))
            except Exception as single:
                _settle(arrival, error=single)
            else:
                _settle(arrival, outcomes=outcomes)
        return
    for arrival, outcomes in zip(group, results, strict=True):
        _settle(arrival, outcomes=outcomes)


def _settle(
    arrival: Arrival, *, outcomes: list[AlertOutcome] | None = None, error: BaseException | None = None
) -> None:
    if arrival.done is None or arrival.done.done():
        return
    if error is not None:
        arrival.done.set_exception(error)
    else:
        arrival.done.set_result(outcomes or [])


async def _with_retries(attempt: Any) -> Any:
    """Retry a transaction the database aborted to break a deadlock or a lock wait (it did nothing)."""
    for tries in range(RETRIES):
        try:
            return await attempt()
        except Exception as err:
            if tries == RETRIES - 1 or not _retryable(err):
                raise
            await asyncio.sleep(0.01 * (tries + 1))
    raise AssertionError("unreachable")


def _retryable(err: Exception) -> bool:
    original = getattr(err, "orig", None)
    name = type(original).__name__ if original is not None else ""
    return name in ("DeadlockDetected", "SerializationFailure", "LockNotAvailable") or "database is locked" in str(
        original or ""
    )


async def _write(deps: Deps, group: Sequence[Arrival]) -> list[list[AlertOutcome]]:
    policy = policy_of(deps)
    async with transaction(deps.sessions) as session:
        return await apply_group(session, deps, policy, group)


async def apply_group(
    session: AsyncSession, deps: Deps, policy: Policy, group: Sequence[Arrival]
) -> list[list[AlertOutcome]]:
    """Every alert of the group applied to incidents, every body stored, in the caller's transaction."""
    held = await alert_gate.hold(session, deps, group)  # silenced incidents and maintenance windows
    results: list[list[AlertOutcome | None]] = [
        [_held(alert, held.get((i, j))) for j, alert in enumerate(a.alerts)] for i, a in enumerate(group)
    ]
    recovering = {dedupe_key(alert) for a in group for alert in a.alerts if alert.status == "resolved"}
    firing: dict[str, list[tuple[int, int]]] = {}
    for i, arrival in enumerate(group):
        for j, alert in enumerate(arrival.alerts):
            key = dedupe_key(alert)
            if alert.status == "firing" and key not in recovering and results[i][j] is None:
                firing.setdefault(key, []).append((i, j))
    jobs: list[dict[str, Any]] = []
    if firing:
        groups = [_firing_group(group, key, positions, policy) for key, positions in firing.items()]
        joined = await correlation.open_or_join(session, deps, groups)
        for key, positions in firing.items():
            result = joined[key]
            first_i, first_j = positions[0]
            first = group[first_i].alerts[first_j]
            effect = "joined"
            if result.opened:
                await _opened(session, deps, policy, first, result.incident_id, group[first_i].now)
                effect = "opened"
            elif result.reopened:
                await _reopened(session, deps, first, result.incident_id, group[first_i].now)
                effect = "reopened"
            for n, (i, j) in enumerate(positions):
                alert = group[i].alerts[j]
                results[i][j] = AlertOutcome(
                    alert.fingerprint, alert.status, effect if n == 0 else "joined", result.incident_id
                )
            if effect != "opened" or len(positions) > 1:
                jobs.append(refresh_job(policy, result.incident_id, group[positions[-1][0]].now))
    for i, arrival in enumerate(group):
        for j, alert in enumerate(arrival.alerts):
            if results[i][j] is None:
                results[i][j] = await _apply_alone(session, deps, policy, alert, arrival.now, jobs)
    await alert_joins.enqueue_many(session, _unique(jobs))
    done = [[o for o in row if o is not None] for row in results]
    bodies = [
        ReceivedBody(
            source=a.source,
            body=a.body,
            received_at=a.now,
            alerts=[
                StoredAlert(alert=alert, incident_id=o.incident_id) for alert, o in zip(a.alerts, outcomes, strict=True)
            ],
        )
        for a, outcomes in zip(group, done, strict=True)
    ]
    await alert_store.store_bodies(session, bodies)
    # Every body in the audit trail, repeats too; one append for the group, so a storm takes the
    # chain's head once per transaction, not once per alert.
    secrets = deps.secret_values()
    await audit_store.append_many(session, [
        audit_store.NewEntry(
            at=arrival.now, actor=f"webhook:{arrival.source}", action=f"webhook {arrival.source}", target=None,
            params=scrub({"alerts": len(outcomes)}, secrets),
            outcome=", ".join(f"{o.effect} {o.incident or o.fingerprint}" for o in outcomes) or "no alert in the body",
        )
        for arrival, outcomes in zip(group, done, strict=True)
    ])
    return done


def _held(alert: Alert, held: alert_gate.Held | None) -> AlertOutcome | None:
    return AlertOutcome(alert.fingerprint, alert.status, held.effect, held.incident_id) if held else None


def _firing_group(group: Sequence[Arrival], key: str, positions: list[tuple[int, int]], policy: Policy) -> FiringGroup:
    i, j = positions[0]
    alert = group[i].alerts[j]
    return FiringGroup(
        key=key,
        title=alert.title,
        severity=alert.severity or policy.default_severity,
        service=alert.service,
        description=alert.details or None,
        source=alert.source,
        link=alert.link,
        count=len(positions),
        seen_at=max(group[p].now for p, _ in positions),
    )


def _unique(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({job["dedupe_key"]: job for job in jobs}.values())


async def _opened(
    session: AsyncSession, deps: Deps, policy: Policy, alert: Alert, incident_id: int, now: datetime
) -> None:
    await incident_store.add_event(
        session,
        incident_id,
        at=now,
        kind="opened",
        actor=alert.source,
        text=f"Opened by {alert.source}: {alert.title}",
        data={"fingerprint": alert.fingerprint, "link": alert.link},
    )
    await incident_store.add_event(session, incident_id, at=now, kind="status", text="Investigating.", public=True)
    await enqueue(
        session,
        kind="incident.announce",
        payload={"incident_id": incident_id},
        run_at=now,
        now=now,
        dedupe_key=f"incident.announce:{incident_id}",
    )
    severity = alert.severity or policy.default_severity
    await opened_bookkeeping(session, deps, incident_id, severity=severity, now=now)


async def _reopened(session: AsyncSession, deps: Deps, alert: Alert, incident_id: int, now: datetime) -> None:
    """Fired again in the quiet period: noted in the thread, and its deadlines run again."""
    await incident_store.add_event(
        session,
        incident_id,
        at=now,
        kind="alert.fired_again",
        actor=alert.source,
        text=f"Fired again during the quiet period: {alert.title}",
    )
    await _note(session, incident_id, "fired_again", now)
    await reschedule(session, deps, await get_view(session, incident_id), now)


async def _apply_alone(
    session: AsyncSession, deps: Deps, policy: Policy, alert: Alert, now: datetime, jobs: list[dict[str, Any]]
) -> AlertOutcome:
    """One alert on its own: a recovery, or a firing of a key that also recovers in this group."""
    key = dedupe_key(alert)
    if alert.status == "resolved":
        incident_id, recovered = await correlation.recover(session, deps, key, now)
        if not recovered or incident_id is None:
            return AlertOutcome(alert.fingerprint, alert.status, "ignored", incident_id)
        await incident_store.add_event(
            session, incident_id, at=now, kind="alert.recovered", actor=alert.source, text=f"Recovered: {alert.title}"
        )
        await _note(session, incident_id, "recovered", now)
        quiet_end = now + policy.quiet
        await enqueue(
            session,
            kind="incident.autoresolve",
            payload={"incident_id": incident_id},
            run_at=quiet_end,
            now=now,
            dedupe_key=f"incident.autoresolve:{incident_id}:{quiet_end.timestamp():.6f}",
        )
        return AlertOutcome(alert.fingerprint, alert.status, "recovered", incident_id)
    [result] = (
        await correlation.open_or_join(
            session, deps, [_firing_group([Arrival("", b"", [alert], now)], key, [(0, 0)], policy)]
        )
    ).values()
    if result.opened:
        await _opened(session, deps, policy, alert, result.incident_id, now)
        return AlertOutcome(alert.fingerprint, alert.status, "opened", result.incident_id)
    if result.reopened:
        await _reopened(session, deps, alert, result.incident_id, now)
        effect = "reopened"
    else:
        effect = "joined"
    jobs.append(refresh_job(policy, result.incident_id, now))
    return AlertOutcome(alert.fingerprint, alert.status, effect, result.incident_id)


async def _note(session: AsyncSession, incident_id: int, kind: str, now: datetime) -> None:
    """A note for the thread (a recovery, a refiring), posted once whoever runs the job."""
    await enqueue(
        session,
        kind="incident.alert_note",
        payload={"incident_id": incident_id, "note": kind},
        run_at=now,
        now=now,
        dedupe_key=f"incident.alert_note:{incident_id}:{kind}:{now.timestamp():.6f}",
    )


async def audit(
    deps: Deps, session: AsyncSession, source: str, now: datetime, outcome: str, params: dict[str, Any]
) -> None:
    """A webhook body that could not be read, in the audit trail (the others are audited by group)."""
    await audit_store.append(
        session,
        at=now,
        actor=f"webhook:{source}",
        action=f"webhook {source}",
        target=None,
        params=scrub(params, deps.secret_values()),
        outcome=outcome,
    )
