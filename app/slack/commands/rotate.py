"""`@pitcrew rotate NAME [service ...]`: start a secret rotation (app/flows/rotation.py) from a thread.

The asker alone hears of a refusal (no AUDIT_KEY, not an operator, an unknown name or service,
values that differ or cannot be read); the proposals themselves are posted in the thread by the
actions flow, the first now and each next one when the previous is verified. The rotation's closing
note (or where it stopped) reaches the thread through `SlackRotationNotifier`, set when the app starts.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from app.deps import Deps
from app.flows import incident_timeline, incident_views
from app.flows.action_views import Where
from app.flows.rotation import RotationError, start, use_rotation_notifier
from app.slack.client import web_client
from app.slack.context import deps_of
from app.slack.mention_verbs import Mention, Reply
from app.slack.notifier import SlackNotifier
from app.slack.operators import GroupCache, SlackGroupMembers
from app.slack.render.common import escape, message, section

USAGE = (
    "`@pitcrew rotate NAME` (every service sharing NAME's value) or `@pitcrew rotate NAME <service> ...` "
    "(exactly those): pitcrew makes the new value, no one sees it"
)
_cache = GroupCache()


class SlackRotationNotifier:
    """Posts a rotation's closing note in its thread."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def say(self, channel: str, thread_ts: str | None, text: str) -> None:
        if channel:
            shown = escape(text)
            answer = message(shown, [section(shown)])
            await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, **answer)


def register() -> None:
    use_rotation_notifier(lambda deps: SlackRotationNotifier(web_client(deps.settings)))


async def rotate_verb(mention: Mention, context: Any, reply: Reply) -> str:
    deps: Deps = deps_of(context)
    client = context.get("client")
    words = mention.args.split()

    async def private(text: str) -> None:
        answer = message(text, [section(text)])
        if client is not None:
            await client.chat_postEphemeral(channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts,
                                            **answer)
        else:
            await reply(**answer)

    if not words:
        await private(f"Usage: {USAGE}")
        return "usage"
    name, named = words[0], words[1:]
    incident = await incident_views.find_by_thread(deps, mention.channel, mention.reply_ts)
    try:
        started = await start(
            deps, name, named, by=mention.user, where=Where(mention.channel, mention.reply_ts),
            members=SlackGroupMembers(client, _cache, fresh=True), notifier=SlackNotifier(client),
            incident_id=incident.id if incident else None,
        )
    except RotationError as err:
        await private(f":warning: Nothing was rotated: {escape(str(err))}.\nUsage: {USAGE}")
        await deps.audit(actor=mention.user, action="rotate", target=name[:100], params={"services": named},
                         outcome=f"refused: {err}"[:300])
        return f"refused: {err}"[:200]
    await incident_timeline.note_proposal(deps, started.proposal)
    if started.not_compared:
        has = "has" if len(started.not_compared) == 1 else "have"
        await private(
            f":grey_question: {escape(', '.join(started.not_compared))} also {has} "
            f"{escape(name)}, but its value cannot be read (sealed or sensitive), so pitcrew could not tell whether "
            f"it is shared and left it out. If it is, rotate them together: "
            f"`@pitcrew rotate {escape(name)} {escape(' '.join((*started.services, *started.not_compared)))}`"
        )
    return f"rotation {started.id}: {', '.join(started.services)}"
