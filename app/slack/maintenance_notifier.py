"""The MaintenanceNotifier of app/flows/maintenance.py, for Slack: the window's message in the updates channel.

A team without an updates channel gets the window's messages in the alerts channel instead: the
people who would otherwise wonder why alerts open nothing are there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from slack_sdk.web.async_client import AsyncWebClient

from app.catalog import Catalog
from app.core.maintenance import WindowView
from app.slack.render import quiet as render


class SlackMaintenanceNotifier:
    def __init__(self, client: AsyncWebClient, catalog: Catalog, clock: Callable[[], datetime]) -> None:
        self.client = client
        self.channel = catalog.slack.updates_channel or catalog.slack.alerts_channel
        self.clock = clock

    async def post_window(self, window: WindowView) -> tuple[str, str] | None:
        posted = await self.client.chat_postMessage(
            channel=self.channel, unfurl_links=False, **render.window_message(window, now=self.clock())
        )
        return str(posted["channel"]), str(posted["ts"])

    async def update_window(self, window: WindowView) -> None:
        if window.channel and window.message_ts:
            await self.client.chat_update(
                channel=window.channel, ts=window.message_ts, **render.window_message(window, now=self.clock())
            )

    async def post_window_end(self, window: WindowView, handed_over: Sequence[str]) -> None:
        await self.update_window(window)
        await self.client.chat_postMessage(
            channel=window.channel or self.channel, unfurl_links=False, **render.window_end(window, handed_over)
        )
