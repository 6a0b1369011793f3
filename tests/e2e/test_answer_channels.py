"""Where pitcrew answers in public: the alerts channel, incident threads and `slack.channels`.
Anywhere else (a direct message, a Slack Connect channel shared with a customer) `/logs`, `/health`,
`/rollback list` and the same as mentions answer only the person who asked, and no log file is
attached to the channel.
"""

from __future__ import annotations

from typing import Any

from app.catalog import Catalog
from app.sandbox.slack import FakeSlack, SlackCall
from tests.fixtures import ALERTS, OPERATOR, RunningPitcrew, Sandbox, running_pitcrew

SHARED = "C0SHARED"  # a Slack Connect channel, say
OPS = "C0OPS"  # listed in slack.channels
DM = "D0ANA"


def with_channels(catalog: Catalog, channels: list[str]) -> Catalog:
    slack = catalog.slack.model_copy(update={"channels": channels})
    return catalog.model_copy(update={"slack": slack})


async def answer(pitcrew: RunningPitcrew, command: str, text: str, channel: str) -> SlackCall:
    slack: FakeSlack = pitcrew.slack
    before = len(slack.calls_to("response_url"))
    response = await pitcrew.command(command, text, channel=channel)
    assert response.status_code == 200
    calls = await slack.wait_for(lambda c: c.method == "response_url", count=before + 1, timeout_s=20)
    return calls[before]


def kinds(calls: list[SlackCall]) -> list[Any]:
    return [c.args.get("response_type") for c in calls]


async def test_logs_health_and_deployments_answer_privately_outside_the_team_channels(
    db_url, fake_slack, sandbox: Sandbox
):
    catalog = with_channels(sandbox.catalog(), [OPS])
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as pitcrew:
        for command, text in (("/health", "site"), ("/rollback", "api list"), ("/logs", "api --since 1h")):
            private = [await answer(pitcrew, command, text, channel) for channel in (SHARED, DM)]
            public = [await answer(pitcrew, command, text, channel) for channel in (ALERTS, OPS)]
            assert kinds(private) == ["ephemeral", "ephemeral"], (command, [c.args.get("text") for c in private])
            assert kinds(public) == ["in_channel", "in_channel"], (command, [c.args.get("text") for c in public])
        assert fake_slack.calls_to("files.completeUploadExternal") == []
        assert not [m for m in fake_slack.messages if m.channel in (SHARED, DM) and m.ephemeral_to is None]

        # the same as a mention in the shared channel: told to the asker alone
        before = len(fake_slack.calls_to("chat.postEphemeral"))
        await fake_slack.mention("health site", user=OPERATOR, channel=SHARED)
        [told] = (await fake_slack.wait_for(lambda c: c.method == "chat.postEphemeral", count=before + 1))[before:]
        assert told.args["user"] == OPERATOR and told.args["channel"] == SHARED and "site" in told.args["text"]
        assert not [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == SHARED]

        await fake_slack.mention("health site", user=OPERATOR, channel=OPS)
        await fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == OPS)


async def test_without_slack_channels_only_the_alerts_channel_is_public(db_url, fake_slack, sandbox: Sandbox):
    async with running_pitcrew(db_url, sandbox.catalog(), fake_slack, **sandbox.settings()) as pitcrew:
        assert (await answer(pitcrew, "/health", "site", OPS)).args["response_type"] == "ephemeral"
        assert (await answer(pitcrew, "/health", "site", ALERTS)).args["response_type"] == "in_channel"
