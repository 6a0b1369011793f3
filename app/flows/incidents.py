"""The incident lifecycle: declare, acknowledge, update, change severity or state, assign roles, resolve.

Every function takes plain values and returns plain results (IncidentView and friends), so the
slash command, a mention in the thread, a button, the console, a job or a runbook step all call
the same code. Each change is one transaction that also writes the timeline and the audit trail
and (re)schedules the deadlines it moves; what people see is posted after the commit, through an
IncidentNotifier, so a slow Slack never holds a database lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import Catalog
from app.core.actions import ProposalStatus
from app.core.alerts import clean_line, clean_text
from app.core.incident_reports import (
    STATE_DOING,
    ActionRecord,
    opened_update,
    resolved_update,
    severity_update,
    status_update,
)
from app.core.incidents import (
    ROLE_DUTIES,
    BadIncidentValue,
    DeployNote,
    EscalationStep,
    IncidentClosed,
    IncidentView,
    Policy,
    TimelineEntry,
    UnknownIncident,
    escalation_plan,
    first_responders,
    format_duration,
    incident_ref,
    make_policy,
    next_escalation,
    parse_role,
    parse_severity,
    reminder_due,
)
from app.core.secrets import scrub
from app.core.status_page import VISIBILITIES, declared_visibility, is_public
from app.deps import Deps
from app.flows.action_ports import listen_to_outcomes
from app.flows.action_views import Proposal
from app.flows.incident_notifier import IncidentNotifier, ThreadNote
from app.flows.status_page import policy_of_page
from app.store import alerts as alert_store
from app.store import audit as audit_store
from app.store import incidents as store
from app.store import runbook_runs
from app.store.db import transaction
from app.store.jobs import enqueue

log = logging.getLogger("pitcrew.incidents")

DEPLOY_LOOKUP_TIMEOUT_S = 4.0
TITLE_MAX = 300
TEXT_MAX = 3000


@dataclass(frozen=True)
class AckResult:
    view: IncidentView
    acknowledged_now: bool


@dataclass(frozen=True)
class TimelineReport:
    view: IncidentView
    entries: tuple[TimelineEntry, ...]
    alerts_received: int


# --- configuration ------------------------------------------------------------------------------


_POLICIES: dict[int, tuple[Catalog, Policy]] = {}


def policy_of(deps: Deps) -> Policy:
    """The catalog's incident policy; built once per catalog (every webhook asks for it)."""
    cached = _POLICIES.get(id(deps.catalog))
    if cached is not None and cached[0] is deps.catalog:
        return cached[1]
    if len(_POLICIES) > 64:
        _POLICIES.clear()
    policy = _make_policy(deps.catalog)
    _POLICIES[id(deps.catalog)] = (deps.catalog, policy)  # the catalog is held, so its id is not reused
    return policy


def _make_policy(catalog: Catalog) -> Policy:
    config = catalog.incidents
    return make_policy(
        response_minutes=config.response_minutes,
        update_cadence_minutes=config.update_cadence_minutes,
        quiet_minutes=config.quiet_minutes,
        severity_map=config.severity_map,
        default_severity=config.default_severity,
        postmortem_severities=config.postmortem_severities,
        root_edit_interval_s=config.root_edit_interval_seconds,
    )


def escalation_steps(deps: Deps) -> tuple[EscalationStep, ...]:
    return tuple(
        EscalationStep(
            after_minutes=step.after_minutes,
            notify=tuple(step.notify),
            severities=tuple(step.severities) if step.severities is not None else None,
        )
        for step in deps.catalog.slack.escalation
    )


def first_responder_ids(deps: Deps, severity: str) -> tuple[str, ...]:
    plan = escalation_plan(escalation_steps(deps), severity)
    return tuple(dict.fromkeys(who for step in first_responders(plan) for who in step.notify))


# --- reading ------------------------------------------------------------------------------------


async def get_view(session: AsyncSession, incident_id: int) -> IncidentView:
    """The incident inside the caller's transaction; UnknownIncident when there is none."""
    view = await store.get(session, incident_id)
    if view is None:
        raise UnknownIncident(incident_id)
    return view


async def load(deps: Deps, incident_id: int) -> IncidentView:
    async with transaction(deps.sessions) as session:
        return await get_view(session, incident_id)


async def find_by_thread(deps: Deps, channel: str, thread_ts: str | None) -> IncidentView | None:
    """The incident whose thread this is (its root message's ts), or None."""
    if not thread_ts:
        return None
    async with transaction(deps.sessions) as session:
        return await store.by_thread(session, channel, thread_ts)


