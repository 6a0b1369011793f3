"""What the end-to-end tests of destructive actions read and wait for: a proposal off the fake Slack,
its status, an edit, a private answer, the audit trail.

Their start-up (the sandbox Railway and Vercel over HTTP, the clock, the running app) is in
`tests/fixtures.py`: the `sandbox` fixture, `sandboxed_pitcrew()`.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from app.flows.actions import Proposal, get_proposal
from app.sandbox.slack import FakeSlack, SlackMessage, find_button
from app.store import audit as audit_store
from tests.fixtures import ALERTS, RunningPitcrew

_POSTED: dict[tuple[str, str], str] = {}  # (channel, ts) -> proposal id, read while the buttons were there


async def posted_proposal(slack: FakeSlack, *, count: int = 1, channel: str = ALERTS) -> SlackMessage:
    """The proposal pitcrew just posted: once `count` proposals were posted, the newest still open one."""
    await slack.wait_for(
        lambda c: c.method == "chat.postMessage"
        and c.args.get("channel") == channel
        and "action.confirm" in str(c.args.get("blocks")),
        count=count,
    )
    message = next(m for m in reversed(slack.messages) if m.channel == channel and find_button(m, "action.confirm"))
    _POSTED[(message.channel, message.ts)] = proposal_id(message)
    return message


def snapshot(message: SlackMessage) -> SlackMessage:
    """The message as it is now: its buttons stay pressable after pitcrew edits the original (a stale client)."""
    return copy.deepcopy(message)


def proposal_id(message: SlackMessage) -> str:
    """The id its confirm button carries (or carried, before an edit took the button away)."""
    found = find_button(message, "action.confirm")
    if found is None:
        return _POSTED[(message.channel, message.ts)]
    return str(found[1]["value"])


async def wait_status(pitcrew: RunningPitcrew, pid: str, *statuses: str, timeout_s: float = 10) -> Proposal:
    """The proposal once it reached one of `statuses` (the click's work continues after Slack's ack)."""
    async with asyncio.timeout(timeout_s):
        while True:
            found = await get_proposal(pitcrew.deps, pid)
            if found is not None and found.status in statuses:
                return found
            await asyncio.sleep(0.01)


async def wait_edited(slack: FakeSlack, message: SlackMessage, fragment: str) -> SlackMessage:
    """`message` once pitcrew edited it to say `fragment` (the edit follows the database change)."""
    await slack.wait_for(
        lambda c: c.method == "chat.update" and c.args.get("ts") == message.ts and fragment in c.args.get("text", "")
    )
    return message


def ephemerals_to(slack: FakeSlack, user: str) -> list[SlackMessage]:
    return [m for m in slack.messages if m.ephemeral_to == user]


async def wait_ephemeral(slack: FakeSlack, user: str, count: int = 1) -> list[SlackMessage]:
    await slack.wait_for(
        lambda c: c.method == "chat.postEphemeral" and c.args.get("user") == user, count=count
    )
    return ephemerals_to(slack, user)


async def audit_entries(pitcrew: RunningPitcrew) -> list[Any]:
    return [e async for e in audit_store.entries(pitcrew.deps.sessions)]


async def wait_audited(pitcrew: RunningPitcrew, action: str, count: int = 1) -> list[Any]:
    """The audit entries of `action`, once there are `count` of them (auditing follows the answer to Slack)."""
    async with asyncio.timeout(10):
        while True:
            found = [e for e in await audit_entries(pitcrew) if e.action == action]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
