"""The post-deploy watch's jobs, run with a Slack notifier on whichever instance claims them.

`watch_deploy` takes the watch's looks (app/flows/deploy_watch.py): its first run posts the message,
so it waits for its turn in the alerts channel first (app/slack/post_pace.py: in a storm of deploys
the messages leave at Slack's pace); later runs only edit it (chat.update). `watch_deploy.rollback`
proposes the rollback in the thread of the incident a regression opened, once its root is posted.
"""

from __future__ import annotations

from app.core.incidents import UnknownIncident
from app.deps import Deps
from app.flows import deploy_watch
from app.flows.action_ports import notifier_for
from app.flows.deploy_watch_start import WATCH_JOB
from app.jobs.runner import Again, handles
from app.slack import post_pace
from app.slack.client import web_client
from app.slack.incident_jobs import PACED
from app.slack.incident_jobs import notifier_for as incident_notifier
from app.slack.watch_notifier import SlackWatchNotifier
from app.store.jobs import ClaimedJob


def watch_notifier(deps: Deps) -> SlackWatchNotifier:
    return SlackWatchNotifier(web_client(deps.settings), deps.catalog, deps.clock)


@handles(WATCH_JOB)
async def _look(deps: Deps, job: ClaimedJob) -> Again | None:
    if not job.payload.get(PACED):
        later = await post_pace.turn(deps, {deps.catalog.slack.alerts_channel: 1})
        if later is not None:
            return Again(later, payload={**job.payload, PACED: True})
    at = await deploy_watch.look(deps, watch_notifier(deps), int(job.payload["watch_id"]))
    return Again(at, payload={**job.payload, PACED: True}) if at is not None else None


@handles(deploy_watch.ROLLBACK_JOB)
async def _rollback(deps: Deps, job: ClaimedJob) -> Again | None:
    try:
        at = await deploy_watch.offer_rollback(
            deps, notifier_for(deps), incident_notifier(deps), int(job.payload["watch_id"]),
            int(job.payload["incident_id"]), since=job.created_at,
        )
    except UnknownIncident:
        return None
    return Again(at) if at is not None else None


__all__ = ["watch_notifier"]
