"""The post-deploy watch end to end: the sandbox Railway's webhook (or Vercel's, or pitcrew's own verified
rollback) starts one watch, its message is edited in place after each look, and it ends healthy, superseded,
or regressed with an incident naming the deploy and a rollback proposed in the incident's thread.

Time is driven by hand: the app's clock is the sandbox's, and the test's job runner runs what is due.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.jobs.runner import JobRunner
from app.sandbox.railway import bodies
from app.sandbox.slack import SlackMessage, find_button
from app.store import bad_deployments
from app.store.models import DeployWatch, Incident, Job
from tests.e2e.actions_support import posted_proposal, proposal_id, wait_status
from tests.e2e.incident_support import vercel_body
from tests.fixtures import (
    ALERTS,
    OPERATOR,
    SECRET,
    STRANGER,
    Sandbox,
    catalog_from,
    pitcrew_with_jobs,
    running_pitcrew,
)


def watched_catalog(sandbox: Sandbox, **api: Any) -> Any:
    web = {"provider": "vercel", "vercel": sandbox.vercel_world.ref("web").model_dump(exclude_none=True)}
    return catalog_from({"api": sandbox.railway_api(**api), "web": web})


async def watches(pitcrew: Any) -> list[DeployWatch]:
    async with pitcrew.app.deps.sessions() as session:
        return list((await session.scalars(select(DeployWatch).order_by(DeployWatch.id))).all())


def watch_messages(slack: Any) -> list[SlackMessage]:
    return [m for m in slack.messages if m.channel == ALERTS and m.thread_ts is None and " of " in m.text
            and m.text.startswith(("👀 deploy", "✅ deploy", "🔴 deploy", "⏭️ deploy", "⏹️ deploy"))]


def deploy(sandbox: Sandbox, **how: Any) -> Any:
    """A new deployment of api that goes live; its webhook is queued in the sandbox Railway."""
    sandbox.clock.advance(minutes=1)
    return sandbox.world.add_deployment("api", commit_message=how.pop("message", "Ship the new cart"),
                                        author=how.pop("author", "Lee Dev"), **how)


async def deliver(pitcrew: Any, sandbox: Sandbox) -> list[int]:
    """The sandbox Railway posts its queued webhooks to pitcrew; pitcrew's answers."""
    if not sandbox.world.webhook_urls:
        sandbox.world.add_webhook(f"{pitcrew.app.url}/webhooks/railway?token={SECRET}")
    sent = await sandbox.railway.deliver_webhooks(pitcrew.http)
    return [s.status_code for s in sent]


async def look_after(pitcrew: Any, sandbox: Sandbox, seconds: float = 60) -> None:
    await pitcrew.wait_for_running_jobs()
    sandbox.clock.advance(seconds=seconds)
    await pitcrew.run_jobs()


