"""`pitcrew check` against the sandbox Railway and Vercel: each service's line says whether pitcrew can
see its deployments and read its variables (without which /logs shows nothing), never a value."""

from __future__ import annotations

import os

from app.check import run_checks
from app.sandbox.railway import SANDBOX_API_TOKEN, FakeRailway
from app.sandbox.railway import sample_world as railway_world
from app.sandbox.vercel import SANDBOX_VERCEL_TOKEN, FakeVercel
from app.sandbox.vercel import sample_world as vercel_world
from app.settings import Settings
from app.slack.payloads import TEAM_ID
from app.store.migrate import upgrade_async
from tests.harness import catalog_from


async def _check(tmp_path, railway: FakeRailway, vercel: FakeVercel) -> list[str]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    settings = Settings(
        DATABASE_URL=url,
        RAILWAY_API_URL=railway.url,
        RAILWAY_API_TOKEN=SANDBOX_API_TOKEN,
        VERCEL_API_URL=vercel.url,
        VERCEL_TOKEN=SANDBOX_VERCEL_TOKEN,
    )
    catalog = catalog_from({
        "api": {"provider": "railway", "railway": railway.world.ref("api").model_dump()},
        "web": {"provider": "vercel", "vercel": vercel.world.ref("web").model_dump()},
    })
    lines: list[str] = []
    await run_checks(settings, catalog, lines.append)
    return lines


async def test_check_says_the_deployments_and_variables_of_each_service_are_readable(tmp_path):
    async with FakeRailway.serve(railway_world()) as railway, FakeVercel.serve(vercel_world()) as vercel:
        lines = await _check(tmp_path, railway, vercel)
    [api] = [line for line in lines if "service api" in line]
    [web] = [line for line in lines if "service web" in line]
    assert api.startswith("ok   service api (railway): latest deployment ") and "variables readable" in api
    assert web.startswith("ok   service web (vercel): latest deployment ") and "3 variables readable" in web
    assert "rv-sandbox-7f3a9c21" not in "\n".join(lines)  # a variable's value is never shown


async def test_check_fails_a_service_whose_variables_cannot_be_read(tmp_path):
    async with FakeRailway.serve(railway_world()) as railway, FakeVercel.serve(vercel_world()) as vercel:
        railway.world.fail_next(graphql_error="Not Authorized")
        lines = await _check(tmp_path, railway, vercel)
    [api] = [line for line in lines if "service api" in line]
    assert api.startswith("FAIL service api (railway): railway service variables failed: ")
    assert "Not Authorized" in api and "shows no line without them" in api


async def test_check_fails_slack_when_slack_team_id_is_not_the_tokens_workspace(tmp_path, fake_slack):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    common = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
        "SLACK_API_URL": fake_slack.api_url,
    }
    catalog = catalog_from({"api": {"provider": "http", "health": {"url": "http://127.0.0.1:9/health"}}})
    lines: list[str] = []
    await run_checks(Settings(**common, SLACK_TEAM_ID="T0ELSEWHERE"), catalog, lines.append)
    [slack] = [line for line in lines if line.split()[1] == "slack:"]
    assert slack.startswith("FAIL slack: SLACK_TEAM_ID is T0ELSEWHERE but the bot token belongs to workspace")
    lines.clear()
    await run_checks(Settings(**common, SLACK_TEAM_ID=TEAM_ID), catalog, lines.append)
    [slack] = [line for line in lines if line.split()[1] == "slack:"]
    assert slack.startswith("ok   slack: bot")


async def _check_postgres(tmp_path, postgres: dict[str, object]) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    catalog = catalog_from({"db": {"provider": "postgres", "postgres": postgres}})
    lines: list[str] = []
    await run_checks(Settings(DATABASE_URL=url), catalog, lines.append)
    [db] = [line for line in lines if "service db" in line]
    return db


async def test_check_names_the_dsn_parameters_it_ignored_and_the_pooler(tmp_path, monkeypatch):
    admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    monkeypatch.setenv("PITCREW_T_PRISMA_URL", f"{admin}?pgbouncer=true&connection_limit=1&schema=public&ssl=prefer")
    db = await _check_postgres(tmp_path, {"dsn_env": "PITCREW_T_PRISMA_URL"})
    assert db.startswith("ok   service db (postgres): reachable as ")
    assert "ignored DSN parameters that libpq does not know: pgbouncer, connection_limit, schema" in db
    assert "read ssl → sslmode" in db and "through PgBouncer (pgbouncer=true)" in db
    assert "the idle-session cleanup needs `direct_dsn_env`" in db


async def test_check_fails_a_direct_dsn_that_goes_through_a_pooler_too(tmp_path, monkeypatch):
    admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    monkeypatch.setenv("PITCREW_T_POOLED_URL", f"{admin}?pgbouncer=true")
    monkeypatch.setenv("PITCREW_T_DIRECT_URL", f"{admin}?pgbouncer=true")
    db = await _check_postgres(tmp_path, {"dsn_env": "PITCREW_T_POOLED_URL", "direct_dsn_env": "PITCREW_T_DIRECT_URL"})
    assert db.startswith("FAIL service db (postgres): PITCREW_T_DIRECT_URL (direct_dsn_env) goes through PgBouncer")
    monkeypatch.setenv("PITCREW_T_DIRECT_URL", admin)
    db = await _check_postgres(tmp_path, {"dsn_env": "PITCREW_T_POOLED_URL", "direct_dsn_env": "PITCREW_T_DIRECT_URL"})
    assert db.startswith("ok   service db (postgres): ") and "direct DSN PITCREW_T_DIRECT_URL reachable" in db
