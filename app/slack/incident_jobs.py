"""The incident jobs' handlers: the job runner calls the escalation flows with a Slack notifier.

Jobs run outside any Slack request (on whichever instance claims them), so each builds its own
Web API client from the settings. An incident deleted meanwhile ends its jobs quietly. The jobs
that post what alerts cause keep Slack's pace per channel (app/slack/post_pace.py): a new
incident's root queues for its turn, thread notes take only a gap no root has claimed, so in a
storm every root leaves before the notes of earlier incidents.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime

from app.core.incidents import UnknownIncident
from app.deps import Deps
from app.flows import correlation, escalation
from app.flows import incident_first_note as first_note
from app.jobs.runner import Again, handles
from app.slack import post_pace
from app.slack.client import web_client
from app.slack.incident_notifier import SlackIncidentNotifier, status_url_of
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.incidents.jobs")


def notifier_for(deps: Deps) -> SlackIncidentNotifier:
    return SlackIncidentNotifier(
        web_client(deps.settings), deps.catalog, status_url=status_url_of(deps.settings.PUBLIC_URL)
    )


Step = Callable[[Deps, SlackIncidentNotifier, ClaimedJob], Awaitable[datetime | None]]
# How many messages a root's job posts, per channel, for the channels' pace (app/slack/post_pace.py).
Posts = Callable[[Deps], dict[str, int]]
PACED = "paced"  # payload key: this job's messages have their turn; when it comes, they go


def _incident_job(kind: str, *, posts: Posts | None = None, follow_up: bool = False) -> Callable[[Step], Step]:
    """Register `step` for `kind`: a returned time reschedules the job; a vanished incident ends it.

    With `posts`, the job first waits for its turn in the channels it posts to, queued as a root;
    with `follow_up`, it waits for a gap in the alerts channel that no root has claimed (a thread
    note). Either way an alert storm's messages leave at Slack's pace, not in one burst.
    """

    def register(step: Step) -> Step:
        @handles(kind)
        async def handler(deps: Deps, job: ClaimedJob) -> Again | None:
            if posts is not None and not job.payload.get(PACED):
                later = await post_pace.turn(deps, posts(deps))
                if later is not None:
                    return Again(later, payload={**job.payload, PACED: True})
            if follow_up:
                later = await post_pace.gap(deps, deps.catalog.slack.alerts_channel)
                if later is not None:
                    return Again(later)
            try:
                at = await step(deps, notifier_for(deps), job)
            except UnknownIncident:
                return None
            return Again(at) if at is not None else None

        return step

    return register


def _announcement_posts(deps: Deps) -> dict[str, int]:
    """The root message; the managers' post. Its first thread note is a follow-up (incident.first_note)."""
    slack = deps.catalog.slack
    posts = Counter({slack.alerts_channel: 1})
    if slack.updates_channel:
        posts[slack.updates_channel] += 1
    return dict(posts)


@_incident_job("incident.announce", posts=_announcement_posts)
async def _announce(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    await escalation.announce_alert(deps, notifier, int(job.payload["incident_id"]))
    return None


@handles(first_note.JOB_KIND)
async def _first_note(deps: Deps, job: ClaimedJob) -> Again | None:
    """Who is paged and the runbooks offered, in one message, in a gap no root has claimed.

    What to say is decided before a share of the channel is taken (an incident with nothing to say
    takes none), and again at each try: an incident acknowledged while it waited pages nobody. A
    look at the channel comes first, so that the notes waiting out a storm do not compose their
    message every second only to find no gap.
    """
    channel = deps.catalog.slack.alerts_channel
    later = await post_pace.gap_seen(deps, channel)
    if later is not None:
        return Again(later)
    try:
        found = await first_note.first_note(deps, int(job.payload["incident_id"]))
    except UnknownIncident:
        return None
    if found is None:
        return None
    later = await post_pace.gap(deps, channel)
    if later is not None:
        return Again(later)
    view, note = found
    await first_note.post_first_note(deps, notifier_for(deps), view, note)
    return None


@_incident_job("incident.refresh")
async def _refresh(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    return await escalation.refresh_if_due(deps, notifier, int(job.payload["incident_id"]))


@_incident_job("incident.alert_note", follow_up=True)
async def _alert_note(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    return await escalation.post_alert_note(deps, notifier, int(job.payload["incident_id"]), str(job.payload["note"]))


@_incident_job(correlation.JOINED_NOTE_JOB, follow_up=True)
async def _alert_joined(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    incident_id, source = int(job.payload["incident_id"]), str(job.payload["source"])
    return await correlation.post_joined_note(deps, notifier, incident_id, source)


@_incident_job(correlation.RETITLE_JOB)
async def _retitle(deps: Deps, notifier: SlackIncidentNotifier, job: ClaimedJob) -> datetime | None:
    await correlation.name_the_cause(deps, int(job.payload["incident_id"]))
    return None


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
