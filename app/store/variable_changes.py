"""The rows of `variable_changes`: a change proposed with "revert after", until its reminder has run.

Each move is one conditional UPDATE, so two instances never both schedule or both fire a reminder:
`arm` moves proposed → waiting (with the reminder job, in the same transaction), `take` moves
waiting → reminded and returns the row once, `forget` clears the sealed old value for good.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.db import transaction
from app.store.models import VariableChange


@dataclass(frozen=True)
class ChangeRecord:
    id: str
    service: str
    name: str
    old_exists: bool
    old_sealed: str | None
    old_fingerprint: str | None
    set_fingerprint: str | None
    revert_after_s: int
    status: str
    channel: str | None
    thread_ts: str | None
    incident_id: int | None
    proposed_by: str
    due_at: datetime | None


def _record(row: VariableChange) -> ChangeRecord:
    return ChangeRecord(
        row.id, row.service, row.name, row.old_exists, row.old_sealed, row.old_fingerprint, row.set_fingerprint,
        row.revert_after_s, row.status, row.channel, row.thread_ts, row.incident_id, row.proposed_by, row.due_at,
    )


async def create(
    session: AsyncSession, *, id: str, service: str, name: str, old_exists: bool, old_sealed: str | None,
    old_fingerprint: str | None, set_fingerprint: str | None, revert_after_s: int, channel: str | None,
    thread_ts: str | None, incident_id: int | None, proposed_by: str, now: datetime,
) -> None:
    """The row of a proposal, written in the proposal's own transaction."""
    await session.execute(
        insert(VariableChange).values(
            id=id, service=service, name=name, old_exists=old_exists, old_sealed=old_sealed,
            old_fingerprint=old_fingerprint, set_fingerprint=set_fingerprint, revert_after_s=revert_after_s,
            status="proposed", channel=channel, thread_ts=thread_ts, incident_id=incident_id,
            proposed_by=proposed_by, created_at=now,
        )
    )


async def arm(
    sessions: async_sessionmaker[AsyncSession], change_id: str, *, now: datetime,
    schedule: Callable[[AsyncSession, datetime], Awaitable[None]],
) -> ChangeRecord | None:
    """proposed → waiting, due `revert_after_s` from now, with the reminder job: once, whoever calls."""
    async with transaction(sessions) as session:
        row = await session.get(VariableChange, change_id)
        if row is None:
            return None
        due = now + timedelta(seconds=row.revert_after_s)
        moved = await session.execute(
            update(VariableChange)
            .where(VariableChange.id == change_id, VariableChange.status == "proposed")
            .values(status="waiting", due_at=due)
            .returning(VariableChange.id)
        )
        if moved.first() is None:
            return None
        await schedule(session, due)
    return await get(sessions, change_id)


async def take(sessions: async_sessionmaker[AsyncSession], change_id: str) -> ChangeRecord | None:
    """waiting → reminded, returning the row (with its sealed value) to the one caller that moved it."""
    async with transaction(sessions) as session:
        before = await session.get(VariableChange, change_id)
        if before is None:
            return None
        record = _record(before)
        moved = await session.execute(
            update(VariableChange)
            .where(VariableChange.id == change_id, VariableChange.status == "waiting")
            .values(status="reminded")
            .returning(VariableChange.id)
        )
        return record if moved.first() is not None else None


async def forget(sessions: async_sessionmaker[AsyncSession], change_id: str, *, status: str | None = None) -> None:
    """The sealed old value erased (the row stays, with fingerprints only); `status` when the change ended."""
    values: dict[str, object] = {"old_sealed": None}
    if status is not None:
        values["status"] = status
    async with transaction(sessions) as session:
        await session.execute(update(VariableChange).where(VariableChange.id == change_id).values(**values))


async def get(sessions: async_sessionmaker[AsyncSession], change_id: str) -> ChangeRecord | None:
    async with sessions() as session:
        row = (await session.execute(select(VariableChange).where(VariableChange.id == change_id))).scalar_one_or_none()
        return _record(row) if row is not None else None
