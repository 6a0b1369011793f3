"""The ack goes out as soon as the listener acks, and post-ack work finishes before a shutdown."""

from __future__ import annotations

import httpx

from app.deps import build_deps
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.slack.app import build_slack_app
from app.store import audit as audit_store
from app.web import build_web_app
from tests.fixtures import catalog_from, settings_for


async def test_shutdown_lets_post_ack_work_finish(db_url, fake_slack):
    service = SampleService()
    service.slow(400)  # the card needs 0.4 s after the ack
    async with LoopbackServer(service) as sample:
        catalog = catalog_from({"api": {"provider": "http", "health": {"url": f"{sample.url}/health"}}})
        deps = build_deps(settings_for(db_url, fake_slack), catalog, environ={})
        web = build_web_app(deps, build_slack_app(deps))
        async with web.router.lifespan_context(web), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://pitcrew"
        ) as client:
            fake_slack.connect_app(client)
            response = await fake_slack.slash("/health", "", user="U0OPS1", channel="C0ALERTS")
            assert response.status_code == 200
            assert fake_slack.calls_to("response_url") == []  # acked before the probe answered
        # the lifespan has ended: the card and the audit entry must both be there now
        [card] = fake_slack.calls_to("response_url")
        assert "api" in card.args["text"]
        entries = [e async for e in audit_store.entries(deps.sessions)]
        await deps.close()
        assert [e.action for e in entries] == ["command /health"]
