"""The job writer the acks of slash commands wait on (app/store/group_commit.py `StatementCommit`,
app/store/jobs.py `insert_jobs`), on real SQLite and PostgreSQL: a caller returns only once its job
is stored, seen from another connection; a batch is one statement in autocommit on PostgreSQL,
several batches in flight; a broken connection fails its batch, not the next one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store import group_commit
from app.store import jobs as job_store
from app.store.group_commit import StatementCommit
from app.store.jobs import NewJob
from app.store.models import Job

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def job(n: int, dedupe_key: str | None = None) -> NewJob:
    body = {"command": "/health", "text": f"help {n}", "user_id": "U1", "response_url": "https://x/y?a=b&c=é"}
    return NewJob(kind="slack.request", payload={"body": body, "mac": "ab" * 32}, run_at=NOW, created_at=NOW,
                  dedupe_key=dedupe_key)


def writer(sessions: async_sessionmaker[AsyncSession], **options: Any) -> StatementCommit[NewJob]:
    engine = sessions.kw["bind"]
    return StatementCommit(
        engine, sessions, job_store.insert_jobs, job_store.enqueue_many, name="test-writer", **options
    )


async def stored(sessions: async_sessionmaker[AsyncSession]) -> list[Job]:
    async with sessions() as session:
        return list((await session.scalars(select(Job).order_by(Job.id))).all())


async def test_every_caller_returns_once_its_job_is_stored(sessions: async_sessionmaker[AsyncSession]):
    """60 concurrent writes, one with an event's dedupe key given twice: each write has returned only
    when a new session (another connection) sees its row, with the payload as it was handed over."""
    commit = writer(sessions)
    seen: list[int] = []

    async def write(n: int) -> None:
        await commit.write(job(n))
        async with sessions() as session:
            texts = (await session.scalars(select(Job.payload))).all()
        seen.append(sum(1 for p in texts if p["body"]["text"] == f"help {n}"))

    try:
        await asyncio.gather(*(write(n) for n in range(60)))
        await asyncio.gather(commit.write(job(100, "slack.event:Ev1")), commit.write(job(101, "slack.event:Ev1")))
        await commit.write(job(102, "slack.event:Ev1"))
    finally:
        await commit.close()
    assert seen == [1] * 60
    rows = await stored(sessions)
    assert len(rows) == 61
    assert [r.dedupe_key for r in rows].count("slack.event:Ev1") == 1
    first = next(r for r in rows if r.payload["body"]["text"] == "help 0")
    assert first.payload == job(0).payload
    assert (first.kind, first.status, first.attempts, first.run_at, first.created_at) == (
        "slack.request", "pending", 0, NOW, NOW,
    ) or first.run_at.replace(tzinfo=UTC) == NOW  # SQLite gives the time back without its zone


async def test_on_postgresql_a_batch_is_one_statement_outside_any_transaction(
    sessions: async_sessionmaker[AsyncSession], db_url: str
):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite writes the batch in a transaction (BEGIN IMMEDIATE): nothing to check here")
    calls: list[tuple[int, bool, str]] = []

    async def counted(driver: Any, jobs: Any) -> None:
        # autocommit: psycopg sends no BEGIN, so the INSERT is its own transaction, ended (committed)
        # when the statement returns
        await job_store.insert_jobs(driver, jobs)
        calls.append((len(jobs), driver.autocommit, driver.info.transaction_status.name))

    engine = sessions.kw["bind"]
    commit = StatementCommit(engine, sessions, counted, job_store.enqueue_many, name="test-writer", max_flushes=1)
    try:
        await asyncio.gather(*(commit.write(job(n)) for n in range(40)))
    finally:
        await commit.close()
    assert sum(n for n, _, _ in calls) == 40
    assert len(calls) < 40  # grouped: the first alone, the rest together while it was written
    assert all(autocommit for _, autocommit, _ in calls)
    assert {status for _, _, status in calls} == {"IDLE"}
    assert len(await stored(sessions)) == 40


async def test_on_postgresql_a_batch_does_not_wait_for_the_one_before(
    sessions: async_sessionmaker[AsyncSession], db_url: str
):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: batches are written one after the other there")
    first_started, release_first = asyncio.Event(), asyncio.Event()

    async def slow_first(driver: Any, jobs: Any) -> None:
        if any(j.payload["body"]["text"] == "help 0" for j in jobs):
            first_started.set()
            await release_first.wait()
        await job_store.insert_jobs(driver, jobs)

    engine = sessions.kw["bind"]
    commit = StatementCommit(engine, sessions, slow_first, job_store.enqueue_many, name="test-writer", max_flushes=2)
    try:
        first = asyncio.create_task(commit.write(job(0)))
        await first_started.wait()
        await asyncio.wait_for(commit.write(job(1)), timeout=5)  # committed while the first is still held
        assert not first.done()
    finally:
        release_first.set()
        await commit.close()
    assert len(await stored(sessions)) == 2


async def _kill_writer_connections(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        killed = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        await session.commit()
    return int(killed or 0)


async def test_on_postgresql_a_broken_connection_fails_its_batch_and_the_next_gets_a_new_one(
    sessions: async_sessionmaker[AsyncSession], db_url: str
):
    if not db_url.startswith("postgresql"):
        pytest.skip("no connection to lose on SQLite")
    commit = writer(sessions, max_flushes=1)
    try:
        await commit.write(job(0))
        assert await _kill_writer_connections(sessions) >= 1  # the writer's held connection, used a moment ago
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises reaches the caller
            await commit.write(job(1))
        await commit.write(job(2))
    finally:
        await commit.close()
    assert [r.payload["body"]["text"] for r in await stored(sessions)] == ["help 0", "help 2"]


async def test_on_postgresql_a_connection_closed_while_idle_is_replaced_before_the_batch(
    sessions: async_sessionmaker[AsyncSession], db_url: str
):
    """As the pool's pre-ping would: after a pause, the held connection is checked before use, so a
    restart or a proxy that closed it meanwhile costs no ack."""
    if not db_url.startswith("postgresql"):
        pytest.skip("no connection to lose on SQLite")
    now = [0.0]
    engine = sessions.kw["bind"]
    commit = StatementCommit(
        engine, sessions, job_store.insert_jobs, job_store.enqueue_many, name="test-writer", clock=lambda: now[0]
    )
    try:
        await commit.write(job(0))
        assert await _kill_writer_connections(sessions) >= 1
        now[0] += group_commit.IDLE_PING_S + 1
        await commit.write(job(1))
    finally:
        await commit.close()
    assert [r.payload["body"]["text"] for r in await stored(sessions)] == ["help 0", "help 1"]


async def test_closing_the_writer_lets_go_of_its_connections(sessions: async_sessionmaker[AsyncSession]):
    commit = writer(sessions)
    await asyncio.gather(*(commit.write(job(n)) for n in range(10)))
    await commit.close()
    engine = sessions.kw["bind"]
    assert engine.pool.checkedout() == 0
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 10
