"""Where the bot may post: joining a public channel it was never invited to, else the asker's DM.

Slack refuses a bot what it refuses any member who is not in a conversation: `not_in_channel` in a
public channel (a file upload, or a message without the `chat:write.public` scope) and
`channel_not_found` in a private channel, DM or group DM, which a bot outside it cannot even see
(https://docs.slack.dev/reference/methods/chat.postMessage#errors). A public channel can be joined
with `conversations.join` (scope `channels:join`); a private one only by someone typing
`/invite @pitcrew` there. What cannot go where it was asked for goes to the asker's DM with the bot,
which a user id as `channel` of `chat.postMessage` opens (its answer names the `D...` channel).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("pitcrew.slack")

NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})
INVITE_HINT = "`/invite @pitcrew` to this channel and ask again"


def not_a_member(err: BaseException) -> bool:
    """Slack said the bot is not in the conversation (or cannot see it)."""
    return isinstance(err, SlackApiError) and err.response.get("error") in NOT_A_MEMBER


def slack_error(err: SlackApiError) -> str:
    return str(err.response.get("error") or err.response.status_code)


async def join(client: AsyncWebClient, channel: str) -> bool:
    """Join `channel` if Slack lets the bot (a public channel, `channels:join` granted); why not is logged."""
    try:
        await client.conversations_join(channel=channel)
    except SlackApiError as err:
        log.info("could not join %s: Slack said %s", channel, slack_error(err))
        return False
    log.info("joined %s to post there", channel)
    return True


def is_user(user: str | None) -> bool:
    """A Slack user id (`U...`, or `W...` on Enterprise Grid) that a DM can be opened with."""
    return bool(user) and user[:1] in ("U", "W") and user[1:].isalnum()  # type: ignore[index]


async def post_to_dm(client: AsyncWebClient, user: str, **message: Any) -> tuple[str, str]:
    """Post `message` in the bot's DM with `user`; (the DM's channel id, the message's ts)."""
    response = await client.chat_postMessage(channel=user, **message)
    return str(response["channel"]), str(response["ts"])
