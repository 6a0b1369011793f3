"""Proposed destructive actions in the database: every change of status is one conditional UPDATE.

Confirming is `UPDATE ... SET status = 'running' WHERE id = :id AND status = 'proposed' AND
expires_at > :now RETURNING ...`: of any number of clicks, on any number of instances, exactly one
gets a row back, and only that one calls the provider. PostgreSQL re-checks the WHERE clause on the
row a concurrent winner committed; SQLite's writes are serialised (BEGIN IMMEDIATE, app/store/db.py).
Whoever gets no row reads the proposal again to say why: who holds it, or that it expired.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.db import transaction
from app.store.models import ProposedAction


@dataclass(frozen=True)
class ProposalRecord:
    """A proposed_actions row as plain values."""

    id: str
    kind: str
    service: str
    params: dict[str, Any]
    status: str
    proposed_by: str
    confirmed_by: str | None
    incident_id: int | None
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    result: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    updated_at: datetime


AlsoInTransaction = Callable[[AsyncSession], Awaitable[None]]
"""More work to commit with a change, or not at all (the job that follows it, say)."""


@dataclass(frozen=True)
class Transition:
    """The outcome of a conditional update: `won` when this caller moved the proposal, and the row as it is now."""

    won: bool
    record: ProposalRecord | None


_COLUMNS = (
    ProposedAction.id,
    ProposedAction.kind,
    ProposedAction.service,
    ProposedAction.params,
    ProposedAction.status,
    ProposedAction.proposed_by,
    ProposedAction.confirmed_by,
    ProposedAction.incident_id,
    ProposedAction.channel,
    ProposedAction.message_ts,
    ProposedAction.thread_ts,
    ProposedAction.result,
    ProposedAction.created_at,
    ProposedAction.expires_at,
    ProposedAction.updated_at,
)


def _record(row: Any) -> ProposalRecord:
    return ProposalRecord(
        id=row.id,
        kind=row.kind,
        service=row.service,
        params=dict(row.params or {}),
        status=row.status,
        proposed_by=row.proposed_by,
        confirmed_by=row.confirmed_by,
        incident_id=row.incident_id,
        channel=row.channel,
        message_ts=row.message_ts,
        thread_ts=row.thread_ts,
        result=dict(row.result or {}),
        created_at=row.created_at,
        expires_at=row.expires_at,
        updated_at=row.updated_at,
    )


async def create(
    sessions: async_sessionmaker[AsyncSession],
    *,
    id: str,
    kind: str,
    service: str,
    params: Mapping[str, Any],
    proposed_by: str,
    now: datetime,
    expires_at: datetime,
    channel: str | None = None,
    thread_ts: str | None = None,
    incident_id: int | None = None,
    also: AlsoInTransaction | None = None,
) -> ProposalRecord:
    """Store a new proposal; `also` runs in the same transaction (its expiry job)."""
    async with transaction(sessions) as session:
        row = (
            await session.execute(
                insert(ProposedAction)
                .values(
                    id=id,
                    kind=kind,
                    service=service,
                    params=dict(params),
                    status="proposed",
                    proposed_by=proposed_by,
                    incident_id=incident_id,
                    channel=channel,
                    thread_ts=thread_ts,
                    result={},
                    created_at=now,
                    expires_at=expires_at,
                    updated_at=now,
                )
                .returning(*_COLUMNS)
            )
        ).one()
        if also is not None:
            await also(session)
        return _record(row)


async def get(sessions: async_sessionmaker[AsyncSession], proposal_id: str) -> ProposalRecord | None:
    async with transaction(sessions) as session:
        return await _get(session, proposal_id)


async def _get(session: AsyncSession, proposal_id: str) -> ProposalRecord | None:
    row = (await session.execute(select(*_COLUMNS).where(ProposedAction.id == proposal_id))).one_or_none()
    return _record(row) if row is not None else None


async def _move(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    conditions: list[Any],
    values: dict[str, Any],
    also: AlsoInTransaction | None = None,
) -> Transition:
    """One UPDATE guarded by `conditions`; the loser reads the row as the winner left it.

    `also` runs in the winner's transaction only, so what follows a change is committed with it.
    """
    async with transaction(sessions) as session:
        row = (
            await session.execute(
                update(ProposedAction)
                .where(ProposedAction.id == proposal_id, *conditions)
                .values(**values)
                .returning(*_COLUMNS)
            )
        ).one_or_none()
        if row is not None:
            if also is not None:
                await also(session)
            return Transition(True, _record(row))
    async with transaction(sessions) as session:
        return Transition(False, await _get(session, proposal_id))


async def claim(
    sessions: async_sessionmaker[AsyncSession], proposal_id: str, *, by: str, now: datetime
) -> Transition:
    """proposed → running for `by`, if still proposed and not expired at `now`: the exactly-once gate."""
    return await _move(
        sessions,
        proposal_id,
        [ProposedAction.status == "proposed", ProposedAction.expires_at > now],
        {"status": "running", "confirmed_by": by, "updated_at": now},
    )


async def cancel(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    *,
    by: str,
    now: datetime,
    params: Mapping[str, Any] | None = None,
) -> Transition:
    """proposed → cancelled (recording who in `result`), if still proposed and not expired."""
    values: dict[str, Any] = {"status": "cancelled", "result": {"cancelled_by": by}, "updated_at": now}
    if params is not None:
        values["params"] = dict(params)
    return await _move(
        sessions, proposal_id, [ProposedAction.status == "proposed", ProposedAction.expires_at > now], values
    )


async def expire(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    *,
    now: datetime,
    params: Mapping[str, Any] | None = None,
) -> Transition:
    """proposed → expired, once its time is up."""
    values: dict[str, Any] = {"status": "expired", "updated_at": now}
    if params is not None:
        values["params"] = dict(params)
    return await _move(
        sessions, proposal_id, [ProposedAction.status == "proposed", ProposedAction.expires_at <= now], values
    )


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    *,
    from_status: str,
    status: str,
    result: Mapping[str, Any],
    now: datetime,
    params: Mapping[str, Any] | None = None,
    also: AlsoInTransaction | None = None,
) -> Transition:
    """`from_status` → `status` with `result` (running → accepted/failed, accepted → verified/failed).

    `params`, when given, replaces the stored ones: a secret parameter is forgotten once it was used.
    `also` commits with the change (the verification job of an accepted action).
    """
    values: dict[str, Any] = {"status": status, "result": dict(result), "updated_at": now}
    if params is not None:
        values["params"] = dict(params)
    return await _move(sessions, proposal_id, [ProposedAction.status == from_status], values, also)


async def record_result(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    *,
    status: str,
    result: Mapping[str, Any],
    now: datetime,
) -> Transition:
    """Replace `result` while the proposal is still in `status` (a verification's progress)."""
    return await _move(
        sessions,
        proposal_id,
        [ProposedAction.status == status],
        {"result": dict(result), "updated_at": now},
    )


async def attach_message(
    sessions: async_sessionmaker[AsyncSession], proposal_id: str, *, channel: str, ts: str, now: datetime
) -> None:
    """Where the proposal was posted, so every later change edits that message."""
    async with transaction(sessions) as session:
        await session.execute(
            update(ProposedAction)
            .where(ProposedAction.id == proposal_id)
            .values(channel=channel, message_ts=ts, updated_at=now)
        )

