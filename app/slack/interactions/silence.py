"""The Silence button on an incident's root message (`incident.silence`) and the form behind it.

A click opens a form asking how long and why (Slack honours a click's trigger_id for 3 s, so the
form opens at once); the submission is checked for a responder again and calls the same flow as
`@pitcrew silence 2h [reason]`. Refusals and mistakes are told to the clicker only.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from app.core.chat_text import plain_text
from app.core.durations import BadDuration, parse_duration
from app.core.silences import REASON_MAX, SILENCE_LIMIT
from app.flows import silences
from app.slack.commands.incident import notifier_from
from app.slack.context import deps_of
from app.slack.interactions.incident import _act_on_form, _audit_click, _user, clicked_open_incident
from app.slack.render import incidents as render
from app.slack.render import quiet


def register(app: AsyncApp) -> None:
    app.action(quiet.SILENCE)(on_silence_click)
    app.view(quiet.SILENCE_VIEW)(on_silence_submit)


async def on_silence_click(ack: Any, body: dict[str, Any], respond: Any, context: Any, client: Any) -> None:
    await ack()
    view = await clicked_open_incident(body, respond, context, client, action=quiet.SILENCE, verb="silence")
    if view is None:
        return
    await client.views_open(trigger_id=body.get("trigger_id"), view=quiet.silence_form(view))
    await _audit_click(context, _user(body), quiet.SILENCE, view.id, "form opened")


async def on_silence_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any, client: Any) -> None:
    values = render.view_values(view)
    try:
        duration = parse_duration(values.get("duration", ""), limit=SILENCE_LIMIT, what="a silence")
    except BadDuration as err:
        await ack(response_action="errors", errors={"duration": str(err)[:150]})
        return
    await ack()
    deps = deps_of(context)
    reason = plain_text(values.get("reason", "").strip())[:REASON_MAX] or None

    async def act(incident_id: int) -> None:
        await silences.silence(deps, notifier_from(client, deps), incident_id, duration, reason, by=_user(body))

    await _act_on_form(context, client, body, view, "incident.silence", "silenced", act, verb="silence")
    deps.job_signal.notify()


__all__ = ["on_silence_click", "on_silence_submit", "register"]
