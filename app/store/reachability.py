"""Whether this instance can reach its database right now, asked before Slack is told "done".

While the database is away, a command acked with an empty 200 is a command lost without a word:
the edges ask here first and answer "pitcrew cannot reach its database" instead. Asking costs a
`SELECT 1` at most every few seconds: the answer is kept briefly (longer when it was yes) and
concurrent askers share one probe. This is an observation of this process's own connection, not
application state, so it lives in memory; nothing is decided from it but what to tell the person.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("pitcrew.db")

PROBE_TIMEOUT_S = 1.5  # well inside Slack's 3 s for the ack that follows
KEEP_YES_S = 5.0
KEEP_NO_S = 1.0


class Reachability:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._known: bool | None = None
        self._until = 0.0
        self._probe: asyncio.Task[bool] | None = None
        self._last_said: bool | None = None

    async def check(self) -> bool:
        """True when the database answered a moment ago, or answers now within PROBE_TIMEOUT_S."""
        if self._engine.dialect.name == "sqlite":
            # A file beside the process: nothing to reach. (And a probe would queue behind the
            # writers for SQLite's one write lock, which BEGIN IMMEDIATE takes: busy, not away.)
            return True
        if self._known is not None and self._clock() < self._until:
            return self._known
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._run(), name="pitcrew-db-probe")
        return await asyncio.shield(self._probe)

    def _pool_busy(self) -> bool:
        checked_out = getattr(self._engine.pool, "checkedout", None)
        return bool(checked_out()) if callable(checked_out) else False

    def suspect(self) -> None:
        """A database call just failed: the next check probes instead of trusting an older yes."""
        self._known = None

    async def _run(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S), self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except TimeoutError:
            # No connection within the bound: every pooled one busy (a burst: the database is
            # there, answering others), or the database silent (no connection in use at all).
            ok, reason = self._pool_busy(), f"no answer within {PROBE_TIMEOUT_S:g} s"
        except Exception as err:  # refused, unknown host, bad password: not reachable now
            ok, reason = False, _first_line(err)
        else:
            ok, reason = True, ""
        self._known, self._until = ok, self._clock() + (KEEP_YES_S if ok else KEEP_NO_S)
        if ok != self._last_said and (self._last_said is not None or not ok):
            if ok:
                log.warning("the database is reachable again")
            else:
                log.warning("the database is unreachable (%s): Slack requests are answered with a note", reason)
        self._last_said = ok
        return ok


def _first_line(err: BaseException) -> str:
    original = getattr(err, "orig", None) or err
    message = str(original).strip()
    return (message.splitlines()[0] if message else type(original).__name__)[:200]
