"""The IncidentNotifier of the incident flows, for Slack: root messages, threads, the updates channel."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from app.catalog import Catalog
from app.core.incident_reports import StakeholderUpdate
from app.core.incidents import IncidentView
from app.flows.incident_first_note import FirstNote
from app.flows.incident_notifier import ThreadNote
from app.slack.render import incidents as render
from app.slack.render.common import escape
from app.slack.render.runbooks import first_note_message


class SlackIncidentNotifier:
    """Posts in `slack.alerts_channel` (root messages and threads) and `slack.updates_channel`."""

    def __init__(self, client: AsyncWebClient, catalog: Catalog, *, status_url: str | None = None) -> None:
        self.client = client
        self.alerts_channel = catalog.slack.alerts_channel
        self.updates_channel = catalog.slack.updates_channel
        self.status_url = status_url if catalog.status_page.enabled else None  # no link to a page that is not there
        self.depends_on = catalog.depends_on  # names the suspected cause of a correlated outage

    async def post_root(self, view: IncidentView, *, notify: Sequence[str], oncall: str = "") -> tuple[str, str]:
        """The root message, then the first responders mentioned under it; `oncall` says who of them
        is on call for which rotation (plain text, escaped by the renderer)."""
        posted = await self.client.chat_postMessage(
            channel=self.alerts_channel, unfurl_links=False, unfurl_media=False,
            **render.root_message(view, depends_on=self.depends_on),
        )
        channel, ts = str(posted["channel"]), str(posted["ts"])
        if notify:
            note = render.responders_note(view, notify, oncall)
            await self.client.chat_postMessage(channel=channel, thread_ts=ts, **note)
        return channel, ts

    async def update_root(self, view: IncidentView) -> None:
        if not view.channel or not view.thread_ts:
            return
        await self.client.chat_update(
            channel=view.channel, ts=view.thread_ts, **render.root_message(view, depends_on=self.depends_on)
        )

    async def post_thread(self, view: IncidentView, note: ThreadNote) -> None:
        if not view.channel or not view.thread_ts:
            return  # no root message yet: the note is on the timeline, the root will show the state
        await self.client.chat_postMessage(
            channel=view.channel, thread_ts=view.thread_ts, unfurl_links=False, **render.thread_note(view, note)
        )

    async def post_first_note(self, view: IncidentView, note: FirstNote) -> None:
        """Who is paged and the runbooks offered, as one message in the thread (app/flows/incident_first_note.py)."""
        if not view.channel or not view.thread_ts:
            return
        await self.client.chat_postMessage(
            channel=view.channel, thread_ts=view.thread_ts, unfurl_links=False, **first_note_message(view, note)
        )

    async def post_stakeholders(self, view: IncidentView, update: StakeholderUpdate) -> None:
        if not self.updates_channel:
            return
        await self.client.chat_postMessage(
            channel=self.updates_channel,
            unfurl_links=False,
            **render.stakeholder_message(update, status_url=self.status_url),
        )

    async def tell_privately(self, view: IncidentView, user: str, text: str) -> None:
        await self.client.chat_postEphemeral(
            channel=view.channel or self.alerts_channel,
            user=user,
            text=escape(text),
            **({"thread_ts": view.thread_ts} if view.thread_ts else {}),
        )


def status_url_of(public_url: str | None) -> str | None:
    return f"{public_url.rstrip('/')}/status" if public_url else None
