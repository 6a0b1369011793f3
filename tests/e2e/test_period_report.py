"""The managers' view of a period, through the real app: `/incident report [7d|30d]` posts the
figures and uploads the chart (a PNG) through Slack's external upload, bad periods get the usage,
and the weekly report posts once a week at its local hour, whichever of two instances runs it."""

from __future__ import annotations

import asyncio
import io
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from app.catalog import ReportsConfig
from app.flows.period_report import post_weekly
from app.jobs.runner import JobRunner
from app.sandbox.slack import FakeSlack
from app.slack.report_jobs import WEEKLY_JOB
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import Job, ReportRun
from tests.e2e.incident_support import generic_body, incident_catalog, pitcrew_for_incidents, wait_until
from tests.fixtures import ALERTS, SECRET, UPDATES, Clock, running_pitcrew, skip_without_postgres

PNG = b"\x89PNG\r\n\x1a\n"


def responses(slack: FakeSlack) -> list[Any]:
    return slack.calls_to("response_url")


async def command(pitcrew: Any, text: str, *, channel: str = ALERTS) -> dict[str, Any]:
    before = len(responses(pitcrew.slack))
    response = await pitcrew.app.command("/incident", text, channel=channel)
    assert response.status_code == 200
    await wait_until(lambda: len(responses(pitcrew.slack)) > before)
    await pitcrew.run_jobs()
    return responses(pitcrew.slack)[before].args


async def report_command(pitcrew: Any, text: str, *, channel: str = ALERTS) -> None:
    """`/incident report ...` answers by posting where it was asked: wait for its job to be done."""
    response = await pitcrew.app.command("/incident", text, channel=channel)
    assert response.status_code == 200
    await wait_until(lambda: bool(reports(pitcrew.slack, channel)))
    await pitcrew.run_jobs()


def reports(slack: FakeSlack, channel: str) -> list[Any]:
    return [
        c for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and "incident report" in str(c.args.get("text", "")).lower()
    ]


async def _three_incidents(pitcrew: Any) -> None:
    """INC-1 SEV1 acked after 4 min, resolved after 40; INC-2 SEV2 acked after 10, resolved after
    2 h; INC-3 an alert on api, acked after 1 min, still open. MTTA 4 min median, 10 worst; MTTR
    1 h 20 min median (two resolved: the mean of 40 and 120), 2 h worst."""
    clock = pitcrew.clock
    await command(pitcrew, "declare SEV1 Checkout down")
    clock.advance(minutes=4)
    await command(pitcrew, "1 ack")
    clock.advance(minutes=36)
    await command(pitcrew, "1 resolve Rolled back")
    clock.advance(minutes=10)
    await command(pitcrew, "declare SEV2 Search slow")
    clock.advance(minutes=10)
    await command(pitcrew, "2 ack")
    clock.advance(minutes=110)
    await command(pitcrew, "2 resolve Reindexed")
    clock.advance(minutes=10)
    response = await pitcrew.webhook("generic", generic_body(title="API 5xx", service="api", severity="SEV3"))
    assert response.status_code in (200, 202)
    await pitcrew.run_jobs()
    clock.advance(minutes=1)
    await command(pitcrew, "3 ack")
    clock.advance(minutes=59)


