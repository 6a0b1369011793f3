"""Starlette: `/slack/events`, `/healthz`, `/webhooks/{source}`, `/status`; and the job runner in its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.deps import Deps
from app.in_flight import InFlight
from app.jobs.purge import schedule_purge
from app.jobs.runner import JobRunner
from app.slack.ack_runner import drain_listeners
from app.slack.command_intake import CommandIntake
from app.slack.deferral import slack_job_handlers
from app.status_page import status_routes
from app.web_limits import BodyRefused, read_body, slack_refusal, with_body
from app.webhooks import webhook_route

DB_CHECK_TIMEOUT_S = 3.0


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
        try:
            async with asyncio.timeout(DB_CHECK_TIMEOUT_S), deps.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except TimeoutError:
            return JSONResponse({"status": "error", "db": f"no answer within {DB_CHECK_TIMEOUT_S:g} s"}, 503)
        except Exception as err:  # any driver error means the same thing to a load balancer
            return JSONResponse({"status": "error", "db": _reason(err)}, 503)
        return JSONResponse({"status": "ok", "db": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Scheduled and handed-over work runs on every instance (each job on one only), when no
        # request of this instance is waiting for its answer.
        await schedule_purge(deps)
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
            webhook_route(deps),
            *status_routes(deps),
        ],
        lifespan=lifespan,
        middleware=[Middleware(in_flight.counting)],
    )


def _reason(err: Exception) -> str:
    """The driver's first line, without the SQL or connection parameters that follow it."""
    original = getattr(err, "orig", None) or err
    first = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return first[:200]
