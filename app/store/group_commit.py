"""Group commit: writers that arrive together share one transaction.

Under a burst every write used to be its own transaction (a connection, a commit, an fsync each),
until the pool ran dry and writes were lost. Here concurrent callers queue their item and one
flusher writes whatever has queued in one transaction; each caller still waits until its own item
is committed, so nothing is acknowledged that is not stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.db import transaction

T = TypeVar("T")
WriteBatch = Callable[[AsyncSession, Sequence[T]], Awaitable[object]]


class GroupCommit(Generic[T]):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], write_batch: WriteBatch[T], *, name: str, max_batch: int = 500
    ) -> None:
        self._sessions = sessions
        self._write_batch = write_batch
        self._name = name
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, item: T) -> None:
        """Return once `item` is committed; raise what the database raised if it was not."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name=self._name)
        await future

    async def drain(self) -> None:
        """Wait for every queued item to be written (before the process stops)."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                async with transaction(self._sessions) as session:
                    await self._write_batch(session, [item for item, _ in batch])
            except Exception as err:  # every waiting caller learns its item was not stored
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
