"""`/rollback <service> [deployment-id | list]`: parse, call one flow, answer. Nothing else.

A proposal is posted in the channel as its own message (the flow does it through the notifier,
so the message can be edited later); where the bot is not a member and cannot join, it goes to the
asker's DM with the bot, and the asker is told so privately; `list` answers in the channel where
pitcrew answers in public (slack.channels), privately elsewhere; usage and every reason why nothing
was proposed are answered privately.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from app.core.rollback_args import RollbackArgs, RollbackUsage
from app.flows.actions import ActionError, Asked, Where, list_deployments, propose_rollback
from app.flows.responders import answers_publicly
from app.slack.context import audit_command, deps_of
from app.slack.deferral import deferred
from app.slack.notifier import SlackNotifier
from app.slack.render.actions import action_error, deployment_list, proposal_moved, rollback_usage


@deferred()
async def on_rollback(ack: Any, command: dict[str, Any], respond: Any, client: AsyncWebClient, context: Any) -> None:
    await ack()
    deps = deps_of(context)
    try:
        args = RollbackArgs.parse(command.get("text", ""))
    except RollbackUsage as err:
        await respond(**rollback_usage(err, deps.catalog.services), response_type="ephemeral")
        await audit_command(context, command, "usage")
        return
    if args.list_only:
        try:
            listing = await list_deployments(deps, args.service)
        except ActionError as err:
            await respond(**action_error(err.reason), response_type="ephemeral")
            await audit_command(context, command, f"not listed: {err.reason}")
            return
        where = "in_channel" if await answers_publicly(deps, command.get("channel_id")) else "ephemeral"
        await respond(**deployment_list(listing), response_type=where)
        await audit_command(context, command, f"listed {len(listing.deployments)} deployments")
        return
    try:
        asked = Asked(command.get("user_id", "unknown"), Where(command.get("channel_id", "")), SlackNotifier(client))
        proposal = await propose_rollback(deps, args.service, args.target, asked=asked)
    except ActionError as err:
        await respond(**action_error(err.reason), response_type="ephemeral")
        await audit_command(context, command, f"not proposed: {err.reason}")
        return
    if proposal.channel != command.get("channel_id"):
        await respond(**proposal_moved(proposal), response_type="ephemeral")
    await audit_command(context, command, f"proposed {proposal.id}")
