"""One outage, one incident: alerts join the open incident of their service (or of a service linked
to it by `depends_on`), and responders split an alert out or merge two incidents.

Alert ingestion (app/flows/alert_batches.py) calls `open_or_join` for the firing alerts of a group
and `recover` for each recovery, inside its transaction; both fall back to the per-key behaviour
of app/store/alert_joins.py for alerts without a catalog service, when `incidents.correlate_minutes`
is 0, and for incidents opened before correlation existed. The rules are in app/core/correlation.py,
the atomic statements in app/store/related_alerts.py.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.correlation import (
    MERGE_USAGE,
    SPLIT_USAGE,
    cause_of,
    cause_title,
    component,
    find_split,
    fresh,
    related_services,
    service_key,
    source_name,
)
from app.core.incidents import IncidentError, IncidentView, UnknownIncident, incident_ref
from app.core.secrets import scrub
from app.core.silences import silenced
from app.deps import Deps
from app.flows.incident_announcements import announce, refresh_root
from app.flows.incident_deadlines import opened_bookkeeping, schedule_refresh
from app.flows.incident_notifier import IncidentNotifier, ThreadNote
from app.flows.incident_policy import policy_of
from app.flows.incident_views import get_view
from app.store import alert_joins
from app.store import audit as audit_store
from app.store import incidents as incident_store
from app.store import related_alerts as joins
from app.store.alert_joins import FiringGroup, JoinResult
from app.store.db import transaction
from app.store.jobs import enqueue

JOINED_NOTE_JOB = "incident.alert_joined"
RETITLE_JOB = "incident.retitle"


class CorrelationRefused(IncidentError):
    """A split or merge that cannot be done; the message says why and gives the usage."""


def window(deps: Deps) -> timedelta:
    return timedelta(minutes=deps.catalog.incidents.correlate_minutes)


# --- ingestion ---------------------------------------------------------------------------------------


async def open_or_join(session: AsyncSession, deps: Deps, groups: Sequence[FiringGroup]) -> dict[str, JoinResult]:
    """For each alert key of the group: the incident it opened, reopened or joined.

    An alert for a catalog service joins, in this order: the open incident that holds its key
    already (a repeat), the open incident of its service, of a service it depends on, or of one
    that depends on it, if that incident was active within `correlate_minutes`; otherwise it opens
    one under its service's key. Only new keys write; repeats read, as before correlation.
    """
    limit = window(deps)
    services = deps.catalog.services
    correlated = [g for g in groups if g.service in services] if limit > timedelta(0) else []
    rest = [g for g in groups if g not in correlated]
    found = await alert_joins.open_or_join_many(session, rest) if rest else {}
    if not correlated:
        return found
    graph = deps.catalog.depends_on
    picks, recovered, known = await _choose(session, graph, correlated, limit)
    new_alerts: list[joins.NewAlert] = []
    for group in sorted(correlated, key=lambda g: g.key):
        incident_id = picks.get(group.key)
        opened = reopened = False
        if incident_id is None:
            incident_id, opened = await _open(session, graph, group, limit)
        if not opened and (incident_id in recovered or incident_id not in picks.values()):
            reopened = await joins.reopen(session, incident_id)
        found[group.key] = JoinResult(incident_id, opened=opened, reopened=reopened)
        new_alerts.append(
            joins.NewAlert(incident_id, group.key, group.source, group.service, group.title, group.seen_at)
        )
    added = await joins.add(session, [a for a in new_alerts if (a.incident_id, a.alert_key) not in known])
    for alert in new_alerts:
        result = found[alert.alert_key]
        if (alert.incident_id, alert.alert_key) in added:
            if not result.opened:
                where = f" ({alert.service})" if alert.service else ""
                await incident_store.add_event(
                    session, alert.incident_id, at=alert.seen_at, kind="alert.joined", actor=alert.source,
                    text=f"{source_name(alert.source)} alert joined{where}: {alert.title}",
                    data={"key": alert.alert_key},
                )
                await _joined_note(session, alert.incident_id, alert.source, alert.seen_at)
                await _cause_check(session, deps, alert)
        elif (alert.incident_id, alert.alert_key) in recovered and await joins.refire(
            session, alert.incident_id, alert.alert_key
        ) and not result.reopened:
            await schedule_refresh(session, policy_of(deps), alert.incident_id, alert.seen_at)
    return found


def correlates(deps: Deps, service: str | None) -> bool:
    """Whether alerts for `service` join incidents by service and `depends_on` (a catalog service, with
    correlation on), rather than only by their own key."""
    return bool(service) and service in deps.catalog.services and window(deps) > timedelta(0)


async def join_quietly(
    session: AsyncSession, deps: Deps, groups: Sequence[FiringGroup], among: Collection[int]
) -> dict[str, int]:
    """The keys whose alerts would join one of the incidents `among` (the silenced ones), joined to it
    without a word: {key: incident id}.

    The choice is `open_or_join`'s (the key's own incident first, then the service's, its
    dependencies', its dependents'), except that these incidents take alerts however long they have
    been quiet: a silence says the outage is known, and its alerts belong to it until the silence
    ends. A new key is recorded as a joined alert (on the timeline, not in the thread), and a key
    that had recovered fires again: the incident then recovers only when it recovers too. Nothing
    is posted, edited or paged; the alert list shows them when the silence ends.
    """
    if not groups or not among:
        return {}
    picks, recovered, known = await _choose(session, deps.catalog.depends_on, groups, window(deps), among)
    chosen = {g.key: (picks[g.key], g) for g in groups if picks.get(g.key) in among}
    new = [
        joins.NewAlert(incident_id, g.key, g.source, g.service, g.title, g.seen_at)
        for incident_id, g in chosen.values()
        if (incident_id, g.key) not in known
    ]
    added = await joins.add(session, new)
    for alert in new:
        if (alert.incident_id, alert.alert_key) in added:
            await _cause_check(session, deps, alert)
            where = f" ({alert.service})" if alert.service else ""
            await incident_store.add_event(
                session, alert.incident_id, at=alert.seen_at, kind="alert.joined", actor=alert.source,
                text=f"{source_name(alert.source)} alert joined while silenced{where}: {alert.title}",
                data={"key": alert.alert_key, "silenced": True},
            )
    for key, (incident_id, _) in sorted(chosen.items()):
        if (incident_id, key) in recovered:
            await joins.refire(session, incident_id, key)
    return {key: incident_id for key, (incident_id, _) in chosen.items()}


async def _choose(
    session: AsyncSession,
    graph: dict[str, list[str]],
    groups: Sequence[FiringGroup],
    limit: timedelta,
    always_fresh: Collection[int] = (),
) -> tuple[dict[str, int], set[object], set[tuple[int, str]]]:
    """The open incident each key joins, where there is one (see `open_or_join`); what of it is
    recovered: incident ids in their quiet period, and (incident id, key) pairs of recovered alerts;
    and the (incident id, key) pairs joined already. Repeats in firing incidents thus write nothing.
    Incidents in `always_fresh` take alerts however long ago they were last active (silenced ones)."""
    wanted = {g.key: related_services(graph, g.service or "") for g in groups}
    every = sorted({s for names in wanted.values() for s in names})
    keys = [g.key for g in groups]
    # An incident opened before correlation holds its alert key itself as its open key: a repeat joins it.
    found = await joins.candidates(
        session, keys=keys, services=every, open_keys=[*(service_key(s) for s in every), *keys]
    )
    open_ones = await joins.incidents(session, [c.incident_id for c in found])
    picks: dict[str, int] = {}
    recovered: set[object] = {i for i, o in open_ones.items() if o.recovered_at is not None}
    recovered |= {(c.incident_id, c.alert_key) for c in found if c.status == "recovered"}
    for group in groups:
        now = group.seen_at
        exact = sorted(
            c.incident_id for c in found if group.key in (c.alert_key, c.open_key) and c.incident_id in open_ones
        )
        if exact:
            picks[group.key] = exact[-1]
            continue
        for service in wanted[group.key]:
            live = sorted(
                c.incident_id
                for c in found
                if c.service == service
                and c.incident_id in open_ones
                and (c.incident_id in always_fresh or fresh(open_ones[c.incident_id].last_activity, now, limit))
            )
            if live:
                picks[group.key] = live[0]
                break
    known = {(c.incident_id, c.alert_key) for c in found if c.alert_key is not None}
    return picks, recovered, known


async def _open(
    session: AsyncSession, graph: dict[str, list[str]], group: FiringGroup, limit: timedelta
) -> tuple[int, bool]:
    """Open the incident of the group's service, or join the one that another instance opened first."""
    service = group.service or ""
    linked = component(graph, service)
    if len(linked) > 1:
        # Alerts for api and db at once on two instances: one opens, the other then sees it.
        await joins.lock_group(session, ",".join(linked))
        again, _, _ = await _choose(session, graph, [group], limit)
        if group.key in again:
            return again[group.key], False
    key = service_key(service)
    for _ in range(3):
        opened = await joins.open_incident(
            session,
            open_key=key,
            alert_key=group.key,
            title=group.title,
            severity=group.severity,
            service=service,
            description=group.description,
            source=group.source,
            link=group.link,
            count=group.count,
            seen_at=group.seen_at,
        )
        if opened is not None:
            return opened, True
        holders = await joins.candidates(session, keys=[], services=[], open_keys=[key])
        holder = await joins.incidents(session, [h.incident_id for h in holders])
        for incident in holder.values():
            if fresh(incident.last_activity, group.seen_at, limit):
                return incident.incident_id, False
            await joins.retire_key(session, incident.incident_id, key)  # stale: the new outage opens its own
    raise RuntimeError(f"could not open or join an incident for {key}")


