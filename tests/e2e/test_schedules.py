"""Scheduled checks through the real app: each schedule's next occurrence is a job from the start,
the check runs at its local due time on the sandbox providers, and its result is posted to the
alerts channel when something is wrong (an old backup, a certificate near its end, errors in the
logs), or every time with `post: always`; two instances post once; a restart loses no occurrence,
and one missed past its grace is skipped, not posted late."""

from __future__ import annotations

import asyncio
import ssl
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from app.catalog import Catalog, parse_catalog
from app.flows.schedules import SCHEDULE_JOB, run_occurrence
from app.jobs.runner import JobRunner
from app.sandbox.service import SampleService
from app.sandbox.slack import FakeSlack, SlackMessage
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import Job, ReportRun
from tests.e2e.test_capacity import DB_DSN, with_database
from tests.fixtures import ALERTS, OPERATOR, Sandbox, pitcrew_with_jobs, running_pitcrew, skip_without_postgres
from tests.providers.test_http_probe import _make_cert, serve_tls

# The sandbox's clock starts on Thursday 2025-11-20 at 12:00 UTC; Paris is on CET (UTC+1) in November.
FRIDAY_8_PARIS = datetime(2025, 11, 21, 7, 0, tzinfo=UTC)
SATURDAY_8_PARIS = FRIDAY_8_PARIS + timedelta(days=1)
BACKUP_DAILY = {"name": "backup-daily", "check": "backup", "service": "db", "every": "day at 08:00",
                "timezone": "Europe/Paris"}


def catalog(sandbox: Sandbox, *schedules: dict[str, Any], extra: dict[str, Any] | None = None) -> Catalog:
    services: dict[str, Any] = {
        "api": sandbox.railway_api(),
        "db": {"provider": "postgres", "postgres": {"dsn_env": "DATABASE_URL"},
               "railway": sandbox.world.ref("postgres").model_dump()},
        **(extra or {}),
    }
    document = {"slack": {"alerts_channel": ALERTS, "operators": [OPERATOR]}, "services": services,
                "schedules": list(schedules)}
    return parse_catalog(yaml.safe_dump(document))


def pitcrew(db_url: str, fake_slack: FakeSlack, sandbox: Sandbox, *schedules: dict[str, Any], **more: Any):
    return pitcrew_with_jobs(
        db_url, catalog(sandbox, *schedules, **more), fake_slack, clock=sandbox.clock, env={"DATABASE_URL": DB_DSN},
        **sandbox.settings(),
    )


def posts(slack: FakeSlack) -> list[SlackMessage]:
    return [m for m in slack.messages if m.channel == ALERTS and m.text.startswith("⏰")]


async def schedule_jobs(deps: Any) -> list[Job]:
    async with transaction(deps.sessions) as session:
        return list((await session.scalars(select(Job).where(Job.kind == SCHEDULE_JOB).order_by(Job.run_at))).all())


async def test_an_old_backup_is_posted_at_the_local_due_time_with_what_to_do(db_url, fake_slack, sandbox):
    with_database(sandbox)  # its newest backup is 30 hours old at noon, 49 hours at the due time
    async with pitcrew(db_url, fake_slack, sandbox, BACKUP_DAILY) as crew:
        [job] = await schedule_jobs(crew.app.deps)
        assert job.run_at == FRIDAY_8_PARIS and job.status == "pending"
        assert job.dedupe_key == "schedule:backup-daily:2025-11-21T08:00+01:00"

        crew.clock.now = FRIDAY_8_PARIS - timedelta(minutes=1)
        await crew.run_jobs()
        assert posts(fake_slack) == []

        crew.clock.now = FRIDAY_8_PARIS + timedelta(seconds=5)
        await crew.run_jobs()
        [post] = posts(fake_slack)
        assert post.text.startswith("⏰ backup-daily: backup age: 1 problem")
        assert "problem: db: no backup of db in the last 24 h (newest: 2 d ago)" in post.text
        shown = str(post.blocks)
        assert "due Fri 2025-11-21 08:00 CET" in shown and "expected: a backup newer than 24 h" in shown
        assert "`@pitcrew backup db`" in shown  # what to do

        done, following = await schedule_jobs(crew.app.deps)
        assert done.status == "done"
        assert following.run_at == SATURDAY_8_PARIS and following.status == "pending"
        entries = [e async for e in audit_store.entries(crew.app.deps.sessions)]
        assert [(e.action, e.target, e.outcome) for e in entries if e.action == "schedule.run"] == [
            ("schedule.run", "schedule:backup-daily:2025-11-21T08:00+01:00", "posted")
        ]


