"""The count of HTTP requests being answered, so that background work can wait for a quiet moment.

The job runner starts a round only when no request is in flight in this process: under a burst
of commands or alerts the answers go first, and the work they handed over (stored as jobs) runs
in the gaps or right after. Nothing waits here but the job runner.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class InFlight:
    def __init__(self) -> None:
        self._count = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

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
                if self._count == 0:
                    self._quiet.set()

        return counted

    async def quiet(self) -> None:
        """Return when no request is being answered."""
        await self._quiet.wait()
