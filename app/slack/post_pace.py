"""Slack's pace for posting in a channel, kept by every instance together through the database.

Slack lets an app post about one message a second in a channel, with short bursts, and answers
HTTP 429 beyond that. An alert storm opening fifty incidents would otherwise post their root
messages, responders' notes and runbook offers in #alerts within the same second. So the work
alerts cause (announcements, recoveries) first reserves its messages' share of each channel's
time (app/store/slack_pace.py, a lane per channel); when that share starts further ahead than a
burst allows, the job is put back until then and holds no runner while it waits. The first
announcements of a storm leave at once, the rest follow at one message a second, in the order
their jobs reserved.

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


async def turn(deps: Deps, posts: Mapping[str, int]) -> datetime | None:
    """Reserve time for `posts` ({channel: number of messages}); None to post now, else when to.

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
    due = max(starts) - BURST_POSTS * SECONDS_PER_POST
    return None if due <= now else datetime.fromtimestamp(due, UTC)
