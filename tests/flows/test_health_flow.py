"""`check_health` over real HTTP and a real PostgreSQL: the sample service, the fake Railway and Vercel.

Nothing of ours is replaced: the flow builds its clients from Settings as in production, and only
the endpoints they reach are local stand-ins.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import yaml

from app.catalog import UnknownService, parse_catalog
from app.core.health import HealthReport, Verdict
from app.deps import Deps, build_deps
from app.flows.health import check_health
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.sample import sample_world
from app.sandbox.railway.world import SANDBOX_API_TOKEN
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.sample import sample_world as vercel_world
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN
from app.settings import Settings
from tests.fixtures import ADMIN_DSN, throwaway_database

PG_ADMIN = ADMIN_DSN


@dataclass
class World:
    """The stand-ins a test changes: the sample services behind `api` and `web`, Railway and Vercel."""

    api: SampleService
    web: SampleService
    api_url: str
    web_url: str
    railway: FakeRailway
    vercel: FakeVercel


@pytest.fixture
async def world() -> AsyncIterator[World]:
    api, web = SampleService(), SampleService()
    async with (
        LoopbackServer(api) as api_server,
        LoopbackServer(web) as web_server,
        FakeRailway.serve(sample_world()) as railway,
        FakeVercel.serve(vercel_world()) as vercel,
    ):
        yield World(api, web, api_server.url, web_server.url, railway, vercel)


@pytest.fixture
async def pg_dsn() -> AsyncIterator[str]:
    """A database of our own on the real server, so no other test's sessions count in its numbers."""
    async with throwaway_database() as made:
        yield made.dsn()


def catalog_yaml(services: Mapping[str, Any]) -> str:
    document = {"slack": {"alerts_channel": "C0ALERTS"}, "services": dict(services)}
    return yaml.safe_dump(document, sort_keys=False)


def standard_services(world: World, **overrides: Any) -> dict[str, Any]:
    """`api` on Railway with its health URL, `front` on Vercel, `web` a plain HTTP check (HEAD)."""
    services: dict[str, Any] = {
        "api": {
            "provider": "railway",
            "railway": world.railway.world.ref("api").model_dump(),
            "health": {"url": f"{world.api_url}/health", "expect_json": {"status": "ok"}, "timeout_s": 2},
        },
        "front": {"provider": "vercel", "vercel": world.vercel.world.ref("web").model_dump()},
        "web": {"provider": "http", "health": {"url": f"{world.web_url}/health", "method": "HEAD"}},
    }
    services.update(overrides)
    return services


@asynccontextmanager
async def deps_for(
    world: World, services: Mapping[str, Any], *, env: Mapping[str, str] | None = None, **settings: Any
) -> AsyncIterator[Deps]:
    config: dict[str, Any] = {
        "DATABASE_URL": "sqlite:///:memory:",
        "RAILWAY_API_URL": world.railway.url,
        "RAILWAY_API_TOKEN": SANDBOX_API_TOKEN,
        "RAILWAY_PROJECT_TOKEN": None,
        "VERCEL_API_URL": world.vercel.url,
        "VERCEL_TOKEN": SANDBOX_VERCEL_TOKEN,
    }
    config.update(settings)
    deps = build_deps(Settings(**config), parse_catalog(catalog_yaml(services)), environ=dict(env or {}))
    try:
        yield deps
    finally:
        await deps.close()


def evidence(report: HealthReport, service: str, check: str | None = None) -> str:
    found = report.service(service)
    assert found is not None, f"{service} missing from the report"
    checks = [c for c in found.checks if check is None or c.name.startswith(check)]
    return " | ".join(e for c in checks for e in c.evidence)


def verdict_of(report: HealthReport, service: str, check: str) -> Verdict:
    found = report.service(service)
    assert found is not None
    return next(c.verdict for c in found.checks if c.name.startswith(check))


# ---- everything fine -----------------------------------------------------------------------------


