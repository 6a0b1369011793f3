"""Done jobs are deleted after a week, by a job of its own that any instance runs, once an hour.

Every command, click and mention is stored as a job with its request (app/slack/deferral.py), and
alerts schedule several each: kept forever, the table and the people's words in it would only
grow. A week is far longer than anything still needs them: Slack re-delivers an event within
minutes (its event_id is a done job's dedupe key until then), and scheduled work (escalations,
verifications) is pending, not done. Failed jobs stay, with their error, for someone to look at.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.deps import Deps
from app.jobs.runner import Again, handles
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
    return Again(now + (timedelta(seconds=1) if gone == BATCH else EVERY))


async def schedule_purge(deps: Deps) -> None:
    """Make sure the purge is scheduled (once for all instances: its dedupe key is its name).

    Called when an instance starts its job runner; a failure is logged, not raised: the instance
    serves regardless, and the next start schedules it. A purge parked after failing several times
    in a row is revived here, so a restart is enough once the cause is gone."""
    now = deps.clock()
    try:
        async with transaction(deps.sessions) as session:
            await job_store.enqueue(
                session, kind=PURGE_JOB, payload={}, run_at=now + EVERY, now=now, dedupe_key=PURGE_JOB,
                revive_failed=True,
            )
    except Exception as err:
        log.warning("could not schedule the purge of done jobs (%s)", err)
