"""A sample web service whose health can be switched at run time, for `pitcrew demo` and the tests.

It stands in for the team's backend: the demo breaks it on purpose so a newcomer can watch pitcrew
notice, and the tests drive the real HTTP probe against it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
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
        # The seeds' auth and security checks (seed 000): a test login, an OAuth callback, HSTS and
        # CORS headers, and the http → https redirect, each switchable so a test sees both verdicts.
        self.login_body: bytes | None = None  # the one body `POST /login` accepts; None: any JSON
        self.logins: list[bytes] = []  # bodies POSTed to /login, so a test can see what was sent
        self.hsts = True
        self.cors_origins: set[str] = set()
        self.redirect_status: int | None = None  # `/` redirects to https with this status when set
        self.app = Starlette(
            routes=[
                Route("/health", self._health, methods=["GET", "HEAD"]),
                Route("/login", self._login, methods=["POST"]),
                Route("/auth/callback", self._callback, methods=["GET"]),
                Route("/", self._home, methods=["GET", "HEAD"]),
            ]
        )

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

    async def _login(self, request: Request) -> JSONResponse:
        """A test login: 200 and a session for the expected body, 401 for any other."""
        body = await request.body()
        self.logins.append(body)
        if self.login_body is not None and body != self.login_body:
            # Some backends echo what they refused: the probe must mask it in the card.
            echoed = body.decode(errors="replace")
            return JSONResponse({"error": "invalid credentials", "received": echoed}, status_code=401)
        return JSONResponse({"ok": True}, headers={"set-cookie": "session=s3cr3t-session; HttpOnly"})

    async def _callback(self, request: Request) -> Response:
        """An OAuth callback without a code: 302 back to the sign-in page, as NextAuth answers."""
        return RedirectResponse("/login?error=OAuthCallback", status_code=302)

    async def _home(self, request: Request) -> Response:
        """`/`: the redirect to https (a plain-http request, as behind Railway's or Vercel's edge), or
        the page with HSTS and, for an allowed `Origin`, the CORS header naming it."""
        if self.redirect_status in (301, 302, 307, 308):
            target = f"https://{request.url.netloc}{request.url.path}"
            return RedirectResponse(target, status_code=self.redirect_status)
        headers: dict[str, str] = {}
        if self.hsts:
            headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
        origin = request.headers.get("origin")
        if origin and origin in self.cors_origins:
            headers["access-control-allow-origin"] = origin
            headers["vary"] = "Origin"
        return Response("<html>home</html>", media_type="text/html", headers=headers)
