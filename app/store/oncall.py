"""On-call overrides and hand-off claims (tables of migration 0014).

An override is added under the rotation's lock row (`oncall_locks`, updated first: a row lock on
PostgreSQL, and SQLite writes one transaction at a time), so the overlap check and the insert see
the same overrides whatever other instances do. A hand-off is claimed by inserting its key (ON
CONFLICT DO NOTHING): the one caller whose insert lands posts the summary.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.oncall import Override, overlapping
from app.store.db import dialect_insert
from app.store.models import OncallHandoff, OncallLock, OncallOverride


def _override(row: OncallOverride) -> Override:
    return Override(row.id, row.rotation, row.user_id, row.starts_at, row.ends_at, row.created_by)


async def in_force(session: AsyncSession, since: datetime, until: datetime | None = None) -> list[Override]:
    """Overrides sharing a moment with [since, until) (until None: any time after since); one whose end
    was announced still counts for its span (the hand-off at its end is computed from it)."""
    query = select(OncallOverride).where(OncallOverride.ends_at > since)
    if until is not None:
        query = query.where(OncallOverride.starts_at < until)
    rows = await session.scalars(query.order_by(OncallOverride.starts_at))
    return [_override(r) for r in rows]


async def add_override(
    session: AsyncSession, *, rotation: str, user: str, start: datetime, end: datetime, by: str, now: datetime
) -> Override:
    """Add an override, or raise OverlappingOverride naming the one in the way (nothing added)."""
    await session.execute(
        dialect_insert(session)(OncallLock)
        .values(rotation=rotation, touched_at=now)
        .on_conflict_do_nothing(index_elements=["rotation"])
    )
    await session.execute(update(OncallLock).where(OncallLock.rotation == rotation).values(touched_at=now))
    clash = overlapping(await in_force(session, start, end), rotation, start, end)
    if clash is not None:
        raise OverlappingOverride(clash)
    row = OncallOverride(
        rotation=rotation, user_id=user, starts_at=start, ends_at=end, created_by=by, created_at=now
    )
    session.add(row)
    await session.flush()
    return _override(row)


class OverlappingOverride(Exception):
    def __init__(self, clash: Override) -> None:
        self.clash = clash
        super().__init__(f"override {clash.id} of {clash.rotation} is in the way")


async def end_override(session: AsyncSession, override_id: int, *, now: datetime) -> Override | None:
    """Mark the override ended; the override for the one caller that ended it, None for any other."""
    ended = await session.execute(
        update(OncallOverride)
        .where(OncallOverride.id == override_id, OncallOverride.ended_at.is_(None))
        .values(ended_at=now)
        .returning(OncallOverride.id)
    )
    if ended.first() is None:
        return None
    row = await session.get(OncallOverride, override_id)
    return _override(row) if row is not None else None


async def claim_handoff(session: AsyncSession, key: str, *, now: datetime) -> bool:
    statement = (
        dialect_insert(session)(OncallHandoff)
        .values(key=key, claimed_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OncallHandoff.key)
    )
    return (await session.execute(statement)).first() is not None


async def record_handoff(session: AsyncSession, key: str, message_ts: str | None) -> None:
    await session.execute(update(OncallHandoff).where(OncallHandoff.key == key).values(message_ts=message_ts or ""))


async def release_handoff(session: AsyncSession, key: str) -> None:
    """Give a claim back when the post failed, so the next run posts the hand-off."""
    await session.execute(delete(OncallHandoff).where(OncallHandoff.key == key, OncallHandoff.message_ts.is_(None)))
