"""Done jobs are deleted after a week, by a job of its own that any instance runs, once an hour.

Every command, click and mention is stored as a job with its request (app/slack/deferral.py), and
alerts schedule several each: kept forever, the table and the people's words in it would only
grow. A week is far longer than anything still needs them: Slack re-delivers an event within
minutes (its event_id is a done job's dedupe key until then), and scheduled work (escalations,
verifications) is pending, not done. Failed jobs stay, with their error, for someone to look at.

The same job deletes Vercel log drain lines older than `logs.retention_hours` (24 by default); the
per-project row bound is kept as lines arrive (app/store/drain_lines.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.deps import Deps
from app.jobs.runner import Again, handles
from app.store import drain_lines
from app.store import jobs as job_store
from app.store.db import transaction
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.jobs")

PURGE_JOB = "jobs.purge"
KEEP_DONE = timedelta(days=7)
EVERY = timedelta(hours=1)
BATCH = 5000  # rows per delete, so that no delete holds its locks for long


@handles(PURGE_JOB)
async def purge(deps: Deps, job: ClaimedJob) -> Again:
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        gone = await job_store.purge_done(session, before=now - KEEP_DONE, limit=BATCH)
    if gone:
        log.info("deleted %d done jobs older than %s", gone, KEEP_DONE)
    keep_lines = timedelta(hours=deps.catalog.logs.retention_hours)
    async with transaction(deps.sessions) as session:
        expired = await drain_lines.purge_before(session, now - keep_lines, limit=BATCH)
    if expired:
        log.info("deleted %d drained log lines older than %s", expired, keep_lines)
    more = gone == BATCH or expired == BATCH
    return Again(now + (timedelta(seconds=1) if more else EVERY))


async def schedule_purge(deps: Deps) -> None:
    """Make sure the purge is scheduled (once for all instances: its dedupe key is its name).

    Called when an instance starts its job runner; a failure is logged, not raised: the instance
    serves regardless, and the next start schedules it."""
    now = deps.clock()
    try:
        async with transaction(deps.sessions) as session:
            await job_store.enqueue(
                session, kind=PURGE_JOB, payload={}, run_at=now + EVERY, now=now, dedupe_key=PURGE_JOB
            )
    except Exception as err:
        log.warning("could not schedule the purge of done jobs (%s)", err)
