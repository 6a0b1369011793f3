"""`@pitcrew <verb> ...`: the slash commands' verbs where Slack runs no slash commands (threads)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from app.core.health_args import HealthUsage, parse_health_args
from app.flows.health import check_health
from app.flows.responders import answers_publicly
from app.slack.commands.capacity import backup_verb, scale_verb
from app.slack.commands.incident import INCIDENT_VERBS
from app.slack.commands.logs import logs_verb
from app.slack.commands.variables import vars_verb
from app.slack.context import deps_of
from app.slack.deferral import deferred
from app.slack.interactions.runbooks import runbook_verb
from app.slack.interactions.variables import set_verb, unset_verb
from app.slack.mention_verbs import Mention, Reply, Verb
from app.slack.render.actions import health_actions
from app.slack.render.common import escape
from app.slack.render.health import health_card, health_usage

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


async def _health(mention: Mention, context: Any, reply: Reply) -> str:
    deps = deps_of(context)
    try:
        names = parse_health_args(mention.args, deps.catalog.services)
    except HealthUsage as err:
        await reply(**health_usage(err))
        return "usage"
    report = await check_health(deps, names)
    await reply(**health_card(report, actions_for=health_actions))
    return f"{report.overall}"


VERBS: dict[str, Verb] = {"health": _health}
VERBS.update(INCIDENT_VERBS)  # ack, update, sev, state, assign, resolve, keep, timeline, postmortem
VERBS["logs"] = logs_verb
VERBS["runbook"] = runbook_verb  # @pitcrew runbook <name>: start it in this incident thread
VERBS["set"] = set_verb  # @pitcrew set <service> NAME: a form for the value (never typed in the channel)
VERBS["unset"] = unset_verb  # @pitcrew unset <service> NAME
VERBS["vars"] = vars_verb  # @pitcrew vars <service> / vars compare <a> <b>: masked, responders only
VERBS["scale"] = scale_verb  # @pitcrew scale <service> memory 2GB|cpu 2|replicas 3: a proposal
VERBS["backup"] = backup_verb  # @pitcrew backup <service>: a proposal to back up its Railway volume


def help_text() -> str:
    verbs = ", ".join(f"`{verb}`" for verb in sorted(VERBS))
    return f"I understand: {verbs}. For example `@pitcrew health api`."


def register(app: AsyncApp) -> None:
    @app.event("app_mention")
    @deferred()
    async def on_mention(event: dict[str, Any], context: Any, client: Any) -> None:
        text = _MENTION.sub("", event.get("text", "")).strip()
        verb, _, rest = text.partition(" ")
        mention = Mention(
            user=event.get("user", "unknown"),
            channel=event["channel"],
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            args=rest.strip(),
        )

        if await answers_publicly(deps_of(context), mention.channel, mention.thread_ts):

            async def reply(**message: Any) -> Any:
                return await client.chat_postMessage(channel=mention.channel, thread_ts=mention.reply_ts, **message)

        else:  # a direct channel of the team's or a shared one: logs and health are for the asker's eyes

            async def reply(**message: Any) -> Any:
                return await client.chat_postEphemeral(
                    channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **message
                )

        handler = VERBS.get(verb.lower())
        if handler is None:
            said = f"I don't know `{escape(verb)}`. " if verb and verb.lower() != "help" else ""
            await reply(text=said + help_text())
            outcome = "help" if not said else "unknown verb"
        else:
            outcome = await handler(mention, context, reply)
        await deps_of(context).audit(
            actor=mention.user,
            action=f"mention {verb.lower() or 'help'}",
            target=mention.channel,
            params={"text": text, "thread_ts": mention.thread_ts},
            outcome=outcome,
        )