async def list_open(deps: Deps) -> list[IncidentView]:
    async with transaction(deps.sessions) as session:
        return await store.list_open(session)


async def timeline(deps: Deps, incident_id: int) -> TimelineReport:
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        entries = await store.timeline(session, incident_id)
        received = await alert_store.count_for_incident(session, incident_id)
    return TimelineReport(view=view, entries=tuple(entries), alerts_received=received)


async def actions_taken(deps: Deps, view: IncidentView) -> list[ActionRecord]:
    """Audit entries during the incident that concern it: those naming it, and actions on its service,
    each proposal with what became of it (confirmed, run, verified, cancelled, expired).

    Commands, mentions and webhooks are left out: they are how people asked, and the entries they
    caused (the acknowledgement, the rollback) are what was done.
    """
    # A minute's grace past the resolution: the resolution's own entry is written just after it.
    end = (view.resolved_at or deps.clock()) + timedelta(minutes=1)
    found: list[ActionRecord] = []
    # The proposals found so far, by id, with what each proposed: their later entries name only the id,
    # which says nothing to a reader of the post-mortem.
    proposals: dict[str, str] = {}
    async for entry in audit_store.entries(deps.sessions, since=view.started_at):
        if entry.at > end:
            break
        if entry.target in proposals or _concerns(entry.target, entry.params, entry.action, view):
            if entry.action == "action.propose" and entry.target and entry.outcome.startswith("proposed: "):
                proposals[entry.target] = entry.outcome.removeprefix("proposed: ")
            target = proposals.get(entry.target, entry.target) if entry.target else None
            found.append(
                ActionRecord(at=entry.at, actor=entry.actor, action=entry.action, target=target, outcome=entry.outcome)
            )
    return found


def _concerns(target: str | None, params: Mapping[str, Any], action: str, view: IncidentView) -> bool:
    if action.startswith(("command ", "mention ", "webhook ", "click ")):
        return False
    if target == view.ref or params.get("incident") == view.ref or params.get("incident_id") == view.id:
        return True
    on_service = target == view.service or (action == "action.propose" and params.get("service") == view.service)
    return bool(view.service) and on_service


# --- destructive actions proposed in an incident's thread -----------------------------------------


async def note_proposal(deps: Deps, proposal: Proposal) -> None:
    """A proposal made in an incident's thread outside a runbook (from a health card): on its timeline.
    A runbook's proposals are told by the runbook's own lines (app/flows/runbooks.py)."""
    if proposal.incident_id is None:
        return
    await record_event(
        deps, proposal.incident_id, kind="action", actor=proposal.proposed_by,
        text=f"Proposed: {proposal.description}", data={"proposal_id": proposal.id},
    )


_SETTLED_BY = {
    ProposalStatus.ACCEPTED: "accepted",
    ProposalStatus.VERIFIED: "verified: the service stayed healthy",
    ProposalStatus.FAILED: "failed",
    ProposalStatus.CANCELLED: "cancelled",
    ProposalStatus.EXPIRED: "expired without a confirmation",
}


async def _proposal_settled(deps: Deps, proposal: Proposal) -> None:
    """What became of a proposal of an incident's, on its timeline. Registered here, before the runbook
    flow's listener (which imports this module), so a runbook's proposal is still found waiting on its
    run and left to the runbook's lines."""
    said = _SETTLED_BY.get(proposal.status)
    if proposal.incident_id is None or said is None:
        return
    if await runbook_runs.by_proposal(deps.sessions, proposal.id) is not None:
        return
    actor = proposal.cancelled_by if proposal.status is ProposalStatus.CANCELLED else proposal.confirmed_by
    await record_event(
        deps, proposal.incident_id, kind="action", actor=actor, text=f"{proposal.description}: {said}",
        data={"proposal_id": proposal.id, "status": str(proposal.status)},
    )


listen_to_outcomes(_proposal_settled)


# --- the lifecycle ------------------------------------------------------------------------------


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
        incident_id = await store.create_declared(
            session,
            visibility=declared_visibility(clean_title),  # a security incident is private until said otherwise
            title=clean_title,
            severity=severity,
            service=service or None,
            description=details,
            declared_by=by,
            now=now,
        )
        await opened_bookkeeping(session, deps, incident_id, severity=severity, now=now)
        await store.add_event(session, incident_id, at=now, kind="opened", actor=by, text=f"Declared: {clean_title}")
        await store.add_event(session, incident_id, at=now, kind="status", text="Investigating.", public=True)
        await _audit(deps, session, by, "incident.declare", incident_id, {"severity": severity, "title": clean_title})
    return await announce(deps, notifier, incident_id)


