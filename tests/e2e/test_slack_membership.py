"""Where the bot is not a member, as Slack really answers it: nothing asked for is silently lost.

The fake Slack refuses what Slack refuses a bot never invited (`not_in_channel` for a file in a public
channel, `channel_not_found` in a private one) and lets it `conversations.join` a public channel; these
tests check that, then that a long `/logs` and a `/rollback` still reach the asker, who is told where.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox.slack import BOT_SCOPES, FakeSlack, find_button
from tests.e2e.actions_support import audit_entries, wait_status
from tests.e2e.test_logs_slack import running
from tests.fixtures import ALERTS, OPERATOR, Sandbox, sandboxed_pitcrew
from tests.logs_support import add_railway_lines

REPO = Path(__file__).resolve().parents[2]
PRIVATE = "G0PRIVATE1"


def test_the_fake_slack_has_the_scopes_the_manifest_asks_for():
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    assert "channels:join" in BOT_SCOPES


async def _error(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_the_fake_slack_refuses_a_bot_outside_a_channel_as_slack_does(fake_slack: FakeSlack):
    client = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    fake_slack.channel("C0PUBLIC01")
    fake_slack.channel(PRIVATE, kind="private")
    fake_slack.channel("D0SOMEONE1", kind="im")
    posted = await client.chat_postMessage(channel="C0PUBLIC01", text="hi")  # chat:write.public
    assert posted["ok"]
    assert await _error(client.files_upload_v2(channel="C0PUBLIC01", content="x", filename="x.txt")) == "not_in_channel"
    assert await _error(client.chat_postMessage(channel=PRIVATE, text="hi")) == "channel_not_found"
    assert await _error(client.conversations_join(channel=PRIVATE)) == "channel_not_found"
    assert await _error(client.conversations_join(channel="D0SOMEONE1")) == "method_not_supported_for_channel_type"
    joined = await client.conversations_join(channel="C0PUBLIC01")
    assert joined["channel"]["is_member"] and "warning" not in joined.data
    assert (await client.files_upload_v2(channel="C0PUBLIC01", content="x", filename="x.txt"))["ok"]
    assert (await client.conversations_join(channel="C0PUBLIC01"))["warning"] == "already_in_channel"
    dm = await client.chat_postMessage(channel=OPERATOR, text="hi")  # a user id: the bot's DM with them
    assert dm["channel"] == fake_slack.dm_with(OPERATOR)

    fake_slack.scopes -= {"chat:write.public", "channels:join"}
    fake_slack.channel("C0PUBLIC02")
    assert await _error(client.chat_postMessage(channel="C0PUBLIC02", text="hi")) == "not_in_channel"
    assert await _error(client.conversations_join(channel="C0PUBLIC02")) == "missing_scope"


# ---- a long /logs ---------------------------------------------------------------------------------


async def _long_logs(logs, fake_slack: FakeSlack) -> None:  # type: ignore[no-untyped-def]
    add_railway_lines(logs.providers.railway.world, 400, datetime.now(UTC))
    await logs.slash("api --lines 500 --grep health")
    await fake_slack.wait_for(lambda c: c.method == "response_url", count=2)  # the lines, then where the file is


def _told(fake_slack: FakeSlack) -> str:
    return "\n".join(m.text for m in fake_slack.messages if m.ephemeral_to == OPERATOR)


async def test_a_long_logs_in_a_public_channel_the_bot_is_not_in_joins_it_and_attaches_the_file(db_url, fake_slack):
    fake_slack.channel(ALERTS)  # public, never invited
    async with running(db_url, fake_slack) as logs:
        await _long_logs(logs, fake_slack)
        refused, completed = fake_slack.calls_to("files.completeUploadExternal")  # not_in_channel, then after joining
        assert [c.args["channel"] for c in fake_slack.calls_to("conversations.join")] == [ALERTS]
        assert refused.args["channel_id"] == completed.args["channel_id"] == ALERTS
        assert [m.channel for m in fake_slack.messages if m.blocks and m.blocks[0].get("type") == "file"] == [ALERTS]
        assert fake_slack.channels[ALERTS].bot_member
        assert "pitcrew joined this channel to attach" in _told(fake_slack)


@pytest.mark.parametrize("why", ["private channel", "joining not allowed"])
async def test_a_long_logs_where_the_bot_cannot_join_sends_the_file_to_the_askers_dm(db_url, fake_slack, why):
    if why == "private channel":
        fake_slack.channel(ALERTS, kind="private")
    else:
        fake_slack.channel(ALERTS)
        fake_slack.scopes.discard("channels:join")
    async with running(db_url, fake_slack) as logs:
        await _long_logs(logs, fake_slack)
        completed = fake_slack.calls_to("files.completeUploadExternal")
        dm = fake_slack.dm_with(OPERATOR)
        assert completed[-1].args["channel_id"] == dm
        assert any(m.channel == dm and "not a member there" in m.text for m in fake_slack.messages)
        assert "is in your direct messages with @pitcrew" in _told(fake_slack)
        assert "`/invite @pitcrew` here" in _told(fake_slack)


async def test_a_long_logs_where_nothing_works_says_to_invite_the_bot(db_url, fake_slack):
    fake_slack.channel(ALERTS, kind="private")
    fake_slack.channel(fake_slack.dm_with(OPERATOR), kind="im", bot_member=False)  # the app's DM is closed to it
    async with running(db_url, fake_slack) as logs:
        await _long_logs(logs, fake_slack)
        said = [c.args for c in fake_slack.calls_to("response_url")][-1]
        assert "Could not attach" in said["text"] and "/invite @pitcrew" in said["text"]


# ---- /rollback ------------------------------------------------------------------------------------


async def test_a_rollback_in_a_private_channel_the_bot_is_not_in_is_proposed_in_the_askers_dm(
    db_url, fake_slack, sandbox: Sandbox
):
    fake_slack.channel(PRIVATE, kind="private")
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api", channel=PRIVATE)
        dm = fake_slack.dm_with(OPERATOR)
        await fake_slack.wait_for(lambda c: c.method == "response_url")
        [proposal] = [m for m in fake_slack.messages if find_button(m, "action.confirm")]
        assert proposal.channel == dm and proposal.thread_ts is None
        assert "is in your direct messages with @pitcrew" in _told(fake_slack)
        assert "`/invite @pitcrew` here" in _told(fake_slack)

        await fake_slack.click(proposal, "action.confirm", user=OPERATOR)  # confirmed in the DM, edited there
        pid = str(find_button(proposal, "action.confirm")[1]["value"])  # type: ignore[index]
        await wait_status(pitcrew, pid, "accepted", "succeeded", "verified", "running")
        await fake_slack.wait_for(lambda c: c.method == "chat.update" and c.args.get("channel") == dm)
        moved = [e for e in await audit_entries(pitcrew) if e.action == "action.posted"]
        assert len(moved) == 1 and moved[0].outcome == f"posted in {dm}: could not post in {PRIVATE}"


async def test_a_rollback_in_a_public_channel_without_chat_write_public_joins_it(db_url, fake_slack, sandbox: Sandbox):
    fake_slack.channel("C0PUBLIC01")
    fake_slack.scopes.discard("chat:write.public")
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api", channel="C0PUBLIC01")
        await fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and "action.confirm" in str(c.args), count=2)
        [proposal] = [m for m in fake_slack.messages if find_button(m, "action.confirm")]
        assert proposal.channel == "C0PUBLIC01"
        assert [c.args["channel"] for c in fake_slack.calls_to("conversations.join")] == ["C0PUBLIC01"]
        assert "direct messages" not in _told(fake_slack)


async def test_a_rollback_that_cannot_be_posted_anywhere_says_to_invite_the_bot(db_url, fake_slack, sandbox: Sandbox):
    fake_slack.channel(PRIVATE, kind="private")
    fake_slack.channel(fake_slack.dm_with(OPERATOR), kind="im", bot_member=False)
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api", channel=PRIVATE)
        await fake_slack.wait_for(lambda c: c.method == "response_url")
        told = _told(fake_slack)
        assert "Nothing was proposed" in told and "/invite @pitcrew" in told and "channel_not_found" in told
        assert sandbox.mutations() == []
