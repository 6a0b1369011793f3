"""A running pitcrew for end-to-end tests: the real ASGI app served over loopback HTTP, a fake Slack
that signs its requests to it, and a catalog the test writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import yaml
from sqlalchemy import func, select

from app.catalog import Catalog, parse_catalog
from app.deps import Deps, build_deps, utcnow
from app.sandbox.server import LoopbackServer
from app.sandbox.slack import FakeSlack
from app.settings import Settings
from app.slack.app import build_slack_app
from app.store.models import Job
from app.web import build_web_app
from app.web_limits import uvicorn_limits

ALERTS = "C0ALERTS"
UPDATES = "C0UPDATES"
OPERATOR = "U0OPS1"


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


def catalog_from(services: Mapping[str, Any], **slack: Any) -> Catalog:
    document = {
        "slack": {"alerts_channel": ALERTS, "updates_channel": UPDATES, "operators": [OPERATOR], **slack},
        "services": dict(services),
    }
    return parse_catalog(yaml.safe_dump(document))


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
    config = Settings(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=slack.signing_secret,
        SLACK_API_URL=slack.api_url,
        **settings,
    )
    deps = build_deps(config, catalog, environ=dict(env or {}), clock=clock or utcnow)
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