async def opened_bookkeeping(
    session: AsyncSession, deps: Deps, incident_id: int, *, severity: str, now: datetime
) -> None:
    """What every new incident needs in its first transaction: first responders counted, deadlines set."""
    plan = escalation_plan(escalation_steps(deps), severity)
    level = len(first_responders(plan))
    if level:
        await store.set_level(session, incident_id, level)
    await schedule_deadlines(
        session, deps, incident_id=incident_id, severity=severity, started_at=now, now=now, level=level
    )


async def announce(deps: Deps, notifier: IncidentNotifier, incident_id: int, *, page: bool = True) -> IncidentView:
    """Post the root message (once), with the service's latest deployment, and tell the stakeholders.

    With `page`, the first responders are mentioned in the thread at once (an incident declared by
    hand); an alert's incident pages them in its first note instead (app/flows/incident_first_note.py).
    """
    view = await load(deps, incident_id)
    if view.thread_ts:
        return view
    if view.deploy is None and view.service:
        deploy = await latest_deploy(deps, view.service)
        if deploy is not None:
            async with transaction(deps.sessions) as session:
                await store.set_deploy(session, incident_id, deploy)
            view = replace(view, deploy=deploy)
    notify = first_responder_ids(deps, view.severity) if page else ()
    channel, ts = await notifier.post_root(view, notify=notify)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        first = await store.set_root(session, incident_id, channel=channel, ts=ts)
        current = await get_view(session, incident_id)
        if first and current.occurrences != view.occurrences:
            # Alerts joined while the root was being posted: show them at the next spaced edit.
            await schedule_refresh(session, policy_of(deps), incident_id, now)
    if first and view.is_open:
        await notifier.post_stakeholders(current, opened_update(policy_of(deps), current, now))
    return current


async def latest_deploy(deps: Deps, service_name: str) -> DeployNote | None:
    """The service's latest deployment, looked up within a few seconds; a failure is noted, never raised.

    A fresh deploy is the first suspect, but a provider that is slow or down must not hold up
    the incident: the root message then says why the deployment is unknown.
    """
    service = deps.catalog.services.get(service_name)
    if service is None or service.provider not in ("railway", "vercel"):
        return None
    client = deps.railway if service.provider == "railway" else deps.vercel
    ref = service.railway if service.provider == "railway" else service.vercel
    if client is None or ref is None:
        token = "RAILWAY_API_TOKEN" if service.provider == "railway" else "VERCEL_TOKEN"
        return DeployNote(provider=service.provider, error=f"{token} is not set")
    try:
        async with asyncio.timeout(DEPLOY_LOOKUP_TIMEOUT_S + 0.5):
            observed = await client.latest_deployment(ref, timeout_s=DEPLOY_LOOKUP_TIMEOUT_S)  # type: ignore[arg-type]
    except TimeoutError:
        return DeployNote(provider=service.provider, error=f"no answer within {DEPLOY_LOOKUP_TIMEOUT_S:g} s")
    except Exception as err:  # any provider failure is told, not raised: the incident opens regardless
        return DeployNote(provider=service.provider, error=str(err)[:300] or type(err).__name__)
    found = observed.deployment
    if found is None:
        return DeployNote(provider=service.provider, error="no deployment found")
    return DeployNote(
        provider=service.provider,
        id=found.id,
        status=found.status,
        created_at=found.created_at,
        commit_message=(found.commit_message or "").splitlines()[0][:200] if found.commit_message else None,
        author=found.author,
        url=found.url,
    )


async def acknowledge(deps: Deps, notifier: IncidentNotifier, incident_id: int, *, by: str) -> AckResult:
    """Someone is on it: recorded once (who and when), and the escalation stops."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open:
            raise IncidentClosed(incident_id, "acknowledge it")
        first = await store.acknowledge(session, incident_id, by=by, now=now)
        if first:
            taken = f"after {format_duration(now - view.started_at)}"
            await store.add_event(
                session, incident_id, at=now, kind="acknowledged", actor=by, text=f"Acknowledged {taken}"
            )
            await _audit(deps, session, by, "incident.ack", incident_id, {})
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


async def announce_resolution(deps: Deps, notifier: IncidentNotifier, view: IncidentView, *, by: str) -> None:
    now = deps.clock()
    lasted = format_duration(view.duration(now))
    text = f"Resolved after {lasted}" + (f": {view.summary}" if view.summary else "")
    await notifier.post_thread(view, ThreadNote("resolved", text, actor=by))
    await notifier.post_stakeholders(view, resolved_update(policy_of(deps), view, now))
    await refresh_root(deps, notifier, view)


async def record_event(
    deps: Deps,
    incident_id: int,
    *,
    kind: str,
    text: str,
    actor: str | None = None,
    public: bool = False,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Add a line to an incident's timeline (a rollback, a runbook step): for the flows of other features."""
    async with transaction(deps.sessions) as session:
        await get_view(session, incident_id)
        await store.add_event(
            session,
            incident_id,
            at=deps.clock(),
            kind=kind,
            actor=actor,
            text=clean_text(text, TEXT_MAX),
            public=public,
            data=data,
        )