async def declare_for_service(session: AsyncSession, deps: Deps, service: str, **declared: Any) -> int:
    """Record an incident declared by hand for `service`; its id.

    When the service's alerts correlate, the declared incident holds the service's open key, as one
    an alert opened does: the service's next alerts (and those linked by `depends_on`) join it
    within `correlate_minutes` of its last activity. When a fresh incident of the service holds the
    key already, the declared one is recorded without it (the alerts keep joining that one); a
    stale holder gives the key up, as it does to a new alert.
    """
    if not correlates(deps, service):
        found = await incident_store.create_declared(session, service=service, **declared)
        assert found is not None
        return found
    linked = component(deps.catalog.depends_on, service)
    if len(linked) > 1:
        await joins.lock_group(session, ",".join(linked))
    key = service_key(service)
    now: datetime = declared["now"]
    for _ in range(3):
        incident_id = await incident_store.create_declared(session, service=service, open_key=key, **declared)
        if incident_id is not None:
            return incident_id
        holders = await joins.candidates(session, keys=[], services=[], open_keys=[key])
        holder = await joins.incidents(session, [h.incident_id for h in holders])
        if any(fresh(i.last_activity, now, window(deps)) for i in holder.values()):
            break
        for incident in holder.values():
            await joins.retire_key(session, incident.incident_id, key)
    found = await incident_store.create_declared(session, service=service, **declared)
    assert found is not None
    return found


