"""`/rollback` end to end: signed requests to the app over HTTP, a sandbox Railway, a fake Slack.

What a proposal shows, who may confirm it, that one confirmation sends exactly one mutation, that
expired and cancelled proposals send none, that a restart of the app between proposal and click
changes nothing, and a private answer with nothing proposed for every kind of bad input.
"""

from __future__ import annotations

from app.sandbox.railway.sample import SAMPLE_DEPLOYMENT_IDS
from app.sandbox.slack import find_button
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
from tests.fixtures import OPERATOR, OPERATOR_2, STRANGER, Sandbox, running_pitcrew, sandboxed_pitcrew

OLDEST, SECOND, FAILED, NEWEST = SAMPLE_DEPLOYMENT_IDS


async def test_rollback_proposal_shows_current_and_target_and_why(db_url, fake_slack, sandbox: Sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        response = await pitcrew.command("/rollback", "api", user=STRANGER)
        assert response.status_code == 200
        message = await posted_proposal(fake_slack)

        text = message.text + str(message.blocks)
        assert "4e6a8c0d" in text and "Fix N+1 query in /orders" in text and "Dana Ops" in text  # current
        assert "2c4e6a8b" in text and "Cache sessions in Redis" in text and "Lee Dev" in text  # target
        assert "b81e4d0" in text and "2 d ago" in text and "REMOVED" in text
        assert "newest deployment before the current one that never crashed" in text
        assert "<@U0STRANGER>" in text and "(in 10 min)" in text
        _, confirm = find_button(message, "action.confirm")
        assert confirm["style"] == "danger"
        dialog = confirm["confirm"]
        assert "Roll back api" in dialog["title"]["text"] and "2c4e6a8b" in dialog["text"]["text"]
        assert find_button(message, "action.cancel") is not None
        assert sandbox.mutations() == []  # proposing changes nothing
        entries = await audit_entries(pitcrew)
        [proposed] = [e for e in entries if e.action == "action.propose"]
        assert proposed.actor == STRANGER and proposed.outcome.startswith("proposed: Roll back api")


async def test_a_non_operator_click_changes_nothing_and_is_told_privately(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api")
        message = await posted_proposal(fake_slack)
        edits_before = message.edits

        await fake_slack.click(message, "action.confirm", user=STRANGER)
        [told] = await wait_ephemeral(fake_slack, STRANGER)

        assert "only operators" in told.text
        assert sandbox.mutations() == []
        assert message.edits == edits_before and find_button(message, "action.confirm") is not None
        record = await proposal_store.get(pitcrew.deps.sessions, proposal_id(message))
        assert record is not None and record.status == "proposed"
        entries = await audit_entries(pitcrew)
        [refused] = [e for e in entries if e.action == "action.confirm"]
        assert refused.actor == STRANGER and refused.outcome.startswith("refused")


async def test_an_operator_click_sends_exactly_one_rollback_and_edits_the_message(db_url, fake_slack, sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)
        stale = snapshot(message)

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, pid, "accepted", "failed")
        await fake_slack.click(stale, "action.confirm", user=OPERATOR_2)  # a screen not yet refreshed
        [told] = await wait_ephemeral(fake_slack, OPERATOR_2)

        assert done.status == "accepted", done.failure
        [mutation] = sandbox.mutations()
        assert mutation.operation == "DeploymentRollback" and mutation.variables == {"id": SECOND}
        assert sandbox.world.current("api").rollback_target == SECOND
        updates = [c for c in fake_slack.calls if c.method == "chat.update" and c.args["ts"] == message.ts]
        assert len(updates) >= 2  # running, then accepted
        assert "Running" in updates[0].args["text"]
        assert find_button(message, "action.confirm") is None
        assert "Accepted" in message.text and "confirmed by <@U0OPS1>" in str(message.blocks)
        assert "<@U0OPS1>" in told.text and "already confirmed" in told.text
        actions = [(e.action, e.actor, e.outcome.split(":")[0]) for e in await audit_entries(pitcrew)]
        assert ("action.confirm", OPERATOR, "allowed (listed as an operator)") in actions
        assert ("action.run", OPERATOR, "accepted") in actions
        assert ("action.confirm", OPERATOR_2, "not done") in actions


async def test_rollback_to_a_named_deployment(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", f"api {OLDEST}")
        message = await posted_proposal(fake_slack)
        assert "the deployment you named" in str(message.blocks)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        await wait_status(pitcrew, proposal_id(message), "accepted")
        [mutation] = sandbox.mutations()
        assert mutation.variables == {"id": OLDEST}


async def test_an_expired_proposal_sends_nothing(db_url, fake_slack, sandbox: Sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api")
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)

        await pitcrew.jobs_settled()  # before moving past the leases of the jobs that ran
        sandbox.clock.advance(minutes=10)  # expiry is exclusive: at 10 minutes it is over
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        [told] = await wait_ephemeral(fake_slack, OPERATOR)
        expired = await wait_status(pitcrew, pid, "expired")

        assert "expired" in told.text
        assert sandbox.mutations() == []
        assert expired.status == "expired"
        await fake_slack.wait_for(lambda c: c.method == "chat.update" and c.args.get("ts") == message.ts)
        assert "Expired" in message.text and find_button(message, "action.confirm") is None
        assert find_button(message, "action.propose_again") is not None


async def test_the_expiry_job_marks_an_unanswered_proposal_expired(db_url, fake_slack, sandbox: Sandbox):
    from app.jobs.runner import JobRunner

    catalog = sandbox.catalog(actions={"expire_minutes": 3})
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings(), clock=sandbox.clock) as pitcrew:
        await pitcrew.command("/rollback", "api")
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)
        assert "(in 3 min)" in str(message.blocks)

        assert await JobRunner(pitcrew.deps).run_due() == 0
        await pitcrew.jobs_settled()  # the /rollback job has recorded its message: the expiry can edit it
        sandbox.clock.advance(minutes=3)
        assert await JobRunner(pitcrew.deps).run_due() == 1

        assert (await wait_status(pitcrew, pid, "expired")).status == "expired"
        await wait_edited(fake_slack, message, "Expired")  # the edit follows the database change
        assert find_button(message, "action.confirm") is None
        assert sandbox.mutations() == []


