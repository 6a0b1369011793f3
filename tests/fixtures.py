"""What every test that runs pitcrew starts from, in one place: the database, the sandbox providers,
the fake Slack, the ASGI app served over loopback HTTP, and requests signed as Slack signs them.

`tests/conftest.py` registers the fixtures below (`db_url`, `fake_slack`, `service`, `sandbox`), so a new test
file asks for the ones it uses by name and imports nothing to get them. The `*_support.py` modules
keep only what their tests read and send (proposals off the fake Slack, webhook samples, a
runbook's step messages); none of them starts anything of its own.

- Database: `db_url` is a migrated, empty database per test, once on SQLite and once on PostgreSQL.
  PostgreSQL comes from TEST_DATABASE_URL and nothing else: without it those variants are skipped,
  as the README says. `throwaway_database()` makes a database (and a role) for a test's own use,
  standing for a service's database.
- Sandbox providers: `service` serves a sample backend alone; `sandbox` serves the sandbox Railway
  and Vercel and a sample service on one clock; every call they received is checked against
  Railway's schema and Vercel's OpenAPI at the end.
- The app: `running_pitcrew()` builds pitcrew on a catalog and serves it; `pitcrew_with_jobs()`
  adds the job runner the test drives by its clock.
- Signing: `signed()` gives the headers Slack sends with a body.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
import pytest
import yaml
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import func, select

from app.catalog import Catalog, parse_catalog
from app.deps import Deps, build_deps, utcnow
from app.jobs.runner import JobRunner
from app.providers import graphql_docs
from app.sandbox import slack_payloads as payloads
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.sample import sample_world as railway_world
from app.sandbox.railway.world import SANDBOX_API_TOKEN, RailwayWorld
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.sandbox.slack import FakeSlack
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.sample import sample_world as vercel_world
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN, VercelWorld
from app.settings import Settings
from app.slack.app import build_slack_app
from app.store.migrate import upgrade_async
from app.store.models import Job
from app.web import build_web_app
from app.web_limits import uvicorn_limits
from tests.spec_check import validate_railway_document, validate_vercel_call

ALERTS = "C0ALERTS"
UPDATES = "C0UPDATES"
OPERATOR = "U0OPS1"
OPERATOR_2 = "U0OPS2"
STRANGER = "U0STRANGER"
SECRET = "whsec-test-0123456789"  # the WEBHOOK_SECRET of a `pitcrew_with_jobs`

# ---- database -----------------------------------------------------------------------------------

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
SKIP_REASON = "TEST_DATABASE_URL not set: PostgreSQL tests skipped"
requires_postgres = pytest.mark.skipif(not TEST_DATABASE_URL, reason=SKIP_REASON)
BACKENDS = ["sqlite", "postgres"]


def libpq_dsn(url: str) -> str:
    """The URL as psycopg takes it (no SQLAlchemy driver suffix, `postgresql://`)."""
    return url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")


# No test connects to the placeholder: every one that uses ADMIN_DSN is skipped when it is unset.
ADMIN_DSN = libpq_dsn(TEST_DATABASE_URL or "postgresql://postgres@test-database-url.invalid/unset")
_ADMIN = conninfo_to_dict(ADMIN_DSN)


def skip_without_postgres() -> None:
    if not TEST_DATABASE_URL:
        pytest.skip(SKIP_REASON)


def dsn_for(dbname: str, user: str | None = None, *, scheme: str = "postgresql", query: str = "") -> str:
    """A DSN on the test server: `user` (the admin's by default, with its password) in `dbname`."""
    user = user or _ADMIN.get("user", "postgres")
    password = f":{_ADMIN['password']}" if _ADMIN.get("password") and user == _ADMIN.get("user") else ""
    host, port = _ADMIN.get("host", "127.0.0.1"), _ADMIN.get("port", 5432)
    return f"{scheme}://{user}{password}@{host}:{port}/{dbname}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Throwaway:
    """A database made for one test (or module), and LOGIN roles without superuser named after it."""

    database: str
    roles: tuple[str, ...] = ()

    @property
    def role(self) -> str:
        return self.roles[0]

    def dsn(self, user: str | None = None, **how: str) -> str:
        """`user` (the admin by default) in this database; `how`: dsn_for's scheme and query."""
        return dsn_for(self.database, user, **how)


def _throwaway(roles: Sequence[str]) -> Throwaway:
    database = f"pitcrew_t_{uuid.uuid4().hex[:12]}"
    return Throwaway(database, tuple(f"{database}_{role}" for role in roles))


def _creation(made: Throwaway) -> list[sql.Composable]:
    return [
        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(made.database)),
        *(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)) for role in made.roles),
    ]


