"""Scheduled work in the database: any instance may run a due job, and exactly one does.

A job is claimed by moving it from pending to running with a lease, inside one transaction that
locks the rows it takes (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances never wait on each
other; SQLite's single writer gives the same guarantee). A job whose lease runs out, because its
instance died mid-way, is claimable again: work survives restarts.

`attempts` counts the claims since the job last succeeded: each claim adds one (so a job that kills
its instance counts too), and a run that ends well (`Again`) sets it back to 0. A job that
reschedules itself forever is thus parked only after failing several times in a row, never for
having run often.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.db import dialect_insert, transaction
from app.store.models import Job


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # claims since the job last ran well, this one included
    created_at: datetime  # when it was handed over (a stored Slack request: when Slack delivered it)


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any],
    run_at: datetime,
    now: datetime,
    dedupe_key: str | None = None,
    revive_failed: bool = False,
) -> None:
    """Schedule a job; with `dedupe_key`, a second schedule of the same key is a no-op (atomic, not check-then-act).

    With `revive_failed`, a job of that key that was parked as failed is made pending again, from
    scratch, in the same statement (`ON CONFLICT ... DO UPDATE ... WHERE status = 'failed'`): a
    periodic job that the start of every instance schedules (the purge) is revived by the next
    start instead of staying parked for good. One still pending or running is left alone."""
    values = {
        "kind": kind,
        "payload": payload,
        "run_at": run_at,
        "status": "pending",
        "attempts": 0,
        "dedupe_key": dedupe_key,
        "created_at": now,
    }
    insert_job = dialect_insert(session)(Job).values(**values)
    if revive_failed and dedupe_key is not None:
        revived = {"status": "pending", "attempts": 0, "run_at": run_at, "payload": payload, "locked_by": None,
                   "locked_until": None}
        await session.execute(
            insert_job.on_conflict_do_update(index_elements=["dedupe_key"], set_=revived, where=Job.status == "failed")
        )
        return
    await session.execute(insert_job.on_conflict_do_nothing(index_elements=["dedupe_key"]))


@dataclass(frozen=True)
class NewJob:
    """A job handed over to run as soon as an instance is free; one whose `dedupe_key` is already
    taken (the same Slack event delivered again) is not inserted."""

    kind: str
    payload: dict[str, Any]
    run_at: datetime
    created_at: datetime
    dedupe_key: str | None = None


# The jobs of a batch in one statement, whatever its size: one array per column, unnested. The
# text never changes, so psycopg prepares it once per connection and PostgreSQL plans it once. The
# arrays travel in binary (`%b`): in text, psycopg escapes every quote of every payload in Python,
# which cost seven times the CPU of the rest of the statement.
_INSERT_JOBS = (
    "INSERT INTO jobs (kind, payload, run_at, created_at, dedupe_key, status, attempts)"
    " SELECT kind, payload, run_at, created_at, dedupe_key, 'pending', 0"
    " FROM unnest(%b::varchar[], %b::json[], %b::timestamptz[], %b::timestamptz[], %b::varchar[])"
    " AS batch (kind, payload, run_at, created_at, dedupe_key)"
    " ON CONFLICT (dedupe_key) DO NOTHING"
)


async def insert_jobs(driver: Any, jobs: Sequence[NewJob]) -> None:
    """Insert many jobs in one statement on a PostgreSQL driver connection (psycopg's): the statement
    the ack of a slash command waits for (app/store/group_commit.py `StatementCommit` runs it on its
    own, in autocommit). A job whose `dedupe_key` is taken, by an earlier batch or by an earlier
    job of this one, is not inserted. The payload is stored as SQLAlchemy stores a JSON column
    (`json.dumps`), so every reader sees the same rows as `enqueue_many` writes."""
    await driver.execute(
        _INSERT_JOBS,
        (
            [j.kind for j in jobs],
            [json.dumps(j.payload) for j in jobs],
            [j.run_at for j in jobs],
            [j.created_at for j in jobs],
            [j.dedupe_key for j in jobs],
        ),
    )


async def enqueue_many(session: AsyncSession, jobs: Sequence[NewJob]) -> None:
    """Insert many jobs in one Core statement (on SQLite, the group commit of
    app/store/group_commit.py calls this on every acked command: no ORM bulk machinery, no deep
    copy of the payloads)."""
    rows = [
        {"kind": j.kind, "payload": j.payload, "run_at": j.run_at, "created_at": j.created_at, "status": "pending",
         "attempts": 0, "dedupe_key": j.dedupe_key}
        for j in jobs
    ]
    statement = insert(Job.__table__)
    if any(j.dedupe_key for j in jobs):
        statement = dialect_insert(session)(Job.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])
    connection = await session.connection()
    await connection.execute(statement, rows)


async def claim_due(
    sessions: async_sessionmaker[AsyncSession],
    *,
    worker: str,
    now: datetime,
    limit: int = 10,
    lease: timedelta = timedelta(minutes=5),
) -> list[ClaimedJob]:
    async with transaction(sessions) as session:
        due = (
            select(Job.id)
            .where(
                or_(
                    (Job.status == "pending") & (Job.run_at <= now),
                    (Job.status == "running") & (Job.locked_until < now),
                )
            )
            .order_by(Job.run_at)
            .limit(limit)
        )
        if session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list((await session.scalars(due)).all())
        if not ids:
            return []
        rows = await session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(status="running", locked_by=worker, locked_until=now + lease, attempts=Job.attempts + 1)
            .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.created_at)
        )
        return [
            ClaimedJob(id=r.id, kind=r.kind, payload=r.payload, attempts=r.attempts, created_at=r.created_at)
            for r in rows
        ]


async def finish(sessions: async_sessionmaker[AsyncSession], job_id: int, *, worker: str) -> None:
    async with transaction(sessions) as session:
        await finish_many(session, [job_id], worker=worker)


async def finish_many(session: AsyncSession, job_ids: Sequence[int], *, worker: str) -> None:
    """Mark jobs done that `worker` still holds (one whose lease ran out and was taken over is not)."""
    await session.execute(
        update(Job).where(Job.id.in_(job_ids), Job.locked_by == worker).values(status="done", locked_until=None)
    )


async def replace_payload(sessions: async_sessionmaker[AsyncSession], job_id: int, payload: dict[str, Any]) -> None:
    async with transaction(sessions) as session:
        await session.execute(update(Job).where(Job.id == job_id).values(payload=payload))


async def retry_later(
    sessions: async_sessionmaker[AsyncSession],
    job_id: int,
    *,
    worker: str,
    run_at: datetime,
    error: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Put a job back to pending for `run_at` (a periodic job reschedules itself this way), with
    `payload` replacing its payload when given (what it must remember for its next run).

    With `error`, the run failed and is retried: its claim still counts. Without, the run went well
    and the count of failures in a row starts again from 0."""
    values: dict[str, Any] = {
        "status": "pending", "run_at": run_at, "locked_by": None, "locked_until": None, "last_error": error
    }
    if error is None:
        values["attempts"] = 0
    if payload is not None:
        values["payload"] = payload
    async with transaction(sessions) as session:
        await session.execute(update(Job).where(Job.id == job_id, Job.locked_by == worker).values(**values))


async def purge_done(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` done jobs created before `before`; how many. Failed jobs stay for inspection."""
    oldest = select(Job.id).where(Job.status == "done", Job.created_at < before).limit(limit)
    result = await session.execute(delete(Job).where(Job.id.in_(oldest)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_failed(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` failed jobs created before `before` (their stored requests with them); how many."""
    oldest = select(Job.id).where(Job.status == "failed", Job.created_at < before).limit(limit)
    result = await session.execute(delete(Job).where(Job.id.in_(oldest)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def fail(sessions: async_sessionmaker[AsyncSession], job_id: int, *, worker: str, error: str) -> None:
    async with transaction(sessions) as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.locked_by == worker)
            .values(status="failed", locked_until=None, last_error=error[:2000])
        )


@dataclass(frozen=True)
class ParkedKind:
    """The jobs of one kind parked as failed: how many, and the error of the latest of them."""

    kind: str
    count: int
    last_error: str | None


async def parked(session: AsyncSession) -> list[ParkedKind]:
    """Failed jobs by kind (most first), for `pitcrew check` to say what stopped being retried and why."""
    from sqlalchemy import func

    counts = (
        await session.execute(
            select(Job.kind, func.count(), func.max(Job.id))
            .where(Job.status == "failed")
            .group_by(Job.kind)
            .order_by(func.count().desc(), Job.kind)
        )
    ).all()
    if not counts:
        return []
    latest_ids = [latest for _, _, latest in counts]
    errors = dict((await session.execute(select(Job.id, Job.last_error).where(Job.id.in_(latest_ids)))).all())
    return [ParkedKind(kind, int(count), errors.get(latest)) for kind, count, latest in counts]


async def pending_count(sessions: async_sessionmaker[AsyncSession], kind: str | None = None) -> int:
    from sqlalchemy import func

    async with transaction(sessions) as session:
        query = select(func.count()).select_from(Job).where(Job.status.in_(("pending", "running")))
        if kind:
            query = query.where(Job.kind == kind)
        return int((await session.scalar(query)) or 0)
