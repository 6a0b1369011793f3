"""Operator groups and destructive confirms: membership is read from Slack anew at every confirm, so
someone an admin just took out of `@oncall` cannot run a rollback on the strength of a cached list;
checks that run nothing irreversible (a cancel) may use the minute-long cache."""

from __future__ import annotations

from tests.e2e.actions_support import posted_proposal, proposal_id, wait_ephemeral, wait_status
from tests.fixtures import STRANGER, Sandbox, running_pitcrew

ONCALL = "U0ONCALL"


async def test_someone_removed_from_the_operator_group_cannot_confirm_any_more(db_url, fake_slack, sandbox: Sandbox):
    fake_slack.usergroups["S0ONCALL"] = [ONCALL]
    catalog = sandbox.catalog(operators=["S0ONCALL"])
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        first = await posted_proposal(fake_slack)
        await fake_slack.click(first, "action.cancel", user=ONCALL)  # an operator's cancel: the group is read
        await wait_status(pitcrew, proposal_id(first), "cancelled")

        fake_slack.usergroups["S0ONCALL"] = []  # an admin takes them out of @oncall
        await pitcrew.command("/rollback", "api", user=STRANGER)
        second = await posted_proposal(fake_slack, count=2)
        await fake_slack.click(second, "action.confirm", user=ONCALL)
        [told] = await wait_ephemeral(fake_slack, ONCALL)
        assert "only operators listed in pitcrew.yml may do this" in told.text
        assert (await wait_status(pitcrew, proposal_id(second), "proposed")).confirmed_by is None
    assert sandbox.mutations() == []
    reads = [c for c in fake_slack.calls_to("usergroups.users.list") if c.args["usergroup"] == "S0ONCALL"]
    assert len(reads) == 2  # the cancel's, and the confirm's own
