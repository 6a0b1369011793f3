"""The built-in `database-connections` runbook sets the backend's pool size itself (issue 15): its `pool`
step is an `action: set_variable` of DB_POOL_MAX (seeds/000's name) without a value, so pressing Run asks
for the size in the `set` form, privately; an operator's submission proposes it, the confirmation sets it
on Railway (which redeploys the backend), and the runbook moves on to what a variable does not fix."""

from __future__ import annotations

import json

from app.sandbox.slack import buttons, find_button
from tests.e2e.actions_support import posted_proposal, proposal_id, wait_status
from tests.e2e.runbook_support import api_goes_down, ended, runbook_pitcrew, step_message, until
from tests.fixtures import ALERTS, OPERATOR, Sandbox


async def test_the_pool_step_asks_the_size_in_the_form_and_sets_db_pool_max(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_variable("api", "DB_POOL_MAX", "10")
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await api_goes_down(pitcrew, sandbox)
        await fake_slack.mention("runbook database-connections", user=OPERATOR, channel=ALERTS, thread_ts=root.ts)
        for step_id in ("announce", "connections", "db-dashboard"):
            step = await step_message(fake_slack, root, step_id)
            await fake_slack.click(step, "runbook.skip", user=OPERATOR)
            await ended(step, "Skipped")
        case = await step_message(fake_slack, root, "case")
        [chosen] = [
            e["action_id"] for _b, e in buttons(case) if e["text"]["text"] == "Backend connection pool saturated"
        ]
        await fake_slack.click(case, chosen, user=OPERATOR)

        pool = await step_message(fake_slack, root, "pool")
        assert "DB_POOL_MAX" in pool.text and "api" in pool.text
        mark = len(fake_slack.messages)
        await fake_slack.click(pool, "runbook.run", user=OPERATOR)
        await until(lambda: any(m.ephemeral_to == OPERATOR and find_button(m, "variables.open_form")
                                for m in fake_slack.messages[mark:]), what="the form's button, privately")
        note = next(m for m in reversed(fake_slack.messages) if find_button(m, "variables.open_form"))
        opened = len(fake_slack.calls_to("views.open"))
        await fake_slack.click(note, "variables.open_form", user=OPERATOR)
        calls = await fake_slack.wait_for(lambda c: c.method == "views.open", count=opened + 1)
        form = calls[-1].args["view"]
        form = json.loads(form) if isinstance(form, str) else form
        assert "*DB_POOL_MAX* on *api*" in json.dumps(form["blocks"])
        await fake_slack.submit(form, {"value": "20"}, user=OPERATOR)

        proposal = await posted_proposal(fake_slack)
        assert "Set DB_POOL_MAX on api" in proposal.text and proposal.thread_ts == root.ts
        await fake_slack.click(proposal, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew.app, proposal_id(proposal), "accepted", "failed")
        assert done.status == "accepted", done.failure
        leaks = await step_message(fake_slack, root, "pool-leaks")
        assert "connection leaks" in str(leaks.blocks)
    assert sandbox.world.service("api").variables["DB_POOL_MAX"] == "20"
    assert [d.reason for d in sandbox.world.service("api").deployments[:1]] == ["variableChange"]
