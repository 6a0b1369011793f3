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

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.db import dialect_insert, transaction
from app.store.models import Job, ProposalApproval, ProposedAction


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
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    *,
    by: str,
    now: datetime,
    also: AlsoInTransaction | None = None,
) -> Transition:
    """proposed → running for `by`, if still proposed and not expired at `now`: the exactly-once gate.
    `also` commits with the claim (the job that settles it should this instance die mid-call)."""
    return await _move(
        sessions,
        proposal_id,
        [ProposedAction.status == "proposed", ProposedAction.expires_at > now],
        {"status": "running", "confirmed_by": by, "updated_at": now},
        also,
    )


@dataclass(frozen=True)
class Approval:
    """What one approval did: `open` false when the proposal was no longer waiting (nothing recorded);
    `added` whether this person's approval is new; `approvals` everyone's so far, in order; `won` when
    this approval completed the count and moved the proposal to running (then only this caller runs it)."""

    open: bool
    added: bool
    won: bool
    approvals: tuple[str, ...]
    record: ProposalRecord | None


async def approve(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    *,
    by: str,
    counted: Mapping[str, str],
    needed: int,
    now: datetime,
    also: AlsoInTransaction | None = None,
) -> Approval:
    """Record `by`'s approval (and `counted`, user → role, whom the caller found to be operators too,
    such as the proposer); once `needed` distinct people approved, move proposed → running for `by`.

    One transaction: the first UPDATE locks the proposal's row (PostgreSQL makes a concurrent
    approval wait for this one to commit, then re-reads the row; SQLite's writes are serialised), so
    the count read after the INSERTs sees every earlier approval, and exactly one approval completes it.
    The primary key (proposal, user) makes each person count once, however often they click.
    """
    open_now = [ProposedAction.status == "proposed", ProposedAction.expires_at > now]
    async with transaction(sessions) as session:
        locked = (
            await session.execute(
                update(ProposedAction)
                .where(ProposedAction.id == proposal_id, *open_now)
                .values(updated_at=now)
                .returning(ProposedAction.result)
            )
        ).one_or_none()
        if locked is not None:
            insert = dialect_insert(session)
            for user, role in counted.items():
                await session.execute(
                    insert(ProposalApproval)
                    .values(proposal_id=proposal_id, user_id=user, role=role, approved_at=now)
                    .on_conflict_do_nothing(index_elements=["proposal_id", "user_id"])
                )
            added = (
                await session.execute(
                    insert(ProposalApproval)
                    .values(proposal_id=proposal_id, user_id=by, role="confirm", approved_at=now)
                    .on_conflict_do_nothing(index_elements=["proposal_id", "user_id"])
                    .returning(ProposalApproval.user_id)
                )
            ).one_or_none() is not None
            approvals = tuple(
                (
                    await session.execute(
                        select(ProposalApproval.user_id)
                        .where(ProposalApproval.proposal_id == proposal_id)
                        .order_by(ProposalApproval.approved_at, ProposalApproval.role.desc(), ProposalApproval.user_id)
                    )
                ).scalars()
            )
            result = {**dict(locked.result or {}), "approvals": list(approvals)}
            values: dict[str, Any] = {"result": result, "updated_at": now}
            won = len(approvals) >= needed
            if won:
                values |= {"status": "running", "confirmed_by": by}
            row = (
                await session.execute(
                    update(ProposedAction)
                    .where(ProposedAction.id == proposal_id, *open_now)
                    .values(**values)
                    .returning(*_COLUMNS)
                )
            ).one()
            if won and also is not None:
                await also(session)
            return Approval(True, added, won, approvals, _record(row))
    async with transaction(sessions) as session:
        record = await _get(session, proposal_id)
    return Approval(False, False, False, tuple((record.result.get("approvals") if record else None) or ()), record)


async def approvals_of(sessions: async_sessionmaker[AsyncSession], proposal_id: str) -> tuple[str, ...]:
    """Who approved a proposal so far (a renewed proposal carries them over)."""
    async with transaction(sessions) as session:
        found = await session.execute(
            select(ProposalApproval.user_id)
            .where(ProposalApproval.proposal_id == proposal_id)
            .order_by(ProposalApproval.approved_at, ProposalApproval.user_id)
        )
        return tuple(found.scalars())


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
    values = _end_values(status, result, now, params)
    return await _move(sessions, proposal_id, [ProposedAction.status == from_status], values, also)


def _end_values(
    status: str, result: Mapping[str, Any], now: datetime, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What an ended proposal's row becomes: its status and result, and its params when replaced."""
    values: dict[str, Any] = {"status": status, "result": dict(result), "updated_at": now}
    if params is not None:
        values["params"] = dict(params)
    return values


async def settle(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: str,
    *,
    cutoff: datetime,
    status: str,
    result: Mapping[str, Any],
    now: datetime,
    params: Mapping[str, Any] | None = None,
    also: AlsoInTransaction | None = None,
) -> Transition:
    """running → `status` for a proposal left running since before `cutoff` (its instance died mid-call).

    Requiring the age in the same UPDATE means a call still finishing normally, or another instance
    settling it, is never overwritten: one of them moves it, the other gets no row.
    """
    values = _end_values(status, result, now, params)
    conditions = [ProposedAction.status == "running", ProposedAction.updated_at <= cutoff]
    return await _move(sessions, proposal_id, conditions, values, also)


async def running_since_before(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, *, limit: int
) -> list[ProposalRecord]:
    """Proposals still running that were claimed before `cutoff`, oldest first."""
    async with transaction(sessions) as session:
        rows = await session.execute(
            select(*_COLUMNS)
            .where(ProposedAction.status == "running", ProposedAction.updated_at <= cutoff)
            .order_by(ProposedAction.updated_at)
            .limit(limit)
        )
        return [_record(row) for row in rows]


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


async def drop_pending_job(session: AsyncSession, dedupe_key: str) -> None:
    """Delete a job not yet started (the settle job of an action that ended normally): nothing is left
    to do for it, so it should not run later at all."""
    await session.execute(delete(Job).where(Job.dedupe_key == dedupe_key, Job.status == "pending"))


class Unchanged:
    """The thread of a proposal left as it was (attach_message)."""


UNCHANGED = Unchanged()


async def attach_message(
    sessions: async_sessionmaker[AsyncSession], proposal_id: str, *, channel: str, ts: str, now: datetime,
    thread_ts: str | Unchanged | None = UNCHANGED,
) -> None:
    """Where the proposal was posted, so every later change edits that message. Its channel and thread
    may not be those asked for (a DM with the asker when the bot could not post there): `thread_ts`,
    when given, replaces the thread asked for."""
    values: dict[str, object] = {"channel": channel, "message_ts": ts, "updated_at": now}
    if not isinstance(thread_ts, Unchanged):
        values["thread_ts"] = thread_ts
    async with transaction(sessions) as session:
        await session.execute(update(ProposedAction).where(ProposedAction.id == proposal_id).values(**values))


