"""The Slack side of the actions flow's `ProposalNotifier`: post, edit and follow up proposals.

Proposals are posted with `chat.postMessage` (not a response URL) so that their `ts` is known,
stored, and editable with `chat.update` by whichever instance, click or job comes next.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.flows.actions import NotifyFailed, Proposal
from app.slack.render.actions import proposal_message, verification_alert


class SlackNotifier:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post_proposal(self, proposal: Proposal) -> str:
        if not proposal.channel:
            raise NotifyFailed("no channel to post in")
        try:
            response = await self.client.chat_postMessage(
                channel=proposal.channel, thread_ts=proposal.thread_ts, **proposal_message(proposal)
            )
        except SlackApiError as err:
            raise NotifyFailed(f"Slack answered {err.response.get('error') or err.response.status_code}") from None
        ts = response.get("ts")
        if not isinstance(ts, str):
            raise NotifyFailed("Slack did not say which message it posted")
        return ts

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
