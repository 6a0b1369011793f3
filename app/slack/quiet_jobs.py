"""The jobs of silences and maintenance windows, run with a Slack notifier on whichever instance claims them.

`silence.expire` ends a silence at its time; `maintenance.start`, `maintenance.refresh` and
`maintenance.end` announce a window, edit its message as alerts are held, and end it (handing
over alerts still firing). Posts wait for their turn in the channel (app/slack/post_pace.py).
"""

from __future__ import annotations

from datetime import datetime

from app.core.incidents import UnknownIncident
from app.deps import Deps
from app.flows import maintenance, silences
from app.jobs.runner import Again, handles
from app.slack import post_pace
from app.slack.client import web_client
from app.slack.incident_jobs import PACED, notifier_for
from app.slack.maintenance_notifier import SlackMaintenanceNotifier
from app.store.jobs import ClaimedJob


def _window_notifier(deps: Deps) -> SlackMaintenanceNotifier:
    return SlackMaintenanceNotifier(web_client(deps.settings), deps.catalog, deps.clock)


async def _wait_turn(deps: Deps, job: ClaimedJob, channel: str) -> Again | None:
    if job.payload.get(PACED):
        return None
    later = await post_pace.turn(deps, {channel: 1})
    return Again(later, payload={**job.payload, PACED: True}) if later is not None else None


def _updates(deps: Deps) -> str:
    return deps.catalog.slack.updates_channel or deps.catalog.slack.alerts_channel


@handles(silences.EXPIRE_JOB)
async def _expire(deps: Deps, job: ClaimedJob) -> Again | None:
    later = await _wait_turn(deps, job, deps.catalog.slack.alerts_channel)
    if later is not None:
        return later
    try:
        await silences.expire(
            deps, notifier_for(deps), int(job.payload["incident_id"]), datetime.fromisoformat(job.payload["until"])
        )
    except UnknownIncident:
        return None
    return None


@handles(maintenance.START_JOB)
async def _start(deps: Deps, job: ClaimedJob) -> Again | None:
    later = await _wait_turn(deps, job, _updates(deps))
    if later is not None:
        return later
    await maintenance.start(deps, _window_notifier(deps), int(job.payload["window_id"]))
    return None


@handles(maintenance.REFRESH_JOB)
async def _refresh(deps: Deps, job: ClaimedJob) -> Again | None:
    await maintenance.refresh(deps, _window_notifier(deps), int(job.payload["window_id"]))
    return None


@handles(maintenance.END_JOB)
async def _end(deps: Deps, job: ClaimedJob) -> Again | None:
    later = await _wait_turn(deps, job, _updates(deps))
    if later is not None:
        return later
    ends_at = job.payload.get("ends_at")
    await maintenance.end(
        deps,
        _window_notifier(deps),
        int(job.payload["window_id"]),
        ends_at=datetime.fromisoformat(ends_at) if ends_at else None,
        cancelled=bool(job.payload.get("cancelled")),
    )
    return None