async def test_a_restart_of_the_app_between_proposal_and_click_still_runs_once(db_url, fake_slack, sandbox):
    catalog = sandbox.catalog()
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as first:
        await first.command("/rollback", "api")
        message = await posted_proposal(fake_slack)
        stale = snapshot(message)
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as second:
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(second, proposal_id(message), "accepted", "failed")
        await fake_slack.click(stale, "action.confirm", user=OPERATOR)
        await wait_ephemeral(fake_slack, OPERATOR)
    assert done.status == "accepted"
    assert len(sandbox.mutations("DeploymentRollback")) == 1


async def test_cancel_by_the_proposer_and_a_refused_cancel(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)

        await fake_slack.click(message, "action.cancel", user="U0SOMEONE")
        [refused] = await wait_ephemeral(fake_slack, "U0SOMEONE")
        assert "only the person who proposed it or an operator" in refused.text

        await fake_slack.click(message, "action.cancel", user=STRANGER)
        cancelled = await wait_status(pitcrew, pid, "cancelled")
        assert cancelled.cancelled_by == STRANGER
        await fake_slack.wait_for(lambda c: c.method == "chat.update" and "Cancelled" in c.args.get("text", ""))

    assert sandbox.mutations() == []


async def test_confirm_after_cancel_says_so_and_sends_nothing(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api")
        message = await posted_proposal(fake_slack)
        stale = snapshot(message)
        await fake_slack.click(message, "action.cancel", user=OPERATOR)
        await wait_status(pitcrew, proposal_id(message), "cancelled")
        await fake_slack.click(stale, "action.confirm", user=OPERATOR_2)
        [told] = await wait_ephemeral(fake_slack, OPERATOR_2)
        assert "cancelled by <@U0OPS1>" in told.text
    assert sandbox.mutations() == []


async def test_a_usergroup_member_may_confirm(db_url, fake_slack, sandbox: Sandbox):
    fake_slack.usergroups["S0ONCALL"] = ["U0ONCALL", "U0OTHER"]
    catalog = sandbox.catalog(operators=["S0ONCALL", "S0GONE"])
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)

        await fake_slack.click(message, "action.confirm", user=STRANGER)
        [told] = await wait_ephemeral(fake_slack, STRANGER)
        assert "could not read the members of S0GONE" in told.text

        await fake_slack.click(message, "action.confirm", user="U0ONCALL")
        done = await wait_status(pitcrew, proposal_id(message), "accepted")
        assert done.confirmed_by == "U0ONCALL"
    assert len(sandbox.mutations()) == 1
    lookups = fake_slack.calls_to("usergroups.users.list")
    assert {c.args["usergroup"] for c in lookups} == {"S0ONCALL", "S0GONE"}
    assert len([c for c in lookups if c.args["usergroup"] == "S0ONCALL"]) == 2  # read anew at each confirm