async def test_report_posts_the_figures_and_uploads_the_chart_as_a_png(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await _three_incidents(pitcrew)
        await report_command(pitcrew, "report")
        [posted] = reports(fake_slack, ALERTS)
        text = posted.args["text"]
        assert "Incident report: last 7 days" in text
        assert "*3 incidents* (1 still open)" in text
        assert "By severity: SEV1 1 · SEV2 1 · SEV3 1 · SEV4 0" in text
        assert "• api: 1 (SEV3 1)" in text and "• (no service): 2 (SEV1 1, SEV2 1)" in text
        assert "Time to acknowledge: median 4 min, worst 10 min (3 acknowledged)" in text
        assert "Time to resolve: median 1 h 20 min, worst 2 h (2 resolved)" in text
        assert "Silenced: none · In maintenance: none" in text

        # The chart: Slack's three steps, the bytes a PNG an image library reads, in the report's thread.
        [asked] = fake_slack.calls_to("files.getUploadURLExternal")
        assert asked.args["filename"].endswith(".png") and int(asked.args["length"]) > 1000
        assert asked.args["alt_txt"].startswith("Bar chart of incidents per day over the last 7 days")
        [completed] = fake_slack.calls_to("files.completeUploadExternal")
        [upload] = fake_slack.uploads.values()
        assert upload["content"].startswith(PNG) and len(upload["content"]) == int(asked.args["length"])
        image = Image.open(io.BytesIO(upload["content"]))
        image.verify()
        assert image.format == "PNG" and image.size == (800, 500)
        report_message = next(m for m in fake_slack.messages if m.channel == ALERTS and m.text == text)
        assert completed.args["channel_id"] == ALERTS and completed.args["thread_ts"] == report_message.ts


async def test_a_30_day_report_asked_where_pitcrew_keeps_quiet_is_private_and_has_no_file(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await _three_incidents(pitcrew)
        pitcrew.clock.advance(days=10)  # out of 7 days, within 30
        answer = await command(pitcrew, "report 30d", channel="C0ELSEWHERE")
        assert answer.get("response_type") == "ephemeral"
        assert "Incident report: last 30 days" in answer["text"] and "*3 incidents*" in answer["text"]
        assert reports(fake_slack, "C0ELSEWHERE") == [] and fake_slack.calls_to("files.getUploadURLExternal") == []


@pytest.mark.parametrize("words", ["report 9x", "report 14d", "report 7d 30d", "report -7d"])
async def test_a_bad_period_gets_the_usage_privately_and_posts_nothing(db_url, fake_slack, words):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        answer = await command(pitcrew, words)
        assert answer.get("response_type") == "ephemeral"
        assert "is not a period I report on: use `7d` or `30d`" in answer["text"]
        assert "/incident report [7d|30d]" in answer["text"]
        assert reports(fake_slack, ALERTS) == [] and fake_slack.uploads == {}


# --- the weekly post -------------------------------------------------------------------------------

SUNDAY = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MONDAY_9_PARIS = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # CET is UTC+1 in March, before the change


def weekly_catalog() -> Any:
    catalog = incident_catalog()
    reports_config = ReportsConfig.model_validate(
        {"weekly": {"day": "Monday", "hour": 9, "timezone": "Europe/Paris"}}
    )
    return catalog.model_copy(update={"reports": reports_config})


async def test_the_weekly_report_posts_once_with_two_instances_at_the_local_hour(db_url, fake_slack):
    if "postgres" not in db_url:
        skip_without_postgres()
        pytest.skip("two instances racing for the week's claim: PostgreSQL")
    clock = Clock(SUNDAY)
    catalog = weekly_catalog()
    async with AsyncExitStack() as stack:
        apps = [
            await stack.enter_async_context(
                running_pitcrew(db_url, catalog, fake_slack, clock=clock, WEBHOOK_SECRET=SECRET)
            )
            for _ in range(2)
        ]
        async with transaction(apps[0].deps.sessions) as session:
            [job] = (await session.scalars(select(Job).where(Job.kind == WEEKLY_JOB))).all()
        assert job.run_at == MONDAY_9_PARIS and job.dedupe_key == WEEKLY_JOB  # one job for both

        runners = [JobRunner(app.deps, worker=f"instance-{n}") for n, app in enumerate(apps)]
        clock.now = MONDAY_9_PARIS - timedelta(minutes=1)
        await asyncio.gather(*(r.run_due() for r in runners))  # the hourly purge, not the report
        assert reports(fake_slack, UPDATES) == [] and fake_slack.uploads == {}

        clock.now = MONDAY_9_PARIS + timedelta(seconds=5)
        await asyncio.gather(*(r.run_due() for r in runners))
        for app in apps:
            await app.jobs_settled()
        [posted] = reports(fake_slack, UPDATES)
        assert posted.args["text"].startswith("Weekly incident report: last 7 days")
        assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1

        # The job ran on one of them; the other instance's own run of the flow finds the week taken.
        outcome = await post_weekly(apps[1].deps, _never_publish)
        assert (outcome.outcome, outcome.key) == ("taken", "weekly:2026-03-02")
        async with transaction(apps[0].deps.sessions) as session:
            [run] = (await session.scalars(select(ReportRun))).all()
            [job] = (await session.scalars(select(Job).where(Job.kind == WEEKLY_JOB))).all()
        assert run.key == "weekly:2026-03-02" and run.channel == UPDATES and run.message_ts
        assert job.status == "pending" and job.run_at == MONDAY_9_PARIS + timedelta(days=7)
        assert len(reports(fake_slack, UPDATES)) == 1
        entries = [e async for e in audit_store.entries(apps[0].deps.sessions)]
        assert [(e.action, e.target, e.outcome) for e in entries if e.action == "report.weekly"] == [
            ("report.weekly", "weekly:2026-03-02", "posted")
        ]


async def _never_publish(report: Any, channel: str) -> str | None:
    raise AssertionError("the week was claimed already: nothing may be published")


async def test_no_weekly_job_without_the_key(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        async with transaction(pitcrew.app.deps.sessions) as session:
            jobs = (await session.scalars(select(Job).where(Job.kind == WEEKLY_JOB))).all()
        assert jobs == []
