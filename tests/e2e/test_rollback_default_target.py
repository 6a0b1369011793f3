"""After a rollback away from a crashed deployment, the next `/rollback` must not propose that deployment.

Railway marks the deployment that was serving when a rollback happens REMOVED, with `canRollback`
true, the same as any healthy deployment it replaced (app/sandbox/railway/world.py `_activate`
and bodies.py `deployment_json`, after the `Deployment` type of refdata/railway/schema.json,
which has no "crashed once" field): only pitcrew's own record of the rollback says it was bad.
"""

from __future__ import annotations

from app.sandbox.railway.sample import SAMPLE_DEPLOYMENT_IDS
from tests.e2e.actions_support import posted_proposal, proposal_id, wait_status
from tests.fixtures import OPERATOR, STRANGER, Sandbox, sandboxed_pitcrew

OLDEST, SECOND, FAILED, NEWEST = SAMPLE_DEPLOYMENT_IDS


async def test_the_deployment_rolled_back_from_is_not_proposed_again(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.crash("api")  # NEWEST serves and crashes
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        first = await posted_proposal(fake_slack)
        await fake_slack.click(first, "action.confirm", user=OPERATOR)
        await wait_status(pitcrew, proposal_id(first), "accepted")
        crashed = sandbox.world.deployment(NEWEST)
        assert crashed.status == "REMOVED"  # as Railway shows it now: replaced, and "can roll back"

        await pitcrew.command("/rollback", "api", user=STRANGER)
        second = await posted_proposal(fake_slack, count=2)
        shown = second.text + str(second.blocks)
        assert "Roll back api to deployment 2c4e6a8b" in second.text, second.text  # SECOND, not NEWEST
        assert "Passed over:* `4e6a8c0d` REMOVED: pitcrew rolled back from it" in shown
        assert "`3d5f7b9c` FAILED: it never served" in shown

        await pitcrew.command("/rollback", "api list", user=STRANGER)
        [answer] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        assert "`/rollback api` would roll back to `2c4e6a8b`" in str(answer.args["blocks"])
        assert f"{NEWEST} REMOVED" in answer.args["text"] and "passed over: pitcrew rolled back from it" in (
            answer.args["text"]
        )
