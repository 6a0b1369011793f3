"""Clicks on runbook steps as people really make them: two at once on one step (it runs once, the
other person is told), a click on an old message, Skip while a proposal waits, a proposal cancelled
or expired or refused by the provider (the step opens again), a check that cannot look."""

from __future__ import annotations

import asyncio
import copy

from app.flows import incident_views
from app.sandbox.slack import FakeSlack, SlackMessage, find_button
from app.store import proposals as proposal_store
from app.store import runbook_runs as run_store
from tests.e2e.actions_support import posted_proposal, proposal_id, wait_status
from tests.e2e.runbook_support import (
    RESPONDER,
    api_goes_down,
    ended,
    offers,
    runbook_pitcrew,
    step_message,
    step_ref,
    timeline_texts,
    until,
)
from tests.fixtures import OPERATOR, Pitcrew, Sandbox

OTHER = "U0RESP2"


def told(slack: FakeSlack, *users: str) -> list[SlackMessage]:
    """What pitcrew said privately to any of `users`, in the order it said it."""
    return [m for m in slack.messages if m.ephemeral_to in users]


async def started(pitcrew: Pitcrew, sandbox: Sandbox) -> tuple[SlackMessage, int]:
    """api down, the incident open, backend-down started from its offer: (root, incident id)."""
    root = await api_goes_down(pitcrew, sandbox)
    await until(lambda: offers(pitcrew.slack, root), what="the offer")
    await pitcrew.slack.click(offers(pitcrew.slack, root)[0], "runbook.run", user=RESPONDER, value="backend-down")
    [incident] = await incident_views.list_open(pitcrew.app.deps)
    return root, incident.id


async def skip_to(slack: FakeSlack, root: SlackMessage, *step_ids: str) -> None:
    for step_id in step_ids:
        message = await step_message(slack, root, step_id)
        await slack.click(message, "runbook.skip", user=RESPONDER)
        await ended(message, "Skipped")


async def test_two_clicks_on_one_step_run_it_once_and_the_second_person_is_told(db_url, fake_slack, sandbox):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root, incident_id = await started(pitcrew, sandbox)

        # Two people press Run on the offer (the first one's work may still be under way): one run, and
        # whichever came second is told.
        await fake_slack.click(offers(fake_slack, root)[0], "runbook.run", user=OTHER, value="backend-down")
        await until(lambda: told(fake_slack, RESPONDER, OTHER), what="the second starter told")
        [second] = told(fake_slack, RESPONDER, OTHER)
        assert "backend-down is already running in INC-1: it is at “Post a status update”" in second.text
        assert len(await run_store.for_incident(pitcrew.app.deps.sessions, incident_id)) == 1

        await skip_to(fake_slack, root, "announce")

        # A check: both clicks arrive together; the probe runs once, one outcome is recorded.
        health = await step_message(fake_slack, root, "health")
        probes_before = sandbox.service.requests
        seen = len(told(fake_slack, RESPONDER, OTHER))
        await asyncio.gather(
            fake_slack.click(health, "runbook.run", user=RESPONDER), fake_slack.click(health, "runbook.run", user=OTHER)
        )
        await ended(health, "Ran")
        await until(lambda: len(told(fake_slack, RESPONDER, OTHER)) > seen, what="the second person told")
        assert sandbox.service.requests == probes_before + 1
        assert len([t for t in await timeline_texts(pitcrew, incident_id) if "Health of api" in t]) == 1
        [said] = told(fake_slack, RESPONDER, OTHER)[seen:]
        assert "running this step now" in said.text or "already handled (ran by" in said.text

        await skip_to(fake_slack, root, "status", "logs", "metrics")
        cause = await step_message(fake_slack, root, "cause")
        await fake_slack.click(cause, "runbook.choose.2", user=RESPONDER)  # Out of memory (OOM)
        await skip_to(fake_slack, root, "oom-restart", "oom-resources")

        # An instruction: two Done at once are one Done, and the step after it is posted once; Done
        # pressed later on the message as it was (a client that missed the edit) is told, and does nothing.
        leak = await step_message(fake_slack, root, "oom-leak")
        stale = copy.deepcopy(leak)
        seen = len(told(fake_slack, RESPONDER, OTHER))
        await asyncio.gather(
            fake_slack.click(leak, "runbook.done", user=RESPONDER),
            fake_slack.click(leak, "runbook.done", user=OTHER),
        )
        await ended(leak, "Done")
        await step_message(fake_slack, root, "verify")
        await until(lambda: len(told(fake_slack, RESPONDER, OTHER)) > seen, what="the second person told")
        [said] = told(fake_slack, RESPONDER, OTHER)[seen:]
        assert "already handled (done by <@U0RESP" in said.text
        assert len([m for m in fake_slack.messages if (ref := step_ref(m)) and ref.step_id == "verify"]) == 1
        assert len([t for t in await timeline_texts(pitcrew, incident_id) if "memory leak" in t]) == 1

        seen = len(told(fake_slack, OTHER))
        await fake_slack.click(stale, "runbook.done", user=OTHER)
        await until(lambda: len(told(fake_slack, OTHER)) > seen, what="the stale click told")
        assert "already handled (done by <@U0RESP" in told(fake_slack, OTHER)[-1].text
        assert "the run is at “Verify api is healthy again”" in told(fake_slack, OTHER)[-1].text

        # An action: two presses of Restart propose it once (back to the cause: api is still down).
        await skip_to(fake_slack, root, "verify")
        recovered = await step_message(fake_slack, root, "recovered")
        await fake_slack.click(recovered, "runbook.choose.2", user=RESPONDER)  # No, still down
        await ended(recovered, "Answered")
        cause = await step_message(fake_slack, root, "cause")
        await fake_slack.click(cause, "runbook.choose.1", user=RESPONDER)
        restart = await step_message(fake_slack, root, "restart")
        seen = len(told(fake_slack, RESPONDER, OTHER))
        await asyncio.gather(
            fake_slack.click(restart, "runbook.run", user=RESPONDER),
            fake_slack.click(restart, "runbook.run", user=OTHER),
        )
        await posted_proposal(fake_slack)
        await until(lambda: "waiting for an operator" in restart.text, what="the step waiting")
        await until(lambda: len(told(fake_slack, RESPONDER, OTHER)) > seen, what="the second person told")
        proposals = [c for c in fake_slack.calls_to("chat.postMessage") if "action.confirm" in str(c.args)]
        assert len(proposals) == 1


