"""The incident jobs' handlers: the job runner calls the escalation flows with a Slack notifier.

Jobs run outside any Slack request (on whichever instance claims them), so each builds its own
Web API client from the settings. An incident deleted meanwhile ends its jobs quietly.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime

from app.core.incidents import UnknownIncident
from app.deps import Deps
from app.flows import correlation, escalation
from app.flows.runbook_offers import offer_in_thread
from app.jobs.runner import Again, handles
from app.slack import post_pace
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
# How many messages a job may post, per channel, for the channels' pace (app/slack/post_pace.py).
Posts = Callable[[Deps], dict[str, int]]
PACED = "paced"  # payload key: this job's messages have their turn; when it comes, they go


def _incident_job(kind: str, *, posts: Posts | None = None) -> Callable[[Step], Step]:
    """Register `step` for `kind`: a returned time reschedules the job; a vanished incident ends it.

    With `posts`, the job first waits for its turn in the channels it posts to (an alert storm's
    announcements leave at Slack's pace, not in one burst).
    """

    def register(step: Step) -> Step:
        @handles(kind)
        async def handler(deps: Deps, job: ClaimedJob) -> Again | None:
            if posts is not None and not job.payload.get(PACED):
                later = await post_pace.turn(deps, posts(deps))
                if later is not None:
                    return Again(later, payload={**job.payload, PACED: True})
            try:
                at = await step(deps, notifier_for(deps), job)
            except UnknownIncident:
                return None
            return Again(at) if at is not None else None

        return step

    return register


def _announcement_posts(deps: Deps) -> dict[str, int]:
    """The root message, the responders' note and the runbook offer in its thread; the managers' post."""
    slack = deps.catalog.slack
    posts = Counter({slack.alerts_channel: 3})
    if slack.updates_channel:
        posts[slack.updates_channel] += 1
    return dict(posts)


def _alert_note_posts(deps: Deps) -> dict[str, int]:
    return {deps.catalog.slack.alerts_channel: 1}


@_incident_job("incident.announce", posts=_announcement_posts)
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


@_incident_job("incident.alert_note", posts=_alert_note_posts)
async def _alert_note(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    return await escalation.post_alert_note(deps, notifier, int(job.payload["incident_id"]), str(job.payload["note"]))


@_incident_job(correlation.JOINED_NOTE_JOB, posts=_alert_note_posts)
async def _alert_joined(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    incident_id, source = int(job.payload["incident_id"]), str(job.payload["source"])
    return await correlation.post_joined_note(deps, notifier, incident_id, source)


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
