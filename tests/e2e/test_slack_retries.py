"""Slack delivers an event again when it did not hear a 200 in time; pitcrew acts on it once.

Slack retries an Events API delivery up to three times (X-Slack-Retry-Num) when the first answer
was late or lost, for instance during a restart. `@pitcrew update ...` acted on twice would tell the
managers twice; the retry must be recognised by its event_id and dropped.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.slack.deferral import SLACK_REQUEST_JOB
from app.store.models import Job
from tests.e2e.incident_support import generic_body, pitcrew_for_incidents, roots, thread, updates_posts, wait_until


async def test_a_mention_delivered_again_by_slack_is_acted_on_once(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        await pitcrew.run_jobs()
        [root] = roots(fake_slack)
        before = len(updates_posts(fake_slack))

        first = await fake_slack.mention("update Failing over the database", user="U0OPS1", channel=root.channel,
                                         thread_ts=root.ts)
        assert first.status_code == 200
        for retry in (1, 2, 3):
            again = await fake_slack.deliver_again(retry)
            assert again.status_code == 200  # answered, so that Slack stops retrying

        def updates_in_thread() -> list[str]:
            return [m.text for m in thread(fake_slack, root) if "*Update* from" in m.text]

        async def requests(*statuses: str) -> int:
            async with pitcrew.app.deps.sessions() as session:
                query = select(func.count()).select_from(Job).where(Job.kind == SLACK_REQUEST_JOB)
                if statuses:
                    query = query.where(Job.status.in_(statuses))
                return int(await session.scalar(query) or 0)

        await wait_until(lambda: bool(updates_in_thread()))
        await wait_until(lambda: len(updates_posts(fake_slack)) > before)
        async with asyncio.timeout(10):
            while await requests("pending", "running"):  # noqa: ASYNC110 - every stored request has run
                await asyncio.sleep(0.01)
        assert await requests() == 1
        assert len(updates_in_thread()) == 1
        assert len(updates_posts(fake_slack)) == before + 1
