"""Ack links (table of migration 0016): stored as hashes, used once by a conditional UPDATE."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import AckLink


@dataclass(frozen=True)
class UsedLink:
    incident_id: int
    user_id: str


async def add(
    session: AsyncSession, token_hash: str, *, incident_id: int, user_id: str, level: int, now: datetime,
    expires_at: datetime,
) -> None:
    session.add(AckLink(token_hash=token_hash, incident_id=incident_id, user_id=user_id, level=level,
                        created_at=now, expires_at=expires_at, used_at=None))
    await session.flush()


async def use(session: AsyncSession, token_hash: str, now: datetime) -> UsedLink | None:
    """Mark the link used if it is unused and unexpired (one atomic UPDATE): whose and which incident;
    None when it is unknown, used or expired (`state` tells which)."""
    result = await session.execute(
        update(AckLink)
        .where(AckLink.token_hash == token_hash, AckLink.used_at.is_(None), AckLink.expires_at > now)
        .values(used_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    row = (await session.execute(select(AckLink).where(AckLink.token_hash == token_hash))).scalar_one()
    return UsedLink(row.incident_id, row.user_id)


async def state(session: AsyncSession, token_hash: str) -> str:
    """`unknown`, `used` or `expired`: why `use` refused a link (said to whoever opened it)."""
    row = (await session.execute(select(AckLink).where(AckLink.token_hash == token_hash))).scalar_one_or_none()
    if row is None:
        return "unknown"
    return "used" if row.used_at is not None else "expired"