async def _joined_note(session: AsyncSession, incident_id: int, source: str, now: datetime) -> None:
    """One thread note per new source (the job's dedupe key), never one per repeat."""
    await enqueue(
        session,
        kind=JOINED_NOTE_JOB,
        payload={"incident_id": incident_id, "source": source},
        run_at=now,
        now=now,
        dedupe_key=f"{JOINED_NOTE_JOB}:{incident_id}:{source}",
    )


async def recover(session: AsyncSession, deps: Deps, key: str, now: datetime) -> tuple[int | None, bool]:
    """A recovery: (incident id, whether the incident itself recovered now).

    The incident recovers only when none of its joined alerts fires any more; until then the root
    message's alert list shows this one recovered (a spaced edit).
    """
    found = await joins.recover(session, key, now)
    if found is None:
        return await alert_joins.recover(session, key=key, now=now)
    incident_id, changed = found
    if not changed:
        return incident_id, False
    if await joins.recovered_if_all(session, incident_id, now):
        return incident_id, True
    await schedule_refresh(session, policy_of(deps), incident_id, now)
    return incident_id, False


async def _cause_check(session: AsyncSession, deps: Deps, alert: joins.NewAlert) -> None:
    """A linked service's alert joined: the incident may now have a cause to be titled after (a job,
    off the alert path, once per incident and service)."""
    if alert.service and len(component(deps.catalog.depends_on, alert.service)) > 1:
        await enqueue(
            session,
            kind=RETITLE_JOB,
            payload={"incident_id": alert.incident_id},
            run_at=alert.seen_at,
            now=alert.seen_at,
            dedupe_key=f"{RETITLE_JOB}:{alert.incident_id}:{alert.service}",
        )


