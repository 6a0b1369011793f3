"""Group commit: writers that arrive together share one transaction.

Under a burst every write used to be its own transaction (a connection, a commit, an fsync each),
until the pool ran dry and writes were lost. Here concurrent callers queue their item and one
flusher writes whatever has queued in one transaction; each caller still waits until its own item
is committed, so nothing is acknowledged that is not stored.

`StatementCommit` is the same for a batch written by one statement, which on PostgreSQL needs no
transaction around it: the acks of slash commands wait on it (app/store/jobs.py `insert_jobs`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.store.db import is_postgres, transaction

log = logging.getLogger("pitcrew.db")

T = TypeVar("T")
WriteBatch = Callable[[AsyncSession, Sequence[T]], Awaitable[object]]
# One statement for the whole batch, on a PostgreSQL driver connection (psycopg's AsyncConnection).
WriteStatement = Callable[[Any, Sequence[T]], Awaitable[object]]

# A held connection unused for longer than this is pinged before its next batch (as the pool's
# pre-ping does on every checkout), so that one a proxy or a restart closed meanwhile fails no batch.
IDLE_PING_S = 10.0


class GroupCommit(Generic[T]):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write_batch: WriteBatch[T],
        *,
        name: str,
        max_batch: int = 500,
        max_flushes: int = 1,
    ) -> None:
        self._sessions = sessions
        self._write_batch = write_batch
        self._name = name
        self._max_batch = max_batch
        self._max_flushes = max_flushes
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._flushing = 0  # flushers that may still take from the queue
        self._flushers: set[asyncio.Task[None]] = set()

    async def write(self, item: T) -> None:
        """Return once `item` is committed; raise what the database raised if it was not."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flushing < self._max_flushes:
            self._flushing += 1
            flusher = asyncio.create_task(self._flush(), name=self._name)
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushers.discard)
        await future

    async def drain(self) -> None:
        """Wait for every queued item to be written (before the process stops)."""
        while self._flushers:
            await asyncio.gather(*self._flushers, return_exceptions=True)

    async def close(self) -> None:
        """Write what is queued, then let go of what the writer holds (before the engine is disposed)."""
        await self.drain()

    async def _write(self, items: Sequence[T]) -> None:
        async with transaction(self._sessions) as session:
            await self._write_batch(session, items)

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                try:
                    await self._write([item for item, _ in batch])
                except Exception as err:  # every waiting caller learns its item was not stored
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(err)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            # Said the moment the queue is found empty (no await in between): an item queued after
            # this starts a flusher of its own.
            self._flushing -= 1


class StatementCommit(GroupCommit[T]):
    """A group commit whose batch is written by one statement (`write_statement`), several batches
    in flight at once.

    On PostgreSQL that statement runs alone, in autocommit, on a connection this writer keeps: a
    single statement is atomic and is its own transaction, committed (and, with PostgreSQL's
    default `synchronous_commit`, flushed to disk) before the server says it is done, so a caller
    is still told only what is stored. It costs one round trip per batch where a transaction cost
    four (the pool's ping at checkout, BEGIN, the statement, COMMIT). Each round trip is a turn of
    the event loop and a wake-up of the database's process, both slow on a busy machine: those
    four were most of an ack's wait. And a batch does not wait for the one before it to commit:
    up to `max_flushes` are in flight, each on its own connection (PostgreSQL flushes concurrent
    commits together).

    A batch that fails (the connection broke, the database went away) fails for all its callers,
    as in `GroupCommit`, and its connection is dropped: the next batch opens another.

    On SQLite (a file beside the process, one writer at a time) the batch is written as in
    `GroupCommit`: `write_sqlite` inside a transaction, one batch at a time.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        write_statement: WriteStatement[T],
        write_sqlite: WriteBatch[T],
        *,
        name: str,
        max_batch: int = 500,
        max_flushes: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        postgres = is_postgres(engine)
        flushes = max_flushes if postgres else 1
        super().__init__(sessions, write_sqlite, name=name, max_batch=max_batch, max_flushes=flushes)
        self._engine = engine
        self._postgres = postgres
        self._write_statement = write_statement
        self._clock = clock
        self._idle: list[tuple[AsyncConnection, float]] = []  # held connections, and when each was last used

    async def close(self) -> None:
        await self.drain()
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await _drop(connection, self._name)

    async def _write(self, items: Sequence[T]) -> None:
        if not self._postgres:
            await super()._write(items)
            return
        connection = await self._connection()
        try:
            await self._write_statement((await connection.get_raw_connection()).driver_connection, items)
        except BaseException:
            await _drop(connection, self._name, invalidate=True)
            raise
        self._idle.append((connection, self._clock()))

    async def _connection(self) -> AsyncConnection:
        """A held connection in autocommit: the one used last, pinged first if it has been idle long."""
        while self._idle:
            connection, used_at = self._idle.pop()
            if self._clock() - used_at <= IDLE_PING_S:
                return connection
            try:
                await (await connection.get_raw_connection()).driver_connection.execute("SELECT 1")
            except Exception as err:  # closed while idle: try the next, or open one, before the batch is sent
                log.info("%s: an idle connection was closed (%s); opening another", self._name, type(err).__name__)
                await _drop(connection, self._name, invalidate=True)
                continue
            return connection
        connection = await self._engine.connect()
        return await connection.execution_options(isolation_level="AUTOCOMMIT")


async def _drop(connection: AsyncConnection, name: str, *, invalidate: bool = False) -> None:
    try:
        if invalidate:
            await connection.invalidate()
        await connection.close()
    except Exception as err:  # it is being thrown away: nothing more to do with it
        log.debug("%s: closing a connection failed (%s)", name, type(err).__name__)
