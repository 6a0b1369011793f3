"""Vercel's rollback and promote through the same proposal mechanism, against the sandbox Vercel over HTTP.

Each REST call the sandbox received is checked against Vercel's OpenAPI description (actions_support).
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from app.flows.actions import ActionError, Asked, Where, propose_promote
from app.jobs.runner import JobRunner
from app.sandbox.vercel.sample import SAMPLE_DEPLOYMENT_IDS, SAMPLE_PREVIEW_ID, SAMPLE_PROJECT_ID, SAMPLE_TEAM_ID
from app.slack.notifier import SlackNotifier
from tests.e2e.actions_support import posted_proposal, proposal_id, wait_edited, wait_status
from tests.fixtures import ALERTS, OPERATOR, STRANGER, Sandbox, running_pitcrew, sandboxed_pitcrew

LANDING, PRICING, BROKEN, HYDRATION = SAMPLE_DEPLOYMENT_IDS


def _posts(sandbox: Sandbox) -> list:
    return [c for c in sandbox.vercel.calls if c.method == "POST"]


async def test_vercel_rollback_skips_the_failed_build_and_points_production_back(db_url, fake_slack, sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "web", user=STRANGER)
        message = await posted_proposal(fake_slack)
        shown = str(message.blocks)
        assert HYDRATION in shown and PRICING in shown and "Add pricing page" in shown
        assert _posts(sandbox) == []

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure

        [call] = _posts(sandbox)
        assert call.path == f"/v1/projects/{SAMPLE_PROJECT_ID}/rollback/{PRICING}"
        assert call.query["teamId"] == SAMPLE_TEAM_ID
        assert sandbox.vercel_world.production("web").id == PRICING
        await wait_edited(fake_slack, message, "production now points at")

        sandbox.clock.advance(seconds=30)
        assert await JobRunner(pitcrew.deps).run_due() == 1
        await pitcrew.jobs_settled()  # before moving past the leases of the jobs that ran
        sandbox.clock.advance(minutes=15)
        assert await JobRunner(pitcrew.deps).run_due() == 2  # the look at the end of the watch, and the expiry job
        verified = await wait_status(pitcrew, done.id, "verified", "failed")
        assert verified.status == "verified", verified.verification
        await wait_edited(fake_slack, message, "Done and verified")


async def test_vercel_rollback_to_a_deployment_named_by_its_url(db_url, fake_slack, sandbox: Sandbox):
    host = sandbox.vercel_world.deployment(LANDING).host
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", f"web https://{host}/", user=STRANGER)
        message = await posted_proposal(fake_slack)
        assert "Landing page redesign" in str(message.blocks)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        await wait_status(pitcrew, proposal_id(message), "accepted")
    [call] = _posts(sandbox)
    assert call.path == f"/v1/projects/{SAMPLE_PROJECT_ID}/rollback/{LANDING}"


async def test_vercel_promote_of_an_earlier_production_deployment(db_url, fake_slack, sandbox: Sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        notifier = SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))
        proposal = await propose_promote(
            pitcrew.deps, "web", PRICING, asked=Asked(STRANGER, Where(ALERTS), notifier)
        )
        message = await posted_proposal(fake_slack)
        assert proposal_id(message) == proposal.id
        assert "Promote" in message.text and "Add pricing page" in str(message.blocks)

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, proposal.id, "accepted", "failed")
        assert done.status == "accepted", done.failure
        [call] = _posts(sandbox)
        assert call.path == f"/v10/projects/{SAMPLE_PROJECT_ID}/promote/{PRICING}"
        assert sandbox.vercel_world.production("web").id == PRICING

        sandbox.clock.advance(seconds=30)
        await JobRunner(pitcrew.deps).run_due()
        watching = await wait_status(pitcrew, proposal.id, "accepted")
        assert watching.verification is not None and watching.verification.phase == "watching"


async def test_promote_refuses_what_already_serves_or_did_not_build(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        notifier = SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))
        for deployment_id, expected in (
            (HYDRATION, "already serves production"),
            (BROKEN, "only a READY deployment can be promoted"),
            ("dpl_NoSuchThing", "Deployment not found"),
            (SAMPLE_PREVIEW_ID, "is a preview build: it was built with the preview environment variables"),
        ):
            try:
                await propose_promote(
                    pitcrew.deps, "web", deployment_id, asked=Asked(STRANGER, Where(ALERTS), notifier)
                )
            except ActionError as err:
                assert expected in err.reason
            else:
                raise AssertionError(f"{deployment_id} was proposed")
        try:
            await propose_promote(pitcrew.deps, "api", HYDRATION, asked=Asked(STRANGER, Where(ALERTS), notifier))
        except ActionError as err:
            assert "railway services have no promote" in err.reason
    assert fake_slack.calls_to("chat.postMessage") == []
    assert _posts(sandbox) == []


async def test_rollback_list_of_a_vercel_service_offers_redeploying_what_serves(db_url, fake_slack, sandbox: Sandbox):
    """`/rollback web list`: beside the rollback targets, "Redeploy this" on the production deployment; its
    proposal, once confirmed, is a new production build of that deployment (`POST /v13/deployments`)."""
    serving = sandbox.vercel_world.production("web")
    assert serving is not None
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "web list", user=STRANGER)
        [answer] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        listing = next(m for m in fake_slack.messages if m.text == answer.args["text"])
        accessories = [b["accessory"] for b in listing.blocks if "accessory" in b]
        redeploys = [a for a in accessories if a["action_id"] == "deployments.redeploy"]
        assert [(a["value"], a["text"]["text"]) for a in redeploys] == [("web", "Redeploy this")]
        [section] = [b for b in listing.blocks if b.get("accessory") in redeploys]
        assert serving.id in section["text"]["text"]  # on the line of the deployment serving now
        assert any(a["action_id"] == "deployments.rollback_to" for a in accessories)
        assert "Or redeploy what serves now" in str(listing.blocks)

        await fake_slack.click(listing, "deployments.redeploy", user=STRANGER)
        message = await posted_proposal(fake_slack)
        assert "Redeploy web" in message.text and _posts(sandbox) == []
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure
    [call] = _posts(sandbox)
    assert call.path == "/v13/deployments"
    now = sandbox.vercel_world.production("web")
    assert now is not None and now.id != serving.id and now.commit_sha == serving.commit_sha


async def test_rollback_list_of_a_railway_service_offers_no_redeploy(db_url, fake_slack, sandbox: Sandbox):
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api list", user=STRANGER)
        [answer] = await fake_slack.wait_for(lambda c: c.method == "response_url")
    assert "deployments.redeploy" not in str(answer.args["blocks"])
