"""After the action: the `verify_action` job watches the service, driven here by `run_due()` and a hand-moved clock.

Also the `/health` card's buttons on a failing service, which propose a restart or a rollback
through the same mechanism: the seeds' "restart if crashed, then monitor 15 minutes" end to end.
"""

from __future__ import annotations

from app.jobs.runner import JobRunner
from app.sandbox.slack import find_button
from tests.e2e.actions_support import (
    audit_entries,
    posted_proposal,
    proposal_id,
    wait_audited,
    wait_edited,
    wait_status,
)
from tests.fixtures import ALERTS, OPERATOR, STRANGER, Sandbox, running_pitcrew, sandboxed_pitcrew


async def _confirmed_rollback(pitcrew, fake_slack, sandbox: Sandbox):
    await pitcrew.command("/rollback", "api", user=STRANGER)
    message = await posted_proposal(fake_slack)
    await fake_slack.click(message, "action.confirm", user=OPERATOR)
    done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
    assert done.status == "accepted", done.failure
    await wait_edited(fake_slack, message, "Accepted")
    return message, done


async def test_verification_watches_the_window_then_says_verified(db_url, fake_slack, sandbox: Sandbox):
    catalog = sandbox.catalog(actions={"verify": {"interval_s": 30, "window_minutes": 2}})
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings(), clock=sandbox.clock) as pitcrew:
        runner = JobRunner(pitcrew.deps, worker="test")
        message, done = await _confirmed_rollback(pitcrew, fake_slack, sandbox)
        assert "every 30 s" in str(message.blocks)
        new_deployment = sandbox.world.current("api").id

        assert await runner.run_due() == 0  # the first look comes one interval after the action
        sandbox.clock.advance(seconds=30)
        assert await runner.run_due() == 1
        watching = await wait_status(pitcrew, done.id, "accepted")
        assert watching.verification is not None and watching.verification.phase == "watching"
        assert watching.verification.deployment_id == new_deployment
        await wait_edited(fake_slack, message, "Accepted")
        assert "healthy since" in str(message.blocks)

        for _ in range(3):
            sandbox.clock.advance(seconds=30)
            assert await runner.run_due() == 1
        verified = await wait_status(pitcrew, done.id, "verified", "failed")
        assert verified.status == "verified", verified.verification
        await wait_edited(fake_slack, message, "Done and verified")
        assert "5 looks" not in str(message.blocks) and "4 looks" in str(message.blocks)
        [entry] = await wait_audited(pitcrew, "action.verify")
        assert entry.outcome.startswith("verified") and entry.actor == "pitcrew"
        await pitcrew.jobs_settled()  # before moving past the leases of the jobs that ran
        sandbox.clock.advance(minutes=30)
        # The expiry job, which finds nothing to expire, and the post-deploy watch the verified rollback
        # started (tests/e2e/test_deploy_watch.py); the verification job is over: nothing reschedules it.
        assert await runner.run_due() == 2
    threads = [c for c in fake_slack.calls if c.method == "chat.postMessage" and c.args.get("thread_ts")]
    assert threads == []


