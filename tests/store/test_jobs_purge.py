"""Done jobs older than a week are deleted by the purge job; anything newer, pending or failed stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.deps import build_deps
from app.jobs.purge import EVERY, KEEP_DONE, PURGE_JOB, schedule_purge
from app.jobs.runner import JobRunner
from app.settings import Settings
from app.store.db import transaction
from app.store.models import Job
from tests.harness import Clock, catalog_from

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def test_the_purge_deletes_only_done_jobs_older_than_a_week(db_url: str) -> None:
    clock = Clock(NOW)
    settings = Settings(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s")
    deps = build_deps(settings, catalog_from({}), clock=clock)
    old, recent = NOW - KEEP_DONE - timedelta(hours=1), NOW - KEEP_DONE + timedelta(hours=1)
    try:
        async with transaction(deps.sessions) as session:
            session.add_all([
                Job(kind="slack.request", payload={"n": 1}, run_at=old, created_at=old, status="done"),
                Job(kind="slack.request", payload={"n": 2}, run_at=recent, created_at=recent, status="done"),
                Job(kind="incident.remind", payload={"n": 3}, run_at=NOW + EVERY * 3, created_at=old),
                Job(kind="incident.announce", payload={"n": 4}, run_at=old, created_at=old, status="failed"),
            ])
        await schedule_purge(deps)
        await schedule_purge(deps)  # a second instance starting: still one purge job
        runner = JobRunner(deps, worker="test")
        assert await runner.run_due() == 0  # not due before an hour has passed
        clock.advance(seconds=EVERY.total_seconds())
        assert await runner.run_due() == 1

        async with deps.sessions() as session:
            jobs = (await session.scalars(select(Job).order_by(Job.id))).all()
        left = sorted(job.payload.get("n", 0) for job in jobs if job.kind != PURGE_JOB)
        assert left == [2, 3, 4]
        [purge] = [job for job in jobs if job.kind == PURGE_JOB]
        assert purge.status == "pending" and purge.run_at == NOW + 2 * EVERY  # it runs again in an hour
    finally:
        await deps.close()