async def name_the_cause(deps: Deps, incident_id: int) -> IncidentView | None:
    """The job: title the incident after its suspected cause, once it has one ("db is down", when the
    first alert was api's and db's joined), and make it the incident's service; on the timeline,
    and on the root (a spaced edit; none while silenced: the silence's end edits it) and the status
    page. A title a person wrote (a declared incident) is kept. The view, when it was retitled."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        cause = cause_of(deps.catalog.depends_on, await joins.services(session, incident_id))
        if cause is None:
            return None
        title = cause_title(cause)
        before = await joins.retitle(session, incident_id, title=title, service=cause)
        if before is None:
            return None
        old_title, old_service = before
        await incident_store.add_event(
            session, incident_id, at=now, kind="retitled", actor="pitcrew",
            text=f"Retitled after the suspected cause: {title} (was: {old_title})",
            data={"title": title, "service": cause, "was": old_title, "was_service": old_service},
        )
        view = await get_view(session, incident_id)
        if not silenced(view.silenced_until, now):
            await schedule_refresh(session, policy_of(deps), incident_id, now)
    return view


async def post_joined_note(deps: Deps, notifier: IncidentNotifier, incident_id: int, source: str) -> datetime | None:
    """The job: "Sentry joined this incident: <title>" in the thread, once the root is posted."""
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
    if not view.thread_ts:
        return deps.clock() + timedelta(seconds=5)
    mine = [a for a in view.related if a.source == source]
    if not mine:
        return None  # split out meanwhile
    alert = mine[0]
    where = f" ({alert.service})" if alert.service else ""
    text = f"{source_name(source)} alert joined {view.ref}{where}: {alert.title}"
    await notifier.post_thread(view, ThreadNote("joined", text))
    return None


# --- split and merge ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitResult:
    old: IncidentView
    new: IncidentView
    sources: tuple[str, ...]


async def split(deps: Deps, notifier: IncidentNotifier, incident_id: int, word: str, *, by: str) -> SplitResult:
    """Move the alerts of one source (or one alert key) out into an incident of their own."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await _existing(session, incident_id, SPLIT_USAGE)
        if not view.is_open:
            raise CorrelationRefused(f"{view.ref} is resolved already: no alert can be split out of it; "
                                     f"nothing changed.\n{SPLIT_USAGE}")
        chosen = find_split(view.related, word)
        joined = ", ".join(dict.fromkeys(a.source for a in view.related)) or "none"
        if not word.strip() or not chosen:
            raise CorrelationRefused(
                f"no alert from `{word.strip()[:40] or '(nothing)'}` is joined to {view.ref} "
                f"(its sources: {joined}); nothing changed.\n{SPLIT_USAGE}"
            )
        if len(chosen) == len(view.related):
            raise CorrelationRefused(
                f"{chosen[0].source_name} is the only source of {view.ref}: it is not a joined alert, "
                f"there is nothing to split it from; nothing changed.\n{SPLIT_USAGE}"
            )
        first = chosen[0]
        new_id = await joins.open_incident(
            session,
            open_key=None,  # type: ignore[arg-type]
            alert_key=first.key,
            title=first.title,
            severity=view.severity,
            service=first.service or "",
            description=None,
            source=first.source,
            link=None,
            count=sum(a.events for a in chosen),
            seen_at=now,
        )
        assert new_id is not None
        await joins.move(session, from_id=incident_id, to_id=new_id, keys=[a.key for a in chosen])
        names = tuple(dict.fromkeys(a.source_name for a in chosen))
        said = f"Split out of {view.ref} by {by}: {', '.join(names)}"
        await incident_store.add_event(session, new_id, at=now, kind="opened", actor=by, text=said)
        await incident_store.add_event(session, new_id, at=now, kind="status", text="Investigating.", public=True)
        await incident_store.add_event(
            session, incident_id, at=now, kind="split", actor=by,
            text=f"{', '.join(names)} split out into {incident_ref(new_id)}",
        )
        await opened_bookkeeping(session, deps, new_id, severity=view.severity, now=now)
        for target in (new_id, incident_id):
            if await joins.recovered_if_all(session, target, now):
                await _quiet_period(session, deps, target, now)
        await _audit(deps, session, by, "incident.split", incident_id, {"into": incident_ref(new_id), "sources": names})
        old = await get_view(session, incident_id)
    new = await announce(deps, notifier, new_id)
    await notifier.post_thread(old, ThreadNote("split", f"{', '.join(names)} split out into {new.ref}", actor=by))
    await refresh_root(deps, notifier, old)
    return SplitResult(old=old, new=new, sources=names)


