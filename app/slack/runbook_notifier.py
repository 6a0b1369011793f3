"""The Slack side of the runbook flows' `RunbookNotifier`: the offer, one message per step, the end.

Steps are posted with `chat.postMessage` in the incident's thread so that their `ts` is known and
stored, and every later edit (by whichever instance, click or proposal outcome comes next) is a
`chat.update` of that message.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from app.charts.metrics_chart import chart_png
from app.core.metrics import MetricsChart
from app.deps import Deps
from app.flows.runbook_views import Offer, RunEnded, StepCard
from app.slack.client import web_client
from app.slack.incident_notifier import SlackIncidentNotifier, status_url_of
from app.slack.notifier import SlackNotifier
from app.slack.render.runbooks import ended_message, offer_message, step_message


class SlackRunbookNotifier:
    def __init__(self, client: AsyncWebClient, deps: Deps) -> None:
        self.client = client
        self.proposals = SlackNotifier(client)
        self.incidents = SlackIncidentNotifier(
            client, deps.catalog, status_url=status_url_of(deps.settings.PUBLIC_URL)
        )

    async def post_offer(self, offer: Offer) -> str:
        posted = await self.client.chat_postMessage(
            channel=offer.channel, thread_ts=offer.thread_ts, unfurl_links=False, **offer_message(offer)
        )
        return str(posted["ts"])

    async def post_step(self, card: StepCard) -> str:
        posted = await self.client.chat_postMessage(
            channel=card.channel, thread_ts=card.thread_ts, unfurl_links=False, unfurl_media=False,
            **step_message(card),
        )
        return str(posted["ts"])

    async def update_step(self, card: StepCard, ts: str) -> None:
        await self.client.chat_update(channel=card.channel, ts=ts, **step_message(card))

    async def post_ended(self, ended: RunEnded) -> None:
        await self.client.chat_postMessage(channel=ended.channel, thread_ts=ended.thread_ts, **ended_message(ended))

    async def post_chart(self, channel: str, thread_ts: str, chart: MetricsChart) -> None:
        """Drawn in a thread (app/charts/metrics_chart.py), uploaded as the period report's chart is
        (app/slack/period_report.py): files.getUploadURLExternal, the bytes to the URL it gives,
        files.completeUploadExternal into the thread, which slack-sdk's `files_upload_v2` does."""
        png = await chart_png(chart)
        await self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, content=png, filename=chart.filename, title=chart.title,
            alt_txt=chart.alt_text,
        )


def runbook_notifier(deps: Deps) -> SlackRunbookNotifier:
    """For work outside a click (a proposal's outcome, an alert's job): a client built from the settings."""
    return SlackRunbookNotifier(web_client(deps.settings), deps)
