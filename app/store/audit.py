"""Appending to and reading the hash-chained audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import AuditEntry, entry_hash
from app.store.db import transaction
from app.store.models import AuditEvent, AuditHead


@dataclass(frozen=True)
class NewEntry:
    """An audit entry before the chain gives it a place (`seq`) and a hash."""

    at: datetime
    actor: str
    action: str
    target: str | None
    params: dict[str, Any]
    outcome: str


async def append(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    params: dict[str, Any],
    outcome: str,
) -> AuditEntry:
    """Add one entry inside the caller's transaction (so it commits, or not, with the change it records)."""
    [entry] = await append_many(session, [NewEntry(at, actor, action, target, params, outcome)])
    return entry


async def append_many(session: AsyncSession, new: Sequence[NewEntry]) -> list[AuditEntry]:
    """Chain `new` in order, inside the caller's transaction.

    The UPDATE of the single head row comes first: on PostgreSQL it takes that row's lock, on
    SQLite the write lock, so concurrent appenders queue there and each sees the hash the previous
    one wrote. Reading the head and then writing would let two writers fork the chain.
    """
    if not new:
        return []
    head = (
        await session.execute(
            update(AuditHead)
            .where(AuditHead.id == 1)
            .values(seq=AuditHead.seq + len(new))
            .returning(AuditHead.seq, AuditHead.hash)
        )
    ).one()
    previous, seq = head.hash, head.seq - len(new)
    chained: list[AuditEntry] = []
    for item in new:
        seq += 1
        entry = AuditEntry(
            seq=seq, at=item.at, actor=item.actor, action=item.action, target=item.target,
            params=item.params, outcome=item.outcome[:300], prev_hash=previous,
        )
        entry = replace(entry, hash=entry_hash(entry))
        chained.append(entry)
        previous = entry.hash
    await session.execute(insert(AuditEvent), [asdict(entry) for entry in chained])
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=previous))
    return chained


class AuditWriter:
    """Group commit for audit entries written on their own (not as part of another change).

    Under a burst of commands every entry used to be its own transaction, each waiting for the
    head row's lock while holding a pooled connection, until the pool ran dry and entries were
    lost. Here concurrent writers share one transaction and one connection: each caller still
    waits until its entry is committed, so nothing is acknowledged that is not stored.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = 500) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        self._queue: list[tuple[NewEntry, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, entry: NewEntry) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="pitcrew-audit-writer")
        await future

    async def drain(self) -> None:
        """Wait for every queued entry to be written (before the process stops)."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                async with transaction(self._sessions) as session:
                    await append_many(session, [entry for entry, _ in batch])
            except Exception as err:  # every waiting caller learns its entry was not stored
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)


async def entries(
    sessions: async_sessionmaker[AsyncSession], since: datetime | None = None, batch: int = 1000
) -> AsyncIterator[AuditEntry]:
    """Every entry in chain order, read in batches so a long trail never sits in memory at once."""
    last_seq = 0
    while True:
        async with transaction(sessions) as session:
            query = select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
            if since is not None:
                query = query.where(AuditEvent.at >= since)
            rows = (await session.scalars(query)).all()
        if not rows:
            return
        for row in rows:
            yield AuditEntry(
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                action=row.action,
                target=row.target,
                params=row.params,
                outcome=row.outcome,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        last_seq = rows[-1].seq


async def head_seq(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many entries the chain should hold: the head counts every append, so deleted tail rows show."""
    async with transaction(sessions) as session:
        return int(await session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0)
