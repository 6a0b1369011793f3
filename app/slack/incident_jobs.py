"""The incident jobs' handlers: the job runner calls the escalation flows with a Slack notifier.

Jobs run outside any Slack request (on whichever instance claims them), so each builds its own
Web API client from the settings. An incident deleted meanwhile ends its jobs quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from app.core.incidents import UnknownIncident
from app.deps import Deps
from app.flows import escalation
from app.flows.runbooks import offer_in_thread
from app.jobs.runner import Again, handles
from app.slack.client import web_client
from app.slack.incident_notifier import SlackIncidentNotifier, status_url_of
from app.slack.runbook_notifier import runbook_notifier
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.incidents.jobs")


def notifier_for(deps: Deps) -> SlackIncidentNotifier:
    return SlackIncidentNotifier(
        web_client(deps.settings), deps.catalog, status_url=status_url_of(deps.settings.PUBLIC_URL)
    )


Step = Callable[[Deps, SlackIncidentNotifier, ClaimedJob], Awaitable[datetime | None]]


def _incident_job(kind: str) -> Callable[[Step], Step]:
    """Register `step` for `kind`: a returned time reschedules the job; a vanished incident ends it."""

    def register(step: Step) -> Step:
        @handles(kind)
        async def handler(deps: Deps, job: ClaimedJob) -> Again | None:
            try:
                at = await step(deps, notifier_for(deps), job)
            except UnknownIncident:
                return None
            return Again(at) if at is not None else None

        return step

    return register


@_incident_job("incident.announce")
async def _announce(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    await escalation.announce_alert(deps, notifier, int(job.payload["incident_id"]))
    await _offer_runbooks(deps, int(job.payload["incident_id"]))
    return None


async def _offer_runbooks(deps: Deps, incident_id: int) -> None:
    """An incident an alert opened gets its matching runbooks offered in its thread (once; see runbooks flow)."""
    try:
        await offer_in_thread(deps, incident_id, notifier=runbook_notifier(deps))
    except Exception:  # the incident is announced either way; `@pitcrew runbook` still starts one by hand
        log.exception("offering runbooks for incident %s failed", incident_id)


@_incident_job("incident.refresh")
async def _refresh(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    return await escalation.refresh_if_due(deps, notifier, int(job.payload["incident_id"]))


@_incident_job("incident.alert_note")
async def _alert_note(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    return await escalation.post_alert_note(deps, notifier, int(job.payload["incident_id"]), str(job.payload["note"]))


@_incident_job("incident.escalate")
async def _escalate(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    await escalation.escalate_if_due(deps, notifier, int(job.payload["incident_id"]))
    return None


@_incident_job("incident.remind")
async def _remind(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    await escalation.remind_if_due(deps, notifier, int(job.payload["incident_id"]))
    return None


@_incident_job("incident.autoresolve")
async def _autoresolve(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    await escalation.auto_resolve_if_due(deps, notifier, int(job.payload["incident_id"]))
    return None


@_incident_job("incident.postmortem")
async def _postmortem(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    await escalation.post_postmortem_draft(deps, notifier, int(job.payload["incident_id"]))
    return None
