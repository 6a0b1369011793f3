"""Stored Slack requests (app/slack/deferral.py) whose run does not go as asked, through the real app:
signed requests from the fake Slack are acked and stored, and a real job runner replays them.

- Slack's API away when the request is run (its auth.test answers 503 on the instance that runs it):
  the run is retried with backoff, its error kept on the job; after the last try the person is told
  through the response_url and the audit trail records it. Never marked done in silence.
- A click on a button run more than a minute after it arrived is refused, said privately and
  audited; a slash command run as late still runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from app.catalog import Catalog
from app.core.health import POSTGRES_CHECK, CheckResult, HealthReport, ServiceHealth, Verdict
from app.deps import Deps, build_deps
from app.jobs.runner import MAX_ATTEMPTS, JobRunner
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.sandbox.slack import FakeSlack, SlackCall, SlackMessage
from app.slack.app import build_slack_app
from app.slack.deferral import SLACK_REQUEST_JOB, slack_job_handlers
from app.slack.render.actions import HEALTH_TERMINATE_IDLE, health_actions
from app.slack.render.health import health_card
from app.store import audit as audit_store
from app.store.models import Incident, Job
from app.web import build_web_app
from tests.fixtures import ALERTS, OPERATOR, Clock, catalog_from, settings_for

NOW = datetime(2026, 6, 1, 14, 2, 5, tzinfo=UTC)


@dataclass
class Instance:
    """One pitcrew instance whose job runner the test drives (run_due), by the test's clock."""

    deps: Deps
    clock: Clock
    runner: JobRunner

    async def job(self) -> Job:
        async with self.deps.sessions() as session:
            latest = select(Job).where(Job.kind == SLACK_REQUEST_JOB).order_by(Job.id.desc())
            return (await session.scalars(latest)).first()

    async def audit(self) -> list[audit_store.AuditEntry]:  # type: ignore[name-defined]
        return [e async for e in audit_store.entries(self.deps.sessions)]


@asynccontextmanager
async def instance(db_url: str, slack: FakeSlack, catalog: Catalog, clock: Clock) -> AsyncIterator[Instance]:
    """Takes Slack's requests over HTTP and stores them; runs them only when the test says (run_due).
    Each instance has its own Bolt app, so its own auth.test, as a freshly started process has."""
    deps = build_deps(settings_for(db_url, slack), catalog, environ={}, clock=clock)
    slack_app = build_slack_app(deps)
    web = build_web_app(deps, slack_app)
    try:
        async with LoopbackServer(web) as server, httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            slack.connect_app(http)
            yield Instance(deps, clock, JobRunner(deps, worker="test", handlers=slack_job_handlers(slack_app)))
    finally:
        await deps.close()


def _health_catalog(url: str) -> Catalog:
    return catalog_from({"api": {"provider": "http", "health": {"url": f"{url}/health"}}})


def _responses(slack: FakeSlack) -> list[SlackCall]:
    return slack.calls_to("response_url")


async def test_a_command_run_while_slack_is_away_is_retried_then_said_and_audited(
    db_url: str, fake_slack: FakeSlack
) -> None:
    clock = Clock(NOW)
    async with LoopbackServer(SampleService().app) as sample:
        catalog = _health_catalog(sample.url)
        async with instance(db_url, fake_slack, catalog, clock):  # acks and stores, then stops
            response = await fake_slack.slash("/health", "api", user=OPERATOR, channel=ALERTS)
            assert (response.status_code, response.text) == (200, "")
        fake_slack.outage(status=503, error="service_unavailable", methods={"auth.test"})

        async with instance(db_url, fake_slack, catalog, clock) as second:
            for attempt in range(1, MAX_ATTEMPTS):
                assert await second.runner.run_due() == 1
                job = await second.job()
                assert (job.status, job.attempts) == ("pending", attempt)
                assert "not run" in (job.last_error or "") and job.run_at > clock.now  # backoff, error kept
                assert _responses(fake_slack) == []
                clock.advance(minutes=5)
            assert await second.runner.run_due() == 1  # the last try
            job = await second.job()
            assert job.status == "failed" and "after 5 tries" in (job.last_error or "")
            [told] = _responses(fake_slack)
            assert told.args["response_type"] == "ephemeral" and told.args.get("replace_original") in (False, "false")
            assert "`/health api` could not be run" in told.args["text"]
            [entry] = await second.audit()
            assert (entry.actor, entry.action, entry.target) == (OPERATOR, "command /health", ALERTS)
            assert entry.outcome.startswith("failed: not run: Slack's auth.test failed")


async def test_a_command_runs_once_slack_is_back_within_its_tries(db_url: str, fake_slack: FakeSlack) -> None:
    clock = Clock(NOW)
    async with LoopbackServer(SampleService().app) as sample:
        catalog = _health_catalog(sample.url)
        async with instance(db_url, fake_slack, catalog, clock) as first:
            await fake_slack.slash("/health", "api", user=OPERATOR, channel=ALERTS)
            fake_slack.outage(times=2, status=503, error="service_unavailable")  # Slack away for two tries
            for _ in range(2):
                assert await first.runner.run_due() == 1
                failing = await first.job()
                assert failing.status == "pending" and "not run" in (failing.last_error or "")
                clock.advance(minutes=5)
            assert await first.runner.run_due() == 1
            assert (await first.job()).status == "done"
            cards = [c for c in _responses(fake_slack) if c.args.get("response_type") == "in_channel"]
            assert len(cards) == 1 and "api" in cards[0].args["text"]


