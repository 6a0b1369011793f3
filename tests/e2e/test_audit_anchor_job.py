"""The daily anchor: the head of the audit trail is posted to Slack once a day by a job of its own
(one for all instances), and nothing is posted on a day when nothing was recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.jobs.runner import JobRunner
from app.sandbox.slack import FakeSlack
from app.slack.audit_jobs import ANCHOR_JOB
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import Job
from tests.fixtures import UPDATES, Clock, catalog_from, running_pitcrew

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "the-audit-key-of-this-test"


def _anchors(slack: FakeSlack) -> list[str]:
    return [m.text for m in slack.messages if m.channel == UPDATES and m.text.startswith("audit head:")]


async def test_the_head_is_posted_daily_to_the_updates_channel_and_not_on_a_quiet_day(db_url, fake_slack):
    clock = Clock(NOW)
    catalog = catalog_from({"site": {"provider": "http", "health": {"url": "http://127.0.0.1:9/"}}})
    async with running_pitcrew(db_url, catalog, fake_slack, clock=clock, AUDIT_KEY=KEY) as pitcrew:
        async with transaction(pitcrew.deps.sessions) as session:
            [job] = (await session.scalars(select(Job).where(Job.kind == ANCHOR_JOB))).all()
        assert job.run_at == NOW + timedelta(hours=24) and job.dedupe_key == ANCHOR_JOB
        for n in range(3):
            await pitcrew.deps.audit(actor="U0OPS1", action="command /health", params={"n": n})
        runner = JobRunner(pitcrew.deps, worker="test-runner")
        await pitcrew.jobs_settled()
        clock.advance(hours=23)
        await runner.run_due()
        assert _anchors(fake_slack) == []  # not before a day has passed

        clock.advance(hours=1, seconds=1)
        await runner.run_due()
        [posted] = _anchors(fake_slack)
        assert re.fullmatch(r"audit head: seq 3, hash [0-9a-f]{64}", posted)
        recorded = await audit_store.last_anchor(pitcrew.deps.sessions)
        assert recorded is not None and (recorded.seq, recorded.channel, recorded.actor) == (3, UPDATES, "pitcrew")
        entries = [e async for e in audit_store.entries(pitcrew.deps.sessions)]
        assert entries[-1].action == "audit.anchor" and entries[-1].params["hash"] == recorded.hash
        assert posted.endswith(entries[2].hash)

        clock.advance(days=1, seconds=1)
        await runner.run_due()
        assert len(_anchors(fake_slack)) == 1  # nothing recorded since but the anchor itself

        await pitcrew.deps.audit(actor="U0OPS1", action="command /health")
        clock.advance(days=1, seconds=1)
        await runner.run_due()
        assert [a[:24] for a in _anchors(fake_slack)] == ["audit head: seq 3, hash ", "audit head: seq 5, hash "]
