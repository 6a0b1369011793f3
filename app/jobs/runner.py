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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from app.deps import Deps
from app.store import jobs as job_store
from app.store.group_commit import GroupCommit
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.jobs")
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Again:
    """Run this job again at `at` (with its payload replaced by `payload` when given)."""

    at: datetime
    payload: dict[str, Any] | None = None


class GiveUp(Exception):
    """Raised by a handler whose job cannot succeed however often it is tried (or that has said so to
    whom it concerns after its last try): the job is parked as failed at once, with this error."""


def last_try(job: ClaimedJob) -> bool:
    """Whether a failure of this run parks the job (it has failed MAX_ATTEMPTS - 1 times in a row):
    a handler that must tell someone when it gives up does it on this run."""
    return job.attempts >= MAX_ATTEMPTS


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


async def _no_wait() -> bool:
    return True


# Claimed by a round that starts because the wait for a quiet moment ran out: enough for work to
# keep moving under any traffic, few enough that the answers still go first.
OVERDUE_BATCH = 1


class JobRunner:
    """Claims due jobs and runs them, at most `max_running` at once.

    A round of claiming starts every `poll_s`, at once when this process hands work over
    (`Deps.job_signal`), and when a job ends while more may be due. Each round first awaits
    `may_start`: the web server passes "no request is being answered, or a moment at most", so
    that under load acks and webhooks go first and the work they handed over waits, stored, for a
    quiet moment. `may_start` returns False when it stopped waiting without one: the round then
    claims at most `OVERDUE_BATCH` jobs, and waits again before claiming more.
    """

    def __init__(
        self,
        deps: Deps,
        *,
        worker: str | None = None,
        poll_s: float = 1.0,
        handlers: Mapping[str, Handler] | None = None,
        may_start: Callable[[], Awaitable[bool]] = _no_wait,
        max_running: int = 16,
    ) -> None:
        self.deps = deps
        self.worker = worker or worker_name()
        self.poll_s = poll_s
        self._handlers = {**_HANDLERS, **(handlers or {})}
        self._may_start = may_start
        self._max_running = max_running
        self._running: set[asyncio.Task[None]] = set()
        self._round: asyncio.Task[None] | None = None
        self._again = False
        self._failing = False
        self._stopping = False
        # Jobs ending together are marked done in one transaction (on SQLite, one fsync for many).
        self._finished: GroupCommit[int] = GroupCommit(
            deps.sessions, partial(job_store.finish_many, worker=self.worker), name="pitcrew-jobs-finished"
        )

    async def run_due(self, limit: int = 20) -> int:
        """Claim and run the jobs due now (by the deps' clock), one after the other; how many ran.
        Tests and one-off callers use this; `run_forever` is the service."""
        now = self.deps.clock()
        claimed = await job_store.claim_due(self.deps.sessions, worker=self.worker, now=now, limit=limit)
        for job in claimed:
            await self._run(job)
        return len(claimed)

    async def run_forever(self) -> None:
        unsubscribe = self.deps.job_signal.subscribe(self.kick)
        try:
            while True:
                self.kick()
                await asyncio.sleep(self.poll_s)
        finally:
            unsubscribe()
            await self._stop()

    def kick(self) -> None:
        """Start a round of claiming now; if one is under way, it claims once more before it ends.

        A plain call, not a coroutine: the round exists as a task from the moment work is handed
        over, so whoever waits for this process to be quiet (the console) sees it."""
        if self._stopping:
            return
        if self._round is not None and not self._round.done():
            self._again = True
            return
        self._again = False
        self._round = asyncio.create_task(self._claim_round(), name="pitcrew-jobs-round")

    async def _claim_round(self) -> None:
        while True:
            quiet = await self._may_start()
            free = self._max_running - len(self._running)
            if free <= 0:
                return  # a job that ends kicks again
            limit = free if quiet else min(free, OVERDUE_BATCH)
            self._again = False
            try:
                claimed = await job_store.claim_due(
                    self.deps.sessions, worker=self.worker, now=self.deps.clock(), limit=limit
                )
            except Exception as err:  # the database may be briefly away: keep polling, say so once
                if not self._failing:
                    log.error("claiming jobs failed, retrying every %g s: %s", self.poll_s, err)
                self._failing = True
                return
            if self._failing:
                log.info("claiming jobs works again")
                self._failing = False
            for job in claimed:
                task = asyncio.create_task(self._run_logged(job), name=f"pitcrew-job-{job.id}")
                self._running.add(task)
                task.add_done_callback(self._job_ended)
            if len(claimed) < limit and not self._again:
                return

    def _job_ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if len(self._running) == self._max_running - 1:  # the runner was full: more may be waiting
            self.kick()

    async def _stop(self, timeout_s: float = 25.0) -> None:
        """Stop polling, and let the round under way and the jobs it started finish (a deploy restart
        should not cut a card in half, nor leave what was just handed over to another instance's
        next poll). What still runs after `timeout_s` is cancelled: its lease runs out, and another
        instance runs it again."""
        self._stopping = True
        rounds = {self._round} if self._round is not None else set()
        _, late = await asyncio.wait(rounds, timeout=timeout_s) if rounds else (set(), set())
        still = set(self._running)
        if still:
            _, still = await asyncio.wait(still, timeout=timeout_s)
        for task in late | still:
            task.cancel()
        await asyncio.gather(*late, *still, return_exceptions=True)

    async def _run_logged(self, job: ClaimedJob) -> None:
        try:
            await self._run(job)
        except Exception:  # recording the outcome failed: the lease runs out and the job runs again
            log.exception("job %s (%s): recording its outcome failed", job.id, job.kind)

    async def _run(self, job: ClaimedJob) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:
            await job_store.fail(self.deps.sessions, job.id, worker=self.worker, error=f"no handler for {job.kind!r}")
            return
        try:
            again = await handler(self.deps, job)
        except GiveUp as err:
            log.warning("job %s (%s) given up: %s", job.id, job.kind, err)
            await job_store.fail(self.deps.sessions, job.id, worker=self.worker, error=str(err))
            return
        except Exception as err:  # a failing job must not stop the others; it is retried, then parked
            log.exception("job %s (%s) failed", job.id, job.kind)
            if last_try(job):
                await job_store.fail(self.deps.sessions, job.id, worker=self.worker, error=repr(err))
            else:
                backoff = self.deps.clock().timestamp() + 30 * job.attempts
                retry_at = datetime.fromtimestamp(backoff, tz=self.deps.clock().tzinfo)
                await job_store.retry_later(
                    self.deps.sessions, job.id, worker=self.worker, run_at=retry_at, error=repr(err)
                )
            return
        if again is None:
            await self._finished.write(job.id)
        else:
            await job_store.retry_later(
                self.deps.sessions, job.id, worker=self.worker, run_at=again.at, payload=again.payload
            )
