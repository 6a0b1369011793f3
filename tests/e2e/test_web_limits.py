"""Hostile or broken clients against the real app on a real loopback socket: they must neither
hold up pitcrew's work nor make it read what it would refuse anyway.

The slow clients are raw sockets that stop mid-header or mid-body and stay open; the work is an
alert's incident root and a /health card, which must reach Slack within 3 s all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import httpx

from app import web_limits
from app.sandbox import slack_payloads as payloads
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from tests.e2e.incident_support import generic_body, incident_catalog, pitcrew_for_incidents, roots, wait_until
from tests.e2e.raw_http_support import (
    Connection,
    close,
    closed_by_server,
    connect,
    head,
    port_of,
    status_of,
    upload,
)
from tests.fixtures import ALERTS, SECRET, signed

HUGE = 200 * 1024 * 1024
SLOW_CLIENTS = 50


def _slash_body() -> bytes:
    return payloads.slash_command("/health", "", user_id="U0OPS1", channel_id=ALERTS, response_url="http://x/")


def _signed_head(body: bytes, secret: str, *, length: int) -> bytes:
    headers = payloads.signed_headers(body, secret, content_type=payloads.FORM)
    return head("POST", "/slack/events", {**headers, "content-length": str(length)})


@contextlib.asynccontextmanager
async def slow_clients(port: int, secret: str, count: int = SLOW_CLIENTS) -> AsyncIterator[list[Connection]]:
    """`count` connections held open: a third stop in their headers, the others send one byte of a
    100-byte body (to Slack's route, signed, and to a webhook with its token)."""
    held: list[Connection] = []
    body = _slash_body()
    try:
        for n in range(count):
            reader, writer = await connect(port)
            held.append((reader, writer))
            if n % 3 == 0:
                writer.write(b"POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-le")
            elif n % 3 == 1:
                writer.write(_signed_head(body, secret, length=100) + b"c")
            else:
                target = f"/webhooks/generic?token={SECRET}"
                writer.write(head("POST", target, {"content-type": "application/json", "content-length": "100"}) + b"{")
            await writer.drain()
        yield held
    finally:
        for _, writer in held:
            close(writer)


@contextlib.asynccontextmanager
async def polling_healthz(url: str, clients: int = 3, max_polls: int = 20_000) -> AsyncIterator[list[int]]:
    """`clients` loops of GET /healthz, each on its own connection, until the block ends."""
    statuses: list[int] = []
    stop = asyncio.Event()

    async def poll() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            for _ in range(max_polls):
                if stop.is_set():
                    return
                statuses.append((await http.get("/healthz")).status_code)

    tasks = [asyncio.create_task(poll()) for _ in range(clients)]
    try:
        yield statuses
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def test_slow_clients_and_polling_do_not_hold_up_incidents_or_cards(db_url, fake_slack):
    service = SampleService()
    async with LoopbackServer(service.app) as sample:
        catalog = incident_catalog({"api": {"provider": "http", "health": {"url": f"{sample.url}/health"}}})
        async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
            port = port_of(pitcrew.app.url)
            async with slow_clients(port, fake_slack.signing_secret), polling_healthz(pitcrew.app.url) as polled:
                await wait_until(lambda: len(polled) >= 20)  # the polling is under way
                sent = time.monotonic()
                answer = await pitcrew.webhook("generic", generic_body())
                assert answer.status_code == 202
                await wait_until(lambda: len(roots(fake_slack)) == 1, timeout_s=3)
                root_after = time.monotonic() - sent

                acked = await pitcrew.app.command("/health", "")
                assert acked.status_code == 200
                acked_at = time.monotonic()
                [card] = await fake_slack.wait_for(lambda c: c.method == "response_url", timeout_s=3)
                card_after = time.monotonic() - acked_at
                assert "api" in card.args["text"]
            assert set(polled) == {200}
    print(f"root {root_after:.2f} s after the alert, card {card_after:.2f} s after the ack")  # shown with -s
    assert root_after < 3 and card_after < 3


async def test_slack_requests_refused_from_their_headers_are_never_read(db_url, fake_slack):
    catalog = incident_catalog()
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        port = port_of(pitcrew.app.url)
        body = _slash_body()
        fresh = signed(fake_slack, body)
        stale = payloads.signed_headers(
            body, fake_slack.signing_secret, timestamp=int(time.time()) - 600, content_type=payloads.FORM
        )
        cases = {
            "no signature": ({"content-type": payloads.FORM}, 401),
            "timestamp not digits": ({**fresh, "x-slack-request-timestamp": "1e9"}, 401),
            "stale timestamp": (stale, 401),
            "declared over 1 MiB": (fresh, 413),
        }
        for name, (headers, expected) in cases.items():
            reader, writer = await connect(port)
            try:  # 200 MiB announced, none of it sent: only an answer from the headers comes back
                writer.write(head("POST", "/slack/events", {**headers, "content-length": str(HUGE)}))
                await writer.drain()
                assert await status_of(reader, timeout_s=5) == expected, name
            finally:
                close(writer)


async def test_a_body_over_one_mebibyte_without_content_length_is_413_after_one_mebibyte(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        body = _slash_body()
        headers = signed(fake_slack, body)
        request_head = head("POST", "/slack/events", {**headers, "transfer-encoding": "chunked"})
        status, sent = await upload(
            port_of(pitcrew.app.url), request_head, chunked=True, up_to=64 * 1024 * 1024, timeout_s=10
        )
        assert status == 413
        assert sent < 16 * 1024 * 1024  # answered soon after the limit (a few socket buffers' worth)


async def test_webhook_token_is_checked_before_the_body_is_read(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        port = port_of(pitcrew.app.url)
        announced = {"content-type": "application/json", "content-length": str(HUGE)}
        for target, expected in [
            ("/webhooks/generic", 401),
            ("/webhooks/generic?token=wrong", 401),
            (f"/webhooks/alertmanager?token={SECRET}", 413),
        ]:
            reader, writer = await connect(port)
            try:
                writer.write(head("POST", target, announced) + b"{")
                await writer.drain()
                assert await status_of(reader, timeout_s=5) == expected, target
            finally:
                close(writer)
        bearer = {**announced, "authorization": "Bearer nope"}
        reader, writer = await connect(port)
        try:
            writer.write(head("POST", "/webhooks/uptimerobot", bearer))
            await writer.drain()
            assert await status_of(reader, timeout_s=5) == 401
        finally:
            close(writer)


async def test_sentry_with_its_secret_is_still_verified_over_its_body(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, SENTRY_CLIENT_SECRET="sentry-secret-1234") as pitcrew:
        # No token needed: the HMAC over the body proves Sentry, so the body is read (and refused).
        response = await pitcrew.webhook("sentry", b"{}", token=None, headers={"sentry-hook-signature": "00"})
        assert response.status_code == 401


async def test_slow_bodies_get_408_and_unfinished_headers_are_closed(db_url, fake_slack, monkeypatch):
    monkeypatch.setattr(web_limits, "BODY_DEADLINE_S", 0.5)
    monkeypatch.setattr(web_limits, "HEADERS_DEADLINE_S", 0.5)
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        port = port_of(pitcrew.app.url)
        body = _slash_body()
        slack_reader, slack_writer = await connect(port)
        hook_reader, hook_writer = await connect(port)
        head_reader, head_writer = await connect(port)
        try:
            slack_writer.write(_signed_head(body, fake_slack.signing_secret, length=len(body)) + body[:1])
            hook_head = {"content-type": "application/json", "content-length": "100"}
            hook_writer.write(head("POST", f"/webhooks/generic?token={SECRET}", hook_head) + b"{")
            head_writer.write(b"POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            for writer in (slack_writer, hook_writer, head_writer):
                await writer.drain()
            assert await status_of(slack_reader, timeout_s=5) == 408
            assert await status_of(hook_reader, timeout_s=5) == 408
            assert await closed_by_server(head_reader, timeout_s=5)
        finally:
            for writer in (slack_writer, hook_writer, head_writer):
                close(writer)
        answer = await pitcrew.webhook("generic", json.dumps(generic_body()))
        assert answer.status_code == 202  # and the others are served as before


async def test_held_connections_do_not_turn_requests_away(db_url, fake_slack):
    """The connection limit is far above what a handful of slow clients hold."""
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        async with slow_clients(port_of(pitcrew.app.url), fake_slack.signing_secret):
            async with httpx.AsyncClient(base_url=pitcrew.app.url, timeout=10) as fresh:
                answers = await asyncio.gather(*(fresh.get("/healthz") for _ in range(20)))
        assert {a.status_code for a in answers} == {200}
