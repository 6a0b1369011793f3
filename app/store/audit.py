"""Appending to and reading the hash-chained audit trail, and the anchors of its head.

The key comes with the session (`session.info`, set by `session_factory(audit_key=...)` from
AUDIT_KEY): every append, whatever flow makes it, is chained with it when it is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Anchor, AuditEntry, entry_hash, head_mac, scheme_for
from app.store.db import AUDIT_KEY_INFO, transaction
from app.store.models import AuditAnchor, AuditEvent, AuditHead


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
    key = audit_key_of(session)
    previous, seq = head.hash, head.seq - len(new)
    chained: list[AuditEntry] = []
    for item in new:
        seq += 1
        entry = AuditEntry(
            seq=seq, at=item.at, actor=item.actor, action=item.action, target=item.target,
            params=item.params, outcome=item.outcome[:300], prev_hash=previous, scheme=scheme_for(key),
        )
        entry = replace(entry, hash=entry_hash(entry, key))
        chained.append(entry)
        previous = entry.hash
    await session.execute(insert(AuditEvent), [asdict(entry) for entry in chained])
    mac = head_mac(head.seq, previous, key) if key is not None else None
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=previous, mac=mac))
    return chained


def audit_key_of(session: AsyncSession) -> bytes | None:
    key = session.info.get(AUDIT_KEY_INFO)
    return key if isinstance(key, bytes) and key else None


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
                scheme=row.scheme,
            )
        last_seq = rows[-1].seq


async def head_seq(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many entries the chain should hold: the head counts every append, so deleted tail rows show."""
    return (await head(sessions)).seq


@dataclass(frozen=True)
class Head:
    """The head row: how many entries were appended, the last one's hash, and its MAC (None unkeyed)."""

    seq: int
    hash: str
    mac: str | None


async def head(sessions: async_sessionmaker[AsyncSession]) -> Head:
    async with transaction(sessions) as session:
        query = select(AuditHead.seq, AuditHead.hash, AuditHead.mac).where(AuditHead.id == 1)
        row = (await session.execute(query)).one()
    return Head(int(row.seq or 0), row.hash, row.mac)


@dataclass(frozen=True)
class RecordedAnchor:
    at: datetime
    seq: int
    hash: str
    channel: str | None
    message_ts: str | None
    actor: str

    def anchor(self) -> Anchor:
        where = f"Slack channel {self.channel}" if self.channel else "the database"
        return Anchor(self.seq, self.hash, f"the anchor of {self.at:%Y-%m-%d %H:%M} UTC ({where})")


async def record_anchor(session: AsyncSession, anchor: RecordedAnchor) -> None:
    """Keep a posted head, inside the caller's transaction (with the audit entry that records it)."""
    await session.execute(insert(AuditAnchor).values(**asdict(anchor)))


async def last_anchor(sessions: async_sessionmaker[AsyncSession]) -> RecordedAnchor | None:
    async with transaction(sessions) as session:
        row = (await session.scalars(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1))).first()
    if row is None:
        return None
    return RecordedAnchor(row.at, row.seq, row.hash, row.channel, row.message_ts, row.actor)
