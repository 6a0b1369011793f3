"""The proposals table against real SQLite and PostgreSQL: every move is one conditional UPDATE."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.store import jobs as job_store
from app.store import proposals

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


async def _create(sessions, pid: str = "p1", **extra) -> proposals.ProposalRecord:
    return await proposals.create(
        sessions, id=pid, kind="rollback", service="api", params={"inputs": {"target_deployment_id": "d1"}},
        proposed_by="U0ASKER", now=NOW, expires_at=NOW + timedelta(minutes=10), channel="C0ALERTS", **extra,
    )


async def test_create_and_get_round_trip(sessions):
    created = await _create(sessions, thread_ts="1.5")
    assert created.status == "proposed" and created.expires_at == NOW + timedelta(minutes=10)
    assert created.expires_at.tzinfo is not None
    await proposals.attach_message(sessions, "p1", channel="C0ALERTS", ts="2.0", now=NOW)
    found = await proposals.get(sessions, "p1")
    assert found is not None and found.message_ts == "2.0" and found.thread_ts == "1.5"
    assert found.params == {"inputs": {"target_deployment_id": "d1"}}
    assert await proposals.get(sessions, "nope") is None


async def test_only_one_of_many_concurrent_claims_wins(sessions):
    await _create(sessions)
    results = await asyncio.gather(
        *(proposals.claim(sessions, "p1", by=f"U0OPS{i}", now=NOW + timedelta(minutes=1)) for i in range(12))
    )
    winners = [r for r in results if r.won]
    assert len(winners) == 1
    holder = winners[0].record.confirmed_by
    assert all(r.record is not None and r.record.confirmed_by == holder for r in results)
    assert all(r.record.status in ("running",) for r in results)


async def test_an_expired_proposal_cannot_be_claimed_or_cancelled_only_expired(sessions):
    await _create(sessions)
    at_expiry = NOW + timedelta(minutes=10)
    lost = await proposals.claim(sessions, "p1", by="U0OPS1", now=at_expiry)
    assert not lost.won and lost.record is not None and lost.record.status == "proposed"
    assert not (await proposals.cancel(sessions, "p1", by="U0OPS1", now=at_expiry)).won
    assert not (await proposals.expire(sessions, "p1", now=at_expiry - timedelta(seconds=1))).won
    expired = await proposals.expire(sessions, "p1", now=at_expiry, params={"inputs": {}})
    assert expired.won and expired.record.status == "expired" and expired.record.params == {"inputs": {}}
    assert not (await proposals.expire(sessions, "p1", now=at_expiry)).won


async def test_cancel_then_no_claim(sessions):
    await _create(sessions)
    cancelled = await proposals.cancel(sessions, "p1", by="U0ASKER", now=NOW)
    assert cancelled.won and cancelled.record.result == {"cancelled_by": "U0ASKER"}
    claim = await proposals.claim(sessions, "p1", by="U0OPS1", now=NOW)
    assert not claim.won and claim.record.status == "cancelled"


async def test_finish_moves_from_the_expected_status_only_and_commits_what_follows(sessions):
    await _create(sessions)
    await proposals.claim(sessions, "p1", by="U0OPS1", now=NOW)

    async def schedule(session: AsyncSession) -> None:
        await job_store.enqueue(session, kind="verify_action", payload={"proposal_id": "p1"}, run_at=NOW, now=NOW,
                                dedupe_key="verify_action:p1")

    wrong = await proposals.finish(sessions, "p1", from_status="accepted", status="verified", result={}, now=NOW,
                                   also=schedule)
    assert not wrong.won and await job_store.pending_count(sessions, "verify_action") == 0
    done = await proposals.finish(sessions, "p1", from_status="running", status="accepted", result={"answer": {}},
                                  now=NOW, also=schedule)
    assert done.won and done.record.status == "accepted"
    assert await job_store.pending_count(sessions, "verify_action") == 1
    progress = await proposals.record_result(sessions, "p1", status="accepted", result={"verification": {}}, now=NOW)
    assert progress.won and progress.record.result == {"verification": {}}
    assert not (await proposals.record_result(sessions, "p1", status="running", result={}, now=NOW)).won


async def test_concurrent_approvals_of_two_operators_move_it_once_and_one_operator_never(sessions):
    await _create(sessions, "p2")
    at = NOW + timedelta(minutes=1)
    alone = await asyncio.gather(
        *(proposals.approve(sessions, "p2", by="U0OPS1", counted={}, needed=2, now=at) for _ in range(8))
    )
    assert not any(a.won for a in alone) and sum(a.added for a in alone) == 1
    assert (await proposals.get(sessions, "p2")).status == "proposed"

    await _create(sessions, "p3")
    both = await asyncio.gather(
        *(proposals.approve(sessions, "p3", by=f"U0OPS{1 + i % 2}", counted={}, needed=2, now=at) for i in range(12))
    )
    winners = [a for a in both if a.won]
    assert len(winners) == 1 and sorted(winners[0].approvals) == ["U0OPS1", "U0OPS2"]
    record = await proposals.get(sessions, "p3")
    assert record.status == "running" and record.confirmed_by == winners[0].record.confirmed_by
    assert sorted(record.result["approvals"]) == ["U0OPS1", "U0OPS2"]
    assert sorted(await proposals.approvals_of(sessions, "p3")) == ["U0OPS1", "U0OPS2"]


async def test_an_implied_approval_counts_with_one_click_and_the_same_person_not_twice(sessions):
    await _create(sessions, "p4")
    at = NOW + timedelta(minutes=1)
    again = await proposals.approve(sessions, "p4", by="U0OPS1", counted={"U0OPS1": "earlier"}, needed=2, now=at)
    assert again.open and not again.added and not again.won and again.approvals == ("U0OPS1",)
    ran = await proposals.approve(sessions, "p4", by="U0OPS2", counted={"U0OPS1": "earlier"}, needed=2, now=at)
    assert ran.won and ran.approvals == ("U0OPS1", "U0OPS2")
    late = await proposals.approve(sessions, "p4", by="U0OPS3", counted={}, needed=2, now=at)
    assert not late.open and late.record.status == "running"


async def test_only_a_proposal_running_since_before_the_cutoff_is_settled_and_only_once(sessions):
    await _create(sessions, "p5")
    claimed_at = NOW + timedelta(minutes=1)
    await proposals.claim(sessions, "p5", by="U0OPS1", now=claimed_at)
    assert await proposals.running_since_before(sessions, claimed_at - timedelta(seconds=1), limit=10) == []
    too_soon = await proposals.settle(
        sessions, "p5", cutoff=claimed_at - timedelta(seconds=1), status="failed", result={}, now=claimed_at
    )
    assert not too_soon.won
    [stuck] = await proposals.running_since_before(sessions, claimed_at, limit=10)
    assert stuck.id == "p5"
    later = claimed_at + timedelta(minutes=3)
    results = await asyncio.gather(
        *(proposals.settle(sessions, "p5", cutoff=claimed_at, status="accepted", result={"n": i}, now=later)
          for i in range(5))
    )
    assert sum(r.won for r in results) == 1
    assert (await proposals.get(sessions, "p5")).status == "accepted"
