"""The scheduled checks' job: each occurrence of a schedule is one job (app/flows/schedules.py), which
posts what the check found through Slack when there is something to say.

The job first makes sure the next occurrence is a job, so that a check that fails (a provider down,
Slack away) never ends the chain. A failed post is tried again shortly while the occurrence is
still within its grace, then given up: the next occurrence comes anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from app.charts.metrics_chart import chart_png
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
        ts = str(posted["ts"]) if posted.get("ts") else None
        if ts is not None:
            await _upload_charts(client, run, channel, ts)
        return ts

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


async def _upload_charts(client: AsyncWebClient, run: ScheduleRun, channel: str, thread_ts: str) -> None:
    """The `metrics` check's chart of the last hour, per service, in the post's thread (as a runbook's
    `check: metrics` step uploads it). A chart that cannot be drawn or uploaded costs only the chart:
    the post stands, and the log says why."""
    for finding in run.findings:
        chart = finding.observed.chart
        if chart is None or (run.post == "problems" and not finding.problem):
            continue
        try:
            png = await chart_png(chart)
            await client.files_upload_v2(
                channel=channel, thread_ts=thread_ts, content=png, filename=chart.filename, title=chart.title,
                alt_txt=chart.alt_text,
            )
        except Exception as err:  # matplotlib missing, Slack refusing the upload: the figures are posted
            log.warning("schedule %s: no chart for %s (%s)", run.schedule, finding.service, type(err).__name__)


async def schedule_checks(deps: Deps) -> None:
    """On start: each schedule's next occurrence is a job (once for all instances)."""
    await ensure_schedules(deps)