async def test_problems_only_posts_nothing_when_the_backup_is_fresh_and_always_posts_it(db_url, fake_slack, sandbox):
    with_database(sandbox)
    volume = sandbox.world.service("postgres").volumes[0]
    always = {**BACKUP_DAILY, "name": "backup-always", "post": "always"}
    async with pitcrew(db_url, fake_slack, sandbox, BACKUP_DAILY, always) as crew:
        sandbox.world.backup(volume.id, "fresh", at=FRIDAY_8_PARIS - timedelta(hours=2))
        crew.clock.now = FRIDAY_8_PARIS + timedelta(seconds=5)
        await crew.run_jobs()
        [post] = posts(fake_slack)  # the `always` one only
        assert post.text.startswith("⏰ backup-always: backup age: all fine")
        assert "ok: db: newest backup of db 2 h ago, within 24 h" in post.text
        async with transaction(crew.app.deps.sessions) as session:
            runs = {r.key: r.message_ts for r in (await session.scalars(select(ReportRun))).all()}
        assert runs == {  # both ran; the quiet one's claim stays, so a second run of its job does nothing
            "schedule:backup-daily:2025-11-21T08:00+01:00": None,
            "schedule:backup-always:2025-11-21T08:00+01:00": post.ts,
        }

        # The next morning the backup is 26 h old: now the problems-only schedule speaks too.
        crew.clock.now = SATURDAY_8_PARIS + timedelta(seconds=5)
        await crew.run_jobs()
        latest = [p.text.split(":")[0] for p in posts(fake_slack)[1:]]
        assert sorted(latest) == ["⏰ backup-always", "⏰ backup-daily"]
        assert all(": 1 problem" in p.text for p in posts(fake_slack)[1:])


async def test_a_schedule_due_now_posts_once_with_two_instances(db_url, fake_slack, sandbox):
    if "postgres" not in db_url:
        skip_without_postgres()
        pytest.skip("two instances racing for one occurrence: PostgreSQL")
    with_database(sandbox)
    config = catalog(sandbox, BACKUP_DAILY)
    async with AsyncExitStack() as stack:
        apps = [
            await stack.enter_async_context(
                running_pitcrew(db_url, config, fake_slack, clock=sandbox.clock, env={"DATABASE_URL": DB_DSN},
                                **sandbox.settings())
            )
            for _ in range(2)
        ]
        [job] = await schedule_jobs(apps[0].deps)  # both ensured it: one job
        assert job.run_at == FRIDAY_8_PARIS

        sandbox.clock.now = FRIDAY_8_PARIS + timedelta(seconds=5)
        runners = [JobRunner(app.deps, worker=f"instance-{n}") for n, app in enumerate(apps)]
        await asyncio.gather(*(r.run_due() for r in runners))
        for app in apps:
            await app.jobs_settled()
        assert len(posts(fake_slack)) == 1

        # A second run of the occurrence (a lease that ran out) finds it claimed and posts nothing.
        outcome = await run_occurrence(apps[1].deps, "backup-daily", FRIDAY_8_PARIS, _never_publish)
        assert (outcome.outcome, outcome.key) == ("taken", "schedule:backup-daily:2025-11-21T08:00+01:00")
        await asyncio.gather(*(r.run_due() for r in runners))
        assert len(posts(fake_slack)) == 1
        jobs = await schedule_jobs(apps[0].deps)
        assert [(j.status, j.run_at) for j in jobs] == [("done", FRIDAY_8_PARIS), ("pending", SATURDAY_8_PARIS)]


