"""Runbook runs in the database: every change is one compare-and-set on the row's `version`.

A flow reads the run, decides with the core's step machine, and writes back with
`UPDATE runbook_runs SET ..., version = version + 1 WHERE id = :id AND version = :read`: whatever it
decided was decided on the row as it still is, or nothing is written and the caller is told who got
there first. That is what makes two clicks on one step (two people, two instances, a retried
request) act once. PostgreSQL re-checks the WHERE clause against a concurrent winner's row; SQLite
serialises writers (BEGIN IMMEDIATE, app/store/db.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.runbook_machine import RunState
from app.store.db import transaction
from app.store.models import ReceivedAlert, RunbookRun


@dataclass(frozen=True)
class RunRecord:
    """A runbook_runs row as plain values; `state` is the core's step machine state."""

    id: int
    incident_id: int
    runbook: str
    state: RunState
    version: int
    channel: str | None
    thread_ts: str | None
    message_ts: str | None
    busy_step: str | None
    busy_by: str | None
    busy_since: datetime | None
    proposal_id: str | None
    started_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Transition:
    """The outcome of a compare-and-set: `won` when this caller changed the run, and the row as it is now."""

    won: bool
    record: RunRecord | None


class RunActive(Exception):
    """The runbook already has an unfinished run in this incident (`existing`, when it could be read)."""

    def __init__(self, existing: RunRecord | None) -> None:
        self.existing = existing
        super().__init__("this runbook is already running in this incident")


_COLUMNS = (
    RunbookRun.id,
    RunbookRun.incident_id,
    RunbookRun.runbook,
    RunbookRun.state,
    RunbookRun.version,
    RunbookRun.channel,
    RunbookRun.thread_ts,
    RunbookRun.message_ts,
    RunbookRun.busy_step,
    RunbookRun.busy_by,
    RunbookRun.busy_since,
    RunbookRun.proposal_id,
    RunbookRun.started_by,
    RunbookRun.created_at,
    RunbookRun.updated_at,
    RunbookRun.finished_at,
)


def active_key(incident_id: int, runbook: str) -> str:
    return f"{incident_id}:{runbook}"


