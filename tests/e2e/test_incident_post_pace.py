"""An alert storm's announcements leave at Slack's pace: one message a second per channel after a burst.

Slack answers HTTP 429 to an app posting faster than about one message a second in a channel.
Thirty incidents opened at once must not post their sixty messages (a root and a first note each)
in #alerts in the same second; they must all be posted, each root once, as fast as that pace allows. The clock is the
app's own, moved one second at a time, and every post is counted at the second it was made.
"""

from __future__ import annotations

import math
from collections import Counter

from app.flows.escalation import ROOT_EDITS_PER_MINUTE
from app.slack.post_pace import BURST_POSTS, SECONDS_PER_POST
from tests.e2e.incident_support import generic_body, incident_catalog, pitcrew_for_incidents, posts, roots
from tests.fixtures import ALERTS, UPDATES

INCIDENTS = 30
MOST_POSTS_IN_ONE_JOB = 1  # a root, a first note (who is paged and the runbooks offered), a recovery
MESSAGES_EACH = 2  # in #alerts: the root and its first note

# Every alert of these storms is for api: with correlation they would make one incident (see
# test_incident_correlation.py); these tests are about many incidents, one per alert key.
PER_KEY = incident_catalog(correlate_minutes=0)


async def test_a_storm_of_new_incidents_is_announced_at_one_message_a_second_per_channel(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=PER_KEY) as pitcrew:
        for n in range(INCIDENTS):
            body = generic_body(fingerprint=f"storm-{n}", title=f"Storm alert {n}", service="api")
            assert (await pitcrew.webhook("generic", body)).status_code == 202

        seen = {ALERTS: 0, UPDATES: 0}
        made_at: dict[str, Counter[int]] = {ALERTS: Counter(), UPDATES: Counter()}
        second = 0
        while len(posts(fake_slack, ALERTS)) < MESSAGES_EACH * INCIDENTS and second < 4 * INCIDENTS * MESSAGES_EACH:
            await pitcrew.run_jobs()
            for channel in seen:
                now_seen = len(posts(fake_slack, channel))
                made_at[channel][second] = now_seen - seen[channel]
                seen[channel] = now_seen
            pitcrew.clock.advance(seconds=1)
            second += 1

        # Every incident announced, once, to both channels, and its first note posted once.
        assert len(roots(fake_slack)) == INCIDENTS
        assert len({m.ts for m in roots(fake_slack)}) == INCIDENTS
        assert len(posts(fake_slack, UPDATES)) == INCIDENTS
        assert len(posts(fake_slack, ALERTS)) == MESSAGES_EACH * INCIDENTS

        # Never ahead of the pace: by second t, at most a burst, one job's messages and t more.
        for channel, per_second in made_at.items():
            total = 0
            for t in range(second):
                total += per_second[t]
                allowed = BURST_POSTS + MOST_POSTS_IN_ONE_JOB + t / SECONDS_PER_POST
                assert total <= allowed, f"{channel}: {total} posts by second {t}, pace allows {allowed:g}"
        assert made_at[ALERTS][0] >= BURST_POSTS  # the burst left at once

        # Nor slower than the pace: the last message went when the lane's last share came.
        shares = MESSAGES_EACH * INCIDENTS * SECONDS_PER_POST - BURST_POSTS
        assert second <= math.ceil(shares) + 2, f"took {second} s, the shares end after {shares:g} s"


async def test_a_storm_of_recoveries_keeps_within_the_edits_budget(db_url, fake_slack):
    """Each recovery is a note in its thread (paced) and an edit of its root message (budgeted)."""
    count = ROOT_EDITS_PER_MINUTE + 5
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=PER_KEY) as pitcrew:
        for n in range(count):
            await pitcrew.webhook("generic", generic_body(fingerprint=f"storm-{n}", title=f"Storm alert {n}"))
        for _ in range(count * MESSAGES_EACH):  # until every incident is announced
            await pitcrew.run_jobs()
            pitcrew.clock.advance(seconds=1)
        assert len(roots(fake_slack)) == count
        edits_before = len(fake_slack.calls_to("chat.update"))
        for n in range(count):
            recovery = generic_body("resolved", fingerprint=f"storm-{n}", title=f"Storm alert {n}")
            await pitcrew.webhook("generic", recovery)

        # The app's own runner may start on them while the recoveries arrive (it waits at most
        # 250 ms for a quiet moment): those edits are made at second 0 of the test's clock.
        edited_at: list[int] = [0] * (len(fake_slack.calls_to("chat.update")) - edits_before)
        for second in range(3 * 60):
            before = len(fake_slack.calls_to("chat.update"))
            await pitcrew.run_jobs()
            edited_at += [second] * (len(fake_slack.calls_to("chat.update")) - before)
            pitcrew.clock.advance(seconds=1)

        recovered = [m for m in fake_slack.messages if m.text.startswith("🟢") or "Recovered:" in m.text]
        assert len(recovered) == count  # every recovery noted once, in its own thread
        assert len(edited_at) >= count  # every root shows it, sooner or later
        for start in range(3 * 60):
            in_a_minute = sum(1 for at in edited_at if start <= at < start + 60)
            assert in_a_minute <= ROOT_EDITS_PER_MINUTE, f"{in_a_minute} edits in the minute from second {start}"
