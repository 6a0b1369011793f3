"""Exactly once under fire: 20 simultaneous confirmations of one proposal, split over two app instances
that share one database, send one mutation to Railway; the 19 others are told who is running it."""

from __future__ import annotations

import asyncio

import httpx

from app.core.audit import verify
from app.sandbox import slack_payloads as payloads
from app.sandbox.slack import FakeSlack, SlackMessage, find_button
from tests.e2e.actions_support import (
    audit_entries,
    posted_proposal,
    proposal_id,
    wait_audited,
    wait_ephemeral,
    wait_status,
)
from tests.fixtures import OPERATOR, OPERATOR_2, Sandbox, running_pitcrew, signed

CLICKS = 20


def signed_click(slack: FakeSlack, message: SlackMessage, action_id: str, user: str) -> tuple[bytes, dict[str, str]]:
    """The request Slack sends for a click, signed: built here so that many can be sent at once, to any instance."""
    found = find_button(message, action_id)
    assert found is not None
    block_id, element = found
    body = payloads.block_action(
        {"type": "button", "action_id": action_id, "block_id": block_id, "text": element["text"],
         "value": element["value"]},
        user_id=user,
        channel_id=message.channel,
        message={"text": message.text, "blocks": message.blocks, "ts": message.ts},
        response_url=slack.response_url("unused"),
    )
    return body, signed(slack, body)


async def test_twenty_concurrent_clicks_on_two_instances_send_one_mutation(db_url, fake_slack, sandbox: Sandbox):
    catalog = sandbox.catalog()
    async with (
        running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as first,
        running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as second,
    ):
        await second.command("/rollback", "api", user="U0PROPOSER")
        message = await posted_proposal(fake_slack)
        users = [OPERATOR if i % 2 else OPERATOR_2 for i in range(CLICKS)]
        requests = [signed_click(fake_slack, message, "action.confirm", user) for user in users]
        instances: list[httpx.AsyncClient] = [first.http, second.http]

        answers = await asyncio.gather(
            *(instances[i % 2].post("/slack/events", content=body, headers=headers)
              for i, (body, headers) in enumerate(requests))
        )

        assert [a.status_code for a in answers] == [200] * CLICKS
        done = await wait_status(first, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted"
        told = [
            *await wait_ephemeral(fake_slack, OPERATOR, CLICKS // 2 - (done.confirmed_by == OPERATOR)),
            *await wait_ephemeral(fake_slack, OPERATOR_2, CLICKS // 2 - (done.confirmed_by == OPERATOR_2)),
        ]
        assert len(told) == CLICKS - 1
        assert all("already confirmed by" in m.text for m in told)
        assert all(f"<@{done.confirmed_by}>" in m.text for m in told)
        await wait_audited(first, "action.run")
        await wait_audited(first, "action.confirm", CLICKS)
        entries = await audit_entries(first)

    assert len(sandbox.mutations()) == 1
    assert sandbox.mutations()[0].operation == "DeploymentRollback"
    runs = [e for e in entries if e.action == "action.run"]
    confirms = [e for e in entries if e.action == "action.confirm"]
    assert len(runs) == 1 and len(confirms) == CLICKS
    assert verify(entries).ok  # two instances appended to one hash chain without forking it