async def _never_publish(run: Any, channel: str) -> str | None:
    raise AssertionError("the occurrence was claimed already: nothing may be published")


async def test_a_restart_keeps_the_next_occurrence_and_a_missed_one_is_skipped(db_url, fake_slack, sandbox):
    with_database(sandbox)
    async with pitcrew(db_url, fake_slack, sandbox, BACKUP_DAILY) as crew:
        [job] = await schedule_jobs(crew.app.deps)
    sandbox.clock.now = FRIDAY_8_PARIS - timedelta(hours=1)  # down for a while, up again before the due time
    async with pitcrew(db_url, fake_slack, sandbox, BACKUP_DAILY) as crew:
        [same] = await schedule_jobs(crew.app.deps)
        assert same.id == job.id and same.run_at == FRIDAY_8_PARIS
        crew.clock.now = FRIDAY_8_PARIS + timedelta(minutes=2)
        await crew.run_jobs()
        assert len(posts(fake_slack)) == 1

    # Every instance down from Friday evening to Saturday 15:00 (Paris): Saturday's 08:00 is 7 h past.
    sandbox.clock.now = SATURDAY_8_PARIS + timedelta(hours=7)
    async with pitcrew(db_url, fake_slack, sandbox, BACKUP_DAILY) as crew:
        await crew.run_jobs()
        assert len(posts(fake_slack)) == 1  # skipped, not posted in the afternoon
        jobs = await schedule_jobs(crew.app.deps)
        assert [(j.status, j.run_at) for j in jobs] == [
            ("done", FRIDAY_8_PARIS), ("done", SATURDAY_8_PARIS), ("pending", SATURDAY_8_PARIS + timedelta(days=1)),
        ]


async def test_a_changed_calendar_leaves_the_old_occurrence_quiet_and_runs_the_new_one(db_url, fake_slack, sandbox):
    with_database(sandbox)
    async with pitcrew(db_url, fake_slack, sandbox, BACKUP_DAILY):
        pass
    moved = {**BACKUP_DAILY, "every": "day at 07:30"}
    async with pitcrew(db_url, fake_slack, sandbox, moved) as crew:
        new, old = await schedule_jobs(crew.app.deps)  # by due time
        assert new.run_at == FRIDAY_8_PARIS - timedelta(minutes=30) and old.run_at == FRIDAY_8_PARIS
        crew.clock.now = FRIDAY_8_PARIS + timedelta(minutes=1)
        await crew.run_jobs()
        [post] = posts(fake_slack)
        assert "due Fri 2025-11-21 07:30 CET" in str(post.blocks)


async def test_a_certificate_near_its_end_is_posted(db_url, fake_slack, sandbox, tmp_path: Path):
    with_database(sandbox)
    certfile, keyfile = _make_cert(tmp_path, valid_from_days=-1, valid_until_days=10.5)
    async with serve_tls(SampleService(), certfile, keyfile) as base:
        with_credentials = base.replace("https://", "https://probe:s3cret-pw@")  # never shown
        site = {"provider": "http", "health": {"url": f"{with_credentials}/health", "cert_min_days": 14}}
        tls = {"name": "tls-morning", "check": "tls", "service": "site", "every": "day at 08:00",
               "timezone": "Europe/Paris"}
        roomy = {**tls, "name": "tls-roomy", "days": 7}  # its own threshold: 10 days left is fine
        async with pitcrew(db_url, fake_slack, sandbox, tls, roomy, extra={"site": site}) as crew:
            # Trust the throwaway certificate as production trusts a real one (the probe reads the
            # days left only on a verified connection).
            await crew.app.deps.probes.aclose()
            crew.app.deps.probes = httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(certfile)))
            crew.clock.now = FRIDAY_8_PARIS + timedelta(seconds=5)
            await crew.run_jobs()
    [post] = posts(fake_slack)
    assert post.text.startswith("⏰ tls-morning: TLS certificates: 1 problem")
    host = base.removeprefix("https://")
    assert f"{host}: TLS certificate expires in 10 days (under 14)" in post.text
    assert "Renew the certificate" in str(post.blocks)
    assert "s3cret-pw" not in fake_slack.all_text()