async def test_all_services_ok(world: World, pg_dsn: str):
    async with deps_for(world, pg_services(world), env={"APP_DATABASE_URL": pg_dsn}) as deps:
        report = await check_health(deps)

    assert [s.service for s in report.services] == ["api", "front", "web", "db"]
    assert report.overall is Verdict.OK, [(s.service, s.checks) for s in report.services]
    assert report.failing == ()
    assert report.counts[Verdict.OK] == 4
    api = report.service("api")
    assert api is not None and api.provider == "railway"
    assert [c.name for c in api.checks] == ["railway deployment", "railway metrics", f"GET {world.api_url}/health"]
    assert "latest deployment" in evidence(report, "api", "railway deployment") and "SUCCESS" in evidence(report, "api")
    assert "instances: 1 RUNNING" in evidence(report, "api", "railway deployment")
    assert "HTTP 200" in evidence(report, "api", "GET")
    assert "HTTP 200" in evidence(report, "web", "HEAD")
    production = world.vercel.world.production("web")
    assert production is not None
    assert f"latest deployment {production.id} READY" in evidence(report, "front", "vercel")
    assert "SELECT 1 in" in evidence(report, "db") and "connections" in evidence(report, "db")
    assert world.api.requests == 1 and world.web.requests == 1
    assert report.elapsed_ms > 0


async def test_the_railway_deployment_is_kept_for_a_later_restart_or_rollback(world: World):
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["api"])
    api = report.service("api")
    assert api is not None and api.deployment is not None
    current = world.railway.world.current("api")
    assert current is not None and api.deployment.id == current.id
    assert api.deployment.is_current


async def test_only_the_named_services_are_probed(world: World):
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["web", "web"])
    assert [s.service for s in report.services] == ["web"]
    assert world.api.requests == 0 and world.web.requests == 1
    assert world.railway.calls == [] and world.vercel.calls == []


# ---- failures --------------------------------------------------------------------------------------


async def test_one_service_down_while_the_others_report(world: World):
    world.api.down()
    world.railway.world.crash("api")
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps)

    assert report.overall is Verdict.DOWN
    assert report.failing == ("api",)
    assert verdict_of(report, "api", "railway deployment") is Verdict.DOWN
    assert "CRASHED" in evidence(report, "api", "railway deployment")
    health = evidence(report, "api", "GET")
    assert "HTTP 503, expected 200" in health
    assert 'status: expected "ok", got "down"' in health
    for other in ("front", "web"):
        found = report.service(other)
        assert found is not None and found.verdict is Verdict.OK


async def test_wrong_json_is_down_naming_the_key(world: World):
    world.api.wrong_json()
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["api"])
    assert verdict_of(report, "api", "GET") is Verdict.DOWN
    assert 'status: expected "ok", got "degraded"' in evidence(report, "api", "GET")


async def test_a_probe_slower_than_its_timeout_fails_while_the_others_report(world: World):
    world.api.slow(1200)  # answered, were the timeout not applied: then it would not say "timed out"
    services = standard_services(world)
    services["api"]["health"]["timeout_s"] = 0.3
    async with deps_for(world, services) as deps:
        report = await check_health(deps)

    assert verdict_of(report, "api", "GET") is Verdict.DOWN
    assert f"GET {world.api_url}/health failed: timed out after 0.3 s" in evidence(report, "api", "GET")
    assert verdict_of(report, "api", "railway deployment") is Verdict.OK
    web = report.service("web")
    assert web is not None and web.verdict is Verdict.OK
    world.api.ok()


async def test_a_hanging_provider_costs_its_timeout_not_the_card(world: World):
    world.railway.world.stall()
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, provider_timeout_s=0.5)
    railway = evidence(report, "api", "railway deployment")
    assert verdict_of(report, "api", "railway deployment") is Verdict.DOWN
    assert "railway latest deployment failed:" in railway
    assert "0.5 s" in railway  # the provider's own words: no answer within 0.5 s
    assert verdict_of(report, "api", "GET") is Verdict.OK


async def test_a_provider_error_says_which_call_failed_and_why(world: World):
    # twice: the request with the metrics, then the deployment's alone (one 502 costs the metrics only)
    world.railway.world.fail_next(status=502, body="Bad Gateway", times=2)
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["api"])
    assert verdict_of(report, "api", "railway deployment") is Verdict.DOWN
    assert evidence(report, "api", "railway deployment") == "railway latest deployment failed: HTTP 502: Bad Gateway"
    assert evidence(report, "api", "railway metrics") == "metrics unavailable: HTTP 502: Bad Gateway"
    assert verdict_of(report, "api", "GET") is Verdict.OK


async def test_a_rejected_token_is_a_failed_check(world: World):
    async with deps_for(world, standard_services(world), RAILWAY_API_TOKEN="not-the-sandbox-token") as deps:
        report = await check_health(deps, ["api"])
    railway = evidence(report, "api", "railway deployment")
    assert railway.startswith("railway latest deployment failed:") and "Not Authorized" in railway
    assert "not-the-sandbox-token" not in railway


