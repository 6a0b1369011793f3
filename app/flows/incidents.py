"""The incident lifecycle: declare, acknowledge, update, change severity or state, assign roles,
keep open, show or hide on the status page, resolve.

Every function takes plain values and returns plain results (IncidentView and friends), so the
slash command, a mention in the thread, a button, the console, a job or a runbook step all call
the same code. Each change is one transaction that also writes the timeline and the audit trail
and (re)schedules the deadlines it moves (app/flows/incident_deadlines.py); what people see is
posted after the commit (app/flows/incident_announcements.py). Reading incidents is
app/flows/incident_views.py; lines other features add to the timeline, app/flows/incident_timeline.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.alerts import clean_line, clean_text
from app.core.incident_reports import STATE_DOING, severity_update, status_update
from app.core.incidents import (
    ROLE_DUTIES,
    BadIncidentValue,
    IncidentClosed,
    IncidentView,
    format_duration,
    incident_ref,
    parse_role,
    parse_severity,
)
from app.core.secrets import scrub
from app.core.status_page import VISIBILITIES, declared_visibility, is_public
from app.deps import Deps
from app.flows import correlation, pagerduty
from app.flows.incident_announcements import announce, announce_resolution, refresh_root
from app.flows.incident_deadlines import opened_bookkeeping, reschedule
from app.flows.incident_notifier import IncidentNotifier, ThreadNote
from app.flows.incident_policy import policy_of
from app.flows.incident_timeline import TEXT_MAX
from app.flows.incident_views import get_view
from app.flows.status_page import policy_of_page
from app.store import audit as audit_store
from app.store import incidents as store
from app.store.db import transaction
from app.store.jobs import enqueue

TITLE_MAX = 300


@dataclass(frozen=True)
class AckResult:
    view: IncidentView
    acknowledged_now: bool


async def declare(
    deps: Deps,
    notifier: IncidentNotifier,
    *,
    severity: str,
    title: str,
    by: str,
    service: str | None = None,
    description: str | None = None,
) -> IncidentView:
    """Open an incident by hand and post its root message in the alerts channel."""
    clean_title = clean_line(title or "", TITLE_MAX)
    if not clean_title:
        raise BadIncidentValue("an incident needs a title: say in a few words what is wrong")
    severity = parse_severity(severity)
    if service:
        service = service.strip().lower()
        deps.catalog.service(service)  # raises UnknownService naming the known ones
    details = clean_text(description or "", TEXT_MAX) or None
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        declared = {
            "visibility": declared_visibility(clean_title),  # a security incident is private until said otherwise
            "title": clean_title,
            "severity": severity,
            "description": details,
            "declared_by": by,
            "now": now,
        }
        if service:  # the service's alerts join it, as they join an incident an alert opened
            incident_id = await correlation.declare_for_service(session, deps, service, **declared)
        else:
            found = await store.create_declared(session, service=None, **declared)
            assert found is not None
            incident_id = found
        await opened_bookkeeping(session, deps, incident_id, severity=severity, now=now)
        await store.add_event(session, incident_id, at=now, kind="opened", actor=by, text=f"Declared: {clean_title}")
        await store.add_event(session, incident_id, at=now, kind="status", text="Investigating.", public=True)
        await _audit(deps, session, by, "incident.declare", incident_id, {"severity": severity, "title": clean_title})
    return await announce(deps, notifier, incident_id)


async def acknowledge(
    deps: Deps, notifier: IncidentNotifier, incident_id: int, *, by: str, via: str | None = None
) -> AckResult:
    """Someone is on it: recorded once (who and when), and the escalation stops. `via` says how, when
    not from Slack (the pager's ack link), in the thread and the timeline."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open:
            raise IncidentClosed(incident_id, "acknowledge it")
        first = await store.acknowledge(session, incident_id, by=by, now=now)
        if first:
            taken = f"after {format_duration(now - view.started_at)}" + (f", {via}" if via else "")
            await store.add_event(
                session, incident_id, at=now, kind="acknowledged", actor=by, text=f"Acknowledged {taken}"
            )
            await _audit(deps, session, by, "incident.ack", incident_id, {})
            await pagerduty.page(session, deps, incident_id, "acknowledge", now=now)
        view = await get_view(session, incident_id)
    if first:
        await notifier.post_thread(view, ThreadNote("acknowledged", taken, actor=by))
        await refresh_root(deps, notifier, view)
    return AckResult(view=view, acknowledged_now=first)


async def post_update(deps: Deps, notifier: IncidentNotifier, incident_id: int, text: str, *, by: str) -> IncidentView:
    """A status update: in the thread, in the updates channel and on the status page."""
    body = clean_text(text or "", TEXT_MAX)
    if not body:
        raise BadIncidentValue("an update needs some text: what is known, what is being done")
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open:
            raise IncidentClosed(incident_id, "post an update (resolved incidents take no updates)")
        await store.record_update(session, incident_id, now)
        await store.add_event(session, incident_id, at=now, kind="update", actor=by, text=body, public=True)
        await _audit(deps, session, by, "incident.update", incident_id, {"text": body[:300]})
        view = await get_view(session, incident_id)
        await reschedule(session, deps, view, now)
    await notifier.post_thread(view, ThreadNote("update", body, actor=by))
    await notifier.post_stakeholders(view, status_update(policy_of(deps), view, body, now))
    await refresh_root(deps, notifier, view)
    return view


async def change_state(
    deps: Deps, notifier: IncidentNotifier, incident_id: int, state: str, *, by: str, note: str | None = None
) -> IncidentView:
    """investigating → identified → monitoring (resolving has its own flow: it asks for a summary)."""
    if state not in ("investigating", "identified", "monitoring"):
        raise BadIncidentValue(f"`{state}` is not a state to move to: use investigating, identified or monitoring")
    text = clean_text(note or "", TEXT_MAX) or STATE_DOING[state]
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open:
            raise IncidentClosed(incident_id, f"move it to {state}")
        previous = await store.set_state(session, incident_id, state)
        if previous is not None:
            await store.record_update(session, incident_id, now)
            await store.add_event(
                session,
                incident_id,
                at=now,
                kind=f"state.{state}",
                actor=by,
                text=text,
                public=True,
                data={"from": previous},
            )
            await _audit(deps, session, by, "incident.state", incident_id, {"from": previous, "to": state})
        view = await get_view(session, incident_id)
        if previous is not None:
            await reschedule(session, deps, view, now)
    if previous is not None:
        await notifier.post_thread(view, ThreadNote("state", f"{previous} → {state}: {text}", actor=by))
        await notifier.post_stakeholders(view, status_update(policy_of(deps), view, text, now))
        await refresh_root(deps, notifier, view)
    return view


async def change_severity(
    deps: Deps, notifier: IncidentNotifier, incident_id: int, severity: str, *, by: str
) -> IncidentView:
    severity = parse_severity(severity)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open:
            raise IncidentClosed(incident_id, "change its severity")
        previous = await store.set_severity(session, incident_id, severity)
        if previous is not None:
            await store.add_event(
                session, incident_id, at=now, kind="severity", actor=by, text=f"Severity {previous} → {severity}"
            )
            await _audit(deps, session, by, "incident.severity", incident_id, {"from": previous, "to": severity})
        view = await get_view(session, incident_id)
        if previous is not None:
            await reschedule(session, deps, view, now)
    if previous is not None:
        await notifier.post_thread(view, ThreadNote("severity", f"Severity {previous} → {severity}", actor=by))
        await notifier.post_stakeholders(view, severity_update(policy_of(deps), view, previous, now))
        await refresh_root(deps, notifier, view)
    return view


async def assign_role(
    deps: Deps, notifier: IncidentNotifier, incident_id: int, role: str, user: str, *, by: str
) -> IncidentView:
    """Give a role (commander, communications, scribe); the assignee is told privately what it means."""
    role = parse_role(role)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open:
            raise IncidentClosed(incident_id, "assign roles")
        previous = await store.assign_role(session, incident_id, role, user)
        await store.add_event(
            session,
            incident_id,
            at=now,
            kind="role",
            actor=by,
            text=f"{role}: {user}",
            data={"role": role, "user": user, "previous": previous},
        )
        await _audit(deps, session, by, "incident.assign", incident_id, {"role": role, "user": user})
        view = await get_view(session, incident_id)
    await notifier.post_thread(view, ThreadNote("role", role, actor=by, notify=(user,)))
    duty = ROLE_DUTIES[role]
    await notifier.tell_privately(view, user, f"You are now the {role} of {view.ref} ({view.title}). {duty}")
    await refresh_root(deps, notifier, view)
    return view


async def keep_open(deps: Deps, notifier: IncidentNotifier, incident_id: int, *, by: str) -> IncidentView:
    """No automatic resolution after the quiet period: people will resolve it themselves."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open:
            raise IncidentClosed(incident_id, "keep it open")
        changed = await store.keep_open(session, incident_id)
        if changed:
            await store.add_event(session, incident_id, at=now, kind="keep_open", actor=by, text="Kept open")
            await _audit(deps, session, by, "incident.keep_open", incident_id, {})
        view = await get_view(session, incident_id)
    if changed:
        await notifier.post_thread(view, ThreadNote("keep_open", "Kept open: it will not resolve by itself", actor=by))
        await refresh_root(deps, notifier, view)
    return view


async def set_visibility(
    deps: Deps, notifier: IncidentNotifier, incident_id: int, visibility: str, *, by: str
) -> tuple[IncidentView, bool]:
    """Show the incident on the status page (`public`) or keep it off (`private`); (view, changed).

    Allowed on resolved incidents too: the page lists those of the last week, and deciding after the
    fact that one should not be there is exactly when this is needed.
    """
    if visibility not in VISIBILITIES:
        raise BadIncidentValue(f"`{visibility}` is not a visibility: use public or private")
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)  # UnknownIncident for a wrong id
        before = await store.set_visibility(session, incident_id, visibility)  # read under the row's lock
        changed = is_public(replace(view, visibility=before), policy_of_page(deps)) != (visibility == "public")
        await store.add_event(
            session, incident_id, at=now, kind="visibility", actor=by, text=f"Marked {visibility} on the status page"
        )
        await _audit(deps, session, by, "incident.visibility", incident_id, {"visibility": visibility})
        view = await get_view(session, incident_id)
    if changed:
        said = "Shown on the status page" if visibility == "public" else "Taken off the status page"
        await notifier.post_thread(view, ThreadNote("visibility", said, actor=by))
    return view, changed


async def resolve(
    deps: Deps, notifier: IncidentNotifier, incident_id: int, *, by: str, summary: str | None
) -> IncidentView:
    """Resolve once, with a summary; SEV1/SEV2 get a post-mortem draft in the thread (a job)."""
    text = clean_text(summary or "", TEXT_MAX) or None
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        if not await store.resolve(session, incident_id, summary=text, now=now):
            await get_view(session, incident_id)  # UnknownIncident when there is none
            raise IncidentClosed(incident_id, "resolve it again")
        await resolved_bookkeeping(session, deps, incident_id, by=by, summary=text, now=now)
        view = await get_view(session, incident_id)
    await announce_resolution(deps, notifier, view, by=by)
    return view


async def resolved_bookkeeping(
    session: AsyncSession, deps: Deps, incident_id: int, *, by: str, summary: str | None, now: datetime
) -> None:
    public = "Resolved." + (f" {summary}" if summary else "")
    await store.add_event(session, incident_id, at=now, kind="resolved", actor=by, text=public, public=True)
    await _audit(deps, session, by, "incident.resolve", incident_id, {"summary": (summary or "")[:300]})
    await pagerduty.page(session, deps, incident_id, "resolve", now=now)
    view = await get_view(session, incident_id)
    if policy_of(deps).needs_postmortem(view.severity):
        await enqueue(
            session,
            kind="incident.postmortem",
            payload={"incident_id": incident_id},
            run_at=now,
            now=now,
            dedupe_key=f"incident.postmortem:{incident_id}",
        )


async def _audit(
    deps: Deps, session: AsyncSession, actor: str, action: str, incident_id: int, params: Mapping[str, Any]
) -> None:
    await audit_store.append(
        session,
        at=deps.clock(),
        actor=actor,
        action=action,
        target=incident_ref(incident_id),
        params=scrub(params, deps.secret_values()),
        outcome="ok",
    )


__all__ = [
    "AckResult",
    "acknowledge",
    "assign_role",
    "change_severity",
    "change_state",
    "declare",
    "keep_open",
    "post_update",
    "resolve",
    "set_visibility",
]
