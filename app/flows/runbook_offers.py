"""Which runbooks are in force, and offering them in an incident's thread.

The runbooks in force are the built-ins with the team's (`runbooks_dir`) over them, read once per
directory (`runbooks_of`). An incident an alert opened is offered the runbooks pitcrew.yml binds
to its service and those whose `applies` match it (the matching itself is the core's `suggest`,
app/core/runbook_match.py), once, in its first thread note (app/flows/incident_first_note.py);
`incident_of_thread` finds the incident a thread belongs to.
Starting and walking a runbook is app/flows/runbooks.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.core import webhooks
from app.core.incidents import IncidentView
from app.core.runbook_match import suggest
from app.core.runbooks import IncidentFields, RunbookSet, render
from app.flows import incident_views
from app.flows.runbook_files import RunbookFileError, builtin_dir, load_runbooks_async
from app.flows.runbook_views import (
    NotAnIncidentThread,
    Offer,
    OfferedRunbook,
    RunbookError,
)
from app.store import runbook_runs as store

if TYPE_CHECKING:
    from app.deps import Deps

OFFER_LIMIT = 3
OFFERED_EVENT = "runbook.offered"


# ---- the runbooks in force ------------------------------------------------------------------------

_LOADED: dict[str | None, RunbookSet] = {}


async def runbooks_of(deps: Deps) -> RunbookSet:
    """The built-in runbooks with the team's (`runbooks_dir`) over them, read once per directory.

    They are configuration, read at the first use like pitcrew.yml at start; a restart reads them again.
    """
    key = deps.catalog.runbooks_dir
    found = _LOADED.get(key)
    if found is None:
        try:
            found = await load_runbooks_async(builtin_dir(), Path(key) if key else None)
        except RunbookFileError as err:
            more = len(err.problems) - 5
            shown = "; ".join(err.problems[:5]) + (f" (and {more} more)" if more > 0 else "")
            raise RunbookError(
                f"the runbooks cannot be loaded (`pitcrew runbooks validate` lists why): {shown}"
            ) from None
        _LOADED[key] = found
    return found


def fields_of(view: IncidentView) -> IncidentFields:
    return IncidentFields(incident=view.ref, service=view.service, severity=view.severity, title=view.title)


# ---- offering ----------------------------------------------------------------------------------


async def offer_runbooks(deps: Deps, incident: IncidentView, *, limit: int = OFFER_LIMIT) -> Offer | None:
    """The runbooks to offer for an incident: those pitcrew.yml names for its service first, then the
    ones whose `applies` match it, most specific first. None when nothing matches or it has no thread."""
    if not incident.channel or not incident.thread_ts:
        return None
    runbooks = await runbooks_of(deps)
    service = deps.catalog.services.get(incident.service or "")
    bound = list(service.runbooks) if service is not None else []
    found = suggest(
        runbooks, bound=bound, source=incident.source, service=incident.service, title=incident.title,
        labels=await _alert_labels(deps, incident), severity=incident.severity,
    )
    if not found:
        return None
    fields = fields_of(incident)
    offered = tuple(
        OfferedRunbook(r.name, render(r.title, fields), r.description, r.name in bound) for r in found[:limit]
    )
    return Offer(incident.id, incident.ref, incident.channel, incident.thread_ts, offered)


async def incident_of_thread(deps: Deps, channel: str, thread_ts: str | None) -> IncidentView:
    """The incident whose thread this is; NotAnIncidentThread otherwise."""
    view = await incident_views.find_by_thread(deps, channel, thread_ts)
    if view is None:
        raise NotAnIncidentThread(
            "runbooks run in an incident's thread: reply in the thread of the incident's message in the alerts "
            "channel (`/incident` lists them)"
        )
    return view


async def _alert_labels(deps: Deps, incident: IncidentView) -> dict[str, str]:
    """The labels of the alert that opened the incident (Alertmanager's), read again from its stored body."""
    if not incident.source:
        return {}
    found = await store.first_alert(deps.sessions, incident.id)
    if found is None or not found.body:
        return {}
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        try:
            alerts = webhooks.parse(found.source, found.body.encode("utf-8"), content_type)
        except Exception:  # an old or odd body: match without labels rather than not offer at all
            continue
        for alert in alerts:
            if found.fingerprint is None or alert.fingerprint == found.fingerprint:
                return dict(alert.labels)
    return {}


