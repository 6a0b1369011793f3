"""PagerDuty through the real app: an escalation step is a trigger event with one dedup key per
incident (never twice per step, delivered once through a 429), acknowledge and resolve in pitcrew
follow it there, and PagerDuty's signed v3 webhook acknowledges the incident in pitcrew (noted in
the thread); a bad signature is a 401 in the audit trail; without a routing key nothing is sent.
All against the sandbox's PagerDuty stand-in over HTTP, which checks each event's schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.core.pagerduty import dedup_key
from app.flows import pagerduty as pagerduty_flow
from app.sandbox.pagerduty import SANDBOX_ROUTING_KEY, FakePagerDuty, send_webhook, signature, webhook_body
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import Job
from tests.e2e.incident_support import generic_body, pitcrew_for_incidents, roots, thread, wait_until
from tests.fixtures import OPERATOR

PD_SECRET = "pagerduty-subscription-secret"


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty().serve() as fake:
        yield fake


def paged(fake: FakePagerDuty, **settings: Any) -> dict[str, Any]:
    return {"PAGERDUTY_ROUTING_KEY": SANDBOX_ROUTING_KEY, "PAGERDUTY_EVENTS_URL": fake.url,
            "WEBHOOK_SECRET_PAGERDUTY": PD_SECRET, **settings}


async def command(pitcrew: Any, text: str) -> dict[str, Any]:
    calls = pitcrew.slack.calls_to
    before = len(calls("response_url"))
    response = await pitcrew.app.command("/incident", text, user=OPERATOR)
    assert response.status_code == 200
    await wait_until(lambda: len(calls("response_url")) > before)
    await pitcrew.run_jobs()
    return calls("response_url")[before].args


async def escalated(pitcrew: Any) -> None:
    """Declare a SEV1 and let it go unacknowledged past the second escalation step (30 minutes)."""
    answer = await command(pitcrew, "declare SEV1 Checkout down")
    assert "Declared INC-1" in answer["text"]
    await wait_until(lambda: bool(roots(pitcrew.slack)))
    pitcrew.clock.advance(minutes=31)
    await pitcrew.run_jobs()
    await wait_until(lambda: any("Not acknowledged" in m.text for m in thread(pitcrew.slack, roots(pitcrew.slack)[-1])))


async def test_a_declared_incident_pages_once(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        answer = await command(pitcrew, "declare SEV1 Checkout down")
        assert "Declared INC-1" in answer["text"]
        await pitcrew.run_jobs()
        [trigger] = pagerduty.of_action("trigger")
        assert trigger["dedup_key"] == dedup_key(1) == "pitcrew-INC-1"
        assert trigger["payload"]["severity"] == "critical"
        assert "INC-1 SEV1: Checkout down" in trigger["payload"]["summary"]
        assert trigger["payload"]["source"] and pagerduty.refused == []
        await pitcrew.run_jobs()
        assert len(pagerduty.of_action("trigger")) == 1


async def test_an_alerts_first_note_pages(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        response = await pitcrew.webhook("generic", generic_body())
        assert response.status_code == 202
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)) and bool(thread(fake_slack, roots(fake_slack)[-1])))
        await pitcrew.run_jobs()
        [trigger] = pagerduty.of_action("trigger")
        assert trigger["dedup_key"] == "pitcrew-INC-1" and pagerduty.refused == []


async def test_one_event_per_incident_and_step_however_often_it_is_scheduled(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        await command(pitcrew, "declare SEV2 API slow")
        deps = pitcrew.app.deps
        for _ in range(2):  # a step scheduled again (a retried run): its dedupe key in the jobs table holds
            async with transaction(deps.sessions) as session:
                await pagerduty_flow.page(session, deps, 1, "trigger", now=deps.clock(), step=1)
        await pitcrew.run_jobs()
        assert len(pagerduty.of_action("trigger")) == 2  # the declaration's page and step 1, once each


async def test_an_escalation_triggers_once_and_ack_and_resolve_follow(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        await escalated(pitcrew)
        triggers = pagerduty.of_action("trigger")
        assert len(triggers) == 2  # the declaration's page, then the 30-minute step
        assert {t["dedup_key"] for t in triggers} == {"pitcrew-INC-1"}  # one PagerDuty alert
        assert "escalation step" in triggers[1]["payload"]["summary"]

        await pitcrew.run_jobs()  # the step's job again, or a second run: no second trigger
        assert len(pagerduty.of_action("trigger")) == 2

        await command(pitcrew, "1 ack")
        [ack] = pagerduty.of_action("acknowledge")
        assert ack["dedup_key"] == "pitcrew-INC-1" and "payload" not in ack
        await command(pitcrew, "1 resolve Rolled back the deploy")
        [resolve] = pagerduty.of_action("resolve")
        assert resolve["dedup_key"] == "pitcrew-INC-1"
        assert pagerduty.alerts == {"pitcrew-INC-1": "resolved"}
        async with transaction(pitcrew.app.deps.sessions) as session:
            rows = (await session.execute(Job.__table__.select().where(Job.kind == "pagerduty.event"))).all()
        assert all(SANDBOX_ROUTING_KEY not in str(row) for row in rows)  # the key stays in the settings


async def test_a_second_escalation_step_triggers_with_the_same_dedup_key(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        await escalated(pitcrew)
        pitcrew.clock.advance(minutes=30)  # 61 minutes: the SEV1 step to the CTO
        await pitcrew.run_jobs()
        await pitcrew.run_jobs()
        triggers = pagerduty.of_action("trigger")
        assert len(triggers) == 3  # one per step, never two for one step
        assert {t["dedup_key"] for t in triggers} == {"pitcrew-INC-1"}  # one PagerDuty alert


async def test_a_429_is_sent_again_and_delivered_once(db_url, fake_slack, pagerduty):
    pagerduty.faults = [429]
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        await command(pitcrew, "declare SEV1 Checkout down")
        await pitcrew.run_jobs()
        assert pagerduty.of_action("trigger") == [] and pagerduty.faults == []  # throttled once
        pitcrew.clock.advance(minutes=3)  # past the backoff (2 minutes after a first refusal)
        await pitcrew.run_jobs()
        assert len(pagerduty.of_action("trigger")) == 1
        await command(pitcrew, "1 ack")  # no escalation step more; the job is done, not sent again
        pitcrew.clock.advance(minutes=10)
        await pitcrew.run_jobs()
        assert len(pagerduty.of_action("trigger")) == 1


async def test_a_signed_webhook_acknowledges_the_incident_in_pitcrew(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        await escalated(pitcrew)
        url = f"{pitcrew.app.url}/webhooks/pagerduty"
        response = await send_webhook(url, "incident.acknowledged", "pitcrew-INC-1", secret=PD_SECRET,
                                      who="Jane <b>Doe</b>")
        assert response.status_code == 202
        await pitcrew.run_jobs()
        root = roots(fake_slack)[-1]
        await wait_until(lambda: any("acknowledged INC-1" in m.text for m in thread(fake_slack, root)))
        [note] = [m for m in thread(fake_slack, root) if "acknowledged INC-1" in m.text]
        assert "Jane &lt;b&gt;Doe&lt;/b&gt; via PagerDuty" in note.text  # escaped, and says where
        timeline = await command(pitcrew, "1 timeline")
        assert "Acknowledged" in str(timeline)
        # the same webhook again (PagerDuty retries): nothing more in the thread
        await send_webhook(url, "incident.acknowledged", "pitcrew-INC-1", secret=PD_SECRET)
        await pitcrew.run_jobs()
        assert len([m for m in thread(fake_slack, root) if "acknowledged INC-1" in m.text]) == 1


async def test_a_bad_signature_is_refused_and_audited(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        await escalated(pitcrew)
        body = webhook_body("incident.resolved", "pitcrew-INC-1")
        for header in ({"x-pagerduty-signature": signature("not-the-secret", body)}, {}):
            response = await pitcrew.app.http.post("/webhooks/pagerduty", content=body,
                                                   headers={"content-type": "application/json", **header})
            assert response.status_code == 401
            assert PD_SECRET not in response.text
        await pitcrew.run_jobs()
        assert pagerduty.of_action("resolve") == []  # nothing changed
        assert not any("Resolved" in m.text for m in thread(fake_slack, roots(fake_slack)[-1]))
        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        refused = [e for e in entries if e.action == "pagerduty.webhook"]
        assert len(refused) == 2 and {e.outcome for e in refused} == {"refused"}


async def test_a_webhook_over_the_body_limit_is_refused(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, **paged(pagerduty)) as pitcrew:
        body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
        response = await pitcrew.app.http.post("/webhooks/pagerduty", content=body,
                                               headers={"x-pagerduty-signature": signature(PD_SECRET, body)})
        assert response.status_code == 413


async def test_without_a_routing_key_nothing_is_sent(db_url, fake_slack, pagerduty):
    async with pitcrew_for_incidents(db_url, fake_slack, PAGERDUTY_EVENTS_URL=pagerduty.url) as pitcrew:
        await escalated(pitcrew)
        await command(pitcrew, "1 ack")
        assert pagerduty.events == [] and pagerduty.refused == []
        async with transaction(pitcrew.app.deps.sessions) as session:
            rows = (await session.execute(Job.__table__.select().where(Job.kind.like("pagerduty.%")))).all()
        assert rows == []
