"""The weekly report's job: one job for all instances (its dedupe key is its name), which wakes at
each due time of `reports.weekly` and posts the week's report through the Slack publisher.

Posting once a week is the flow's claim (app/flows/period_report.py), not the job's: a job may run
twice (a lease running out while Slack is slow) or at the wrong time (the schedule changed in
pitcrew.yml while it was pending), and each run only posts a report nobody claimed yet. The job
never ends: a failure is logged and tried again shortly, and with `reports.weekly` removed it only
looks again a day later (like the audit anchor's), so that putting the key back needs no cleanup.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.core.period_report import PeriodReport
from app.deps import Deps
from app.flows.period_report import post_weekly, weekly_schedule
from app.jobs.runner import Again, handles
from app.slack.client import web_client
from app.slack.period_report import publish_report
from app.store import jobs as job_store
from app.store.db import transaction
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.reports")

WEEKLY_JOB = "reports.weekly"
RETRY = timedelta(minutes=10)
OFF_RECHECK = timedelta(days=1)


@handles(WEEKLY_JOB)
async def weekly_report(deps: Deps, job: ClaimedJob) -> Again:
    schedule = weekly_schedule(deps)
    now = deps.clock()
    if schedule is None:  # `reports.weekly` was removed: look again later, in case it comes back (the
        return Again(now + OFF_RECHECK)  # job keeps its dedupe key, so it must stay pending to be reused)
    client = web_client(deps.settings)

    async def publish(report: PeriodReport, channel: str) -> str | None:
        return await publish_report(client, report, channel, weekly=True)

    try:
        outcome = await post_weekly(deps, publish)
    except Exception as err:  # Slack or the database away: the week's claim was given back
        log.warning("could not post the weekly report (%s); trying again in %s", err, RETRY)
        return Again(now + RETRY)
    log.info("weekly report: %s %s", outcome.outcome, outcome.key or "")
    return Again(schedule.next_due(now))


async def schedule_weekly_report(deps: Deps) -> None:
    """Make sure the weekly job exists when `reports.weekly` is set (once for all instances), due at
    the next due time. Called when an instance starts its job runner; a failure is logged, not raised."""
    schedule = weekly_schedule(deps)
    if schedule is None:
        return
    now = deps.clock()
    try:
        async with transaction(deps.sessions) as session:
            await job_store.enqueue(
                session, kind=WEEKLY_JOB, payload={}, run_at=schedule.next_due(now), now=now,
                dedupe_key=WEEKLY_JOB, revive_failed=True,
            )
    except Exception as err:
        log.warning("could not schedule the weekly report (%s)", err)
