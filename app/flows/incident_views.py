"""Reading incidents for the edges and the other flows: one incident, the incident of a thread, the
open ones, a timeline report and the actions taken during an incident (for its post-mortem).

Nothing here changes anything; every function reads inside one transaction and returns plain
values (IncidentView, TimelineReport, ActionRecord) that Slack, the console and the demo present
each their own way. The status page's public view is app/flows/status_page.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incident_reports import ActionRecord
from app.core.incidents import IncidentView, TimelineEntry, UnknownIncident
from app.deps import Deps
from app.store import alerts as alert_store
from app.store import audit as audit_store
from app.store import incidents as store
from app.store.db import transaction


@dataclass(frozen=True)
class TimelineReport:
    view: IncidentView
    entries: tuple[TimelineEntry, ...]
    alerts_received: int


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
