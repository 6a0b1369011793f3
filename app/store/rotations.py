"""The rows of `rotations`: a secret rotation, from `@pitcrew rotate` until its last service is set.

Each move is one conditional UPDATE, so two instances told of the same verified proposal never both
propose the next service: `step` moves the position from the proposal just verified to the next one
(or to done), `stop` ends a rotation whose proposal failed or was cancelled; both clear the sealed
value when nothing more will be proposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.db import transaction
from app.store.models import Rotation


@dataclass(frozen=True)
class RotationRecord:
    id: str
    name: str
    services: tuple[str, ...]
    position: int
    proposal_id: str | None
    sealed: str | None
    status: str
    channel: str | None
    thread_ts: str | None
    incident_id: int | None
    rotated_by: str
    created_at: datetime
    finished_at: datetime | None


def _record(row: Rotation) -> RotationRecord:
    return RotationRecord(
        row.id, row.name, tuple(row.services), row.position, row.proposal_id, row.sealed, row.status, row.channel,
        row.thread_ts, row.incident_id, row.rotated_by, row.created_at, row.finished_at,
    )


async def create(
    sessions: async_sessionmaker[AsyncSession], *, id: str, name: str, services: tuple[str, ...], sealed: str,
    channel: str | None, thread_ts: str | None, incident_id: int | None, rotated_by: str, now: datetime,
) -> None:
    async with transaction(sessions) as session:
        await session.execute(
            insert(Rotation).values(
                id=id, name=name, services=list(services), position=0, proposal_id=None, sealed=sealed,
                status="running", channel=channel, thread_ts=thread_ts, incident_id=incident_id,
                rotated_by=rotated_by, created_at=now,
            )
        )


async def get(sessions: async_sessionmaker[AsyncSession], rotation_id: str) -> RotationRecord | None:
    async with sessions() as session:
        row = await session.get(Rotation, rotation_id)
        return _record(row) if row is not None else None


async def by_proposal(sessions: async_sessionmaker[AsyncSession], proposal_id: str) -> RotationRecord | None:
    async with sessions() as session:
        row = (await session.execute(select(Rotation).where(Rotation.proposal_id == proposal_id))).scalar_one_or_none()
        return _record(row) if row is not None else None


async def proposed(
    sessions: async_sessionmaker[AsyncSession], rotation_id: str, position: int, proposal_id: str
) -> None:
    """Remember the open proposal of the service at `position`."""
    async with transaction(sessions) as session:
        await session.execute(
            update(Rotation)
            .where(Rotation.id == rotation_id, Rotation.position == position, Rotation.status == "running")
            .values(proposal_id=proposal_id)
        )


async def step(
    sessions: async_sessionmaker[AsyncSession], rotation_id: str, proposal_id: str, *, now: datetime
) -> RotationRecord | None:
    """The proposal `proposal_id` is done: move on to the next service (or to done, the value cleared).
    The moved row, once, to whoever moved it; None when another caller moved it first."""
    async with transaction(sessions) as session:
        row = await session.get(Rotation, rotation_id)
        if row is None or row.proposal_id != proposal_id or row.status != "running":
            return None
        last = row.position + 1 >= len(row.services)
        values: dict[str, object] = {"position": row.position + 1, "proposal_id": None}
        if last:
            values.update(status="done", sealed=None, finished_at=now)
        moved = await session.execute(
            update(Rotation)
            .where(Rotation.id == rotation_id, Rotation.proposal_id == proposal_id, Rotation.status == "running")
            .values(**values)
            .returning(Rotation.id)
        )
        if moved.first() is None:
            return None
        return _record(await session.get(Rotation, rotation_id, populate_existing=True))


async def stop(sessions: async_sessionmaker[AsyncSession], rotation_id: str, *, now: datetime) -> bool:
    """End a running rotation (its proposal failed, was cancelled or expired): the value is forgotten.
    True for the one caller that stopped it."""
    async with transaction(sessions) as session:
        moved = await session.execute(
            update(Rotation)
            .where(Rotation.id == rotation_id, Rotation.status == "running")
            .values(status="stopped", sealed=None, finished_at=now)
            .returning(Rotation.id)
        )
        return moved.first() is not None


async def last_done(sessions: async_sessionmaker[AsyncSession], name: str) -> datetime | None:
    """When `name` was last rotated to the end, for `rotate_after_days`."""
    async with sessions() as session:
        found = await session.execute(
            select(Rotation.finished_at)
            .where(Rotation.name == name, Rotation.status == "done")
            .order_by(Rotation.finished_at.desc())
            .limit(1)
        )
        return found.scalar_one_or_none()
