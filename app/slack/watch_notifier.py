"""The WatchNotifier of app/flows/deploy_watch.py, for Slack: the watch's message in the alerts channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_sdk.web.async_client import AsyncWebClient

from app.catalog import Catalog
from app.core.deploy_watch import WatchView
from app.slack.render import deploy_watch as render


class SlackWatchNotifier:
    def __init__(self, client: AsyncWebClient, catalog: Catalog, clock: Callable[[], datetime]) -> None:
        self.client = client
        self.channel = catalog.slack.alerts_channel
        self.clock = clock

    async def post_watch(self, view: WatchView) -> tuple[str, str] | None:
        posted = await self.client.chat_postMessage(
            channel=self.channel, unfurl_links=False, **render.watch_message(view, now=self.clock())
        )
        return str(posted["channel"]), str(posted["ts"])

    async def update_watch(self, view: WatchView) -> None:
        if view.channel and view.message_ts:
            await self.client.chat_update(
                channel=view.channel, ts=view.message_ts, **render.watch_message(view, now=self.clock())
            )