async def test_a_cancelled_expired_or_refused_proposal_opens_the_step_again(db_url, fake_slack, sandbox):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root, incident_id = await started(pitcrew, sandbox)
        await skip_to(fake_slack, root, "announce", "health", "status", "logs", "metrics")
        cause = await step_message(fake_slack, root, "cause")
        await fake_slack.click(cause, "runbook.choose.1", user=RESPONDER)
        restart = await step_message(fake_slack, root, "restart")

        # Proposed: Skip is refused while the proposal waits; cancelling it opens the step again.
        as_posted = copy.deepcopy(restart)  # its buttons, as a client that has not seen the edit shows them
        await fake_slack.click(restart, "runbook.run", user=RESPONDER)
        proposal = await posted_proposal(fake_slack)
        await until(lambda: "waiting for an operator" in restart.text, what="waiting")
        await fake_slack.click(as_posted, "runbook.skip", user=RESPONDER)
        await until(lambda: told(fake_slack, RESPONDER), what="skip refused")
        assert "waits for an operator" in told(fake_slack, RESPONDER)[-1].text
        await fake_slack.click(proposal, "action.cancel", user=RESPONDER)
        await until(lambda: "cancelled by" in str(restart.blocks) and find_button(restart, "runbook.run"),
                    what="the step open again")
        assert sandbox.mutations("DeploymentRestart") == []

        # Proposed again, then left to expire: open again.
        await fake_slack.click(restart, "runbook.run", user=RESPONDER)
        second = await posted_proposal(fake_slack, count=2)
        assert proposal_id(second) != proposal_id(proposal)
        await until(lambda: "waiting for an operator" in restart.text, what="waiting again")
        await pitcrew.wait_for_running_jobs()  # before moving past the leases of the jobs that ran
        sandbox.clock.advance(minutes=11)
        await pitcrew.run_jobs()
        await until(lambda: "expired without a confirmation" in str(restart.blocks), what="expired")

        # Proposed a third time; Railway refuses it: the step failed, and stays, to run again or skip.
        await fake_slack.click(restart, "runbook.run", user=RESPONDER)
        third = await posted_proposal(fake_slack, count=3)
        await until(lambda: "waiting for an operator" in restart.text, what="waiting a third time")
        sandbox.world.fail_next(graphql_error="Deployment is not active")
        await fake_slack.click(third, "action.confirm", user=OPERATOR)
        assert (await wait_status(pitcrew.app, proposal_id(third), "failed")).status == "failed"
        await until(lambda: "Failed: railway" in str(restart.blocks) and find_button(restart, "runbook.skip"),
                    what="the step failed, open")
        await fake_slack.click(restart, "runbook.skip", user=RESPONDER)
        await ended(restart, "Skipped")
        await step_message(fake_slack, root, "verify")

        texts = [t for t in await timeline_texts(pitcrew, incident_id) if "Restart api" in t]
        assert [t.split(": ", 1)[1].split(" (")[0] for t in texts] == [
            "proposed", "proposal cancelled by U0RESP1", "proposed", "proposal expired without a confirmation",
            "proposed", "failed: railway restart failed: Deployment is not active", "skipped",
        ]
        statuses = [(await proposal_store.get(pitcrew.app.deps.sessions, proposal_id(m))).status
                    for m in (proposal, second, third)]
        assert statuses == ["cancelled", "expired", "failed"]


async def test_a_check_that_cannot_look_fails_and_can_be_run_again(db_url, fake_slack, sandbox):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root, incident_id = await started(pitcrew, sandbox)
        await skip_to(fake_slack, root, "announce", "health")
        status = await step_message(fake_slack, root, "status")
        sandbox.world.fail_next(status=502, body="Bad Gateway")
        await fake_slack.click(status, "runbook.run", user=RESPONDER)
        await until(lambda: "Failed:" in str(status.blocks) and find_button(status, "runbook.run"), what="failed")
        assert "502" in str(status.blocks)
        await fake_slack.click(status, "runbook.run", user=RESPONDER)
        await ended(status, "Ran")
        texts = [t for t in await timeline_texts(pitcrew, incident_id) if "Deployment status" in t]
        assert [t.split(": ")[1] for t in texts] == ["failed", "ran"]
