"""Runs due jobs: any instance may, and each job runs on exactly one (see app/store/jobs.py).

Handlers are registered by kind. A handler returns None when the job is done, or `Again(at)` to be
run again later: a verification that polls every 30 s is one job rescheduling itself, so it
survives restarts and moves between instances freely.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from app.deps import Deps
from app.store import jobs as job_store
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.jobs")
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Again:
    """Run this job again at `at` (with its payload replaced by `payload` when given)."""

    at: datetime


Handler = Callable[[Deps, ClaimedJob], Awaitable[Again | None]]
_HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of a job kind (a decorator on the handler)."""

    def register(handler: Handler) -> Handler:
        _HANDLERS[kind] = handler
        return handler

    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    def __init__(self, deps: Deps, *, worker: str | None = None, poll_s: float = 1.0) -> None:
        self.deps = deps
        self.worker = worker or worker_name()
        self.poll_s = poll_s

    async def run_due(self, limit: int = 20) -> int:
        """Claim and run the jobs due now (by the deps' clock); how many ran. Tests call this directly."""
        now = self.deps.clock()
        claimed = await job_store.claim_due(self.deps.sessions, worker=self.worker, now=now, limit=limit)
        for job in claimed:
            await self._run(job)
        return len(claimed)

    async def _run(self, job: ClaimedJob) -> None:
        handler = _HANDLERS.get(job.kind)
        if handler is None:
            await job_store.fail(self.deps.sessions, job.id, worker=self.worker, error=f"no handler for {job.kind!r}")
            return
        try:
            again = await handler(self.deps, job)
        except Exception as err:  # a failing job must not stop the others; it is retried, then parked
            log.exception("job %s (%s) failed", job.id, job.kind)
            if job.attempts >= MAX_ATTEMPTS:
                await job_store.fail(self.deps.sessions, job.id, worker=self.worker, error=repr(err))
            else:
                backoff = self.deps.clock().timestamp() + 30 * job.attempts
                retry_at = datetime.fromtimestamp(backoff, tz=self.deps.clock().tzinfo)
                await job_store.retry_later(
                    self.deps.sessions, job.id, worker=self.worker, run_at=retry_at, error=repr(err)
                )
            return
        if again is None:
            await job_store.finish(self.deps.sessions, job.id, worker=self.worker)
        else:
            await job_store.retry_later(self.deps.sessions, job.id, worker=self.worker, run_at=again.at)

    async def run_forever(self) -> None:
        failing = False
        while True:
            try:
                ran = await self.run_due()
            except Exception as err:  # the database may be briefly away: keep polling, say so once
                if not failing:
                    log.error("claiming jobs failed, retrying every %g s: %s", self.poll_s, err)
                failing, ran = True, 0
            else:
                if failing:
                    log.info("claiming jobs works again")
                failing = False
            if not ran:
                await asyncio.sleep(self.poll_s)
