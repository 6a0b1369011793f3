"""An instance killed mid-action leaves its proposal `running`; the `actions.settle` job ends it.

The state a `kill -9` leaves is made here as the killed instance made it: the proposal claimed
(one conditional UPDATE, as a confirmation does) and, in one case, Railway's rollback performed,
with nobody left to record the answer. Past the provider timeout plus the margin, the job asks
the sandbox Railway what happened, and the message, the audit trail and the runbook step follow.
"""

from __future__ import annotations

from app.core.settlement import SETTLE_AFTER
from app.flows.action_runs import schedule_settling
from app.store import proposals as proposal_store
from tests.e2e.actions_support import (
    audit_entries,
    posted_proposal,
    proposal_id,
    snapshot,
    wait_audited,
    wait_ephemeral,
    wait_status,
)
from tests.e2e.runbook_support import RESPONDER, ended, runbook_pitcrew, step_message, until
from tests.e2e.test_runbooks_clicks import skip_to, started
from tests.fixtures import ALERTS, OPERATOR, Sandbox


async def _rollback_left_running(pitcrew, fake_slack, sandbox: Sandbox, *, happened: bool):
    """backend-down's rollback step proposed, then claimed by an instance that died."""
    root, _incident = await started(pitcrew, sandbox)
    await skip_to(fake_slack, root, "announce", "health", "status", "logs", "metrics")
    cause = await step_message(fake_slack, root, "cause")
    await fake_slack.click(cause, "runbook.choose.4", user=RESPONDER)  # Recent bad deploy
    step = await step_message(fake_slack, root, "rollback")
    await fake_slack.click(step, "runbook.run", user=RESPONDER)
    proposal = await posted_proposal(fake_slack)
    await until(lambda: "waiting for an operator" in step.text, what="the step waits")
    pid = proposal_id(proposal)
    stale = snapshot(proposal)

    now = sandbox.clock()  # the claim commits its settle job, as a confirmation's does; then the instance dies
    claimed = await proposal_store.claim(
        pitcrew.app.deps.sessions, pid, by=OPERATOR, now=now, also=schedule_settling(pid, now)
    )
    assert claimed.won and claimed.record is not None
    if happened:
        sandbox.world.rollback(claimed.record.params["inputs"]["target_deployment_id"])
    await pitcrew.wait_for_running_jobs()  # before moving past the leases of the jobs that ran
    sandbox.clock.advance(seconds=SETTLE_AFTER.total_seconds() + 60)
    return root, step, proposal, stale, pid


async def test_a_rollback_that_happened_is_settled_as_done_and_the_runbook_moves_on(db_url, fake_slack, sandbox):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root, step, proposal, stale, pid = await _rollback_left_running(pitcrew, fake_slack, sandbox, happened=True)
        mutations_before = len(sandbox.mutations())

        await pitcrew.run_jobs()
        done = await wait_status(pitcrew.app, pid, "accepted", "verified", "failed")

        assert done.status in ("accepted", "verified"), done
        assert done.settled is not None and done.settled.outcome == "done"
        await until(lambda: "pitcrew stopped while this was running" in str(proposal.blocks), what="edited")
        assert "a rollback to" in str(proposal.blocks)
        [settled] = [e for e in await audit_entries(pitcrew.app) if e.action == "action.settle"]
        assert settled.actor == "pitcrew" and settled.outcome.startswith("done: Railway shows deployment")
        await ended(step, "Ran")
        await step_message(fake_slack, root, "verify")

        await fake_slack.click(stale, "action.confirm", user=OPERATOR)  # the replayed click
        [told] = await wait_ephemeral(fake_slack, OPERATOR)
        assert "running now" not in told.text and "already confirmed" in told.text
    assert len(sandbox.mutations()) == mutations_before  # settling asks; it never acts again


