"""Requests as Slack sends them, to the app served over HTTP: signatures, /healthz, audit of commands."""

from __future__ import annotations

import time

from app.core.audit import verify
from app.sandbox import slack_payloads as payloads
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.store import audit as audit_store
from tests.fixtures import ALERTS, catalog_from, running_pitcrew


def _health_catalog(url: str):
    return catalog_from({"api": {"provider": "http", "health": {"url": f"{url}/health", "timeout_s": 2}}})


async def test_unsigned_and_stale_requests_are_refused(db_url, fake_slack):
    async with running_pitcrew(db_url, _health_catalog("http://127.0.0.1:9"), fake_slack) as pitcrew:
        body = payloads.slash_command("/health", "", user_id="U1", channel_id=ALERTS, response_url="http://x/")
        unsigned = await pitcrew.http.post("/slack/events", content=body, headers={"content-type": payloads.FORM})
        assert unsigned.status_code == 401
        wrong = payloads.signed_headers(body, "not-the-secret", content_type=payloads.FORM)
        assert (await pitcrew.http.post("/slack/events", content=body, headers=wrong)).status_code == 401
        stale = payloads.signed_headers(
            body, fake_slack.signing_secret, timestamp=int(time.time()) - 600, content_type=payloads.FORM
        )
        assert (await pitcrew.http.post("/slack/events", content=body, headers=stale)).status_code == 401
    assert fake_slack.calls_to("response_url") == []


async def test_health_command_posts_a_card_and_is_audited(db_url, fake_slack):
    service = SampleService()
    async with (
        LoopbackServer(service.app) as sample,
        running_pitcrew(db_url, _health_catalog(sample.url), fake_slack) as pitcrew,
    ):
        response = await pitcrew.command("/health", "")
        assert response.status_code == 200
        [posted] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        assert posted.args["response_type"] == "in_channel"
        assert "api" in posted.args["text"]
        assert posted.args["blocks"]
        await _wait_audited(pitcrew, "command /health")
        entries = [e async for e in audit_store.entries(pitcrew.deps.sessions)]
        assert verify(entries).ok
        [entry] = [e for e in entries if e.action == "command /health"]
        assert entry.actor == "U0OPS1" and entry.target == ALERTS


async def test_health_unknown_service_answers_privately_with_known_names(db_url, fake_slack):
    async with running_pitcrew(db_url, _health_catalog("http://127.0.0.1:9"), fake_slack) as pitcrew:
        await pitcrew.command("/health", "nosuchservice")
        [answer] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        assert answer.args["response_type"] == "ephemeral"
        assert "nosuchservice" in answer.args["text"]
        assert "api" in answer.args["text"]
        assert "/health" in answer.args["text"]


async def test_healthz_reports_the_database(db_url, fake_slack):
    async with running_pitcrew(db_url, _health_catalog("http://127.0.0.1:9"), fake_slack) as pitcrew:
        response = await pitcrew.http.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "db": "ok"}


async def test_healthz_is_503_with_a_reason_when_the_database_is_gone(fake_slack, tmp_path):
    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"
    async with running_pitcrew(unreachable, _health_catalog("http://127.0.0.1:9"), fake_slack) as pitcrew:
        response = await pitcrew.http.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "error"
        assert response.json()["db"]


async def test_mention_health_replies_in_the_thread(db_url, fake_slack):
    service = SampleService()
    async with (
        LoopbackServer(service.app) as sample,
        running_pitcrew(db_url, _health_catalog(sample.url), fake_slack) as pitcrew,
    ):
        response = await fake_slack.mention("health api", user="U0OPS1", channel=ALERTS, thread_ts="1700000000.000001")
        assert response.status_code == 200
        [reply] = await fake_slack.wait_for(lambda c: c.method == "chat.postMessage")
        assert reply.args["thread_ts"] == "1700000000.000001"
        assert "api" in reply.args["text"]
        await _wait_audited(pitcrew, "mention health")


async def _wait_audited(pitcrew, action: str) -> None:
    import asyncio

    async with asyncio.timeout(10):
        while True:
            found = [e async for e in audit_store.entries(pitcrew.deps.sessions) if e.action == action]
            if found:
                return
            await asyncio.sleep(0.02)


async def test_web_api_429_is_retried_after_retry_after(db_url, fake_slack):
    service = SampleService()
    async with LoopbackServer(service.app) as sample, running_pitcrew(
        db_url, _health_catalog(sample.url), fake_slack
    ) as pitcrew:
        await pitcrew.command("/health", "")  # warms up auth.test, which is not what we rate-limit
        await fake_slack.wait_for(lambda c: c.method == "response_url")
        fake_slack.rate_limit(times=2, retry_after=0)
        await fake_slack.mention("health", user="U0OPS1", channel=ALERTS, thread_ts="1700000000.000001")
        posts = await fake_slack.wait_for(lambda c: c.method == "chat.postMessage", count=3)
        assert len(fake_slack.messages_in_thread("1700000000.000001")) == 1
        assert all(call.args["thread_ts"] == "1700000000.000001" for call in posts)