async def refresh_root(deps: Deps, notifier: IncidentNotifier, view: IncidentView) -> None:
    """Edit the root message now (a person did something: they expect to see it at once)."""
    if not view.thread_ts:
        return
    async with transaction(deps.sessions) as session:
        await store.refresh_counts(session, view.id)
        view = await get_view(session, view.id)
    await notifier.update_root(view)
    async with transaction(deps.sessions) as session:
        await store.mark_root_edited(session, view.id, deps.clock())


# --- deadlines ------------------------------------------------------------------------------------


async def schedule_deadlines(
    session: AsyncSession,
    deps: Deps,
    *,
    incident_id: int,
    severity: str,
    started_at: datetime,
    now: datetime,
    level: int = 0,
    escalated_at: datetime | None = None,
    acknowledged: bool = False,
    last_update_at: datetime | None = None,
    reminded_at: datetime | None = None,
) -> None:
    """Enqueue a job at the next escalation and the next reminder, as the incident stands now.

    Each job's dedupe key holds its due time, so moving a deadline (a severity change, an update)
    adds a job at the new time, and a job whose time has been moved finds nothing due and ends.
    Whatever runs a job re-reads the incident first: these are wake-up calls, not orders.
    """
    policy = policy_of(deps)
    due = next_escalation(
        escalation_plan(escalation_steps(deps), severity),
        level=level,
        started_at=started_at,
        escalated_at=escalated_at,
        response_time=policy.response_time(severity),
        acknowledged=acknowledged,
        resolved=False,
    )
    if due is not None:
        await enqueue(
            session,
            kind="incident.escalate",
            payload={"incident_id": incident_id},
            run_at=due.at,
            now=now,
            dedupe_key=f"incident.escalate:{incident_id}:{due.level}:{due.at.timestamp():.0f}",
        )
    remind_at = reminder_due(
        policy,
        severity=severity,
        started_at=started_at,
        last_update_at=last_update_at,
        reminded_at=reminded_at,
        resolved=False,
    )
    if remind_at is not None:
        await enqueue(
            session,
            kind="incident.remind",
            payload={"incident_id": incident_id},
            run_at=remind_at,
            now=now,
            dedupe_key=f"incident.remind:{incident_id}:{remind_at.timestamp():.0f}",
        )


async def reschedule(session: AsyncSession, deps: Deps, view: IncidentView, now: datetime) -> None:
    await schedule_deadlines(
        session,
        deps,
        incident_id=view.id,
        severity=view.severity,
        started_at=view.started_at,
        now=now,
        level=view.escalation_level,
        escalated_at=view.escalated_at,
        acknowledged=view.acknowledged_at is not None,
        last_update_at=view.last_update_at,
        reminded_at=view.reminded_at,
    )


def refresh_job(policy: Policy, incident_id: int, now: datetime) -> dict[str, Any]:
    """The job that edits an incident's root message after alerts joined it: one per incident per interval.

    Time is cut into buckets of `root_edit_interval_s`; every alert of a bucket schedules the same
    job (same dedupe key) for the bucket's end, so a storm of a thousand repeats is one edit.
    """
    interval = policy.root_edit_interval_s
    bucket = int(now.timestamp()) // interval
    run_at = datetime.fromtimestamp((bucket + 1) * interval, tz=now.tzinfo)
    return {
        "kind": "incident.refresh",
        "payload": {"incident_id": incident_id},
        "run_at": run_at,
        "created_at": now,
        "dedupe_key": f"incident.refresh:{incident_id}:{bucket}",
    }


async def schedule_refresh(session: AsyncSession, policy: Policy, incident_id: int, now: datetime) -> None:
    job = refresh_job(policy, incident_id, now)
    await enqueue(
        session, kind=job["kind"], payload=job["payload"], run_at=job["run_at"], now=now, dedupe_key=job["dedupe_key"]
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
    "TimelineReport",
    "acknowledge",
    "announce",
    "assign_role",
    "change_severity",
    "change_state",
    "declare",
    "find_by_thread",
    "keep_open",
    "list_open",
    "load",
    "policy_of",
    "post_update",
    "record_event",
    "resolve",
    "set_visibility",
    "timeline",
]

