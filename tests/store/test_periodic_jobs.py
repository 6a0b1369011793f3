"""A job that reschedules itself (the purge, a verification, paced posts) lives as long as it keeps
working: only consecutive failures count towards parking it, and scheduling it again (an instance
starting) revives one that was parked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.deps import Deps, build_deps
from app.jobs.purge import PURGE_JOB, schedule_purge
from app.jobs.runner import MAX_ATTEMPTS, Again, JobRunner
from app.settings import Settings
from app.store import jobs as job_store
from app.store.db import transaction
from app.store.jobs import ClaimedJob
from app.store.models import Job
from tests.fixtures import Clock, catalog_from

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TICK = "test.tick"


@pytest.fixture
async def deps(db_url: str) -> AsyncIterator[Deps]:
    settings = Settings(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s")
    built = build_deps(settings, catalog_from({}), clock=Clock(NOW))
    try:
        yield built
    finally:
        await built.close()


async def _job(deps: Deps, kind: str) -> Job:
    async with deps.sessions() as session:
        return (await session.scalars(select(Job).where(Job.kind == kind))).one()


async def _run_next(deps: Deps, runner: JobRunner) -> None:
    """Move the clock to the job's next run (past any backoff) and run it."""
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=10)
    assert await runner.run_due() == 1


async def test_a_periodic_job_survives_many_runs_and_a_transient_error(deps: Deps) -> None:
    failing = {"now": False}

    async def tick(deps: Deps, job: ClaimedJob) -> Again:
        if failing["now"]:
            raise ConnectionError("the provider is away")
        return Again(deps.clock() + timedelta(minutes=1))

    runner = JobRunner(deps, worker="test", handlers={TICK: tick})
    async with transaction(deps.sessions) as session:
        await job_store.enqueue(session, kind=TICK, payload={}, run_at=NOW, now=NOW, dedupe_key=TICK)
    for _ in range(MAX_ATTEMPTS + 2):
        await _run_next(deps, runner)
    failing["now"] = True
    await _run_next(deps, runner)
    job = await _job(deps, TICK)
    assert (job.status, job.last_error) == ("pending", "ConnectionError('the provider is away')")

    failing["now"] = False
    await _run_next(deps, runner)  # a success starts the count again
    failing["now"] = True
    for _ in range(MAX_ATTEMPTS - 1):
        await _run_next(deps, runner)
        assert (await _job(deps, TICK)).status == "pending"
    await _run_next(deps, runner)
    assert (await _job(deps, TICK)).status == "failed"  # parked after MAX_ATTEMPTS failures in a row


async def test_scheduling_the_purge_again_revives_it_once_parked(deps: Deps) -> None:
    async def broken(deps: Deps, job: ClaimedJob) -> None:
        raise ConnectionError("database went away")

    await schedule_purge(deps)
    runner = JobRunner(deps, worker="test", handlers={PURGE_JOB: broken})
    for _ in range(MAX_ATTEMPTS):
        deps.clock.advance(hours=2)  # type: ignore[attr-defined]
        assert await runner.run_due() == 1
    parked = await _job(deps, PURGE_JOB)
    assert (parked.status, parked.last_error) == ("failed", "ConnectionError('database went away')")

    await schedule_purge(deps)  # the next instance to start
    await schedule_purge(deps)  # and another one: still one purge job
    revived = await _job(deps, PURGE_JOB)
    assert (revived.status, revived.attempts, revived.id) == ("pending", 0, parked.id)
    deps.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert await JobRunner(deps, worker="test").run_due() == 1  # the real purge runs again
    assert (await _job(deps, PURGE_JOB)).status == "pending"


async def test_scheduling_does_not_revive_a_job_that_is_pending_or_running(deps: Deps) -> None:
    await schedule_purge(deps)
    claimed = await job_store.claim_due(deps.sessions, worker="w", now=NOW + timedelta(hours=2))
    assert [job.kind for job in claimed] == [PURGE_JOB]
    await schedule_purge(deps)
    job = await _job(deps, PURGE_JOB)
    assert (job.status, job.locked_by) == ("running", "w")
