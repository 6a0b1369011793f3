"""`@pitcrew scale <service> memory 2GB|cpu 2|replicas 3` and `@pitcrew backup <service>`: parse, propose, answer.

Both are destructive (a scale raises the bill and redeploys; a backup is a Railway workflow), so each
only proposes: the proposal is posted in the thread through the actions flow, with its confirmation,
four eyes where configured, the guard and the audit trail (app/flows/actions.py). Words that do not
parse (`2 gigs`), an unknown service, a service without a volume: told to the asker alone, with the
usage, and nothing is proposed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.core.capacity import (
    BACKUP_USAGE,
    SCALE_USAGE,
    ScaleRequest,
    ScaleUsage,
    parse_backup_args,
    parse_scale_args,
)
from app.deps import Deps
from app.flows.actions import ActionError, Asked, Proposal, Where, propose_backup, propose_scale
from app.flows.incident_views import find_by_thread
from app.slack.context import deps_of
from app.slack.mention_verbs import Mention, Reply
from app.slack.notifier import SlackNotifier
from app.slack.render.actions import action_error
from app.slack.render.common import escape, message, section

T = TypeVar("T")


def _usage(problem: str, usage: str) -> dict[str, Any]:
    text = f":warning: {escape(problem)}\n{usage}"
    return message(text, [section(text)])


async def scale_verb(mention: Mention, context: Any, reply: Reply) -> str:
    async def propose(deps: Deps, wanted: ScaleRequest, asked: Asked) -> Proposal:
        return await propose_scale(deps, wanted.service, wanted.resource, wanted.value, asked=asked)

    return await _parse_and_propose(mention, context, parse_scale_args, SCALE_USAGE, propose)


async def backup_verb(mention: Mention, context: Any, reply: Reply) -> str:
    async def propose(deps: Deps, service: str, asked: Asked) -> Proposal:
        return await propose_backup(deps, service, asked=asked)

    return await _parse_and_propose(mention, context, parse_backup_args, BACKUP_USAGE, propose)


async def _parse_and_propose(
    mention: Mention,
    context: Any,
    parse: Callable[[str], T],
    usage: str,
    propose: Callable[[Deps, T, Asked], Awaitable[Proposal]],
) -> str:
    """What scale and backup share: the mention's words parsed (a ScaleUsage is told to the asker
    alone, with `usage`), then proposed in the thread for the incident it belongs to (an ActionError
    is told privately too). Returns the outcome the mention's audit entry records."""
    deps = deps_of(context)
    client = context.client
    try:
        wanted = parse(mention.args)
    except ScaleUsage as err:
        await _private(client, mention, _usage(str(err), usage))
        return f"usage: {err}"
    incident = await find_by_thread(deps, mention.channel, mention.thread_ts)
    where = Where(mention.channel, mention.thread_ts)
    asked = Asked(mention.user, where, SlackNotifier(client), incident.id if incident is not None else None)
    try:
        proposal = await propose(deps, wanted, asked)
    except ActionError as err:
        await _private(client, mention, action_error(err.reason))
        return f"not proposed: {err.reason}"
    return f"proposed {proposal.id}"


async def _private(client: Any, mention: Mention, answer: dict[str, Any]) -> None:
    await client.chat_postEphemeral(channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **answer)
