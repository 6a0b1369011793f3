"""Slack's pace for posting in a channel, kept by every instance together through the database.

Slack lets an app post about one message a second in a channel, with short bursts, and answers
HTTP 429 beyond that. An alert storm opening fifty incidents would otherwise post their root
messages, first thread notes (who is paged, the runbooks offered) and recovery notes in #alerts
within the same second. So the messages alerts cause take their share of each channel's time
from one lane per channel in the database (app/store/slack_pace.py), whichever instance posts
them, and they do it in two ways:

- **Roots** (a new incident's root message, and its post in the updates channel) queue: `turn`
  reserves the next share of the lane, and a job whose share starts further ahead than a burst
  allows is put back until then, holding no runner while it waits. Roots leave in the order they
  reserved.
- **Follow-ups** (thread notes: the first note, recoveries, refirings) never queue: `gap` takes a
  share only when the lane is free now (within the same burst), else says when to try again.
  Every root already reserved is ahead of them, and a root reserving later is behind only the
  follow-ups that went while the lane had room (at most a burst's worth). So in a storm every new
  incident's root leaves first, and the follow-ups fill the lane after.

Both ways leave the lane the same: over any stretch of time a channel gets at most a burst and
one message a second, whichever mix of roots and follow-ups it carries.

People's own commands are not paced: they are few, and an update typed at 3 a.m. must not queue
behind a storm's announcements. Should Slack answer 429 anyway, the client waits Retry-After.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from app.deps import Deps
from app.store import slack_pace
from app.store.db import transaction

SECONDS_PER_POST = 1.0
# Posts that may leave at once before the pace applies (Slack grants "generous burst behavior").
BURST_POSTS = 10
# How far a lane may be booked ahead and still take a post now: the burst, for roots and follow-ups alike.
BURST_S = BURST_POSTS * SECONDS_PER_POST


async def turn(deps: Deps, posts: Mapping[str, int]) -> datetime | None:
    """A root's turn: reserve time for `posts` ({channel: messages}); None to post now, else when to.

    Channels are reserved in name order, so that two instances reserving the same pair cannot wait
    on each other's row locks.
    """
    now = deps.clock().timestamp()
    starts = [now]
    async with transaction(deps.sessions) as session:
        for channel, count in sorted(posts.items()):
            if channel and count > 0:
                starts.append(
                    await slack_pace.reserve(session, channel, now=now, seconds=count * SECONDS_PER_POST)
                )
    due = max(starts) - BURST_S
    return None if due <= now else datetime.fromtimestamp(due, UTC)


async def gap_seen(deps: Deps, channel: str) -> datetime | None:
    """Whether `channel` has a gap for a follow-up now: None if so (`gap` may still find it taken by
    then), else when to look again. A look takes nothing: a follow-up waiting for its gap checks
    this before the work of composing its message."""
    if not channel:
        return None
    now = deps.clock().timestamp()
    async with transaction(deps.sessions) as session:
        free = await slack_pace.next_free(session, channel)
    due = (free if free is not None else now) - BURST_S
    return None if due <= now else datetime.fromtimestamp(due, UTC)


async def gap(deps: Deps, channel: str) -> datetime | None:
    """A follow-up's share of `channel`: None when taken (post now), else when to try again.

    Taken only if no reservation (every root's, earlier follow-ups') reaches further than a burst
    ahead, so a follow-up never goes before a root that has reserved, and holds no place while it
    waits: a root reserving after it still goes first.
    """
    if not channel:
        return None
    now = deps.clock().timestamp()
    async with transaction(deps.sessions) as session:
        free_at = await slack_pace.take_if_free(session, channel, now=now, seconds=SECONDS_PER_POST, burst_s=BURST_S)
    return None if free_at is None else datetime.fromtimestamp(max(free_at, now), UTC)