async def test_a_railway_deploy_webhook_starts_one_watch_edited_in_place_until_it_ends_healthy(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = watched_catalog(sandbox, watch_minutes=5)
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        new = deploy(sandbox)
        [event] = sandbox.world.webhook_outbox or [None]  # queued only once a webhook is configured
        assert event is None
        sandbox.world.add_webhook(f"{pitcrew.app.url}/webhooks/railway?token={SECRET}")
        sandbox.world.restart(new.id)  # a healthy deployment restarted changes no status: nothing is queued
        assert sandbox.world.webhook_outbox == []
        second = deploy(sandbox)
        body = bodies.deployment_webhook(sandbox.world, sandbox.world.webhook_outbox[0])
        assert body["type"] == "Deployment.deployed" and body["details"]["status"] == "SUCCESS"
        # Railway retries a delivery: the same body twice (and once more at once) is one watch.
        assert await deliver(pitcrew, sandbox) == [202]
        again = await asyncio.gather(*(pitcrew.webhook("railway", body) for _ in range(2)))
        assert [r.status_code for r in again] == [202, 202]
        [watch] = await watches(pitcrew)
        assert (watch.service, watch.deployment_id, watch.status) == ("api", second.id, "starting")
        ref = sandbox.world.ref("api")
        assert watch.alert_fingerprint == f"{ref.service_id}:{ref.environment_id}"

        await pitcrew.run_jobs()  # the first run: the baseline, the deploy's commit, the message
        [message] = watch_messages(fake_slack)
        assert message.text.startswith(f"👀 deploy {second.id[:8]} of api: 0 of 5 min")
        assert "Ship the new cart" in str(message.blocks) and "Lee Dev" in str(message.blocks)
        assert "started by Railway's webhook" in str(message.blocks)

        for minute in range(1, 5):
            await look_after(pitcrew, sandbox)
            assert message.text.startswith(f"👀 deploy {second.id[:8]} of api: {minute} of 5 min, healthy")
            assert "0 new errors" in message.text and "p95 180 ms" in message.text and "5xx 0.0%" in message.text
            assert message.text.endswith("CPU 3%, memory 5%")  # 0.25 of 8 vCPU, 0.4 of 8 GB
        await look_after(pitcrew, sandbox)
        assert message.text.startswith(f"✅ deploy {second.id[:8]} of api: watched 5 min: healthy")
        [watch] = await watches(pitcrew)
        assert watch.status == "healthy" and watch.looks == 5
        posts = [c for c in fake_slack.calls_to("chat.postMessage") if "deploy " in c.args.get("text", "")]
        assert len(posts) == 1  # one message, edited in place
        assert len([c for c in fake_slack.calls_to("chat.update") if c.args.get("ts") == message.ts]) == 5
        await look_after(pitcrew, sandbox, seconds=600)
        assert (await watches(pitcrew))[0].looks == 5  # over: nothing runs it again
        async with pitcrew.app.deps.sessions() as session:
            assert (await session.scalars(select(Incident))).all() == []


async def test_a_crash_after_the_deploy_opens_one_incident_naming_it_and_proposes_the_rollback(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = watched_catalog(sandbox)
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        before = sandbox.world.current("api")
        await deliver(pitcrew, sandbox)
        bad = deploy(sandbox, message="Move sessions to the new auth middleware")
        assert await deliver(pitcrew, sandbox) == [202]
        await pitcrew.run_jobs()
        [message] = watch_messages(fake_slack)

        await look_after(pitcrew, sandbox)
        assert message.text.startswith(f"👀 deploy {bad.id[:8]} of api: 1 of 15 min, healthy")
        sandbox.world.crash("api", "TypeError: Cannot read properties of undefined (reading 'userId')")
        sandbox.service.down()
        assert await deliver(pitcrew, sandbox) == [202]  # Railway's own Deployment.crashed
        await look_after(pitcrew, sandbox)

        async with pitcrew.app.deps.sessions() as session:
            [incident] = (await session.scalars(select(Incident))).all()
        assert incident.service == "api" and incident.deploy["id"] == bad.id
        said = f"🔴 deploy {bad.id[:8]} of api regressed after 2 min: the deployment is CRASHED"
        assert message.text.startswith(said)
        assert f"incident INC-{incident.id}" in message.text
        [watch] = await watches(pitcrew)
        assert watch.status == "regressed" and watch.incident_id == incident.id
        # The incident's root names the deploy; the rollback to the deployment before is proposed in its thread.
        root = fake_slack.message(ALERTS, incident.thread_ts)
        assert root is not None and bad.id[:8] in str(root.blocks)
        await look_after(pitcrew, sandbox, seconds=5)  # the offer waits for the root (its job may come first)
        proposal = await posted_proposal(fake_slack)
        assert proposal.thread_ts == incident.thread_ts and "Roll back api" in proposal.text
        assert before is not None and before.id[:8] in str(proposal.blocks)
        known = await bad_deployments.known_bad(pitcrew.app.deps.sessions, "api")
        assert "post-deploy watch saw it regress" in known[bad.id]
        await look_after(pitcrew, sandbox)
        assert len(watch_messages(fake_slack)) == 1 and message.text.startswith("🔴")


async def test_new_errors_well_above_the_baseline_are_a_regression_and_a_newer_deploy_supersedes(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = watched_catalog(sandbox)
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        await deliver(pitcrew, sandbox)
        first = deploy(sandbox)
        await deliver(pitcrew, sandbox)
        await pitcrew.run_jobs()
        second = deploy(sandbox)
        await deliver(pitcrew, sandbox)
        await pitcrew.run_jobs()
        old, new = watch_messages(fake_slack)
        assert old.text.startswith(f"⏭️ deploy {first.id[:8]} of api: watch ended") and second.id[:8] in old.text
        assert new.text.startswith(f"👀 deploy {second.id[:8]} of api")

        sandbox.clock.advance(seconds=30)
        for n in range(4):  # four errors: under the five that make a regression
            sandbox.world.log("api", f"Error: payment declined #{n}", level="error")
        await look_after(pitcrew, sandbox, seconds=30)
        assert "healthy, 4 new errors" in new.text
        for n in range(4):
            sandbox.world.log("api", f"Error: payment declined #{n + 4}", level="error")
        await look_after(pitcrew, sandbox)
        assert new.text.startswith(f"🔴 deploy {second.id[:8]} of api regressed after 2 min: 8 new error lines")
        assert "0.0/min before the deploy" in new.text
        async with pitcrew.app.deps.sessions() as session:
            [incident] = (await session.scalars(select(Incident))).all()
        assert incident.title == f"api regressed after deploy {second.id[:8]}" and incident.deploy["id"] == second.id
        assert "Deploy" in (incident.description or "") and "Ship the new cart" in (incident.description or "")
        [*_, watch] = await watches(pitcrew)
        assert watch.status == "regressed" and [w.status for w in await watches(pitcrew)] == ["superseded", "regressed"]


async def test_a_verified_rollback_by_pitcrew_starts_a_watch_of_its_deployment(db_url, fake_slack, sandbox: Sandbox):
    catalog = watched_catalog(sandbox, watch_minutes=3)
    async with running_pitcrew(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        runner = JobRunner(pitcrew.deps, worker="test")
        await pitcrew.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure
        rolled = sandbox.world.current("api")
        while (await wait_status(pitcrew, done.id, "accepted", "verified", "failed")).status == "accepted":
            await pitcrew.jobs_settled()
            sandbox.clock.advance(seconds=30)
            await runner.run_due()
        assert (await wait_status(pitcrew, done.id, "verified")).status == "verified"
        await pitcrew.jobs_settled()
        await runner.run_due()
        async with pitcrew.deps.sessions() as session:
            [watch] = (await session.scalars(select(DeployWatch))).all()
        assert (watch.deployment_id, watch.cause, watch.proposal_id) == (rolled.id, "pitcrew's rollback", done.id)
        [posted] = await fake_slack.wait_for(
            lambda c: c.method == "chat.postMessage" and "👀" in c.args.get("text", "")
        )
        assert f"deploy {rolled.id[:8]} of api" in posted.args["text"]


async def test_a_vercel_production_deploy_starts_a_watch_and_a_preview_does_not(db_url, fake_slack, sandbox: Sandbox):
    catalog = watched_catalog(sandbox)
    web = sandbox.vercel_world.ref("web")
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        live = sandbox.vercel_world.add_deployment("web", commit_message="New pricing page", author="Ana")
        for target, deployment in (("preview", "dpl_preview1"), ("production", live.id)):
            body = vercel_body("deployment.succeeded")
            body["payload"]["project"]["id"] = web.project_id
            body["payload"]["deployment"]["id"] = deployment
            body["payload"]["target"] = None if target == "preview" else target
            assert (await pitcrew.webhook("vercel", body)).status_code == 202
        [watch] = await watches(pitcrew)
        assert (watch.service, watch.deployment_id) == ("web", live.id)
        assert watch.alert_fingerprint == f"{web.project_id}:production"
        await pitcrew.run_jobs()
        [message] = watch_messages(fake_slack)
        assert message.text.startswith(f"👀 deploy {live.id[:12]} of web") and "New pricing page" in str(message.blocks)
        assert "no Vercel log drain" in str(message.blocks)  # the error count says why it is not measured


async def test_watch_minutes_zero_watches_nothing(db_url, fake_slack, sandbox: Sandbox):
    catalog = watched_catalog(sandbox, watch_minutes=0)
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        await deliver(pitcrew, sandbox)
        deploy(sandbox)
        assert await deliver(pitcrew, sandbox) == [202]
        await pitcrew.run_jobs()
        assert await watches(pitcrew) == [] and watch_messages(fake_slack) == []


async def test_two_instances_given_the_same_webhook_at_once_start_one_watch_and_post_one_message(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = watched_catalog(sandbox)
    async with AsyncExitStack() as stack:
        first, second = [
            await stack.enter_async_context(running_pitcrew(
                db_url, catalog, fake_slack, clock=sandbox.clock, WEBHOOK_SECRET=SECRET, **sandbox.settings()
            ))
            for _ in range(2)
        ]
        sandbox.world.add_webhook("http://127.0.0.1:9/unused")
        new = deploy(sandbox)
        body = bodies.deployment_webhook(sandbox.world, sandbox.world.webhook_outbox[-1])
        sends = [
            instance.http.post("/webhooks/railway", json=body, params={"token": SECRET})
            for instance in (first, second) for _ in range(3)
        ]
        assert [r.status_code for r in await asyncio.gather(*sends)] == [202] * 6
        runners = [JobRunner(i.deps, worker=f"w{n}") for n, i in enumerate((first, second))]
        await asyncio.gather(*(runner.run_due(limit=50) for runner in runners))
        async with first.deps.sessions() as session:
            assert [w.deployment_id for w in (await session.scalars(select(DeployWatch))).all()] == [new.id]
        posts = [c for c in fake_slack.calls_to("chat.postMessage") if "👀" in c.args.get("text", "")]
        assert len(posts) == 1
        assert find_button(fake_slack.messages[-1], "action.confirm") is None


async def test_a_rollback_that_cannot_be_proposed_is_said_in_the_incident_thread(db_url, fake_slack, sandbox: Sandbox):
    catalog = watched_catalog(sandbox)
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        await deliver(pitcrew, sandbox)
        deploy(sandbox)
        await deliver(pitcrew, sandbox)
        await pitcrew.run_jobs()
        sandbox.world.crash("api")  # Railway's crash webhook is not delivered: the watch opens the incident
        sandbox.service.down()
        sandbox.world.fail_field("deployments", "Problem processing request")  # the history a rollback reads
        await look_after(pitcrew, sandbox)
        await look_after(pitcrew, sandbox, seconds=5)
        async with pitcrew.app.deps.sessions() as session:
            [incident] = (await session.scalars(select(Incident))).all()
        assert incident.title.startswith("api regressed after deploy")
        notes = [m.text for m in fake_slack.messages if m.thread_ts == incident.thread_ts]
        assert any("No rollback proposed for api" in n and "Problem processing request" in n for n in notes), notes
        assert not [m for m in fake_slack.messages if find_button(m, "action.confirm") is not None]


async def test_a_rate_limited_look_waits_for_railway_and_a_5xx_ratio_over_its_threshold_regresses(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = watched_catalog(sandbox)
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        await deliver(pitcrew, sandbox)
        new = deploy(sandbox)
        await deliver(pitcrew, sandbox)
        await pitcrew.run_jobs()
        [message] = watch_messages(fake_slack)
        sandbox.world.rate_limit_next(retry_after_s=300, times=2)  # the look's health, then its log read
        await look_after(pitcrew, sandbox)
        assert "first look in a moment" in message.text  # nothing judged on a look Railway refused
        async with pitcrew.app.deps.sessions() as session:
            job = await session.scalar(select(Job).where(Job.kind == "watch_deploy"))
        assert job is not None and job.run_at >= sandbox.clock.now + timedelta(seconds=290)
        await look_after(pitcrew, sandbox)  # a minute later: still waiting
        assert "first look in a moment" in message.text
        sandbox.world.set_metrics("api", error_ratio=0.05)
        await look_after(pitcrew, sandbox, seconds=300)
        said = f"🔴 deploy {new.id[:8]} of api regressed after 7 min: 5xx 5.0% of requests, over 1% "
        assert message.text.startswith(said + "(before the deploy: 0.0%)"), message.text


async def test_railway_not_answering_during_the_watch_is_no_regression(db_url, fake_slack, sandbox: Sandbox):
    catalog = watched_catalog(sandbox)
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        await deliver(pitcrew, sandbox)
        deploy(sandbox)
        await deliver(pitcrew, sandbox)
        await pitcrew.run_jobs()
        [message] = watch_messages(fake_slack)
        sandbox.world.fail_next(status=502, body="Bad Gateway", times=1000)
        for _ in range(3):
            await look_after(pitcrew, sandbox)
        assert message.text.startswith("👀") and ": 3 of 15 min, healthy" in message.text  # the URL check judges
        assert "railway deployment: " in str(message.blocks) and "502" in str(message.blocks)
        assert [w.status for w in await watches(pitcrew)] == ["watching"]
