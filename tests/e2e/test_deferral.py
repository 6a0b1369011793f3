"""Commands and clicks whose work is handed over to the job runners: stored before Slack gets its
ack, run by whichever instance is free, and not lost when the one that acked stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import select

from app.core.audit import verify
from app.deps import Deps, build_deps
from app.in_flight import InFlight
from app.sandbox import slack_payloads as payloads
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.sandbox.slack import FakeSlack
from app.slack.app import build_slack_app
from app.slack.commands.incident import may_open_form
from app.slack.deferral import SLACK_REQUEST_JOB
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import Job
from app.web import build_web_app
from tests.fixtures import ALERTS, OPERATOR, catalog_from, settings_for, signed


@asynccontextmanager
async def instance(db_url: str, slack: FakeSlack, service_url: str, *, jobs: bool) -> AsyncIterator[Deps]:
    """One pitcrew instance taking Slack's requests; with `jobs`, its lifespan (and job runner) runs."""
    catalog = catalog_from({"api": {"provider": "http", "health": {"url": f"{service_url}/health"}}})
    deps = build_deps(settings_for(db_url, slack), catalog, environ={})
    web = build_web_app(deps, build_slack_app(deps))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://pitcrew") as client:
            slack.connect_app(client)
            if jobs:
                async with web.router.lifespan_context(web):
                    yield deps
            else:
                yield deps
    finally:
        await deps.close()


async def _stored_requests(deps: Deps) -> list[dict[str, Any]]:
    async with transaction(deps.sessions) as session:
        jobs = (await session.scalars(select(Job).where(Job.kind == SLACK_REQUEST_JOB).order_by(Job.id))).all()
        return [{"status": job.status, **job.payload["body"]} for job in jobs]


async def test_an_acked_command_is_stored_and_another_instance_runs_it(db_url: str, fake_slack: FakeSlack) -> None:
    async with LoopbackServer(SampleService().app) as sample:
        # The first instance acks and stops before its job runner ever ran (it had none).
        async with instance(db_url, fake_slack, sample.url, jobs=False) as first:
            response = await fake_slack.slash("/health", "api", user=OPERATOR, channel=ALERTS)
            assert (response.status_code, response.text) == (200, "")
            [stored] = await _stored_requests(first)
            assert (stored["status"], stored["command"], stored["text"]) == ("pending", "/health", "api")
            assert "token" not in stored  # Slack's verification token is not kept with the request
        assert fake_slack.calls_to("response_url") == []

        async with instance(db_url, fake_slack, sample.url, jobs=True) as second:
            [card] = await fake_slack.wait_for(lambda c: c.method == "response_url")
            assert card.args["response_type"] == "in_channel" and "api" in card.args["text"]
            await _until_done(second)
            entries = [e async for e in audit_store.entries(second.sessions)]
        assert [e.action for e in entries] == ["command /health"] and verify(entries).ok


async def test_a_command_that_opens_a_form_runs_while_slack_waits(db_url: str, fake_slack: FakeSlack) -> None:
    async with LoopbackServer(SampleService().app) as sample:
        async with instance(db_url, fake_slack, sample.url, jobs=False) as deps:
            await fake_slack.slash("/incident", "declare", user=OPERATOR, channel=ALERTS)
            await fake_slack.wait_for(lambda c: c.method == "views.open")  # its trigger_id lasts 3 s
            assert await _stored_requests(deps) == []
            await fake_slack.slash("/incident", "list", user=OPERATOR, channel=ALERTS)
            assert [s["text"] for s in await _stored_requests(deps)] == ["list"]