async def _card_with_a_button(
    slack: FakeSlack, node: Instance
) -> SlackMessage:
    """A `/health` card posted while the database still answered (out of connections): its button
    stays on screen after the database went away, as pitcrew offers none for a database it cannot reach."""
    await slack.slash("/health", "db", user=OPERATOR, channel=ALERTS)  # now: no button, the DSN is not set
    assert await node.runner.run_due() == 1
    assert not [m for m in slack.messages if m.blocks and any(b.get("type") == "actions" for b in m.blocks)]
    db = ServiceHealth.of("db", "postgres", [CheckResult(POSTGRES_CHECK, Verdict.DOWN, ("connections 100/100",))])
    card = health_card(HealthReport((db,), node.clock(), 5.0), actions_for=health_actions)
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            slack.api_url + "chat.postMessage", json={"channel": ALERTS, **card},
            headers={"Authorization": f"Bearer {slack.token}"},
        )
    assert answer.json()["ok"], answer.text
    [posted] = [m for m in slack.messages if m.blocks and any(b.get("type") == "actions" for b in m.blocks)]
    return posted


async def test_a_click_run_more_than_a_minute_late_is_refused_privately_and_audited(
    db_url: str, fake_slack: FakeSlack
) -> None:
    clock = Clock(NOW)
    postgres = {"dsn_env": "APP_DATABASE_URL", "timeout_s": 2}
    catalog = catalog_from({"db": {"provider": "postgres", "postgres": postgres}})
    async with instance(db_url, fake_slack, catalog, clock) as node:
        card = await _card_with_a_button(fake_slack, node)
        before = len(fake_slack.calls)
        await fake_slack.click(card, HEALTH_TERMINATE_IDLE, user=OPERATOR)  # stored at 14:02:05
        clock.advance(seconds=61)
        assert await node.runner.run_due() == 1
        assert (await node.job()).status == "done"
        after = fake_slack.calls[before:]
        assert [c.method for c in after] == ["response_url"]  # nothing else: no proposal, no lookup
        told = after[0].args
        assert told["response_type"] == "ephemeral"
        assert told["text"].startswith(":hourglass: This click arrived at <!date^")
        assert "|14:02 UTC> and could not be acted on in time; press again if it still applies." in told["text"]
        entry = (await node.audit())[-1]
        assert (entry.actor, entry.action) == (OPERATOR, f"click {HEALTH_TERMINATE_IDLE}")
        assert entry.outcome == "refused: arrived at 14:02:05 UTC, 61 s before it could run"

        # Pressed again, and run at once: acted on (here: the DSN is not set, which it says).
        before = len(fake_slack.calls)
        await fake_slack.click(card, HEALTH_TERMINATE_IDLE, user=OPERATOR)
        clock.advance(seconds=30)
        assert await node.runner.run_due() == 1
        said = " ".join(str(c.args.get("text", "")) for c in fake_slack.calls[before:])
        assert "APP_DATABASE_URL" in said and "in time" not in said


async def test_a_slash_command_run_late_still_runs(db_url: str, fake_slack: FakeSlack) -> None:
    clock = Clock(NOW)
    async with LoopbackServer(SampleService().app) as sample:
        async with instance(db_url, fake_slack, _health_catalog(sample.url), clock) as node:
            await fake_slack.slash("/health", "api", user=OPERATOR, channel=ALERTS)
            clock.advance(minutes=5)
            assert await node.runner.run_due() == 1
            [card] = _responses(fake_slack)
            assert card.args["response_type"] == "in_channel" and "api" in card.args["text"]




async def test_a_command_that_may_have_changed_something_is_not_run_twice(db_url: str, fake_slack: FakeSlack) -> None:
    """/incident declare stores the incident, then posts its message: when Slack fails the post, a
    second run would declare a second incident. It is said at once instead, and audited."""
    clock = Clock(NOW)
    async with instance(db_url, fake_slack, catalog_from({}), clock) as node:
        await fake_slack.slash("/incident", "declare SEV2 checkout is slow", user=OPERATOR, channel=ALERTS)
        fake_slack.outage(status=500, error="internal_error", methods={"chat.postMessage"})
        assert await node.runner.run_due() == 1
        job = await node.job()
        assert (job.status, job.attempts) == ("failed", 1)
        [told] = _responses(fake_slack)
        assert told.args["response_type"] == "ephemeral"
        said = told.args["text"]
        assert "`/incident declare SEV2 checkout is slow` could not be run: Slack answered HTTP 500" in said
        assert "Part of it may have been done before it failed: look before doing it again." in said
        fake_slack.recover()
        clock.advance(minutes=10)
        assert await node.runner.run_due() == 0  # not tried again
        async with node.deps.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Incident)) == 1
        entry = (await node.audit())[-1]
        assert (entry.actor, entry.action) == (OPERATOR, "command /incident")
        assert entry.outcome.startswith("failed: Slack answered HTTP 500 internal_error")