async def test_a_rollback_that_did_not_happen_is_settled_as_not_done(db_url, fake_slack, sandbox):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        _root, step, proposal, _stale, pid = await _rollback_left_running(pitcrew, fake_slack, sandbox, happened=False)

        await pitcrew.run_jobs()
        failed = await wait_status(pitcrew.app, pid, "failed")

        assert failed.settled is not None and failed.settled.outcome == "not_done"
        assert failed.can_propose_again
        await until(lambda: "Railway shows no deployment since it began" in str(proposal.blocks), what="edited")
        [settled] = [e for e in await audit_entries(pitcrew.app) if e.action == "action.settle"]
        assert settled.outcome.startswith("not done: Railway shows no deployment")
        await until(lambda: "Failed: railway rollback" in str(step.blocks), what="the step failed, open again")
    assert [c for c in sandbox.mutations() if c.operation == "DeploymentRollback"] == []



async def test_a_variable_left_running_without_its_job_is_settled_when_an_instance_starts(
    db_url, fake_slack, sandbox: Sandbox
):
    from app.flows.actions import Asked, Where, notifier_for, propose_set_variable
    from tests.fixtures import sandboxed_pitcrew

    secret = "s3cret-flag-value-7Q"
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        deps = pitcrew.deps
        proposed = await propose_set_variable(
            deps, "api", "FEATURE_FLAG", secret, redeploy=False,
            asked=Asked(OPERATOR, Where(ALERTS), notifier_for(deps)),
        )
        message = await posted_proposal(fake_slack)
        # A version without settle jobs claimed it and died after Railway set the variable.
        claimed = await proposal_store.claim(deps.sessions, proposed.id, by=OPERATOR, now=sandbox.clock())
        assert claimed.won
        sandbox.world.set_variable("api", "FEATURE_FLAG", secret)
        await pitcrew.jobs_settled()
    sandbox.clock.advance(seconds=SETTLE_AFTER.total_seconds() + 60)

    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:  # an instance starts
        done = await wait_status(pitcrew, proposed.id, "accepted", "failed")
        record = await proposal_store.get(pitcrew.deps.sessions, proposed.id)
        entries = await audit_entries(pitcrew)
        await until(lambda: "pitcrew stopped while this was running" in str(message.blocks), what="edited")

    assert done.status == "accepted" and done.settled is not None and done.settled.outcome == "done"
    assert record is not None and record.params["inputs"]["value"] == "***"  # forgotten once settled
    [settled] = [e for e in entries if e.action == "action.settle"]
    assert settled.outcome == "done: Railway has FEATURE_FLAG set to the proposed value"
    assert secret not in str([(e.params, e.outcome) for e in entries]) and secret not in str(message.blocks)
    assert sandbox.mutations() == []


async def test_a_shared_variable_change_left_running_is_settled_by_both_of_its_calls(
    db_url, fake_slack, sandbox: Sandbox
):
    """A rotation's change of a Railway shared variable is two calls (the shared upsert, then the service's
    redeploy): an instance that died after the first only is settled as failed, saying what is left to do."""
    from app.flows.actions import Asked, Where, notifier_for, propose_set_variable
    from tests.fixtures import sandboxed_pitcrew

    secret = "rotated-shared-value-for-settle-9Z"
    ref = sandbox.world.ref("api")
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        deps = pitcrew.deps
        proposed = await propose_set_variable(
            deps, "api", "JWT_SECRET", secret, asked=Asked(OPERATOR, Where(ALERTS), notifier_for(deps)),
            shared="JWT_SECRET",
        )
        message = await posted_proposal(fake_slack)
        assert "the shared `JWT_SECRET` is what changes" in str(message.blocks)
        claimed = await proposal_store.claim(deps.sessions, proposed.id, by=OPERATOR, now=sandbox.clock())
        assert claimed.won
        # it died after Railway took the shared variable, before the redeploy
        sandbox.world.upsert_shared_variables(
            ref.project_id, ref.environment_id, {"JWT_SECRET": secret}, replace=False, skip_deploys=True
        )
        await pitcrew.jobs_settled()
    sandbox.clock.advance(seconds=SETTLE_AFTER.total_seconds() + 60)

    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        done = await wait_status(pitcrew, proposed.id, "accepted", "failed")
        [settled] = await wait_audited(pitcrew, "action.settle")  # audited after the status moved
        entries = await audit_entries(pitcrew)
    assert done.status == "failed" and done.settled is not None and done.settled.outcome == "not_done"
    assert "shared JWT_SECRET set to the proposed value, but api did not redeploy" in settled.outcome
    assert secret not in str([(e.params, e.outcome) for e in entries]) and secret not in fake_slack.all_text()