async def test_the_weekly_error_review_reads_the_week_and_always_posts(db_url, fake_slack, sandbox):
    review = {"name": "error-review", "check": "errors", "service": "api", "every": "friday at 08:00",
              "timezone": "Europe/Paris", "post": "always"}
    with_database(sandbox)
    world = sandbox.world
    for days in (3, 2, 2, 1):
        world.log("api", "payment provider timeout", level="error", at=FRIDAY_8_PARIS - timedelta(days=days))
    for _ in range(6):  # the most frequent of all, but before the week under review
        world.log("api", "too old to count", level="error", at=FRIDAY_8_PARIS - timedelta(days=8))
    world.log("api", "all good", level="info", at=FRIDAY_8_PARIS - timedelta(days=1))
    async with pitcrew(db_url, fake_slack, sandbox, review) as crew:
        crew.clock.now = FRIDAY_8_PARIS + timedelta(seconds=5)
        await crew.run_jobs()
    [post] = posts(fake_slack)
    assert post.text.startswith("⏰ error-review: error review: 1 problem")
    assert "error lines in the last 7 days; most frequent (4×): payment provider timeout" in post.text
    assert "too old to count" not in str(post.blocks)
    assert "expected: at most 0 error lines over 7 days" in str(post.blocks)


async def test_a_metrics_problem_is_posted_with_the_chart_of_the_last_hour_in_its_thread(db_url, fake_slack, sandbox):
    with_database(sandbox)
    sandbox.world.set_metrics("api", cpu=6.5, cpu_limit=8)  # 81% of its vCPU limit, over the seeds' 70%
    hourly = {"name": "api-metrics", "check": "metrics", "service": "api", "every": "hour"}
    async with pitcrew(db_url, fake_slack, sandbox, hourly) as crew:
        [job] = await schedule_jobs(crew.app.deps)
        assert job.run_at == datetime(2025, 11, 20, 13, 0, tzinfo=UTC)
        crew.clock.now = job.run_at + timedelta(seconds=5)
        await crew.run_jobs()
    [post] = posts(fake_slack)
    assert post.text.startswith("⏰ api-metrics: metrics: 1 problem")
    assert "problem: api: degraded: CPU 81% of 8 vCPU" in post.text
    [upload] = fake_slack.calls_to("files.completeUploadExternal")
    assert upload.args["thread_ts"] == post.ts and upload.args["channel_id"] == ALERTS


async def test_slack_away_at_the_due_time_gives_the_claim_back_and_the_post_comes_a_little_later(
    db_url, fake_slack, sandbox
):
    with_database(sandbox)
    async with pitcrew(db_url, fake_slack, sandbox, BACKUP_DAILY) as crew:
        fake_slack.outage(methods={"chat.postMessage"})
        crew.clock.now = FRIDAY_8_PARIS + timedelta(seconds=5)
        await crew.run_jobs()
        assert posts(fake_slack) == []
        async with transaction(crew.app.deps.sessions) as session:
            assert (await session.scalars(select(ReportRun))).all() == []  # given back
        retry, following = await schedule_jobs(crew.app.deps)
        assert retry.status == "pending" and retry.run_at == crew.clock.now + timedelta(minutes=2)
        assert following.run_at == SATURDAY_8_PARIS  # ensured before the check ran

        fake_slack.recover()
        crew.clock.advance(minutes=2)
        await crew.run_jobs()
        assert len(posts(fake_slack)) == 1
