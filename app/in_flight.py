"""The count of HTTP requests being answered, so that background work can wait for a quiet moment.

The job runner starts a round only when no request has been in flight in this process for a
short while (`settle_s`): under a burst of commands or alerts the answers go first, and the work
they handed over (stored as jobs) runs right after, or on an idle instance. Nothing waits here but
the job runner.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Receive, Scope, Send

SETTLE_S = 0.02


class InFlight:
    def __init__(self, settle_s: float = SETTLE_S) -> None:
        self._count = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._settle_s = settle_s
        self._last_end = 0.0

    def counting(self, app: ASGIApp) -> ASGIApp:
        """`app`, counting its HTTP requests from their arrival to the end of their answer."""

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            self._count += 1
            self._quiet.clear()
            try:
                await app(scope, receive, send)
            finally:
                self._count -= 1
                self._last_end = time.monotonic()
                if self._count == 0:
                    self._quiet.set()

        return counted

    async def quiet(self) -> None:
        """Return when no request is being answered, and none ended in the last `settle_s` (between
        two requests of a burst there is no request in flight either, for a moment)."""
        while True:
            await self._quiet.wait()
            wait = self._last_end + self._settle_s - time.monotonic()
            if wait <= 0 and self._quiet.is_set():
                return
            await asyncio.sleep(max(wait, 0))