async def test_health_failing_again_fails_the_verification_and_is_posted_in_the_thread(db_url, fake_slack, sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        runner = JobRunner(pitcrew.deps)
        message, done = await _confirmed_rollback(pitcrew, fake_slack, sandbox)
        sandbox.clock.advance(seconds=30)
        await runner.run_due()
        assert (await wait_status(pitcrew, done.id, "accepted")).verification.phase == "watching"

        sandbox.service.down()
        sandbox.clock.advance(seconds=30)
        assert await runner.run_due() == 1
        failed = await wait_status(pitcrew, done.id, "failed")

        assert "health failed again" in failed.verification.reason
        [alert] = await fake_slack.wait_for(
            lambda c: c.method == "chat.postMessage" and c.args.get("thread_ts") == message.ts
        )
        assert alert.args["channel"] == ALERTS and "Health failed again" in alert.args["text"]
        assert "HTTP 503, expected 200" in alert.args["text"]
        await wait_edited(fake_slack, message, "Verification failed")
        assert find_button(message, "action.propose_again") is not None
        await pitcrew.jobs_settled()  # before moving past the leases of the jobs that ran
        sandbox.clock.advance(minutes=20)
        await runner.run_due()  # the verification job is over: nothing reschedules it
        assert len(fake_slack.calls_to("chat.postMessage")) == 2

        await fake_slack.click(message, "action.propose_again", user=STRANGER)
        again = await posted_proposal(fake_slack, count=2)
        assert proposal_id(again) != done.id
        assert "Roll back api" in again.text
    assert len(sandbox.mutations()) == 1


async def test_a_new_deployment_that_fails_fails_the_verification(db_url, fake_slack, sandbox: Sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        sandbox.world.next_deploy_status = "FAILED"
        message, done = await _confirmed_rollback(pitcrew, fake_slack, sandbox)
        sandbox.clock.advance(seconds=30)
        await JobRunner(pitcrew.deps).run_due()
        failed = await wait_status(pitcrew, done.id, "failed")
        assert "is FAILED" in failed.verification.reason
        await fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("thread_ts") == message.ts)
        entries = [e for e in await audit_entries(pitcrew) if e.action == "action.verify"]
        assert entries and entries[0].outcome.startswith("failed")


async def test_health_card_restart_button_proposes_and_the_restart_is_verified(db_url, fake_slack, sandbox: Sandbox):
    catalog = sandbox.catalog(actions={"verify": {"interval_s": 30, "window_minutes": 1}})
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings(), clock=sandbox.clock) as pitcrew:
        crashed = sandbox.world.crash("api")
        sandbox.service.down()

        await pitcrew.command("/health", "api web", user=STRANGER)
        [card_call] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        card = next(m for m in fake_slack.messages if m.text == card_call.args["text"])
        blocks = {b.get("block_id"): b for b in card.blocks}
        assert [e["action_id"] for e in blocks["health.actions.api"]["elements"]] == [
            "health.propose_restart", "health.propose_rollback",
        ]
        assert "health.actions.web" not in blocks  # web is fine: no buttons

        await fake_slack.click(card, "health.propose_restart", user=STRANGER, value="api")
        message = await posted_proposal(fake_slack)
        assert "Restart api" in message.text and crashed.id[:8] in str(message.blocks)
        assert sandbox.mutations() == []

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure
        [restart] = sandbox.mutations()
        assert restart.operation == "DeploymentRestart" and restart.variables == {"id": crashed.id}

        sandbox.service.ok()
        runner = JobRunner(pitcrew.deps)
        sandbox.clock.advance(seconds=30)
        await runner.run_due()
        sandbox.clock.advance(seconds=30)
        await runner.run_due()
        verified = await wait_status(pitcrew, done.id, "verified", "failed")
        assert verified.status == "verified", verified.verification
        assert verified.verification.deployment_id == crashed.id


async def test_a_rate_limited_verification_waits_for_the_window_instead_of_spending_it(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = sandbox.catalog(actions={"verify": {"interval_s": 30, "window_minutes": 30}})
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings(), clock=sandbox.clock) as pitcrew:
        runner = JobRunner(pitcrew.deps, worker="test")
        _message, done = await _confirmed_rollback(pitcrew, fake_slack, sandbox)

        sandbox.world.rate_limit_next(retry_after_s=600, times=2)  # Railway's hour is spent for 10 minutes
        sandbox.clock.advance(seconds=30)
        asked = len(sandbox.railway.calls)
        assert await runner.run_due() == 1
        limited = await wait_status(pitcrew, done.id, "accepted")
        assert limited.verification is None or limited.verification.phase != "failed"
        after_look = len(sandbox.railway.calls)
        assert after_look - asked == 2  # the health probe and the job's own question, each once

        for _ in range(19):  # nine and a half minutes of intervals: the job sleeps through them
            await pitcrew.jobs_settled()
            sandbox.clock.advance(seconds=30)
            await runner.run_due()
        assert len(sandbox.railway.calls) == after_look  # Railway was not asked again

        await pitcrew.jobs_settled()
        sandbox.clock.advance(seconds=31)
        await runner.run_due()  # the window has reset: the job looks again
        assert len(sandbox.railway.calls) > after_look
        watching = await wait_status(pitcrew, done.id, "accepted")
        assert watching.verification is not None and watching.verification.phase == "watching"