async def test_no_railway_token_says_which_variables_to_set(world: World):
    async with deps_for(world, standard_services(world), RAILWAY_API_TOKEN=None) as deps:
        report = await check_health(deps, ["api"])
    assert verdict_of(report, "api", "railway deployment") is Verdict.DOWN
    assert evidence(report, "api", "railway deployment") == (
        "railway latest deployment failed: RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN not set"
    )
    assert world.railway.calls == []
    assert verdict_of(report, "api", "GET") is Verdict.OK


async def test_no_vercel_token_says_which_variable_to_set(world: World):
    async with deps_for(world, standard_services(world), VERCEL_TOKEN=None) as deps:
        report = await check_health(deps, ["front"])
    assert evidence(report, "front") == "vercel latest deployment failed: VERCEL_TOKEN not set"
    assert world.vercel.calls == []


async def test_vercel_production_build_error_is_down(world: World):
    world.vercel.world.add_deployment("web", state="ERROR", commit_message="Break the build")
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["front"])
    assert report.failing == ("front",)
    front = evidence(report, "front")
    assert "ERROR" in front and '"Break the build"' in front


async def test_vercel_deployment_building_is_degraded(world: World):
    world.vercel.world.add_deployment("web", state="BUILDING")
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["front"])
    assert verdict_of(report, "front", "vercel") is Verdict.DEGRADED
    assert "a new deployment is in progress" in evidence(report, "front")


async def test_vercel_failure_says_which_call_failed(world: World):
    world.vercel.world.fail_next(status=500, times=2)
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["front", "web"])
    front = evidence(report, "front")
    assert verdict_of(report, "front", "vercel") is Verdict.DOWN
    assert front.startswith("vercel ") and " failed: HTTP 500" in front  # the call, as the provider names it
    assert verdict_of(report, "web", "HEAD") is Verdict.OK


async def test_unreachable_url_is_a_failed_check(world: World):
    services = standard_services(world, gone={"provider": "http", "health": {"url": "http://127.0.0.1:1/health"}})
    async with deps_for(world, services) as deps:
        report = await check_health(deps)
    assert report.failing == ("gone",)
    assert evidence(report, "gone") == "GET http://127.0.0.1:1/health failed: connection refused"
    assert report.service("api") is not None and report.service("web") is not None


async def test_credentials_in_a_health_url_never_reach_the_report(world: World):
    url = world.web_url.replace("http://", "http://probe:hunter2secret@") + "/health"
    services = standard_services(world, web={"provider": "http", "health": {"url": url}})
    async with deps_for(world, services) as deps:
        report = await check_health(deps, ["web"])
    web = report.service("web")
    assert web is not None and web.verdict is Verdict.OK
    assert all("hunter2secret" not in c.name + "".join(c.evidence) for c in web.checks)


# ---- unknown names ---------------------------------------------------------------------------------


async def test_unknown_service_is_refused_before_any_probe(world: World):
    async with deps_for(world, standard_services(world)) as deps:
        with pytest.raises(UnknownService) as caught:
            await check_health(deps, ["web", "nosuchservice"])
    assert caught.value.name == "nosuchservice"
    assert caught.value.known == ["api", "front", "web"]
    assert world.web.requests == 0


# ---- PostgreSQL --------------------------------------------------------------------------------------


