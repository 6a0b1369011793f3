"""Four eyes (`actions.second_approver`): an action runs once two distinct operators approved it.

The proposer's proposal is an approval only if the proposer is an operator; one operator clicking
twice, or again on a renewal of a proposal they already approved, is still one approval; and two
operators clicking at once on two instances are two approvals and exactly one run.
"""

from __future__ import annotations

import asyncio

import httpx

from app.jobs.runner import JobRunner
from app.store import proposals as proposal_store
from tests.e2e.actions_support import (
    audit_entries,
    posted_proposal,
    proposal_id,
    snapshot,
    wait_audited,
    wait_edited,
    wait_ephemeral,
    wait_status,
)
from tests.e2e.test_actions_concurrency import signed_click
from tests.fixtures import OPERATOR, OPERATOR_2, STRANGER, Sandbox, running_pitcrew


def four_eyes(sandbox: Sandbox):
    return sandbox.catalog(actions={"second_approver": True})


async def test_a_non_operators_proposal_needs_two_distinct_operators(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, four_eyes(sandbox), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)
        assert "two different operators must approve" in str(message.blocks)

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        [approved] = await wait_ephemeral(fake_slack, OPERATOR)
        assert "You approved" in approved.text and "second operator" in approved.text
        await wait_edited(fake_slack, message, "Approved so far by <@U0OPS1>")
        assert sandbox.mutations() == []

        await fake_slack.click(message, "action.confirm", user=OPERATOR)  # the same operator again
        [_, again] = await wait_ephemeral(fake_slack, OPERATOR, 2)
        assert "already approved" in again.text
        record = await proposal_store.get(pitcrew.deps.sessions, pid)
        assert record is not None and record.status == "proposed" and sandbox.mutations() == []

        await fake_slack.click(message, "action.confirm", user=OPERATOR_2)
        done = await wait_status(pitcrew, pid, "accepted", "failed")
        assert done.status == "accepted" and done.confirmed_by == OPERATOR_2
        assert done.approvals == (OPERATOR, OPERATOR_2)
        await wait_audited(pitcrew, "action.run")
        confirms = [(e.actor, e.outcome.split(" (")[0]) for e in await audit_entries(pitcrew)
                    if e.action == "action.confirm"]
    assert confirms == [(OPERATOR, "approved"), (OPERATOR, "not done: already approved by U0OPS1"),
                        (OPERATOR_2, "allowed")]
    assert len(sandbox.mutations()) == 1


async def test_propose_again_by_a_non_operator_keeps_the_earlier_operators_approval(
    db_url, fake_slack, sandbox: Sandbox
):
    async with running_pitcrew(db_url, four_eyes(sandbox), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api", user=OPERATOR)
        first = await posted_proposal(fake_slack)
        stale = snapshot(first)
        await fake_slack.click(first, "action.cancel", user=OPERATOR)
        await wait_status(pitcrew, proposal_id(first), "cancelled")

        # "Propose again" pressed on the cancelled proposal (a stale or hand-made client sends it).
        for block in stale.blocks:
            for element in block.get("elements", []):
                if element.get("action_id") == "action.cancel":
                    element["action_id"] = "action.propose_again"
        await fake_slack.click(stale, "action.propose_again", user=STRANGER)
        renewed = await posted_proposal(fake_slack, count=2)
        pid = proposal_id(renewed)
        assert pid != proposal_id(first)

        await fake_slack.click(renewed, "action.confirm", user=OPERATOR)  # the earlier proposer, once more
        [told] = await wait_ephemeral(fake_slack, OPERATOR)
        assert "already approved" in told.text
        record = await proposal_store.get(pitcrew.deps.sessions, pid)
        assert record is not None and record.status == "proposed"
        assert sandbox.mutations() == []

        await fake_slack.click(renewed, "action.confirm", user=OPERATOR_2)
        done = await wait_status(pitcrew, pid, "accepted", "failed")
        assert done.status == "accepted" and set(done.approvals) == {OPERATOR, OPERATOR_2}
    assert len(sandbox.mutations()) == 1


async def test_one_operator_clicking_on_two_instances_at_once_runs_nothing_two_run_it_once(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = four_eyes(sandbox)
    async with (
        running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as first,
        running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as second,
    ):
        instances: list[httpx.AsyncClient] = [first.http, second.http]
        await second.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)

        alone = [signed_click(fake_slack, message, "action.confirm", OPERATOR) for _ in range(6)]
        answers = await asyncio.gather(
            *(instances[i % 2].post("/slack/events", content=b, headers=h) for i, (b, h) in enumerate(alone))
        )
        assert [a.status_code for a in answers] == [200] * 6
        await wait_ephemeral(fake_slack, OPERATOR, 6)
        record = await proposal_store.get(first.deps.sessions, pid)
        assert record is not None and record.status == "proposed" and sandbox.mutations() == []

        both = [signed_click(fake_slack, message, "action.confirm", u) for u in [OPERATOR_2, OPERATOR] * 5]
        await asyncio.gather(
            *(instances[i % 2].post("/slack/events", content=b, headers=h) for i, (b, h) in enumerate(both))
        )
        done = await wait_status(first, pid, "accepted", "failed")
        await wait_audited(first, "action.confirm", 16)
        await wait_audited(first, "action.run")
        runs = [e for e in await audit_entries(first) if e.action == "action.run"]
    assert done.status == "accepted" and done.confirmed_by == OPERATOR_2
    assert done.approvals == (OPERATOR, OPERATOR_2)
    assert len(runs) == 1 and len(sandbox.mutations()) == 1


async def test_propose_again_after_an_expiry_still_needs_another_operator(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(
        db_url, four_eyes(sandbox), fake_slack, clock=sandbox.clock, **sandbox.settings()
    ) as pitcrew:
        await pitcrew.command("/rollback", "api", user=OPERATOR)
        first = await posted_proposal(fake_slack)
        await pitcrew.jobs_settled()  # before moving past the leases of the jobs that ran
        sandbox.clock.advance(minutes=10)
        await JobRunner(pitcrew.deps).run_due()
        await wait_edited(fake_slack, first, "Expired")

        await fake_slack.click(first, "action.propose_again", user=STRANGER)
        renewed = await posted_proposal(fake_slack, count=2)
        await fake_slack.click(renewed, "action.confirm", user=OPERATOR)
        [told] = await wait_ephemeral(fake_slack, OPERATOR)
        assert "already approved" in told.text and sandbox.mutations() == []

        await fake_slack.click(renewed, "action.confirm", user=OPERATOR_2)
        done = await wait_status(pitcrew, proposal_id(renewed), "accepted", "failed")
    assert done.status == "accepted" and len(sandbox.mutations()) == 1
