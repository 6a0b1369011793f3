"""A rollback started from the health card inside an incident's thread belongs to that incident: the
proposal names it, and its timeline says what was proposed and what became of it, as a runbook's
proposals do."""

from __future__ import annotations

import asyncio

from app.flows import incident_views
from app.sandbox.slack import find_button
from app.slack.render.actions import HEALTH_ROLLBACK
from tests.e2e.actions_support import posted_proposal, proposal_id, wait_status
from tests.e2e.incident_support import thread
from tests.e2e.runbook_support import RESPONDER, api_goes_down, runbook_pitcrew, until
from tests.fixtures import OPERATOR, Sandbox


async def test_a_rollback_from_the_health_card_in_an_incident_thread_is_on_its_timeline(
    db_url, fake_slack, sandbox: Sandbox
):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await api_goes_down(pitcrew, sandbox)
        [incident] = await incident_views.list_open(pitcrew.app.deps)

        await fake_slack.mention("health api", user=RESPONDER, channel=root.channel, thread_ts=root.ts)

        def card():  # type: ignore[no-untyped-def]
            return next((m for m in thread(fake_slack, root) if find_button(m, HEALTH_ROLLBACK)), None)

        await until(card, what="the health card with its rollback button")
        await fake_slack.click(card(), HEALTH_ROLLBACK, user=RESPONDER)
        proposal = await posted_proposal(fake_slack)
        assert proposal.thread_ts == root.ts
        sandbox.service.ok()
        await fake_slack.click(proposal, "action.confirm", user=OPERATOR)
        settled = await wait_status(pitcrew.app, proposal_id(proposal), "accepted", "failed")
        assert settled.status == "accepted" and settled.incident_id == incident.id

        async def actions() -> list[tuple[str | None, str]]:
            report = await incident_views.timeline(pitcrew.app.deps, incident.id)
            return [(e.actor, e.text) for e in report.entries if e.kind == "action"]

        for _ in range(100):  # the outcome is told just after the proposal's status is stored
            if len(await actions()) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(await actions()) == 2, await actions()
        (proposer, proposed), (confirmer, outcome) = await actions()
        assert proposer == RESPONDER and proposed.startswith(f"Proposed: {settled.description}")
        assert confirmer == OPERATOR and outcome == f"{settled.description}: accepted"
