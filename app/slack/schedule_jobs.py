"""The scheduled checks' job: each occurrence of a schedule is one job (app/flows/schedules.py), which
posts what the check found through Slack when there is something to say.

The job first makes sure the next occurrence is a job, so that a check that fails (a provider down,
Slack away) never ends the chain. A failed post is tried again shortly while the occurrence is
still within its grace, then given up: the next occurrence comes anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.core.schedules import ScheduleRun
from app.deps import Deps
from app.flows.schedules import SCHEDULE_JOB, ensure_next, ensure_schedules, run_occurrence
from app.jobs.runner import Again, handles
from app.slack.client import web_client
from app.slack.render.schedules import schedule_message
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.schedules")

RETRY = timedelta(minutes=2)


@handles(SCHEDULE_JOB)
async def scheduled_check(deps: Deps, job: ClaimedJob) -> Again | None:
    name = str(job.payload.get("schedule", ""))
    due = datetime.fromisoformat(str(job.payload["due"]))
    schedule = deps.catalog.schedule(name)
    now = deps.clock()
    if schedule is not None:
        await ensure_next(deps, schedule, max(due, now))
    client = web_client(deps.settings)

    async def publish(run: ScheduleRun, channel: str) -> str | None:
        posted = await client.chat_postMessage(channel=channel, **schedule_message(run))
        ts = posted.get("ts")
        return str(ts) if ts else None

    try:
        outcome = await run_occurrence(deps, name, due, publish)
    except Exception as err:  # Slack or the database away: the occurrence's claim was given back
        calendar = deps.catalog.schedule_calendar(schedule) if schedule is not None else None
        if calendar is not None and now + RETRY - due < calendar.grace(due):
            log.warning("schedule %s: could not post (%s); trying again in %s", name, err, RETRY)
            return Again(now + RETRY)
        log.warning("schedule %s: could not post (%s); the next occurrence will", name, err)
        return None
    if outcome.outcome == "early":
        return Again(due)
    log.info("schedule %s: %s %s", name, outcome.outcome, outcome.key or "")
    return None


async def schedule_checks(deps: Deps) -> None:
    """On start: each schedule's next occurrence is a job (once for all instances)."""
    await ensure_schedules(deps)
