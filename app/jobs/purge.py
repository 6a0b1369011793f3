"""What pitcrew keeps only for a while, deleted by a job of its own that any instance runs, once an hour.

- Done jobs after a week (or `retention_days`, if shorter). Every command, click and mention is
  stored as a job with its request (app/slack/deferral.py), and alerts schedule several each: kept
  forever, the table and the people's words in it would only grow. A week is far longer than
  anything still needs them: Slack re-delivers an event within minutes (its event_id is a done
  job's dedupe key until then), and scheduled work (escalations, verifications) is pending, not done.
- Failed jobs after `retention_days` (pitcrew.yml, default 30): they stay that long, with their
  error and their stored Slack request, for someone to look at.
- Raw webhook bodies after `retention_days`: the body is emptied, the alert's row (fingerprint,
  masked title, incident) stays, so incidents keep their alert counts and timelines.
- Vercel log drain lines older than `logs.retention_hours` (24 by default); the per-project row
  bound is kept as lines arrive (app/store/drain_lines.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.deps import Deps
from app.jobs.runner import Again, handles
from app.store import alerts as alert_store
from app.store import drain_lines
from app.store import jobs as job_store
from app.store.db import transaction
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.jobs")

PURGE_JOB = "jobs.purge"
KEEP_DONE = timedelta(days=7)
EVERY = timedelta(hours=1)
BATCH = 5000  # rows per statement, so that no statement holds its locks for long


@handles(PURGE_JOB)
async def purge(deps: Deps, job: ClaimedJob) -> Again:
    now = deps.clock()
    retention = timedelta(days=deps.catalog.retention_days)
    async with transaction(deps.sessions) as session:
        done = await job_store.purge_done(session, before=now - min(KEEP_DONE, retention), limit=BATCH)
    async with transaction(deps.sessions) as session:
        failed = await job_store.purge_failed(session, before=now - retention, limit=BATCH)
    async with transaction(deps.sessions) as session:
        bodies = await alert_store.purge_bodies(session, before=now - retention, limit=BATCH)
    async with transaction(deps.sessions) as session:
        keep_lines = timedelta(hours=deps.catalog.logs.retention_hours)
        lines = await drain_lines.purge_before(session, now - keep_lines, limit=BATCH)
    if done or failed or bodies or lines:
        log.info(
            "purged %d done jobs, %d failed jobs, %d webhook bodies and %d drained log lines",
            done, failed, bodies, lines,
        )
    more = BATCH in (done, failed, bodies, lines)
    return Again(now + (timedelta(seconds=1) if more else EVERY))


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
        log.warning("could not schedule the purge (%s)", err)