async def test_second_approver_refuses_the_proposer_and_accepts_another_operator(db_url, fake_slack, sandbox):
    catalog = sandbox.catalog(api_actions={"second_approver": ["rollback"]})
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api", user=OPERATOR)
        message = await posted_proposal(fake_slack)
        assert "needs a second operator" in str(message.blocks)

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        [told] = await wait_ephemeral(fake_slack, OPERATOR)
        assert "second approver" in told.text
        assert sandbox.mutations() == []

        await fake_slack.click(message, "action.confirm", user=OPERATOR_2)
        done = await wait_status(pitcrew, proposal_id(message), "accepted")
        assert done.confirmed_by == OPERATOR_2
    assert len(sandbox.mutations()) == 1


async def test_list_shows_the_last_deployments_with_rollback_buttons(db_url, fake_slack, sandbox: Sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api list")
        [answer] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        assert answer.args["response_type"] == "in_channel"
        text = answer.args["text"]
        for deployment_id in SAMPLE_DEPLOYMENT_IDS:
            assert deployment_id in text
        assert "FAILED" in text and "Upgrade to Node 22" in str(answer.args["blocks"])
        listing = next(m for m in fake_slack.messages if m.text == text)
        values = [e["value"] for b in listing.blocks if "accessory" in b for e in [b["accessory"]]]
        assert values == [f"api {SECOND}", f"api {OLDEST}"]

        await fake_slack.click(listing, "deployments.rollback_to", user=STRANGER, value=f"api {OLDEST}")
        message = await posted_proposal(fake_slack)
        assert "the deployment you named" in str(message.blocks) and "1f3b5d7e" in message.text
    assert sandbox.mutations() == []


async def test_bad_input_is_answered_privately_and_nothing_is_proposed(db_url, fake_slack, sandbox: Sandbox):
    other = sandbox.world.add_service("other", project_id="p-other", environment_id="e-other", service_id="s-other")
    foreign = sandbox.world.add_deployment("other", deployment_id="9a9a9a9a-0000-4000-8000-000000000000")
    lonely = sandbox.world.add_service("lonely", project_id="p1", environment_id="e1", service_id="s-lonely")
    sandbox.world.add_deployment("lonely", deployment_id="5b5b5b5b-0000-4000-8000-000000000000")
    extra = {
        "lonely": {"provider": "railway", "railway": sandbox.world.ref("lonely").model_dump()},
        "db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}},
    }
    del other, lonely
    cases = {
        "nosuch": "unknown service 'nosuch'",
        "api 00000000-0000-4000-8000-000000000000": "no deployment",
        f"api {foreign.id}": "belongs to another service",
        f"api {NEWEST}": "is the current deployment",
        f"api {FAILED}": "did not succeed",
        "api ../../etc": "is not a deployment id",
        "db": "db: postgres services have no rollback",
        "site": "http services",
        "lonely": "no earlier successful deployment",
        "": "Which service?",
        "help": "Usage: `/rollback &lt;service&gt;`",
        "api a b": "Too many words",
    }
    async with running_pitcrew(db_url, sandbox.catalog(extra=extra), fake_slack, **sandbox.settings()) as pitcrew:
        for text, expected in cases.items():
            before = len(fake_slack.calls_to("response_url"))
            await pitcrew.command("/rollback", text, user=STRANGER)
            calls = await fake_slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
            answer = calls[-1]
            assert answer.args["response_type"] == "ephemeral", text
            assert expected in answer.args["text"], (text, answer.args["text"])
            assert "Traceback" not in answer.args["text"]
        await wait_audited(pitcrew, "command /rollback", len(cases))
        record_count = await _proposal_count(pitcrew)
    assert record_count == 0
    assert [c for c in fake_slack.calls if c.method == "chat.postMessage"] == []
    assert sandbox.mutations() == []


async def _proposal_count(pitcrew) -> int:
    from sqlalchemy import func, select

    from app.store.db import transaction
    from app.store.models import ProposedAction

    async with transaction(pitcrew.deps.sessions) as session:
        return int(await session.scalar(select(func.count()).select_from(ProposedAction)) or 0)
