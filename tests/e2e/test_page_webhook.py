"""The outgoing webhook pager through the real app: each escalation step is POSTed once, signed, to a
loopback receiver that verifies the signature as docs/configuration.md tells a receiver to; a 500
is retried and delivered once; the ack link acknowledges once from a plain HTTP client (used again
410, expired 410, unknown 404); escalation pages on while nobody acknowledges and stops after."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.catalog import Catalog, CatalogError, parse_catalog
from app.flows import page_webhook
from app.flows.incident_views import get_view
from app.flows.oncall import Paged
from app.sandbox.server import LoopbackServer
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import AckLink, Incident
from tests.e2e.incident_support import generic_body, pitcrew_for_incidents, roots, thread, wait_until
from tests.fixtures import ALERTS, OPERATOR, UPDATES

ANA, BOB, LEAD = "U0ANA", "U0BOB", "U0LEAD"
PAGER_SECRET = "pager-shared-secret-0123456789"
PUBLIC = "https://pitcrew.example.com"


@dataclass
class Receiver:
    """A pager's endpoint: records each request, checks its signature, answers the scripted statuses."""

    statuses: list[int] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0

    async def receive(self, request: Request) -> Response:
        self.attempts += 1
        body = await request.body()
        timestamp = request.headers["x-pitcrew-timestamp"]
        expected = hmac.new(PAGER_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["x-pitcrew-signature"], f"sha256={expected}")
        status = self.statuses.pop(0) if self.statuses else 200
        if status < 300:
            self.pages.append(json.loads(body))
        return Response(status_code=status)


def pager_catalog(url: str) -> Catalog:
    document = {
        "slack": {
            "alerts_channel": ALERTS, "updates_channel": UPDATES, "operators": [OPERATOR],
            "escalation": [
                {"after_minutes": 0, "notify": ["oncall:primary"]},
                {"after_minutes": 30, "notify": [LEAD]},
                {"after_minutes": 60, "notify": ["oncall:primary", LEAD]},
            ],
        },
        "services": {"api": {"provider": "http", "health": {"url": "https://api.example.com/health"}}},
        "oncall": {
            "rotations": {"primary": {"members": [ANA, BOB], "length": "weekly", "handoff": "09:00",
                                      "timezone": "UTC", "anchor": "2026-03-02"}},
            "page_webhook": {"url": f"{url}/page", "secret_env": "PAGER_SECRET"},
        },
    }
    return parse_catalog(yaml.safe_dump(document))


@asynccontextmanager
async def running_receiver(receiver: Receiver) -> AsyncIterator[str]:
    """The receiver served over real HTTP on loopback; yields its base URL."""
    async with LoopbackServer(Starlette(routes=[Route("/page", receiver.receive, methods=["POST"])])) as server:
        yield server.url


def pager(db_url: str, fake_slack: Any, url: str) -> Any:
    return pitcrew_for_incidents(db_url, fake_slack, catalog=pager_catalog(url), env={"PAGER_SECRET": PAGER_SECRET},
                                 PUBLIC_URL=PUBLIC)


async def declared(pitcrew: Any, fake_slack: Any) -> None:
    response = await pitcrew.app.command("/incident", "declare SEV1 Backend down")
    assert response.status_code == 200
    await wait_until(lambda: bool(roots(fake_slack)))
    await pitcrew.run_jobs()


def ack_path(page: dict[str, Any]) -> str:
    return urlsplit(page["ack_url"]).path


async def test_a_page_is_posted_once_signed_with_the_incident_and_an_ack_link(db_url, fake_slack):
    receiver = Receiver()
    async with running_receiver(receiver) as url, pager(db_url, fake_slack, url) as pitcrew:
        await declared(pitcrew, fake_slack)
        await pitcrew.run_jobs()
        [page] = receiver.pages  # the opening page: whoever the primary has on call
        assert receiver.attempts == 1
        assert page["incident"] == {"ref": "INC-1", "id": 1, "title": "Backend down", "severity": "SEV1"}
        assert page["escalation_step"] == 0 and [p["user"] for p in page["paged"]] == [ANA]
        assert page["ack_url"].startswith(f"{PUBLIC}/ack/") and page["ack_url"] == page["paged"][0]["ack_url"]
        assert page["thread_url"].startswith(f"https://slack.com/archives/{ALERTS}/p")
        async with transaction(pitcrew.app.deps.sessions) as session:
            [link] = (await session.scalars(select(AckLink))).all()
        token = ack_path(page).rsplit("/", 1)[1]
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in link.token_hash

        pitcrew.clock.advance(minutes=16)  # SEV1's 15 min response time passed, nobody acknowledged
        await pitcrew.run_jobs()
        [_, escalated] = receiver.pages
        assert escalated["escalation_step"] >= 1 and [p["user"] for p in escalated["paged"]] == [LEAD]

        # The same step paged again (a retried escalation job, a second instance): the dedupe key holds.
        deps = pitcrew.app.deps
        async with transaction(deps.sessions) as session:
            view = await get_view(session, 1)
            await page_webhook.page(session, deps, view, Paged((LEAD,)), level=view.escalation_level)
            await page_webhook.page(session, deps, view, Paged((ANA,)), level=0)
        await pitcrew.run_jobs()
        assert receiver.attempts == 2 and len(receiver.pages) == 2


