"""Signed webhook bodies already received: the first delivery of a body is acted on, a repeat is not.

`first_receipt` is one atomic INSERT ... ON CONFLICT DO NOTHING on the digest, never a read and
then a write: two copies of a body arriving at once on two instances insert one row between them,
and the one whose insert took no row is the repeat.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import dialect_insert
from app.store.models import WebhookReplay


def digest_of(signature: str, body: bytes) -> str:
    """The hash that names a delivery: its signature and its body (neither is stored)."""
    return hashlib.sha256(signature.strip().lower().encode("utf-8", "replace") + b"\n" + body).hexdigest()


async def first_receipt(session: AsyncSession, *, source: str, digest: str, now: datetime) -> bool:
    """True when this digest was not received before (and is now recorded); False for a repeat."""
    insert = dialect_insert(session)
    statement = (
        insert(WebhookReplay)
        .values(digest=digest, source=source, received_at=now)
        .on_conflict_do_nothing(index_elements=["digest"])
        .returning(WebhookReplay.digest)
    )
    return (await session.execute(statement)).first() is not None


async def forget(session: AsyncSession, digest: str) -> None:
    """Drop a digest whose body could not be stored after all, so that the sender's retry is acted on."""
    await session.execute(delete(WebhookReplay).where(WebhookReplay.digest == digest))


async def purge_before(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(WebhookReplay).where(WebhookReplay.received_at < before))
    return int(result.rowcount or 0)