def pg_services(world: World, **postgres: Any) -> dict[str, Any]:
    database = {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL", **postgres}}
    return standard_services(world, db=database)


async def test_postgres_against_the_real_server(world: World, pg_dsn: str):
    async with deps_for(world, pg_services(world), env={"APP_DATABASE_URL": pg_dsn}) as deps:
        report = await check_health(deps, ["db"])
    db = report.service("db")
    assert db is not None and db.verdict is Verdict.OK, db
    assert db.provider == "postgres"
    [check] = db.checks
    assert check.name == "postgres"
    assert check.latency_ms is not None
    assert any(e.startswith("connections ") and "/" in e for e in check.evidence)
    assert "no query running over 5 s" in check.evidence


async def test_a_session_idle_in_transaction_degrades_the_database(world: World, pg_dsn: str):
    async with await psycopg.AsyncConnection.connect(pg_dsn) as idle:
        await idle.execute("SELECT 1")  # psycopg opened a transaction and leaves it open: idle in transaction
        async with deps_for(world, pg_services(world), env={"APP_DATABASE_URL": pg_dsn}) as deps:
            report = await check_health(deps, ["db"])
    assert verdict_of(report, "db", "postgres") is Verdict.DEGRADED
    assert "1 session idle in transaction (over 0)" in evidence(report, "db")


async def test_missing_dsn_variable_says_which_one(world: World):
    async with deps_for(world, pg_services(world), env={}) as deps:
        report = await check_health(deps)
    assert report.failing == ("db",)
    assert evidence(report, "db") == "postgres probe failed: environment variable APP_DATABASE_URL is not set"
    api = report.service("api")
    assert api is not None and api.verdict is Verdict.OK


async def test_unreachable_database_never_shows_its_password(world: World):
    dsn = "postgresql://app:Sup3rSecretPw@127.0.0.1:1/app"
    async with deps_for(world, pg_services(world, timeout_s=2), env={"APP_DATABASE_URL": dsn}) as deps:
        report = await check_health(deps, ["db"])
    shown = evidence(report, "db")
    assert verdict_of(report, "db", "postgres") is Verdict.DOWN
    assert shown.startswith("postgres probe") and "failed:" in shown
    assert "Sup3rSecretPw" not in shown


# ---- hosted PostgreSQL as it is really reached --------------------------------------------------


async def test_a_prisma_style_dsn_is_probed_and_its_pooler_named_on_the_card(world: World, pg_dsn: str):
    """Prisma's guide for Supabase adds `pgbouncer=true&connection_limit=1`: libpq alone would refuse it."""
    from app.slack.render.health import health_card

    dsn = f"{pg_dsn}?pgbouncer=true&connection_limit=1&pool_timeout=20&schema=public"
    async with deps_for(world, pg_services(world), env={"APP_DATABASE_URL": dsn}) as deps:
        report = await check_health(deps, ["db"])
    assert verdict_of(report, "db", "postgres") is Verdict.OK, evidence(report, "db")
    assert "through PgBouncer (pgbouncer=true): " in evidence(report, "db")
    card = str(health_card(report)["blocks"])
    assert "PgBouncer (pgbouncer=true)" in card and "not valid" not in card


async def test_a_least_privilege_role_is_degraded_and_told_which_grant_it_needs(world: World, pg_dsn: str):
    """A role with only pg_signal_backend sees other roles' sessions without their state: not healthy."""
    suffix = uuid.uuid4().hex[:10]
    app_role, ops_role = f"pitcrew_hf_{suffix}_app", f"pitcrew_hf_{suffix}_ops"
    async with await psycopg.AsyncConnection.connect(PG_ADMIN, autocommit=True) as admin:
        await admin.execute(f'CREATE ROLE "{app_role}" LOGIN')
        await admin.execute(f'CREATE ROLE "{ops_role}" LOGIN')
        await admin.execute(f'GRANT pg_signal_backend TO "{ops_role}"')
    base, database = pg_dsn.rsplit("/", 1)
    host = base.rsplit("@", 1)[-1]
    try:
        async with await psycopg.AsyncConnection.connect(f"postgresql://{app_role}@{host}/{database}") as app:
            await app.execute("SELECT 1")
            ops_dsn = f"postgresql://{ops_role}@{host}/{database}"
            async with deps_for(world, pg_services(world), env={"APP_DATABASE_URL": ops_dsn}) as deps:
                report = await check_health(deps, ["db"])
        assert verdict_of(report, "db", "postgres") is Verdict.DEGRADED
        shown = evidence(report, "db")
        assert f"of other roles: GRANT pg_monitor TO {ops_role}" in shown and "cannot see " in shown
    finally:
        async with await psycopg.AsyncConnection.connect(PG_ADMIN, autocommit=True) as admin:
            for role in (app_role, ops_role):
                await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
                await admin.execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_a_slow_metrics_backend_costs_the_metrics_line_only(world: World):
    """Railway answers the deployment at once but metrics late: the request with both is given half the
    provider timeout, then the deployment is asked alone; the card has both lines within the timeout."""
    world.railway.world.metrics_latency_s = 2
    async with deps_for(world, standard_services(world)) as deps:
        report = await check_health(deps, ["api"], provider_timeout_s=1.0)
    assert verdict_of(report, "api", "railway deployment") is Verdict.OK
    assert "SUCCESS" in evidence(report, "api", "railway deployment")
    assert evidence(report, "api", "railway metrics") == "metrics unavailable: no answer within 0.5 s"
    assert verdict_of(report, "api", "railway metrics") is Verdict.DEGRADED
    assert report.elapsed_ms < 1500
