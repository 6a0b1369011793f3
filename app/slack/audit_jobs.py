"""The daily anchor: a job that posts the audit trail's head to Slack (app/flows/audit_anchor.py).

One job for all instances (its dedupe key is its name), rescheduling itself; `audit.anchor_every_hours`
in pitcrew.yml sets the period (0: no anchor is posted, the job only looks again a day later). A
failure to post is logged and tried again in an hour: the job must never end, or nothing would
schedule it again while its failed row holds the key.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from app.deps import Deps
from app.flows.audit_anchor import Post, post_anchor
from app.jobs.runner import Again, handles
from app.slack.client import web_client
from app.store import jobs as job_store
from app.store.db import transaction
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.audit")

ANCHOR_JOB = "audit.anchor"
OFF_RECHECK = timedelta(days=1)
RETRY = timedelta(hours=1)


def slack_poster(client: AsyncWebClient) -> Post:
    async def post(channel: str, text: str) -> str | None:
        answer = await client.chat_postMessage(channel=channel, text=text)
        ts = answer.get("ts")
        return str(ts) if ts else None

    return post


def _period(deps: Deps) -> timedelta | None:
    hours = deps.catalog.audit.anchor_every_hours
    return timedelta(hours=hours) if hours else None


@handles(ANCHOR_JOB)
async def anchor_daily(deps: Deps, job: ClaimedJob) -> Again:
    now = deps.clock()
    period = _period(deps)
    if period is None:
        return Again(now + OFF_RECHECK)
    channel = deps.catalog.audit.channel(deps.catalog.slack)
    try:
        result = await post_anchor(
            deps, slack_poster(web_client(deps.settings)), channel=channel, actor="pitcrew", only_if_new=True
        )
    except Exception as err:  # Slack or the database away: the anchor waits an hour, the job lives on
        log.warning("could not post the audit anchor to %s (%s); trying again in an hour", channel, err)
        return Again(now + RETRY)
    if result.posted:
        log.info("audit anchor posted to %s: %s", channel, result.text)
    return Again(now + period)


async def schedule_anchor(deps: Deps) -> None:
    """Make sure the anchor job exists (once for all instances). Called when an instance starts its
    job runner; a failure is logged, not raised: the instance serves regardless."""
    now = deps.clock()
    first = now + (_period(deps) or OFF_RECHECK)
    try:
        async with transaction(deps.sessions) as session:
            await job_store.enqueue(
                session, kind=ANCHOR_JOB, payload={}, run_at=first, now=now, dedupe_key=ANCHOR_JOB
            )
    except Exception as err:
        log.warning("could not schedule the daily audit anchor (%s)", err)
