"""A runbook step that posts a status update (`notify:`) speaks for the team, as `/incident update`
does: with `slack.responders` set, only a responder or an operator may run it. Its other steps
(checks, instructions) stay open to whoever works the incident."""

from __future__ import annotations

from app.sandbox.slack import SlackMessage
from tests.e2e.incident_support import thread, updates_posts
from tests.e2e.runbook_support import (
    RESPONDER,
    api_goes_down,
    audit_actions,
    ended,
    offers,
    runbook_catalog,
    runbook_pitcrew,
    step_message,
    until,
)
from tests.fixtures import Sandbox

DEV = "U0DEV"


def told(slack, user: str) -> list[SlackMessage]:  # type: ignore[no-untyped-def]
    return [m for m in slack.messages if m.ephemeral_to == user]


async def test_only_a_responder_may_run_a_step_that_posts_an_update(db_url, fake_slack, sandbox: Sandbox):
    base = runbook_catalog(sandbox)
    catalog = base.model_copy(update={"slack": base.slack.model_copy(update={"responders": [RESPONDER]})})
    async with runbook_pitcrew(db_url, fake_slack, sandbox, catalog=catalog) as pitcrew:
        root = await api_goes_down(pitcrew, sandbox)
        await until(lambda: offers(fake_slack, root), what="the offer")
        [offer] = offers(fake_slack, root)
        await fake_slack.click(offer, "runbook.run", user=DEV, value="backend-down")
        announce = await step_message(fake_slack, root, "announce")
        before, in_thread = len(updates_posts(fake_slack)), len(thread(fake_slack, root))

        await fake_slack.click(announce, "runbook.run", user=DEV)
        await until(lambda: told(fake_slack, DEV), what="the refusal")
        [refusal] = told(fake_slack, DEV)
        assert refusal.text.startswith("Only responders may post updates to INC-1: <@U0RESP1>")
        assert len(updates_posts(fake_slack)) == before
        await pitcrew.wait_for_running_jobs()  # the click's job records its outcome after telling it
        assert [e.outcome for e in await audit_actions(pitcrew) if e.actor == DEV][-1].startswith(
            "refused: only responders may update"
        )

        await fake_slack.click(announce, "runbook.run", user=RESPONDER)
        await ended(announce, "Ran")
        await until(lambda: len(updates_posts(fake_slack)) > before, what="the responder's update")
        health = await step_message(fake_slack, root, "health", after=in_thread)
        await fake_slack.click(health, "runbook.run", user=DEV)  # a check: anyone working the incident
        await ended(health, "Ran")