async def test_an_alerts_incident_is_paged_with_its_first_note(db_url, fake_slack):
    receiver = Receiver()
    async with running_receiver(receiver) as url, pager(db_url, fake_slack, url) as pitcrew:
        response = await pitcrew.webhook("generic", generic_body())
        assert response.status_code == 202
        await pitcrew.run_jobs()
        # 30 s, not the default 10: once in CI (SQLite) the page had not come within 10 s; it came in
        # eight runs out of eight since, in 3 to 4 s for the whole test. Cause not found yet.
        await wait_until(lambda: bool(receiver.pages), timeout_s=30)
        await pitcrew.run_jobs()
        [page] = receiver.pages
        assert page["escalation_step"] == 0 and [p["user"] for p in page["paged"]] == [ANA]


async def test_a_500_is_retried_and_the_page_delivered_once(db_url, fake_slack):
    receiver = Receiver(statuses=[500])
    async with running_receiver(receiver) as url, pager(db_url, fake_slack, url) as pitcrew:
        await declared(pitcrew, fake_slack)
        await pitcrew.run_jobs()
        assert receiver.attempts == 1 and receiver.pages == []
        pitcrew.clock.advance(seconds=31)  # the job runner's backoff after a first failure: 30 s
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=5)
        await pitcrew.run_jobs()
        assert receiver.attempts == 2 and len(receiver.pages) == 1


async def test_a_4xx_is_not_retried(db_url, fake_slack):
    receiver = Receiver(statuses=[400])
    async with running_receiver(receiver) as url, pager(db_url, fake_slack, url) as pitcrew:
        await declared(pitcrew, fake_slack)
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=5)
        await pitcrew.run_jobs()
        assert receiver.attempts == 1 and receiver.pages == []


async def test_the_ack_link_acknowledges_once_then_410_unknown_404(db_url, fake_slack):
    receiver = Receiver()
    async with running_receiver(receiver) as url, pager(db_url, fake_slack, url) as pitcrew:
        await declared(pitcrew, fake_slack)
        await pitcrew.run_jobs()
        [page] = receiver.pages
        async with httpx.AsyncClient(base_url=pitcrew.app.url) as phone:
            preview = await phone.get(ack_path(page), headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
            assert preview.status_code == 200 and "Open this link" in preview.text  # the link is still unused
            head = await phone.head(ack_path(page))
            assert head.status_code == 200
            first = await phone.get(ack_path(page))
            assert first.status_code == 200 and "INC-1 acknowledged" in first.text
            assert "width=device-width" in first.text
            again = await phone.get(ack_path(page))
            assert again.status_code == 410 and "used already" in again.text
            unknown = await phone.get("/ack/not-a-token-pitcrew-ever-made")
            assert unknown.status_code == 404
        async with transaction(pitcrew.app.deps.sessions) as session:
            incident = (await session.scalars(select(Incident))).one()
        assert incident.acknowledged_by == ANA
        await wait_until(lambda: any("acknowledged INC-1" in m.text and "ack link" in m.text
                                     for m in thread(fake_slack, roots(fake_slack)[-1])))
        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        assert [(e.action, e.actor) for e in entries if e.action in ("incident.ack_link", "incident.ack")] == [
            ("incident.ack_link", ANA), ("incident.ack", ANA)]


async def test_an_expired_link_is_410_and_changes_nothing(db_url, fake_slack):
    receiver = Receiver()
    async with running_receiver(receiver) as url, pager(db_url, fake_slack, url) as pitcrew:
        await declared(pitcrew, fake_slack)
        await pitcrew.run_jobs()
        first_page = receiver.pages[0]
        pitcrew.clock.advance(minutes=61)  # the link lasts an hour
        async with httpx.AsyncClient(base_url=pitcrew.app.url) as phone:
            expired = await phone.get(ack_path(first_page))
        assert expired.status_code == 410 and "expired" in expired.text
        async with transaction(pitcrew.app.deps.sessions) as session:
            incident = (await session.scalars(select(Incident))).one()
            links = (await session.scalars(select(AckLink))).all()
        assert incident.acknowledged_at is None
        assert all(link.used_at is None for link in links)


async def test_escalation_pages_on_while_unacknowledged_and_stops_after_the_ack_link(db_url, fake_slack):
    receiver = Receiver()
    async with running_receiver(receiver) as url, pager(db_url, fake_slack, url) as pitcrew:
        await declared(pitcrew, fake_slack)
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=16)
        await pitcrew.run_jobs()
        assert len(receiver.pages) == 2
        pitcrew.clock.advance(minutes=45)  # an hour in: the next step of slack.escalation
        await pitcrew.run_jobs()
        steps = [p["escalation_step"] for p in receiver.pages]
        assert len(steps) == 3 and steps[0] == 0 and steps[2] == steps[1] + 1, steps
        assert [p["user"] for p in receiver.pages[2]["paged"]] == [ANA, LEAD]
        async with httpx.AsyncClient(base_url=pitcrew.app.url) as phone:
            assert (await phone.get(ack_path(receiver.pages[2]))).status_code == 200
        pitcrew.clock.advance(hours=3)
        await pitcrew.run_jobs()
        assert len(receiver.pages) == 3  # acknowledged: nobody further is paged


@pytest.mark.parametrize("url", ["http://pager.example.com/hook", "ftp://127.0.0.1/x", "https://u:p@pager.example.com/"])
def test_a_page_webhook_url_must_be_https_or_loopback(url):
    with pytest.raises(CatalogError, match=r"page_webhook\.url"):
        pager_catalog(url.rsplit("/", 1)[0])
