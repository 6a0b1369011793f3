"""The count of HTTP requests being answered, so that background work can wait for a quiet moment.

The job runner starts a round when no request has been in flight in this process for a short
while (`settle_s`): under a burst of commands or alerts the answers go first, and the work they
handed over (stored as jobs) runs right after, or on an idle instance. Two things keep that
courtesy from turning into a stall that anyone can cause:
- a request counts only while this process works on it: while it waits for its client to send
  the rest of its body (a slow or hostile client), it does not count;
- the wait is bounded (`max_wait_s`): however busy the instance, a round starts at the latest
  that long after it began waiting (and then takes little work, see JobRunner), so a page or an
  incident's root message is never held up by traffic, only slowed by it.
Nothing waits here but the job runner.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SETTLE_S = 0.02
MAX_WAIT_S = 0.25


class InFlight:
    def __init__(self, settle_s: float = SETTLE_S, max_wait_s: float | None = MAX_WAIT_S) -> None:
        self._count = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._settle_s = settle_s
        self._max_wait_s = max_wait_s
        self._last_end = 0.0

    def counting(self, app: ASGIApp) -> ASGIApp:
        """`app`, counting its HTTP requests from their arrival to the end of their answer, except
        while they wait for their client (a body that has not all arrived yet)."""

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def receive_uncounted() -> Message:
                self._leave()
                try:
                    return await receive()
                finally:
                    self._enter()

            self._enter()
            try:
                await app(scope, receive_uncounted, send)
            finally:
                self._leave()

        return counted

    def _enter(self) -> None:
        self._count += 1
        self._quiet.clear()

    def _leave(self) -> None:
        self._count -= 1
        self._last_end = time.monotonic()
        if self._count == 0:
            self._quiet.set()

    async def quiet(self) -> None:
        """Return when no request is being answered, and none ended in the last `settle_s` (between
        two requests of a burst there is no request in flight either, for a moment)."""
        while True:
            await self._quiet.wait()
            wait = self._last_end + self._settle_s - time.monotonic()
            if wait <= 0 and self._quiet.is_set():
                return
            await asyncio.sleep(max(wait, 0))

    async def quiet_or_overdue(self) -> bool:
        """`quiet()`, or `max_wait_s` after the call, whichever comes first: the job runner's gate.
        True when it was quiet, False when the wait ran out (the runner then takes little work)."""
        if self._max_wait_s is None:
            await self.quiet()
            return True
        try:
            async with asyncio.timeout(self._max_wait_s):
                await self.quiet()
        except TimeoutError:
            return False
        return True
