"""The Slack side of the actions flow's `ProposalNotifier`: post, edit and follow up proposals.

Proposals are posted with `chat.postMessage` (not a response URL) so that their `ts` is known,
stored, and editable with `chat.update` by whichever instance, click or job comes next.

A proposal asked for where the bot is not a member is never silently lost (app/slack/membership.py):
the bot joins a public channel and posts there; where it cannot (a private channel, a DM between
people), the proposal goes to the asker's DM with the bot, and the asker is told why
(app/slack/commands/rollback.py). Where even that fails, nothing is proposed and the reason says to
`/invite @pitcrew`.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.flows.actions import NotifyFailed, Posted, Proposal
from app.slack.membership import INVITE_HINT, is_user, join, not_a_member, post_to_dm, slack_error
from app.slack.render.actions import proposal_message, verification_alert


class SlackNotifier:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post_proposal(self, proposal: Proposal) -> Posted:
        if not proposal.channel:
            raise NotifyFailed("no channel to post in")
        message = proposal_message(proposal)
        try:
            return await self._post(proposal.channel, proposal.thread_ts, message)
        except SlackApiError as err:
            if not not_a_member(err):
                raise NotifyFailed(f"Slack answered {slack_error(err)}") from None
            refused = slack_error(err)
        if await join(self.client, proposal.channel):
            try:
                return await self._post(proposal.channel, proposal.thread_ts, message)
            except SlackApiError as err:
                refused = slack_error(err)
        if is_user(proposal.proposed_by):
            try:
                channel, ts = await post_to_dm(self.client, proposal.proposed_by, **message)
            except SlackApiError:
                pass
            else:
                return Posted(channel, ts)
        raise NotifyFailed(f"Slack answered {refused}: pitcrew is not in this channel; {INVITE_HINT}")

    async def _post(self, channel: str, thread_ts: str | None, message: dict[str, Any]) -> Posted:
        response = await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)
        ts = response.get("ts")
        if not isinstance(ts, str):
            raise NotifyFailed("Slack did not say which message it posted")
        return Posted(str(response.get("channel") or channel), ts, thread_ts)

    async def update_proposal(self, proposal: Proposal) -> None:
        if not proposal.channel or not proposal.message_ts:
            return
        await self.client.chat_update(channel=proposal.channel, ts=proposal.message_ts, **proposal_message(proposal))

    async def post_in_thread(self, proposal: Proposal, text: str) -> None:
        if not proposal.channel:
            return
        thread = proposal.thread_ts or proposal.message_ts
        alert = verification_alert(proposal, text)
        await self.client.chat_postMessage(channel=proposal.channel, thread_ts=thread, **alert)
