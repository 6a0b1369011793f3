"""Starlette: `/slack/events`, `/healthz`, `/webhooks/{source}`, `/drains/vercel`, `/status`, `/ack/<token>`;
and the job runner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.ack_page import ack_routes
from app.deps import Deps
from app.drains import drain_routes
from app.flows.action_settle import schedule_settling_of_running
from app.in_flight import InFlight
from app.jobs.purge import schedule_purge
from app.jobs.runner import JobRunner
from app.pagerduty_webhook import pagerduty_route
from app.slack.ack_runner import drain_listeners
from app.slack.audit_jobs import schedule_anchor
from app.slack.command_intake import CommandIntake
from app.slack.deferral import slack_job_handlers
from app.slack.oncall_jobs import schedule_handoffs
from app.slack.report_jobs import schedule_weekly_report
from app.slack.schedule_jobs import schedule_checks
from app.status_page import status_routes
from app.web_limits import BodyRefused, read_body, slack_refusal, with_body
from app.webhooks import webhook_route

DB_CHECK_TIMEOUT_S = 3.0

log = logging.getLogger("pitcrew.web")


def build_web_app(
    deps: Deps, slack_app: AsyncApp, *, close_deps_on_shutdown: bool = False, job_poll_s: float = 1.0
) -> Starlette:
    handler = AsyncSlackRequestHandler(slack_app)
    intake = CommandIntake(deps)
    in_flight = InFlight()

    async def slack_events(request: Request) -> Response:
        # Refused from the headers, or after at most 1 MiB read in at most 10 s (app/web_limits.py).
        if (refusal := slack_refusal(request.headers)) is not None:
            return BodyRefused(401, refusal).response()
        try:
            body = await read_body(request)
        except BodyRefused as refused:
            return refused.response()
        if await intake.acked(body, request.headers):
            return Response(status_code=200)
        return await handler.handle(with_body(request, body))

    async def healthz(request: Request) -> Response:
        """Up or not, for a load balancer; why not (driver text with host names) only in the log."""
        try:
            async with asyncio.timeout(DB_CHECK_TIMEOUT_S), deps.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except TimeoutError:
            log.warning("/healthz: the database gave no answer within %g s", DB_CHECK_TIMEOUT_S)
            return JSONResponse(UNHEALTHY, 503)
        except Exception as err:  # any driver error means the same thing to a load balancer
            log.warning("/healthz: the database is unreachable: %s", _reason(err))
            return JSONResponse(UNHEALTHY, 503)
        return JSONResponse({"status": "ok", "db": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Scheduled and handed-over work runs on every instance (each job on one only), when no
        # request of this instance is waiting for its answer.
        await schedule_purge(deps)
        await schedule_anchor(deps)
        await schedule_weekly_report(deps)
        await schedule_checks(deps)
        await schedule_handoffs(deps)
        await schedule_settling_of_running(deps)
        runner = JobRunner(
            deps, handlers=slack_job_handlers(slack_app), may_start=in_flight.quiet_or_overdue, poll_s=job_poll_s
        )
        jobs = asyncio.create_task(runner.run_forever(), name="pitcrew-jobs")
        try:
            yield
        finally:
            jobs.cancel()
            await asyncio.gather(jobs, return_exceptions=True)
            await drain_listeners(slack_app)  # post-ack work of the last requests: cards, audit entries
        if close_deps_on_shutdown:
            await deps.close()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            pagerduty_route(deps),  # before /webhooks/{source}: PagerDuty answers pitcrew's pages
            webhook_route(deps),
            *drain_routes(deps),
            *status_routes(deps),
            *ack_routes(deps),
        ],
        lifespan=lifespan,
        middleware=[Middleware(in_flight.counting)],
        exception_handlers={ClientDisconnect: _client_gone},
    )


UNHEALTHY = {"status": "error", "db": "unreachable"}


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A client that hung up before its body was read: one line, not a traceback per hang-up (a
    scanner or a flaky proxy would otherwise fill the log). The answer reaches no one."""
    client = request.client.host if request.client else "unknown"
    log.info("client %s disconnected before %s %s was read", client, request.method, request.url.path)
    return Response(status_code=400)


def _reason(err: Exception) -> str:
    """The driver's first line, without the SQL or connection parameters that follow it."""
    original = getattr(err, "orig", None) or err
    first = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return first[:200]
