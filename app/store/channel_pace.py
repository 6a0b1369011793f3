"""Reservations of a Slack channel's posting time, shared by every instance (see app/slack/post_pace.py)."""

from __future__ import annotations

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import dialect_insert
from app.store.models import ChannelPace


async def reserve(session: AsyncSession, channel: str, *, now: float, seconds: float) -> float:
    """Reserve `seconds` of `channel`'s time from when it is next free (or now); when the reservation starts.

    One UPDATE moves the channel's next free time on by `seconds`, atomically: two instances
    reserving at once get consecutive stretches, never the same one. The row lock it takes is held
    until the caller's transaction ends, so keep that transaction short.
    """
    await session.execute(
        dialect_insert(session)(ChannelPace)
        .values(channel=channel, next_free_at=now)
        .on_conflict_do_nothing(index_elements=["channel"])
    )
    start = case((ChannelPace.next_free_at > now, ChannelPace.next_free_at), else_=now)
    end = await session.scalar(
        update(ChannelPace)
        .where(ChannelPace.channel == channel)
        .values(next_free_at=start + seconds)
        .returning(ChannelPace.next_free_at)
    )
    return float(end) - seconds
