"""Railway's other actions through the same mechanism (what runbook steps will call), and failures:
a variable set with its value never shown nor audited nor kept, stop, redeploy, a provider that
refuses (which call, what it answered, and "propose again"), and the generic `propose`."""

from __future__ import annotations

import json

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from app.core.actions import spec_for
from app.flows.actions import ActionError, Asked, Where, propose, propose_set_variable
from app.flows.secret_inputs import open_inputs
from app.sandbox.slack import find_button
from app.slack.notifier import SlackNotifier
from app.store import proposals as proposal_store
from tests.e2e.actions_support import (
    audit_entries,
    posted_proposal,
    proposal_id,
    wait_audited,
    wait_edited,
    wait_status,
)
from tests.fixtures import ALERTS, OPERATOR, STRANGER, Sandbox, running_pitcrew, sandboxed_pitcrew

SECRET = "jwt-rotated-0f9e8d7c6b5a"


def notifier_for(fake_slack) -> SlackNotifier:
    return SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))


async def test_set_variable_keeps_the_value_out_of_slack_the_audit_trail_and_the_database(db_url, fake_slack, sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        before = sandbox.world.current("api").id
        proposal = await propose_set_variable(
            pitcrew.deps, "api", "JWT_SECRET", SECRET,
            asked=Asked(STRANGER, Where(ALERTS, "1700000000.000099"), notifier_for(fake_slack)),
        )
        assert proposal.params == {"name": "JWT_SECRET", "value": "***", "redeploy": True}
        message = await posted_proposal(fake_slack)
        assert message.thread_ts == "1700000000.000099"  # proposed from a thread: posted in it
        stored = await proposal_store.get(pitcrew.deps.sessions, proposal.id)
        assert stored is not None and SECRET not in repr(stored.params)  # kept sealed until confirmed
        spec = spec_for("railway", "set_variable")
        assert open_inputs(pitcrew.deps, spec, proposal.id, stored.params["inputs"])["value"] == SECRET
        assert open_inputs(pitcrew.deps, spec, "another proposal", stored.params["inputs"])["value"] is None

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, proposal.id, "accepted", "failed")
        assert done.status == "accepted", done.failure
        await wait_audited(pitcrew, "action.run")

        assert sandbox.world.service("api").variables["JWT_SECRET"] == SECRET
        assert sandbox.world.current("api").id != before  # Railway redeployed with it
        [upsert] = sandbox.mutations("VariableUpsert")
        assert upsert.variables["input"]["name"] == "JWT_SECRET"
        assert SECRET not in fake_slack.all_text()
        entries = await audit_entries(pitcrew)
        assert SECRET not in json.dumps([[e.params, e.outcome] for e in entries])
        [run] = [e for e in entries if e.action == "action.run"]
        assert run.params["value"] == "***" and run.params["name"] == "JWT_SECRET"
        stored = await proposal_store.get(pitcrew.deps.sessions, proposal.id)
        assert SECRET not in json.dumps([stored.params, stored.result])  # forgotten once used
        await wait_edited(fake_slack, message, "Accepted")
        assert find_button(message, "action.propose_again") is None


async def test_a_refused_provider_call_says_which_call_and_what_it_answered(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)
        sandbox.world.fail_next(graphql_error="Deployment is being rolled back already")

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        failed = await wait_status(pitcrew, pid, "failed")

        assert failed.failure is not None
        assert failed.failure.call == "railway rollback"
        assert failed.failure.reason == "Deployment is being rolled back already"
        await wait_edited(fake_slack, message, "railway rollback failed: Deployment is being rolled back already")
        assert find_button(message, "action.propose_again") is not None
        [run] = await wait_audited(pitcrew, "action.run")
        assert run.outcome.startswith("failed: railway rollback failed")
        assert len(await wait_audited(pitcrew, "action.confirm")) == 1

        await fake_slack.click(message, "action.propose_again", user=STRANGER)
        again = await posted_proposal(fake_slack, count=2)
        await fake_slack.click(again, "action.confirm", user=OPERATOR)
        assert (await wait_status(pitcrew, proposal_id(again), "accepted")).status == "accepted"
    assert len(sandbox.mutations("DeploymentRollback")) == 2  # the refused one, then the one proposed again


async def test_stop_and_redeploy_through_the_generic_propose(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        serving = sandbox.world.current("api")
        notifier = notifier_for(fake_slack)
        redeploy = await propose(
            pitcrew.deps, "redeploy", "api", {}, asked=Asked(STRANGER, Where(ALERTS), notifier)
        )
        message = await posted_proposal(fake_slack)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, redeploy.id, "accepted", "failed")
        assert done.status == "accepted" and done.answer["new_deployment_id"] == sandbox.world.current("api").id
        assert done.verifies and done.verification is not None

        stop = await propose(pitcrew.deps, "stop", "api", asked=Asked(STRANGER, Where(ALERTS), notifier))
        assert stop.current is not None and stop.current.id == sandbox.world.current("api").id != serving.id
        message = await posted_proposal(fake_slack, count=2)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        stopped = await wait_status(pitcrew, stop.id, "accepted", "failed")
        assert stopped.status == "accepted" and not stopped.verifies and stopped.verification is None
        assert sandbox.world.current("api") is None
    assert [c.operation for c in sandbox.mutations()] == ["DeploymentRedeploy", "DeploymentStop"]


@pytest.mark.parametrize(
    ("kind", "params", "said"),
    [
        ("restart", {"deployment_id": "x"}, "restart takes no parameter deployment_id"),
        ("set_variable", {"name": "1BAD", "value": "v"}, "variable name '1BAD' is not valid"),
        ("terminate_idle_sessions", {}, "api: railway services have no terminate idle sessions"),
        ("teleport", {}, "there is no action 'teleport'"),
    ],
)
async def test_generic_propose_refuses_bad_parameters(db_url, fake_slack, sandbox, kind, params, said):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        with pytest.raises(ActionError) as caught:
            await propose(
                pitcrew.deps, kind, "api", params, asked=Asked(STRANGER, Where(ALERTS), notifier_for(fake_slack))
            )
        assert said in caught.value.reason
        [refused] = await wait_audited(pitcrew, "action.propose")
        assert refused.outcome.startswith("not proposed")
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_a_proposal_that_cannot_be_posted_is_cancelled(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        with pytest.raises(ActionError, match="could not post the proposal"):
            await propose(pitcrew.deps, "restart", "api", asked=Asked(STRANGER, Where(""), notifier_for(fake_slack)))
        entries = await wait_audited(pitcrew, "action.cancel")
        assert "could not post" in entries[0].outcome
    assert sandbox.mutations() == []
