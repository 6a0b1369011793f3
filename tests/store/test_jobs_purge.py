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
from tests.fixtures import Clock, catalog_from

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


async def test_after_retention_days_failed_jobs_go_and_webhook_bodies_are_emptied(db_url: str) -> None:
    """`retention_days: 10`: failed jobs (stored Slack requests with them) and raw bodies older than ten
    days go; the alert rows stay, so incidents keep their alert counts."""
    from app.catalog import parse_catalog
    from app.store.models import ReceivedAlert

    clock = Clock(NOW)
    settings = Settings(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s")
    catalog = parse_catalog("slack: {alerts_channel: C0ALERTS}\nretention_days: 10\n")
    deps = build_deps(settings, catalog, clock=clock)
    expired, kept, recent = NOW - timedelta(days=10, minutes=1), NOW - timedelta(days=9), NOW - timedelta(days=6)
    try:
        async with transaction(deps.sessions) as session:
            session.add_all([
                Job(kind="slack.request", payload={"n": 1}, run_at=expired, created_at=expired, status="failed"),
                Job(kind="slack.request", payload={"n": 2}, run_at=kept, created_at=kept, status="failed"),
                Job(kind="slack.request", payload={"n": 3}, run_at=recent, created_at=recent, status="done"),
                ReceivedAlert(source="generic", received_at=expired, body='{"title": "old"}', fingerprint="a"),
                ReceivedAlert(source="generic", received_at=kept, body='{"title": "new"}', fingerprint="b"),
            ])
        await schedule_purge(deps)
        clock.advance(seconds=EVERY.total_seconds())
        assert await JobRunner(deps, worker="test").run_due() == 1

        async with deps.sessions() as session:
            jobs = (await session.scalars(select(Job).where(Job.kind != PURGE_JOB))).all()
            alerts = (await session.scalars(select(ReceivedAlert).order_by(ReceivedAlert.id))).all()
        assert sorted(job.payload["n"] for job in jobs) == [2, 3]
        assert [(a.fingerprint, a.body) for a in alerts] == [("a", ""), ("b", '{"title": "new"}')]
    finally:
        await deps.close()