def _record(row: Any) -> RunRecord:
    return RunRecord(
        id=row.id,
        incident_id=row.incident_id,
        runbook=row.runbook,
        state=RunState.from_dict(row.state),  # BadRunState for a damaged row, rather than a guess
        version=row.version,
        channel=row.channel,
        thread_ts=row.thread_ts,
        message_ts=row.message_ts,
        busy_step=row.busy_step,
        busy_by=row.busy_by,
        busy_since=row.busy_since,
        proposal_id=row.proposal_id,
        started_by=row.started_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


async def create(
    sessions: async_sessionmaker[AsyncSession],
    *,
    incident_id: int,
    runbook: str,
    state: RunState,
    channel: str | None,
    thread_ts: str | None,
    started_by: str,
    now: datetime,
) -> RunRecord:
    """Store a new run; RunActive when the runbook is already running in this incident."""
    try:
        async with transaction(sessions) as session:
            row = (
                await session.execute(
                    insert(RunbookRun)
                    .values(
                        incident_id=incident_id,
                        runbook=runbook,
                        state=state.to_dict(),
                        version=0,
                        active_key=None if state.finished else active_key(incident_id, runbook),
                        channel=channel,
                        thread_ts=thread_ts,
                        started_by=started_by,
                        created_at=now,
                        updated_at=now,
                        finished_at=now if state.finished else None,
                    )
                    .returning(*_COLUMNS)
                )
            ).one()
            return _record(row)
    except IntegrityError:
        raise RunActive(await active(sessions, incident_id, runbook)) from None


async def get(sessions: async_sessionmaker[AsyncSession], run_id: int) -> RunRecord | None:
    async with transaction(sessions) as session:
        return await _get(session, run_id)


async def _get(session: AsyncSession, run_id: int) -> RunRecord | None:
    row = (await session.execute(select(*_COLUMNS).where(RunbookRun.id == run_id))).one_or_none()
    return _record(row) if row is not None else None


async def active(sessions: async_sessionmaker[AsyncSession], incident_id: int, runbook: str) -> RunRecord | None:
    """The unfinished run of `runbook` in the incident, if there is one."""
    async with transaction(sessions) as session:
        row = (
            await session.execute(select(*_COLUMNS).where(RunbookRun.active_key == active_key(incident_id, runbook)))
        ).one_or_none()
    return _record(row) if row is not None else None


async def by_proposal(sessions: async_sessionmaker[AsyncSession], proposal_id: str) -> RunRecord | None:
    """The run whose current action step is waiting on this proposal."""
    async with transaction(sessions) as session:
        row = (
            await session.execute(select(*_COLUMNS).where(RunbookRun.proposal_id == proposal_id).limit(1))
        ).one_or_none()
    return _record(row) if row is not None else None


async def for_incident(sessions: async_sessionmaker[AsyncSession], incident_id: int) -> list[RunRecord]:
    """Every run of the incident, oldest first."""
    async with transaction(sessions) as session:
        rows = (
            await session.execute(
                select(*_COLUMNS).where(RunbookRun.incident_id == incident_id).order_by(RunbookRun.id)
            )
        ).all()
    return [_record(row) for row in rows]


async def _move(
    sessions: async_sessionmaker[AsyncSession], run_id: int, version: int, values: dict[str, Any]
) -> Transition:
    """One UPDATE guarded by the version the caller read; the loser reads the row as the winner left it."""
    async with transaction(sessions) as session:
        row = (
            await session.execute(
                update(RunbookRun)
                .where(RunbookRun.id == run_id, RunbookRun.version == version)
                .values(**values, version=RunbookRun.version + 1)
                .returning(*_COLUMNS)
            )
        ).one_or_none()
        if row is not None:
            return Transition(True, _record(row))
    async with transaction(sessions) as session:
        return Transition(False, await _get(session, run_id))


async def claim(
    sessions: async_sessionmaker[AsyncSession], run_id: int, *, version: int, step_id: str, by: str, now: datetime
) -> Transition:
    """Mark `step_id` as being run by `by` (a check under way, a proposal being made)."""
    return await _move(
        sessions, run_id, version, {"busy_step": step_id, "busy_by": by, "busy_since": now, "updated_at": now}
    )


async def release(
    sessions: async_sessionmaker[AsyncSession], run_id: int, *, version: int, now: datetime
) -> Transition:
    """Nobody is running the step any more, and no proposal is waiting for it (it was cancelled or expired)."""
    return await _move(
        sessions, run_id, version,
        {"busy_step": None, "busy_by": None, "busy_since": None, "proposal_id": None, "updated_at": now},
    )


async def wait_for_proposal(
    sessions: async_sessionmaker[AsyncSession], run_id: int, *, version: int, proposal_id: str, now: datetime
) -> Transition:
    """The current action step was proposed: it now waits for the proposal's outcome."""
    return await _move(sessions, run_id, version, {"proposal_id": proposal_id, "updated_at": now})


async def record_state(
    sessions: async_sessionmaker[AsyncSession], run_id: int, *, version: int, state: RunState, now: datetime
) -> Transition:
    """Store the step machine's new state; the step is no longer busy, and a finished run frees its name."""
    values: dict[str, Any] = {
        "state": state.to_dict(), "busy_step": None, "busy_by": None, "busy_since": None, "proposal_id": None,
        "updated_at": now,
    }
    if state.finished:
        values.update(active_key=None, finished_at=now)
    return await _move(sessions, run_id, version, values)


async def attach_message(
    sessions: async_sessionmaker[AsyncSession], run_id: int, *, version: int, ts: str, now: datetime
) -> bool:
    """Remember the current step's message, unless the run moved on meanwhile (then a newer one is current).

    Not a change of the run's progress, so the version stays: a click already on its way still matches.
    """
    async with transaction(sessions) as session:
        result = await session.execute(
            update(RunbookRun)
            .where(RunbookRun.id == run_id, RunbookRun.version == version)
            .values(message_ts=ts, updated_at=now)
        )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class FirstAlert:
    """The alert that opened an incident, as stored: its source, fingerprint and the body it came in."""

    source: str
    fingerprint: str | None
    body: str


async def first_alert(sessions: async_sessionmaker[AsyncSession], incident_id: int) -> FirstAlert | None:
    """The incident's first stored alert with its body (a body of several alerts is kept on its first row),
    read again so that a runbook's `applies.labels` can be matched against the alert's labels."""
    async with transaction(sessions) as session:
        row = (
            await session.execute(
                select(ReceivedAlert.source, ReceivedAlert.fingerprint, ReceivedAlert.body, ReceivedAlert.body_id)
                .where(ReceivedAlert.incident_id == incident_id)
                .order_by(ReceivedAlert.id)
                .limit(1)
            )
        ).one_or_none()
        if row is None:
            return None
        body = row.body
        if not body and row.body_id is not None:
            body = await session.scalar(select(ReceivedAlert.body).where(ReceivedAlert.id == row.body_id))
    return FirstAlert(row.source, row.fingerprint, body or "")
