"""The seeds' rollback procedure from `pitcrew console`: list, propose, a refused click, the y/N dialog,
the confirmed rollback, and the proposal's message edited in place — against the sandbox Railway."""

from __future__ import annotations

import io

from app.catalog import parse_catalog
from app.console.session import ConsoleSession
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.sample import sample_world
from app.sandbox.railway.world import SANDBOX_API_TOKEN
from app.settings import Settings


async def test_rollback_from_the_console(db_url):
    world = sample_world()
    async with FakeRailway.serve(world) as railway:
        ref = world.ref("api")
        catalog = parse_catalog(
            f"""
slack: {{alerts_channel: C0ALERTS, operators: [U0OPS1]}}
services:
  api:
    provider: railway
    railway: {{project_id: {ref.project_id}, environment_id: {ref.environment_id}, service_id: {ref.service_id}}}
"""
        )
        settings = Settings(DATABASE_URL=db_url, RAILWAY_API_URL=railway.url, RAILWAY_API_TOKEN=SANDBOX_API_TOKEN)
        out = io.StringIO()
        lines = ["/rollback api list", "/rollback api", "click 3", "y", "as U0OPS1", "click 3", "n", "click 3", "y"]
        async with ConsoleSession(settings, catalog, user_id="U0DEV", out=out) as session:
            assert await session.run(lines) == 0
        transcript = out.getvalue()

    assert "#1 Deployments of api (railway), newest first" in transcript
    assert "[1] Roll back to this" in transcript and "[2] Roll back to this" in transcript
    assert "#2 ⚠️ Proposed: roll back api" in transcript
    assert "Target: 2c4e6a8b REMOVED · b81e4d0 “Cache sessions in Redis”" in transcript
    assert "[3] Roll back (danger)  [4] Cancel" in transcript
    assert "Roll back api? — Roll back api to deployment 2c4e6a8b." in transcript
    assert "(only you) ⛔ You cannot confirm roll back api: only operators" in transcript
    assert "not clicked: [3] was left alone" in transcript
    assert "#2 (edited) 🔄 Accepted: roll back api" in transcript
    assert "✅ Railway accepted rollback of deployment 2c4e6a8b" in transcript
    assert "confirmed by @U0OPS1" in transcript
    assert [c.operation for c in railway.calls if c.operation == "DeploymentRollback"] == ["DeploymentRollback"]
