"""Appending to and reading the hash-chained audit trail."""

from __future__ import annotations

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