def _removal(made: Throwaway) -> list[tuple[sql.Composable | str, list[str]]]:
    """The database with its sessions, then each role once its sessions (in other databases too) are ended."""
    statements: list[tuple[sql.Composable | str, list[str]]] = [
        (sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(made.database)), [])
    ]
    for role in made.roles:
        statements.append(("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]))
        statements.append((sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)), []))
    return statements


@asynccontextmanager
async def throwaway_database(*roles: str) -> AsyncIterator[Throwaway]:
    """A database on the test server (and a role per name in `roles`), dropped with them afterwards."""
    skip_without_postgres()
    made = _throwaway(roles)
    async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
        for statement in _creation(made):
            await admin.execute(statement)
    try:
        yield made
    finally:
        async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
            for statement, params in _removal(made):
                await admin.execute(statement, params)


@contextmanager
def throwaway_database_sync(*roles: str) -> Iterator[Throwaway]:
    """`throwaway_database` for a module-scoped fixture, which runs outside any event loop."""
    skip_without_postgres()
    made = _throwaway(roles)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        for statement in _creation(made):
            admin.execute(statement)
    try:
        yield made
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            for statement, params in _removal(made):
                admin.execute(statement, params)


async def alive(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether the server still serves this connection (a terminated session answers with an error)."""
    try:
        await conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """A migrated, empty database; the URL as a user would write it in DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pitcrew.db'}"
        await upgrade_async(url)
        yield url
        return
    async with throwaway_database() as made:
        url = made.dsn()
        await upgrade_async(url)
        yield url


# ---- fake Slack and signing ---------------------------------------------------------------------


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    async with slack.serve():
        yield slack


def signed(slack: FakeSlack, body: bytes, content_type: str = payloads.FORM) -> dict[str, str]:
    """The headers Slack sends with `body`: its signature with the fake's signing secret, and a fresh timestamp."""
    return payloads.signed_headers(body, slack.signing_secret, content_type=content_type)


# ---- sandbox providers --------------------------------------------------------------------------

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
MUTATIONS = (
    "DeploymentRollback", "DeploymentRestart", "DeploymentRedeploy", "DeploymentStop",
    "VariableUpsert", "VariableCollectionUpsert", "VariableDelete",
    "ServiceInstanceLimitsUpdate", "ServiceInstanceUpdate", "VolumeInstanceBackupCreate",
)


class Clock:
    """The app's clock, moved by the test: Deps, the sandboxes and the jobs all read it, so a test
    reaches "15 minutes later" at once."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def provider_settings(railway: FakeRailway, vercel: FakeVercel) -> dict[str, Any]:
    """Settings that point pitcrew at the sandbox Railway and Vercel, with their tokens."""
    return {
        "RAILWAY_API_URL": railway.url,
        "RAILWAY_API_TOKEN": SANDBOX_API_TOKEN,
        "VERCEL_API_URL": vercel.url,
        "VERCEL_TOKEN": SANDBOX_VERCEL_TOKEN,
    }


@asynccontextmanager
async def serving_providers(
    railway: RailwayWorld, vercel: VercelWorld
) -> AsyncIterator[tuple[FakeRailway, FakeVercel]]:
    """The sandbox Railway and Vercel serving these worlds over loopback HTTP."""
    async with FakeRailway.serve(railway) as fake_railway, FakeVercel.serve(vercel) as fake_vercel:
        yield fake_railway, fake_vercel


def closed_port_url(path: str = "/graphql/v2") -> str:
    """A loopback URL nothing listens on (the port was free a moment ago): a provider that cannot be reached."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# A database whose host never resolves (RFC 2606 reserves .invalid): one that cannot be reached.
UNRESOLVABLE_DSN = "postgresql://app:unused-pass@db.host-that-does-not-resolve.invalid:5432/app"


@dataclass
class Sandbox:
    railway: FakeRailway
    world: RailwayWorld
    vercel: FakeVercel
    vercel_world: VercelWorld
    service: SampleService
    service_url: str
    clock: Clock

    def settings(self) -> dict[str, Any]:
        return provider_settings(self.railway, self.vercel)

    def railway_api(self, **more: Any) -> dict[str, Any]:
        """`api` on the sandbox Railway, its health on the sample service."""
        return {
            "provider": "railway",
            "railway": self.world.ref("api").model_dump(),
            "health": {"url": f"{self.service_url}/health", "expect_json": {"status": "ok"}, "timeout_s": 2},
            **more,
        }

    def catalog(self, *, operators: list[str] | None = None, actions: dict[str, Any] | None = None,
                api_actions: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Catalog:
        api = self.railway_api(**({"actions": api_actions} if api_actions else {}))
        web = {"provider": "vercel", "vercel": self.vercel_world.ref("web").model_dump(exclude_none=True)}
        services = {"api": api, "web": web, "site": {"provider": "http", "health": {"url": self.service_url}}}
        services.update(extra or {})
        document: dict[str, Any] = {
            "slack": {
                "alerts_channel": ALERTS,
                "operators": operators if operators is not None else [OPERATOR, OPERATOR_2],
            },
            "services": services,
        }
        if actions:
            document["actions"] = actions
        return parse_catalog(yaml.safe_dump(document))

    def mutations(self, operation: str | None = None) -> list[Any]:
        wanted = (operation,) if operation else MUTATIONS
        return [c for c in self.railway.calls if c.operation in wanted]


@pytest.fixture
async def service() -> AsyncIterator[tuple[SampleService, str]]:
    """A sample backend over loopback HTTP for `/health` to probe, and its URL."""
    sample = SampleService()
    async with LoopbackServer(sample) as server:
        yield sample, server.url


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    clock = Clock(NOW)
    world = railway_world(NOW, clock=clock)
    web_world = vercel_world(NOW, clock=clock)
    service = SampleService()
    async with serving_providers(world, web_world) as (railway, vercel), LoopbackServer(service) as sample:
        yield Sandbox(railway, world, vercel, web_world, service, sample.url, clock)
    documents = set(graphql_docs.ALL_DOCUMENTS.values())
    for call in railway.calls:
        assert call.query in documents, f"{call.operation}: not one of graphql_docs' constants"
        validate_railway_document(call.query, call.variables)
    for call in vercel.calls:
        validate_vercel_call(call.method, call.path, call.query)


# ---- the app ------------------------------------------------------------------------------------


def catalog_from(services: Mapping[str, Any], **slack: Any) -> Catalog:
    document = {
        "slack": {"alerts_channel": ALERTS, "updates_channel": UPDATES, "operators": [OPERATOR], **slack},
        "services": dict(services),
    }
    return parse_catalog(yaml.safe_dump(document))


def settings_for(db_url: str, slack: FakeSlack, **settings: Any) -> Settings:
    """pitcrew's settings on `db_url`, talking to the fake Slack (its token, signing secret and URL)."""
    return Settings(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=slack.signing_secret,
        SLACK_API_URL=slack.api_url,
        **settings,
    )


@dataclass
class RunningPitcrew:
    deps: Deps
    slack: FakeSlack
    url: str
    http: httpx.AsyncClient

    async def command(
        self, command: str, text: str = "", *, user: str = OPERATOR, channel: str = ALERTS
    ) -> httpx.Response:
        return await self.slack.slash(command, text, user=user, channel=channel)

    async def jobs_settled(self, timeout_s: float = 10.0) -> None:
        """Wait until no job is running, its end recorded. Before moving the clock past a job's lease
        (5 min): a job whose end is still being recorded would look abandoned and be run again."""
        async with asyncio.timeout(timeout_s):
            while True:
                async with self.deps.sessions() as session:
                    running = await session.scalar(select(func.count()).select_from(Job).where(Job.status == "running"))
                if not running:
                    return
                await asyncio.sleep(0.01)


@asynccontextmanager
async def running_pitcrew(
    db_url: str,
    catalog: Catalog,
    slack: FakeSlack,
    *,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] | None = None,
    **settings: Any,
) -> AsyncIterator[RunningPitcrew]:
    """`clock` is the app's from the start: set later, a job round already under way would still
    claim with the real time, and run jobs the test's clock has not reached."""
    deps = build_deps(settings_for(db_url, slack, **settings), catalog, environ=dict(env or {}), clock=clock or utcnow)
    # The job runner of the app's lifespan runs what is handed over to it (commands, clicks, new
    # incidents' messages) at once, as in production; it does not poll, so scheduled jobs (a
    # verification, an escalation) run when a test advances its clock and calls run_due().
    web = build_web_app(deps, build_slack_app(deps), job_poll_s=3600)
    try:
        async with (
            web.router.lifespan_context(web),
            LoopbackServer(web, **uvicorn_limits()) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        ):
            slack.connect_app(http)
            yield RunningPitcrew(deps=deps, slack=slack, url=server.url, http=http)
    finally:
        await deps.close()


def sandboxed_pitcrew(db_url: str, slack: FakeSlack, sandbox: Sandbox) -> AbstractAsyncContextManager[RunningPitcrew]:
    """pitcrew on the sandbox's providers, catalog and clock (the clock from the start)."""
    return running_pitcrew(db_url, sandbox.catalog(), slack, clock=sandbox.clock, **sandbox.settings())


@dataclass
class Pitcrew:
    """A running app, its clock and a job runner the test drives (`run_jobs`) by that clock."""

    app: RunningPitcrew
    clock: Clock
    runner: JobRunner

    @property
    def slack(self) -> FakeSlack:
        return self.app.slack

    @property
    def http(self) -> httpx.AsyncClient:
        return self.app.http

    async def run_jobs(self) -> int:
        """Run every job due by the app's clock, including those the jobs themselves make due.

        A webhook that opens an incident runs the due jobs itself right after answering; those
        runs are waited for first, so that the test sees a settled state.
        """
        total = 0
        while True:
            await self.wait_for_running_jobs()
            ran = await self.runner.run_due(limit=50)
            total += ran
            if not ran:
                await self.wait_for_running_jobs()
                return total

    async def wait_for_running_jobs(self, timeout_s: float = 10.0) -> None:
        await self.app.jobs_settled(timeout_s)

    async def webhook(
        self,
        source: str,
        body: bytes | str | dict[str, Any],
        *,
        token: str | None = SECRET,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Post to `/webhooks/<source>` as a monitoring tool does, its token in the query."""
        raw = (
            body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        params = {"token": token} if token else {}
        return await self.http.post(
            f"/webhooks/{source}", content=raw, params=params, headers={"content-type": content_type, **(headers or {})}
        )

    async def submit(self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str) -> httpx.Response:
        """Submit a form Slack showed (as `view_submission`), with `values` as {block_id: {action_id: value}}."""
        payload = {
            "type": "view_submission",
            "team": {"id": payloads.TEAM_ID, "domain": "sandbox"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": payloads.TEAM_ID},
            "api_app_id": payloads.API_APP_ID,
            "token": "verification-token-unused",
            "trigger_id": "1337.42.view",
            "view": {**view, "id": "V0FORM", "state": {"values": values}},
            "response_urls": [],
            "is_enterprise_install": False,
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.http.post("/slack/events", content=body, headers=signed(self.slack, body))


@asynccontextmanager
async def pitcrew_with_jobs(
    db_url: str, catalog: Catalog, slack: FakeSlack, *, clock: Clock, **settings: Any
) -> AsyncIterator[Pitcrew]:
    """`running_pitcrew` on `clock`, with a job runner of the test's own and SECRET as its webhook secret."""
    settings.setdefault("WEBHOOK_SECRET", SECRET)
    async with running_pitcrew(db_url, catalog, slack, clock=clock, **settings) as app:
        yield Pitcrew(app=app, clock=clock, runner=JobRunner(app.deps, worker="test-runner"))
