"""`/health [service ...]`: parse, call the health flow, post the card: in the channel where pitcrew
answers in public (slack.channels), privately anywhere else."""

from __future__ import annotations

from typing import Any

from app.core.health_args import HealthUsage, parse_health_args
from app.flows.health import check_health
from app.flows.responders import answers_publicly
from app.slack.context import audit_command, deps_of
from app.slack.deferral import deferred
from app.slack.render.actions import health_actions
from app.slack.render.health import health_card, health_usage
from app.slack.replays import rerunnable


@rerunnable  # reads and answers only: run again after Slack was away
@deferred()
async def on_health(ack: Any, command: dict[str, Any], respond: Any, context: Any) -> None:
    await ack()
    deps = deps_of(context)
    try:
        names = parse_health_args(command.get("text", ""), deps.catalog.services)
    except HealthUsage as err:
        await respond(**health_usage(err), response_type="ephemeral")
        await audit_command(context, command, "usage")
        return
    report = await check_health(deps, names)
    where = "in_channel" if await answers_publicly(deps, command.get("channel_id")) else "ephemeral"
    await respond(**health_card(report, actions_for=health_actions), response_type=where)
    await audit_command(context, command, f"{report.overall}: {', '.join(report.failing) or 'all ok'}")
