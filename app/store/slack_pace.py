"""Shares of a lane of Slack calls (a channel's posts, the root edits), shared by every instance.

A lane's row holds when it is next free, in epoch seconds. Both ways of taking a share are one
UPDATE, atomic on PostgreSQL and SQLite alike: two instances at once get consecutive shares,
never the same one. The row lock is held until the caller's transaction ends: keep it short.
"""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import dialect_insert
from app.store.models import SlackPace


async def reserve(session: AsyncSession, lane: str, *, now: float, seconds: float) -> float:
    """Reserve `seconds` of `lane` from when it is next free (or now); when the reservation starts.

    Always succeeds: the caller waits for its start (posts go in the order they reserved)."""
    await _ensure(session, lane, now)
    end = await session.scalar(
        update(SlackPace)
        .where(SlackPace.lane == lane)
        .values(next_free_at=_from(now) + seconds)
        .returning(SlackPace.next_free_at)
    )
    return float(end) - seconds


async def take_if_free(
    session: AsyncSession, lane: str, *, now: float, seconds: float, burst_s: float = 0.0
) -> float | None:
    """Take `seconds` of `lane` if it is free by `now + burst_s`: None when taken, else when to try again.

    For work that may as well try again later (an edit whose newer state will still be shown): it
    holds no place in a queue, and nothing is taken when it cannot go. `burst_s` lets a few go at
    once after a quiet spell; over any stretch of time the lane never gives more than that burst
    and one share per `seconds`."""
    await _ensure(session, lane, now)
    taken = await session.scalar(
        update(SlackPace)
        .where(SlackPace.lane == lane, SlackPace.next_free_at <= now + burst_s)
        .values(next_free_at=_from(now) + seconds)
        .returning(SlackPace.next_free_at)
    )
    if taken is not None:
        return None
    free_at = await session.scalar(select(SlackPace.next_free_at).where(SlackPace.lane == lane))
    return float(free_at if free_at is not None else now) - burst_s


async def next_free(session: AsyncSession, lane: str) -> float | None:
    """When `lane` is next free (epoch seconds), None when it was never used: a look, taking nothing."""
    found = await session.scalar(select(SlackPace.next_free_at).where(SlackPace.lane == lane))
    return None if found is None else float(found)


def _from(now: float):  # type: ignore[no-untyped-def]
    """The lane's next free time, or now if that has passed."""
    return case((SlackPace.next_free_at > now, SlackPace.next_free_at), else_=now)


async def _ensure(session: AsyncSession, lane: str, now: float) -> None:
    await session.execute(
        dialect_insert(session)(SlackPace).values(lane=lane, next_free_at=now).on_conflict_do_nothing(
            index_elements=["lane"]
        )
    )