async def merge(deps: Deps, notifier: IncidentNotifier, target_id: int, other_id: int, *, by: str) -> IncidentView:
    """`/incident 3 merge 4`: INC-4's alerts join INC-3, and INC-4 is resolved as merged."""
    if target_id == other_id:
        raise CorrelationRefused(f"cannot merge {incident_ref(target_id)} into itself; nothing changed.\n{MERGE_USAGE}")
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        target = await _existing(session, target_id, MERGE_USAGE)
        other = await _existing(session, other_id, MERGE_USAGE)
        if not target.is_open:
            raise CorrelationRefused(
                f"{target.ref} is resolved: nothing can be merged into a resolved incident; nothing changed.\n"
                f"{MERGE_USAGE}"
            )
        if not other.is_open:
            raise CorrelationRefused(f"{other.ref} is resolved already: there is nothing to merge; nothing changed.\n"
                                     f"{MERGE_USAGE}")
        for view in (target, other):
            if not view.related and view.fingerprint and view.source:
                # An incident from before correlation (or of an alert naming no service): its one alert
                # key becomes a joined alert, so that the merged incident recovers when both have.
                await joins.add(session, [joins.NewAlert(
                    view.id, view.fingerprint, view.source, view.service, view.title, view.started_at
                )])
                if view.recovered_at is not None:
                    await joins.recover(session, view.fingerprint, now)
        await joins.move(session, from_id=other_id, to_id=target_id)
        summary = f"Merged into {target.ref}."
        await incident_store.resolve(session, other_id, summary=summary, now=now)
        await incident_store.add_event(session, other_id, at=now, kind="merged", actor=by, text=summary, public=True)
        await incident_store.add_event(
            session, target_id, at=now, kind="merged", actor=by, text=f"{other.ref} merged in: {other.title}"
        )
        await joins.unrecover(session, target_id)
        await enqueue(  # the merged alerts may name a cause (db's incident merged into api's)
            session, kind=RETITLE_JOB, payload={"incident_id": target_id}, run_at=now, now=now,
            dedupe_key=f"{RETITLE_JOB}:{target_id}:merged:{other_id}",
        )
        await _audit(deps, session, by, "incident.merge", target_id, {"merged": other.ref})
        target = await _existing(session, target_id, MERGE_USAGE)
        other = await _existing(session, other_id, MERGE_USAGE)
    await notifier.post_thread(target, ThreadNote("merged", f"{other.ref} merged in: {other.title}", actor=by))
    await notifier.post_thread(other, ThreadNote("merged", f"Merged into {target.ref}: follow it there", actor=by))
    await refresh_root(deps, notifier, other)
    await refresh_root(deps, notifier, target)
    return target


async def _existing(session: AsyncSession, incident_id: int, usage: str) -> IncidentView:
    try:
        return await get_view(session, incident_id)
    except UnknownIncident as err:
        raise CorrelationRefused(f"{err}; nothing changed.\n{usage}") from None


async def _quiet_period(session: AsyncSession, deps: Deps, incident_id: int, now: datetime) -> None:
    quiet_end = now + policy_of(deps).quiet
    await enqueue(
        session,
        kind="incident.autoresolve",
        payload={"incident_id": incident_id},
        run_at=quiet_end,
        now=now,
        dedupe_key=f"incident.autoresolve:{incident_id}:{quiet_end.timestamp():.6f}",
    )


async def _audit(deps: Deps, session: AsyncSession, actor: str, action: str, incident_id: int, params: dict) -> None:  # type: ignore[type-arg]
    await audit_store.append(
        session,
        at=deps.clock(),
        actor=actor,
        action=action,
        target=incident_ref(incident_id),
        params=scrub(params, deps.secret_values()),
        outcome="ok",
    )