async def test_a_deferred_command_that_fails_verification_is_refused_and_not_stored(
    db_url: str, fake_slack: FakeSlack
) -> None:
    async with instance(db_url, fake_slack, "http://127.0.0.1:9", jobs=False) as deps:
        body = payloads.slash_command("/health", "", user_id=OPERATOR, channel_id=ALERTS, response_url="http://x/")
        client = fake_slack._app_client
        assert client is not None
        for headers in (
            {"content-type": payloads.FORM},
            payloads.signed_headers(body, "not-the-secret", content_type=payloads.FORM),
            payloads.signed_headers(
                body, fake_slack.signing_secret, timestamp=int(time.time()) - 600, content_type=payloads.FORM
            ),
        ):
            assert (await client.post("/slack/events", content=body, headers=headers)).status_code == 401
        assert await _stored_requests(deps) == []


def test_which_incident_commands_may_open_a_form() -> None:
    def body(text: str) -> dict[str, str]:
        return {"command": "/incident", "text": text}

    assert may_open_form(body("declare")) and may_open_form(body("declare SEV2"))
    assert may_open_form(body("42 resolve"))
    assert not may_open_form(body("declare SEV2 API slow"))
    assert not may_open_form(body("42 resolve restarted the worker"))
    assert not may_open_form(body("list")) and not may_open_form(body("what is this"))


async def test_in_flight_is_quiet_only_when_no_request_is_being_answered() -> None:
    release = asyncio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    in_flight = InFlight()
    app = in_flight.counting(slow_app)
    await asyncio.wait_for(in_flight.quiet(), 1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        requests = [asyncio.create_task(client.get("/")) for _ in range(2)]
        await asyncio.sleep(0.05)
        quiet = asyncio.create_task(in_flight.quiet())
        await asyncio.sleep(0.05)
        assert not quiet.done()
        release.set()
        await asyncio.gather(*requests)
        await asyncio.wait_for(quiet, 1)


async def test_in_flight_does_not_count_a_request_waiting_for_its_body() -> None:
    release = asyncio.Event()

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"first half, "
        await release.wait()
        yield b"second half"

    in_flight = InFlight()
    app = in_flight.counting(reading_app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        request = asyncio.create_task(client.post("/", content=slow_body()))
        await asyncio.sleep(0.05)
        await asyncio.wait_for(in_flight.quiet(), 1)  # the client is slow, not the app
        release.set()
        assert (await request).status_code == 200


async def test_the_wait_for_a_quiet_moment_is_bounded() -> None:
    release = asyncio.Event()

    async def busy_app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    in_flight = InFlight(max_wait_s=0.2)
    app = in_flight.counting(busy_app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        request = asyncio.create_task(client.get("/"))
        await asyncio.sleep(0.05)
        quiet = asyncio.create_task(in_flight.quiet())
        assert await asyncio.wait_for(in_flight.quiet_or_overdue(), 2) is False  # never quiet, yet it opens
        assert not quiet.done()
        release.set()
        await request
        await asyncio.wait_for(quiet, 1)


async def test_work_handed_over_does_not_wait_for_a_client_sending_slowly(db_url: str, fake_slack: FakeSlack) -> None:
    async with LoopbackServer(SampleService().app) as sample, instance(db_url, fake_slack, sample.url, jobs=True):
        release = asyncio.Event()
        held = payloads.slash_command("/health", "help", user_id=OPERATOR, channel_id=ALERTS, response_url="http://x/")
        headers = signed(fake_slack, held)

        async def slow_body() -> AsyncIterator[bytes]:
            yield held[:10]
            await release.wait()
            yield held[10:]

        client = fake_slack._app_client
        assert client is not None
        slow = asyncio.create_task(client.post("/slack/events", content=slow_body(), headers=headers))
        await asyncio.sleep(0.05)  # its body is being received, slowly
        response = await fake_slack.slash("/health", "api", user=OPERATOR, channel=ALERTS)
        assert response.status_code == 200
        await fake_slack.wait_for(lambda c: c.method == "response_url", timeout_s=3)  # the card, meanwhile
        assert not slow.done()
        release.set()
        assert (await slow).status_code == 200


async def _until_done(deps: Deps) -> None:
    for _ in range(500):
        if [s["status"] for s in await _stored_requests(deps)] == ["done"]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the stored request did not finish: {await _stored_requests(deps)}")
