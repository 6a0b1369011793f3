"""Two instances of pitcrew on one database, as behind a load balancer: they behave as one.

The same alert sent many times at once, half to each instance, opens exactly one incident; the
same button pressed at once on both is acted on once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import func, select

from app.jobs.runner import JobRunner
from app.sandbox import slack_payloads as payloads
from app.store.db import transaction
from app.store.models import Incident, ReceivedAlert
from tests.e2e.incident_support import START, Clock, generic_body, incident_catalog, roots, thread, wait_until
from tests.fixtures import SECRET, running_pitcrew, signed

ALERTS_EACH = 120
FINGERPRINTS = ("checkout-5xx", "login-slow", "queue-stuck")


async def _two_instances(stack: AsyncExitStack, db_url: str, slack: Any) -> tuple[Any, Any]:
    catalog = incident_catalog(correlate_minutes=0)  # one incident per alert key, correlation off
    clock = Clock(START)
    first, second = [
        await stack.enter_async_context(running_pitcrew(db_url, catalog, slack, clock=clock, WEBHOOK_SECRET=SECRET))
        for _ in range(2)
    ]
    return first, second


async def test_identical_alerts_sent_at_once_to_two_instances_open_one_incident_each(db_url, fake_slack):
    async with AsyncExitStack() as stack:
        first, second = await _two_instances(stack, db_url, fake_slack)

        async def send(instance: Any, fingerprint: str) -> int:
            body = json.dumps(generic_body(fingerprint=fingerprint, title=f"{fingerprint} alert")).encode()
            response = await instance.http.post(
                "/webhooks/generic",
                params={"token": SECRET},
                content=body,
                headers={"content-type": "application/json"},
            )
            return response.status_code

        sends = [
            send(instance, FINGERPRINTS[i % len(FINGERPRINTS)])
            for i in range(ALERTS_EACH)
            for instance in (first, second)
        ]
        statuses = await asyncio.gather(*sends)
        assert Counter(statuses) == {202: 2 * ALERTS_EACH}

        # What the storm left due (root messages; the spaced edits a minute later), run by both
        # instances at once as their job runners would.
        await asyncio.gather(*(JobRunner(i.deps).run_due(limit=100) for i in (first, second)))
        await wait_until(lambda: len(roots(fake_slack)) == len(FINGERPRINTS))
        await first.jobs_settled()  # the webhooks run due jobs themselves after answering
        first.deps.clock.advance(seconds=60)
        await asyncio.gather(*(JobRunner(i.deps).run_due(limit=100) for i in (first, second)))
        await first.jobs_settled()

        async with transaction(first.deps.sessions) as session:
            incidents = (await session.scalars(select(Incident).order_by(Incident.fingerprint))).all()
            stored = await session.scalar(select(func.count()).select_from(ReceivedAlert))
            unlinked = await session.scalar(
                select(func.count()).select_from(ReceivedAlert).where(ReceivedAlert.incident_id.is_(None))
            )
        assert [i.fingerprint for i in incidents] == sorted(f"generic:{f}" for f in FINGERPRINTS)
        assert stored == 2 * ALERTS_EACH and unlinked == 0
        assert sum(i.occurrences for i in incidents) == 2 * ALERTS_EACH
        assert len(roots(fake_slack)) == len(FINGERPRINTS)  # one root message each, whoever announced


async def test_the_same_ack_clicked_on_two_instances_at_once_counts_once(db_url, fake_slack):
    async with AsyncExitStack() as stack:
        first, second = await _two_instances(stack, db_url, fake_slack)
        await first.http.post(
            "/webhooks/generic",
            params={"token": SECRET},
            content=json.dumps(generic_body()).encode(),
            headers={"content-type": "application/json"},
        )
        await JobRunner(first.deps).run_due()
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)
        button = next(
            e for b in root.blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "incident.ack"
        )

        async def click(instance: Any, user: str) -> int:
            action = {
                "type": "button",
                "action_id": "incident.ack",
                "block_id": "incident.actions",
                "value": button["value"],
                "text": button["text"],
            }
            body = payloads.block_action(
                action,
                user_id=user,
                channel_id=root.channel,
                message={"text": root.text, "blocks": root.blocks, "ts": root.ts},
                response_url=fake_slack.response_url(f"r-{user}"),
            )
            headers = signed(fake_slack, body)
            return (await instance.http.post("/slack/events", content=body, headers=headers)).status_code

        assert await asyncio.gather(click(first, "U0ANA"), click(second, "U0BEN")) == [200, 200]
        await wait_until(lambda: any("acknowledged INC-1" in m.text for m in thread(fake_slack, root)))
        await asyncio.sleep(0.3)  # let the slower click finish whatever it was going to do
        acks = [m for m in thread(fake_slack, root) if "acknowledged INC-1" in m.text]
        assert len(acks) == 1
        async with transaction(first.deps.sessions) as session:
            incident = await session.get(Incident, 1)
        assert incident is not None and incident.acknowledged_by in ("U0ANA", "U0BEN")
        assert incident.acknowledged_by in acks[0].text
