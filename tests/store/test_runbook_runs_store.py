"""The runbook_runs table against real SQLite and PostgreSQL: one unfinished run of a runbook per
incident, and every change a compare-and-set on the version (of many at once, one wins)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.runbook_machine import advance, start
from app.core.runbooks import Runbook, SayStep
from app.store import incidents as incident_store
from app.store import runbook_runs as runs
from app.store.db import transaction

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
BOOK = Runbook(
    name="two-steps", title="Two steps",
    steps=(SayStep(id="one", title="One", text="Do one."), SayStep(id="two", title="Two", text="Do two.")),
)


async def _incident(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as session:
        return await incident_store.create_declared(
            session, title="API down", severity="SEV1", service="api", description=None, declared_by="U0OPS1", now=NOW
        )


async def _run(sessions: async_sessionmaker[AsyncSession], incident_id: int) -> runs.RunRecord:
    return await runs.create(
        sessions, incident_id=incident_id, runbook=BOOK.name, state=start(BOOK), channel="C0ALERTS",
        thread_ts="1.1", started_by="U0OPS1", now=NOW,
    )


async def test_one_unfinished_run_per_runbook_and_incident_until_it_finishes(sessions):
    incident = await _incident(sessions)
    first = await _run(sessions, incident)
    assert first.version == 0 and first.state == start(BOOK) and first.finished_at is None
    with pytest.raises(runs.RunActive) as raised:
        await _run(sessions, incident)
    assert raised.value.existing is not None and raised.value.existing.id == first.id

    state = advance(BOOK, first.state, "one", "done", by="U0OPS1")
    state = advance(BOOK, state, "two", "skipped", by="U0OPS1")
    finished = await runs.record_state(sessions, first.id, version=first.version, state=state, now=NOW)
    assert finished.won and finished.record.state.finished and finished.record.finished_at == NOW
    assert await runs.active(sessions, incident, BOOK.name) is None
    second = await _run(sessions, incident)  # finished runs leave the name free
    assert [r.id for r in await runs.for_incident(sessions, incident)] == [first.id, second.id]


async def test_of_many_concurrent_claims_on_one_version_one_wins(sessions):
    run = await _run(sessions, await _incident(sessions))
    results = await asyncio.gather(*(
        runs.claim(sessions, run.id, version=run.version, step_id="one", by=f"U0OPS{i}", now=NOW) for i in range(10)
    ))
    winners = [r for r in results if r.won]
    assert len(winners) == 1
    holder = winners[0].record.busy_by
    assert all(r.record is not None and r.record.busy_by == holder and r.record.version == 1 for r in results)


async def test_a_stale_version_changes_nothing_and_reads_the_row_as_it_is(sessions):
    run = await _run(sessions, await _incident(sessions))
    state = advance(BOOK, run.state, "one", "done", by="U0A")
    moved = await runs.record_state(sessions, run.id, version=run.version, state=state, now=NOW)
    assert moved.won and moved.record.version == 1 and moved.record.state.current == "two"
    late = await runs.record_state(sessions, run.id, version=run.version, state=run.state, now=NOW)
    assert not late.won and late.record.state.current == "two"

    # A proposal waits on the step, then is let go; the message is attached only at the version it was posted for.
    waiting = await runs.wait_for_proposal(sessions, run.id, version=1, proposal_id="p" * 32, now=NOW)
    assert waiting.won and (await runs.by_proposal(sessions, "p" * 32)).id == run.id
    assert not await runs.attach_message(sessions, run.id, version=1, ts="9.9", now=NOW)
    assert await runs.attach_message(sessions, run.id, version=2, ts="9.9", now=NOW + timedelta(seconds=1))
    released = await runs.release(sessions, run.id, version=2, now=NOW)
    assert released.won and released.record.proposal_id is None and released.record.message_ts == "9.9"
    assert await runs.by_proposal(sessions, "p" * 32) is None
    assert await runs.get(sessions, 10_000) is None
