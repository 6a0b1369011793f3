"""`@pitcrew scale <service> memory 2GB|cpu 2|replicas 3` and `@pitcrew backup <service>`: parse, propose, answer.

Both are destructive (a scale raises the bill and redeploys; a backup is a Railway workflow), so each
only proposes: the proposal is posted in the thread through the actions flow, with its confirmation,
four eyes where configured, the guard and the audit trail (app/flows/actions.py). Words that do not
parse (`2 gigs`), an unknown service, a service without a volume: told to the asker alone, with the
usage, and nothing is proposed.
"""

from __future__ import annotations

from typing import Any

from app.core.capacity import BACKUP_USAGE, SCALE_USAGE, ScaleUsage, parse_backup_args, parse_scale_args
from app.flows.actions import ActionError, Asked, Where, propose_backup, propose_scale
from app.flows.incident_views import find_by_thread
from app.slack.context import deps_of
from app.slack.mention_verbs import Mention, Reply
from app.slack.notifier import SlackNotifier
from app.slack.render.actions import action_error
from app.slack.render.common import escape, message, section


def _usage(problem: str, usage: str) -> dict[str, Any]:
    text = f":warning: {escape(problem)}\n{usage}"
    return message(text, [section(text)])


async def scale_verb(mention: Mention, context: Any, reply: Reply) -> str:
    deps = deps_of(context)
    client = context.client
    try:
        asked = parse_scale_args(mention.args)
    except ScaleUsage as err:
        await _private(client, mention, _usage(str(err), SCALE_USAGE))
        return f"usage: {err}"
    incident = await find_by_thread(deps, mention.channel, mention.thread_ts)
    try:
        proposal = await propose_scale(
            deps, asked.service, asked.resource, asked.value,
            asked=Asked(mention.user, Where(mention.channel, mention.thread_ts), SlackNotifier(client),
                        incident.id if incident is not None else None),
        )
    except ActionError as err:
        await _private(client, mention, action_error(err.reason))
        return f"not proposed: {err.reason}"
    return f"proposed {proposal.id}"


async def backup_verb(mention: Mention, context: Any, reply: Reply) -> str:
    deps = deps_of(context)
    client = context.client
    try:
        service = parse_backup_args(mention.args)
    except ScaleUsage as err:
        await _private(client, mention, _usage(str(err), BACKUP_USAGE))
        return f"usage: {err}"
    incident = await find_by_thread(deps, mention.channel, mention.thread_ts)
    try:
        proposal = await propose_backup(
            deps, service,
            asked=Asked(mention.user, Where(mention.channel, mention.thread_ts), SlackNotifier(client),
                        incident.id if incident is not None else None),
        )
    except ActionError as err:
        await _private(client, mention, action_error(err.reason))
        return f"not proposed: {err.reason}"
    return f"proposed {proposal.id}"


async def _private(client: Any, mention: Mention, answer: dict[str, Any]) -> None:
    await client.chat_postEphemeral(channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **answer)
