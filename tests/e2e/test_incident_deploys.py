"""A new incident's root message shows the service's latest deployment and how long before it went out;
a provider that fails is said so, and the incident opens all the same."""

from __future__ import annotations

from datetime import timedelta

from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.sample import sample_world
from app.sandbox.railway.world import SANDBOX_API_TOKEN
from tests.e2e.incident_support import (
    START,
    Clock,
    generic_body,
    incident_catalog,
    pitcrew_for_incidents,
    roots,
    text_of,
)

API_URL = "https://api.example.com/health"


def railway_catalog(world):  # type: ignore[no-untyped-def]
    ref = world.ref("api")
    return incident_catalog({"api": {"provider": "railway", "railway": ref.model_dump(), "health": {"url": API_URL}}})


async def test_root_message_shows_the_latest_deploy_and_its_age(db_url, fake_slack):
    world = sample_world(now=START)
    world.add_deployment("api", commit_message="Raise the pool size", author="Lee Dev", at=START - timedelta(minutes=7))
    async with (
        FakeRailway.serve(world) as railway,
        pitcrew_for_incidents(
            db_url,
            fake_slack,
            catalog=railway_catalog(world),
            clock=Clock(START),
            RAILWAY_API_URL=railway.url,
            RAILWAY_API_TOKEN=SANDBOX_API_TOKEN,
        ) as pitcrew,
    ):
        response = await pitcrew.webhook("generic", generic_body(service="api"))
        assert response.status_code == 202
        await pitcrew.run_jobs()
        [root] = roots(fake_slack)
        shown = text_of(root)
        assert "Latest deploy:" in shown and "SUCCESS" in shown and "“Raise the pool size” by Lee Dev" in shown
        assert "went out 7 min before this incident started" in shown and "first suspect" in shown
        assert any(call.operation == "LatestDeployment" for call in railway.calls)


async def test_a_failing_provider_does_not_keep_the_incident_from_opening(db_url, fake_slack):
    world = sample_world(now=START)
    async with (
        FakeRailway.serve(world) as railway,
        pitcrew_for_incidents(
            db_url,
            fake_slack,
            catalog=railway_catalog(world),
            RAILWAY_API_URL=railway.url,
            RAILWAY_API_TOKEN=SANDBOX_API_TOKEN,
        ) as pitcrew,
    ):
        world.fail_next(status=502, body="Bad Gateway", times=5)
        await pitcrew.webhook("generic", generic_body(service="api"))
        await pitcrew.run_jobs()
        [root] = roots(fake_slack)
        assert "Latest deploy:* unknown (railway latest deployment failed" in text_of(root)


async def test_without_a_provider_token_the_deploy_is_unknown_and_says_why(db_url, fake_slack):
    world = sample_world(now=START)
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=railway_catalog(world)) as pitcrew:
        await pitcrew.webhook("generic", generic_body(service="api"))
        await pitcrew.run_jobs()
        [root] = roots(fake_slack)
        assert "unknown (RAILWAY_API_TOKEN is not set)" in text_of(root)
