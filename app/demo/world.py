"""`pitcrew demo`: the whole product on this machine, in one command, with nothing configured.

Everything listens on 127.0.0.1 only and lives as long as the command: SQLite in a temporary
directory (migrated), the sandbox Railway and Vercel (their sample worlds), a sample service that
is the `api` service's health URL, a sandbox UptimeRobot watching it, pitcrew's own web app (its
webhooks and status page), a generated `pitcrew.yml` pointing at all of them, and the console.
pitcrew is built exactly as `pitcrew serve` builds it, from settings and a catalog: the real
provider clients talk HTTP to the sandbox, and nothing inside pitcrew knows it is a demo.

The console gains one verb, `demo`, to make the sandbox misbehave the way the seeds' incidents
start (`demo break api`, `demo deploy api`) and to heal it (`demo fix api`). The sandbox API keeps
its health honest with the sandbox Railway: it is healthy exactly when its current deployment runs
and is not a bad build, so a rollback or a restart that reaches Railway brings it back, and
pitcrew's verification sees that for itself.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO, cast

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount

from app.catalog import Catalog, load_catalog
from app.console.lines import ConsoleInputError, TerminalLines
from app.console.render import PLAIN, Palette
from app.console.session import ConsoleSession
from app.sandbox.pagerduty import SANDBOX_ROUTING_KEY, FakePagerDuty
from app.sandbox.railway import sample as railway_sample
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.world import SANDBOX_API_TOKEN, RailwayWorld
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.sandbox.uptime import UptimeMonitor
from app.sandbox.vercel import sample as vercel_sample
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN, VercelWorld
from app.settings import Settings
from app.store.migrate import upgrade_async

log = logging.getLogger("pitcrew.demo")

DEMO_USER = "U0DEMO"
DEMO_TEAMMATE = "U0DEMOMATE"  # the demo's on-call rotation takes turns between you and them
ALERTS_CHANNEL = "C0ALERTS"
UPDATES_CHANNEL = "C0UPDATES"
BROKEN_SERVICE = "api"  # the service with a health URL, watched by the sandbox UptimeRobot
MONITOR_INTERVAL_S = 1.0
LIVE_PRINT_INTERVAL_S = 0.3
# `demo break api`: traffic reaches a bug of the serving deployment ("Fix N+1 query in /orders", 3 h old).
CRASH_MESSAGE = "TypeError: Cannot read properties of undefined (reading 'items') at listOrders (dist/orders.js:42)"
# api's resources in the demo: a 1 GB container, as a small Node service has; `demo break api` first
# shows the memory it had been leaking climb to LEAK_PEAK of that over LEAK_MINUTES (the chart of the
# backend-down runbook's metrics step tells that story), then the crash.
API_MEMORY_LIMIT_GB = 1.0
API_VCPUS = 2.0
LEAK_MINUTES = 40
LEAK_PEAK = 0.92
# `demo deploy api`: the new deployment dies as it starts.
BAD_BUILD_ERROR = "TypeError: Cannot read properties of undefined (reading 'userId') at sessionMiddleware"

DEMO_HELP = """\
The sandbox (`pitcrew demo` only):
  demo break api          a bug of api's current deployment makes it crash; UptimeRobot alerts pitcrew
  demo deploy api         ship a bad deployment of api: Railway's webhook says it deployed, pitcrew
                          watches it; it crashes on start, the watch sees it regress and offers the
                          rollback (and UptimeRobot alerts)
  demo fix api            api heals by itself (as if someone fixed it outside pitcrew)
  demo maintenance api    open a 30-minute maintenance window on api, then api goes down: the alert is
                          held on the window's message and opens no incident
  demo break db           the database goes away: api and web fail too; their alerts make one incident
  demo fix db             the database comes back, and api and web with it
  demo status             what the sandbox looks like now, and its URLs
  demo help               this text"""


# ---- the pitcrew.yml the demo writes -------------------------------------------------------------


def demo_catalog_yaml(
    world: RailwayWorld,
    vercel_world: VercelWorld,
    health_url: str,
    *,
    db_health_url: str = "http://127.0.0.1:9/db/health",
    web_health_url: str = "http://127.0.0.1:9/web/health",
) -> str:
    """The demo's pitcrew.yml: the sandbox's services, one operator (the demo's user), short timers.

    The verification window and the quiet period are short so the story plays in a minute; the
    rest is what a small team's file looks like.
    """
    api, worker = world.ref("api"), world.ref("worker")
    web = vercel_world.ref("web")
    return f"""\
# Written by `pitcrew demo`: every endpoint below is a sandbox on 127.0.0.1, gone when the demo ends.
slack:
  alerts_channel: {ALERTS_CHANNEL}        # incident threads open here
  updates_channel: {UPDATES_CHANNEL}      # status updates for stakeholders
  operators: [{DEMO_USER}]            # you: the demo's user may confirm destructive actions
  escalation:
    - {{after_minutes: 0, notify: [{DEMO_USER}]}}
    - {{after_minutes: 30, notify: [oncall:primary]}}   # whoever is on call when nobody acked in 30 min
oncall:                           # `/incident oncall` shows who is on call now, next, and two weeks of hand-offs
  rotations:
    primary:
      members: [{DEMO_USER}, {DEMO_TEAMMATE}]
      length: daily
      handoff: "09:00"
      timezone: Europe/Paris
      anchor: 2026-01-05
services:
  api:
    provider: railway
    railway: {{project_id: "{api.project_id}", environment_id: "{api.environment_id}", service_id: "{api.service_id}"}}
    health: {{url: "{health_url}", expect_status: 200, expect_json: {{status: ok}}, timeout_s: 2}}
    runbooks: [backend-down]
    depends_on: [db]                # db down takes api down: their alerts make one incident
    watch_minutes: 0.25             # watch each deploy for 15 s (15 minutes by default)
  worker:
    provider: railway
    railway: {{project_id: "{worker.project_id}", environment_id: "{worker.environment_id}", \
service_id: "{worker.service_id}"}}
    watch_minutes: 0.25
  web:
    provider: vercel
    vercel: {{project_id: "{web.project_id}", team_id: "{web.team_id}"}}
    health: {{url: "{web_health_url}", timeout_s: 2}}
    depends_on: [api]
    watch_minutes: 0.25
  db:
    provider: http
    health: {{url: "{db_health_url}", timeout_s: 2}}
incidents:
  default_severity: SEV2          # an UptimeRobot alert says no severity; backend down is at least SEV2
  quiet_minutes: 1                # a recovered incident resolves by itself after 1 quiet minute
  correlate_minutes: 10           # an alert for a service (or one it depends on) with an open incident joins it
  root_edit_interval_seconds: 2   # the root message shows joined alerts within 2 s
actions:
  verify: {{interval_s: 1, window_minutes: 0.05}}   # watch a rollback for 3 s, not 15 minutes
schedules:                        # checks on a calendar (Paris time), posted here when something is wrong
  - {{name: morning-health, check: health, services: [api, web, db], every: "weekday at 08:00"}}
"""


def demo_settings(*, database_url: str, config_path: Path, railway_url: str, vercel_url: str,
                  public_url: str, webhook_secret: str, drain_secret: str | None = None,
                  pagerduty_url: str | None = None) -> Settings:
    """Settings for the sandbox, whatever this shell exports: the demo never reaches a real service.

    Every field starts from its default (not from the environment) and the sandbox's endpoints and
    tokens are set over it. The console replaces the Slack ones with its fake Slack's.
    """
    values: dict[str, Any] = {name: spec.default for name, spec in Settings.model_fields.items()}
    values.update(
        DATABASE_URL=database_url,
        PITCREW_CONFIG=str(config_path),
        RAILWAY_API_URL=railway_url,
        RAILWAY_API_TOKEN=SecretStr(SANDBOX_API_TOKEN),
        RAILWAY_PROJECT_TOKEN=None,
        VERCEL_API_URL=vercel_url,
        VERCEL_TOKEN=SecretStr(SANDBOX_VERCEL_TOKEN),
        WEBHOOK_SECRET=SecretStr(webhook_secret),
        PUBLIC_URL=public_url,
        VERCEL_DRAIN_SECRET=SecretStr(drain_secret) if drain_secret else None,
        # A key of this run's own: the audit chain is keyed, and a variable's old value is kept
        # encrypted until its revert reminder (`@pitcrew set api LOG_LEVEL` with a revert after).
        AUDIT_KEY=SecretStr(secrets.token_hex(32)),
        # A post-deploy watch looks every 2 s rather than every minute, so one plays out in the story.
        WATCH_INTERVAL_SECONDS=2.0,
    )
    if pagerduty_url:  # pages leave Slack: to the sandbox PagerDuty, as they would to the real one
        values.update(PAGERDUTY_ROUTING_KEY=SecretStr(SANDBOX_ROUTING_KEY), PAGERDUTY_EVENTS_URL=pagerduty_url)
    return Settings(**values)


# ---- the sandbox API: its health follows the sandbox Railway ----------------------------------


class SandboxApi:
    """The `api` service as the demo plays it: a SampleService whose health is what Railway shows.

    Healthy exactly when api's current deployment in the sandbox Railway is running (SUCCESS) and
    its commit has no known bug. A commit with a bug crashes again on every start, as a code bug
    does: a restart does not help, a rollback to another commit does. The state is synced on every
    health request, so the answer never lags behind what pitcrew did through Railway's API.
    """

    def __init__(self, world: RailwayWorld, service: SampleService | None = None) -> None:
        self.world = world
        self.service = service or SampleService()
        self.bugs: dict[str, str] = {}  # commit hash -> the error its process dies with
        self.db_down = False  # `demo break db`: api cannot reach its database

    def sync(self) -> bool:
        """Bring the sample service in line with the world; True when api is healthy."""
        current = self.world.current(BROKEN_SERVICE)
        bug = self.bugs.get(current.commit_hash or "") if current is not None else None
        if current is not None and current.status == "SUCCESS" and bug:
            self.world.crash(BROKEN_SERVICE, bug)  # restarted, it meets its bug again
        healthy = current is not None and current.status == "SUCCESS" and not self.db_down
        if healthy:
            self.service.ok()
        else:
            self.service.down()
        return healthy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.sync()
        await self.service(scope, receive, send)

    # -- what the `demo` verbs do to it

    def crash(self) -> str:
        """Traffic meets a bug of the serving deployment: its process dies, and would again after a restart.

        Before it died, the bug had been keeping every order list it built: memory climbed for
        LEAK_MINUTES towards the limit, which Railway's metrics (and the runbook's chart) show."""
        current = self.world.current(BROKEN_SERVICE)
        if current is None or current.status != "SUCCESS":
            raise ConsoleInputError("api is already down: `demo fix api` heals it, or fix it with pitcrew")
        now = self.world.clock()
        limit = self.world.service(BROKEN_SERVICE).memory_gb
        self.world.memory_climb(
            BROKEN_SERVICE, since=now - timedelta(minutes=LEAK_MINUTES), until=now, peak_gb=LEAK_PEAK * limit
        )
        self.bugs[current.commit_hash or ""] = CRASH_MESSAGE
        self.world.crash(BROKEN_SERVICE, CRASH_MESSAGE)
        self.sync()
        return f"api's deployment {current.id[:8]} crashed ({CRASH_MESSAGE})"

    def deploy_bad(self) -> str:
        """A new deployment from a bad commit goes live and crashes on start."""
        deployment = self.world.add_deployment(
            BROKEN_SERVICE,
            status="SUCCESS",
            commit_message="Move sessions to the new auth middleware",
            author="Lee Dev",
        )
        self.bugs[deployment.commit_hash or ""] = BAD_BUILD_ERROR
        self.world.log(BROKEN_SERVICE, "Starting api (node dist/server.js)", deployment_id=deployment.id)
        self.sync()  # it crashes at once, logging why
        short = (deployment.commit_hash or "")[:7]
        return f"deployed {deployment.id[:8]} ({short} “Move sessions to the new auth middleware”); it crashes on start"

    def heal(self) -> str:
        """api runs again, as if someone hot-fixed it outside pitcrew: its bug is gone, it is restarted."""
        current = self.world.current(BROKEN_SERVICE)
        if current is None:
            raise ConsoleInputError("api has no deployment to heal")
        if current.status == "SUCCESS" and not self.bugs.get(current.commit_hash or ""):
            raise ConsoleInputError("api is healthy already: `demo break api` or `demo deploy api` first")
        self.bugs.pop(current.commit_hash or "", None)
        self.world.restart(current.id)
        self.sync()
        return f"api's deployment {current.id[:8]} is running again"


class _LateApp:
    """An ASGI app that forwards to one set later: pitcrew's URL is needed before pitcrew is built."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is None:
            if scope["type"] == "http":
                await PlainTextResponse("pitcrew is starting", status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


# ---- the environment ---------------------------------------------------------------------------


@dataclass
class DemoSandbox:
    """Everything `pitcrew demo` runs, with the URLs to reach it; built by `open_sandbox()`."""

    directory: Path
    config_path: Path
    settings: Settings
    catalog: Catalog
    railway: FakeRailway
    vercel: FakeVercel
    api: SandboxApi
    health_url: str
    app_url: str
    monitor: UptimeMonitor
    http: httpx.AsyncClient
    app_server: LoopbackServer = field(repr=False)
    _app: _LateApp = field(repr=False)
    # `demo break db`: the database and the web front end, each watched by a monitor of its own
    db: SampleService = field(default_factory=SampleService)
    web: SampleService = field(default_factory=SampleService)
    monitors: list[UptimeMonitor] = field(default_factory=list)
    # where pitcrew's pages outside Slack go: the PagerDuty stand-in (Events API v2)
    pagerduty: FakePagerDuty = field(default_factory=FakePagerDuty)

    def attach(self, session: ConsoleSession) -> None:
        """Serve the session's app at `app_url` (webhooks, status page) once the session has started."""
        self._app.app = session.web_app


@asynccontextmanager
async def open_sandbox(*, database_url: str | None = None) -> AsyncIterator[DemoSandbox]:
    """Start the sandbox (not the console yet); everything stops and the directory goes at the end.

    The database is SQLite in the temporary directory unless `database_url` names another.
    """
    async with AsyncExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pitcrew-demo-")))
        database_url = database_url or f"sqlite:///{directory / 'pitcrew.db'}"
        await upgrade_async(database_url)
        world = railway_sample.sample_world()
        world.set_metrics(BROKEN_SERVICE, memory_limit_gb=API_MEMORY_LIMIT_GB, cpu_limit=API_VCPUS)
        vercel_world = vercel_sample.sample_world()
        # web checks the tokens api issues, so it holds api's JWT_SECRET too (the demo's rotation sets both)
        vercel_world.set_env("web", "JWT_SECRET", railway_sample.SAMPLE_JWT_SECRET, targets=["production"])
        railway = await stack.enter_async_context(FakeRailway.serve(world))
        vercel = await stack.enter_async_context(FakeVercel.serve(vercel_world))
        pagerduty = await stack.enter_async_context(FakePagerDuty().serve())
        api = SandboxApi(world)
        service_server = await stack.enter_async_context(LoopbackServer(api))
        late = _LateApp()
        app_server = await stack.enter_async_context(LoopbackServer(late))
        health_url = f"{service_server.url}/health"
        db, web = SampleService(), SampleService()
        # One server, two paths: UptimeRobot's alerts are matched to services by their URL's host and path.
        others_server = await stack.enter_async_context(
            LoopbackServer(Starlette(routes=[Mount("/db", app=db), Mount("/web", app=web)]))
        )
        db_health, web_health = f"{others_server.url}/db/health", f"{others_server.url}/web/health"
        config_path = directory / "pitcrew.yml"
        config_path.write_text(
            demo_catalog_yaml(world, vercel_world, health_url, db_health_url=db_health, web_health_url=web_health),
            encoding="utf-8",
        )
        webhook_secret = secrets.token_urlsafe(12)
        drain_secret = secrets.token_urlsafe(16)
        assert railway.url is not None and vercel.url is not None
        settings = demo_settings(
            database_url=database_url, config_path=config_path, railway_url=railway.url, vercel_url=vercel.url,
            public_url=app_server.url, webhook_secret=webhook_secret, drain_secret=drain_secret,
            pagerduty_url=pagerduty.url,
        )
        # Railway tells pitcrew of api's deploys (and crashes) through its project webhook
        world.add_webhook(f"{app_server.url}/webhooks/railway?token={webhook_secret}")
        # web's logs reach pitcrew through a log drain, as Vercel's API keeps no history of them
        vercel_world.add_drain(f"{app_server.url}/drains/vercel", drain_secret, projects=["web"])
        _recent_web_traffic(vercel_world)
        drains = asyncio.create_task(vercel.run_drains(1.0), name="sandbox-vercel-drains")
        stack.push_async_callback(_cancelled, drains)
        http = await stack.enter_async_context(httpx.AsyncClient(headers={"User-Agent": "pitcrew-sandbox"}))
        monitor = UptimeMonitor(
            http, url=health_url, name="api", webhook_url=f"{app_server.url}/webhooks/uptimerobot",
            token=webhook_secret, interval_s=MONITOR_INTERVAL_S,
        )
        others = [
            UptimeMonitor(
                http, url=url, name=name, webhook_url=f"{app_server.url}/webhooks/uptimerobot",
                token=webhook_secret, interval_s=MONITOR_INTERVAL_S, monitor_id=monitor_id,
            )
            for url, name, monitor_id in ((db_health, "db", "797002"), (web_health, "web", "797003"))
        ]
        yield DemoSandbox(
            directory=directory, config_path=config_path, settings=settings, catalog=load_catalog(config_path),
            railway=railway, vercel=vercel, api=api, health_url=health_url, app_url=app_server.url,
            monitor=monitor, http=http, app_server=app_server, _app=late, db=db, web=web,
            monitors=[monitor, *others], pagerduty=pagerduty,
        )


def _recent_web_traffic(world: VercelWorld) -> None:
    """A few minutes of web's requests, delivered by the drain once pitcrew is up."""
    now = world.clock()
    lines = [
        ("GET /pricing 200", "info", "/pricing", 200),
        ("GET /api/cart 200", "info", "/api/cart", 200),
        ("Warning: Extra attributes from the server: class", "warning", "/pricing", 200),
        ("TypeError: Cannot read properties of undefined (reading 'price')", "error", "/api/checkout", 500),
        ("GET /api/cart 200", "info", "/api/cart", 200),
    ]
    for n, (message, level, path, status) in enumerate(lines):
        world.log("web", message, level=level, path=path, status=status,
                  at=now - timedelta(minutes=5 * (len(lines) - n)))


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# ---- the `demo` verb ---------------------------------------------------------------------------


class DemoCommands:
    """`demo break|deploy|fix|status|help [api]`: the sandbox misbehaves, and UptimeRobot tells pitcrew."""

    def __init__(self, sandbox: DemoSandbox) -> None:
        self.sandbox = sandbox
        self._told_of: dict[str, int] = {}  # how many of each monitor's alerts were narrated

    async def __call__(self, session: ConsoleSession, rest: str) -> None:
        words = rest.split()
        verb = words[0].lower() if words else "help"
        target = words[1].lower() if len(words) > 1 else None
        if verb in ("help", "?"):
            session.write(DEMO_HELP)
            return
        if verb == "status":
            session.write(self.status())
            return
        if verb not in ("break", "deploy", "fix", "maintenance"):
            raise ConsoleInputError(
                f"`demo {verb}` is not a demo command: demo break|deploy|fix|maintenance api, demo status, demo help"
            )
        if target is None:
            raise ConsoleInputError(f"`demo {verb}` needs the service: `demo {verb} api`")
        if target == "db" and verb in ("break", "fix"):
            session.write(f"(sandbox) {self.break_db() if verb == 'break' else self.fix_db()}.")
            await self.alert(session)
            return
        if target != BROKEN_SERVICE:
            raise ConsoleInputError(
                f"the sandbox can only {verb} `api` (its one service with a health URL, watched by UptimeRobot), "
                f"not {target!r}"
            )
        api = self.sandbox.api
        if verb == "maintenance":
            await self.maintenance(session)
            return
        said = {"break": api.crash, "deploy": api.deploy_bad, "fix": api.heal}[verb]()
        session.write(f"(sandbox) {said}.")
        await self.alert(session)

    async def maintenance(self, session: ConsoleSession) -> None:
        """A maintenance window on api, then api goes down during it: the alert is held, no incident opens.

        Typed as a person would (`/incident maintenance ...`), so the console shows the window's
        announcement and, as UptimeRobot's alert arrives, the window's message listing it."""
        await session.handle(f"/incident maintenance {BROKEN_SERVICE} 30m demo: restarting api to upgrade Node")
        await session.settle()  # the window is recorded (and announced) before the outage starts
        said = self.sandbox.api.crash()
        session.write(f"(sandbox) during the window, {said}.")
        await self.alert(session)
        session.write(
            "(sandbox) the window holds the alert: no incident opens. `demo fix api` ends the outage; "
            "`/incident maintenance list` shows the window, `/incident maintenance cancel N` ends it "
            "(an alert still firing then opens its incident)."
        )
    def break_db(self) -> str:
        """The database goes away: api's requests fail, and web's pages that call api fail with them."""
        sandbox = self.sandbox
        if sandbox.api.db_down:
            raise ConsoleInputError("db is already down: `demo fix db` brings it back")
        sandbox.api.db_down = True
        sandbox.db.down()
        sandbox.web.down()
        sandbox.api.sync()
        return "db stopped answering; api and web fail with it (UptimeRobot watches all three)"

    def fix_db(self) -> str:
        sandbox = self.sandbox
        if not sandbox.api.db_down:
            raise ConsoleInputError("db is healthy already: `demo break db` first")
        sandbox.api.db_down = False
        sandbox.db.ok()
        sandbox.web.ok()
        sandbox.api.sync()
        return "db answers again; api and web recover"

    async def alert(self, session: ConsoleSession) -> None:
        """Let the sandbox UptimeRobot look now (rather than at its next tick), let the sandbox Railway
        send its webhooks (a deploy, a crash), and say what they sent."""
        for monitor in self.sandbox.monitors or [self.sandbox.monitor]:
            await monitor.check()
        await self.sandbox.railway.deliver_webhooks(self.sandbox.http)
        self.tell(session)

    async def watch(self, session: ConsoleSession) -> None:
        """UptimeRobot's own rounds: a look every interval, each alert it sends told in the transcript."""
        while True:
            try:
                await self.alert(session)
            except Exception:  # a monitor that stops watching would make the demo lie; keep going
                log.exception("the sandbox UptimeRobot failed a check")
            await asyncio.sleep(self.sandbox.monitor.interval_s)

    def tell(self, session: ConsoleSession) -> None:
        """One line per alert not told yet, whoever made the monitors look (a `demo` line or their rounds)."""
        for monitor in self.sandbox.monitors or [self.sandbox.monitor]:
            told = self._told_of.get(monitor.name, 0)
            for sent in monitor.sent[told:]:
                kind = "Down" if sent.state == "down" else "Up"
                answered = f"HTTP {sent.status_code}" if sent.status_code else f"no answer ({sent.answer})"
                session.write(
                    f"(sandbox) UptimeRobot: monitor “{monitor.name}” is {kind} ({sent.body['alertDetails']}); "
                    f"POST /webhooks/uptimerobot → pitcrew answered {answered}."
                )
            self._told_of[monitor.name] = len(monitor.sent)
        told = self._told_of.get("railway", 0)
        for hook in self.sandbox.railway.webhooks_sent[told:]:
            answered = f"HTTP {hook.status_code}" if hook.status_code else f"no answer ({hook.answer})"
            service = hook.body["resource"]["service"]["name"]
            session.write(
                f"(sandbox) Railway: webhook {hook.body['type']} for {service}'s deployment "
                f"{hook.event.deployment_id[:8]}; POST /webhooks/railway → pitcrew answered {answered}."
            )
        self._told_of["railway"] = len(self.sandbox.railway.webhooks_sent)
        told = self._told_of.get("pagerduty", 0)
        for event in self.sandbox.pagerduty.events[told:]:
            summary = (event.get("payload") or {}).get("summary")
            said = f" “{summary}”" if summary else ""
            session.write(
                f"(sandbox) PagerDuty received {event['event_action']}{said} "
                f"(dedup key {event.get('dedup_key')}): the on-call phone rings there."
                if event["event_action"] == "trigger"
                else f"(sandbox) PagerDuty received {event['event_action']} (dedup key {event.get('dedup_key')})."
            )
        self._told_of["pagerduty"] = len(self.sandbox.pagerduty.events)

    def _secret(self) -> str:
        secret = self.sandbox.settings.WEBHOOK_SECRET
        return secret.get_secret_value() if secret else ""

    def status(self) -> str:
        sandbox = self.sandbox
        current = sandbox.api.world.current(BROKEN_SERVICE)
        deployment = f"{current.id[:8]} {current.status}" if current else "none"
        return "\n".join([
            f"(sandbox) api: {'up' if sandbox.api.sync() else 'down'}, current deployment {deployment}",
            f"  api's health URL   {sandbox.health_url} (UptimeRobot looks every {MONITOR_INTERVAL_S:g} s)",
            f"  Railway GraphQL    {sandbox.railway.url}",
            f"  Vercel REST        {sandbox.vercel.url}",
            f"  status page        {sandbox.app_url}/status",
            f"  alert webhooks     POST {sandbox.app_url}/webhooks/<source>?token={self._secret()}  (throwaway secret)",
            f"  pitcrew.yml        {sandbox.config_path}",
            f"  database           {sandbox.settings.DATABASE_URL}",
        ])


# ---- live output at a terminal -----------------------------------------------------------------


class LiveTerminal:
    """Lines typed at a terminal, while messages that arrive meanwhile (a verification's edits, a
    recovery) are printed above the prompt instead of waiting for the next line.

    It is both the session's line source and its output: a write while a line is being typed
    clears the prompt line, prints, and draws the prompt and what was typed so far again.
    """

    echo = False

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        self._lines = TerminalLines()
        self.prompt: str | None = None

    async def read(self, prompt: str) -> str | None:
        self.prompt = prompt
        try:
            return await self._lines.read(prompt)
        finally:
            self.prompt = None

    def write(self, text: str) -> int:
        if self.prompt is None:
            return self.stream.write(text)
        typed = _typed_so_far()
        return self.stream.write("\r\x1b[K" + text + self.prompt + typed)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return True


def _typed_so_far() -> str:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return ""
    return readline.get_line_buffer()


async def _print_live(session: ConsoleSession, terminal: LiveTerminal) -> None:
    while True:
        await asyncio.sleep(LIVE_PRINT_INTERVAL_S)
        if terminal.prompt is not None:
            session.flush_events()


# ---- the command -------------------------------------------------------------------------------


def banner(sandbox: DemoSandbox) -> str:
    return "\n".join([
        "pitcrew demo: the whole product on this machine. Nothing leaves 127.0.0.1; it all goes when you quit.",
        f"  sandbox Railway  {sandbox.railway.url}  (services api, worker)",
        f"  sandbox Vercel   {sandbox.vercel.url}  (project web)",
        f"  api's /health    {sandbox.health_url}  (a sandbox UptimeRobot looks every {MONITOR_INTERVAL_S:g} s)",
        f"  status page      {sandbox.app_url}/status",
        f"  pitcrew.yml      {sandbox.config_path}",
        f"You are {DEMO_USER}, an operator, in #{ALERTS_CHANNEL}. A story to try:",
        "  /health                      everything is green",
        "  demo break api               api crashes; UptimeRobot alerts pitcrew; an incident thread opens (#N)",
        "  demo break db                db down takes api and web down: three alerts, ONE incident naming db",
        "  thread N                     into the incident's thread: @pitcrew ack, @pitcrew logs api, ...",
        "  click N                      the runbook offered there: Run, then each step's button; a rollback",
        "                               waits for an operator's confirmation (y), and pitcrew verifies it",
        "  @pitcrew resolve <summary>   resolved, and the post-mortem draft follows",
        "  demo deploy api              a bad deploy: pitcrew watches it, sees it regress, offers the rollback",
        "`demo help` lists what the sandbox can do, `help` what the console can do, `quit` ends the demo.",
    ])


@contextmanager
def errors_as_lines() -> Iterator[None]:
    """pitcrew's error records reach the screen as the console's one-line notes, not as tracebacks."""
    logger = logging.getLogger("pitcrew")
    before = logger.propagate
    logger.propagate = logging.getLogger().getEffectiveLevel() <= logging.INFO
    try:
        yield
    finally:
        logger.propagate = before


@dataclass
class RunningDemo:
    """The sandbox, the console session on it and the `demo` verb, as `running_demo()` yields them."""

    sandbox: DemoSandbox
    session: ConsoleSession
    commands: DemoCommands


@asynccontextmanager
async def running_demo(
    out: TextIO, *, palette: Palette = PLAIN, database_url: str | None = None, live: LiveTerminal | None = None
) -> AsyncIterator[RunningDemo]:
    """The sandbox and the console on it, the sandbox UptimeRobot making its rounds; all stopped at the end.

    `database_url` replaces the temporary SQLite (the tests play the story on PostgreSQL too);
    `live` prints messages that arrive while a person is typing.
    """
    async with open_sandbox(database_url=database_url) as sandbox, AsyncExitStack() as stack:
        commands = DemoCommands(sandbox)
        session = ConsoleSession(
            sandbox.settings, sandbox.catalog, user_id=DEMO_USER, out=cast(TextIO, live) if live else out,
            palette=palette, extra_commands={"demo": commands}, extra_help=DEMO_HELP,
        )
        await stack.enter_async_context(session)
        sandbox.attach(session)
        # Stopped before the session closes: the requests in flight (an alert's jobs) finish first.
        stack.push_async_callback(sandbox.app_server.stop)
        background = [asyncio.create_task(commands.watch(session), name="pitcrew-demo-uptimerobot")]
        if live is not None:
            background.append(asyncio.create_task(_print_live(session, live), name="pitcrew-demo-live"))
        session.ignore_tasks(*background)
        stack.push_async_callback(_stop, background)
        yield RunningDemo(sandbox, session, commands)


async def _stop(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
