"""The Slack pace lanes against real SQLite and PostgreSQL: shares taken at once never overlap."""

from __future__ import annotations

import asyncio

from app.store import slack_pace
from app.store.db import transaction

NOW = 1_767_000_000.0


async def _reserve(sessions, lane: str, now: float, seconds: float) -> float:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        return await slack_pace.reserve(session, lane, now=now, seconds=seconds)


async def _take(sessions, now: float, burst_s: float = 0.0) -> float | None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        return await slack_pace.take_if_free(session, "edits", now=now, seconds=2.0, burst_s=burst_s)


async def test_reservations_made_at_once_get_consecutive_stretches(sessions):
    starts = await asyncio.gather(*(_reserve(sessions, "C0ALERTS", NOW, 3.0) for _ in range(12)))
    assert sorted(starts) == [NOW + 3.0 * n for n in range(12)]
    assert await _reserve(sessions, "C0UPDATES", NOW, 1.0) == NOW  # another lane is free
    assert await _reserve(sessions, "C0ALERTS", NOW + 100, 1.0) == NOW + 100  # free again after a quiet spell


async def test_take_if_free_gives_the_burst_then_one_share_per_interval(sessions):
    taken = await asyncio.gather(*(_take(sessions, NOW, burst_s=4.0) for _ in range(6)))
    assert taken.count(None) == 3  # free at NOW, NOW + 2, NOW + 4: within the 4 s burst
    assert all(later == NOW + 2.0 for later in taken if later is not None)  # when the next share is free
    assert await _take(sessions, NOW + 1.9, burst_s=4.0) is not None
    assert await _take(sessions, NOW + 2.0, burst_s=4.0) is None
    assert await _take(sessions, NOW + 2.0, burst_s=4.0) == NOW + 4.0
