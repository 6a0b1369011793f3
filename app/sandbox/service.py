"""A sample web service whose health can be switched at run time, for `pitcrew demo` and the tests.

It stands in for the team's backend: the demo breaks it on purpose so a newcomer can watch pitcrew
notice, and the tests drive the real HTTP probe against it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

Mode = Literal["ok", "down", "slow", "wrong_json"]


class SampleService:
    """`GET/HEAD /health`: `{"status": "ok"}` until told to be down, slow or to answer the wrong JSON.

    The object is itself the ASGI app, so `LoopbackServer(service)` serves it and the same object
    switches it while it runs.
    """

    def __init__(self) -> None:
        self.mode: Mode = "ok"
        self.delay_ms = 0
        self.requests = 0  # how many health requests arrived, so a demo or test can see it was asked
        self.app = Starlette(routes=[Route("/health", self._health, methods=["GET", "HEAD"])])

    def ok(self) -> None:
        """Healthy and prompt again."""
        self.mode, self.delay_ms = "ok", 0

    def down(self) -> None:
        """503 `{"status": "down"}`, as a backend that lost its database answers."""
        self.mode, self.delay_ms = "down", 0

    def slow(self, delay_ms: int) -> None:
        """Answer `{"status": "ok"}`, but only after `delay_ms` milliseconds."""
        if delay_ms < 0:
            raise ValueError(f"delay_ms must be 0 or more, got {delay_ms}")
        self.mode, self.delay_ms = "slow", delay_ms

    def wrong_json(self) -> None:
        """200 with `{"status": "degraded"}`: up, but not saying what the health check expects."""
        self.mode, self.delay_ms = "wrong_json", 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def _health(self, request: Request) -> JSONResponse:
        self.requests += 1
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        if self.mode == "down":
            return JSONResponse({"status": "down"}, status_code=503)
        if self.mode == "wrong_json":
            return JSONResponse({"status": "degraded"})
        return JSONResponse({"status": "ok"})
