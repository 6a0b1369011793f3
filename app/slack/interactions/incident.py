"""The incident root message's buttons (`incident.ack`, `incident.update`, `incident.resolve`) and
the forms behind `/incident declare` (no title), Post update and Resolve.

A click acks at once; Post update and Resolve open a form (an update needs its text, a
resolution its summary), and the form's submission calls the same flow as the slash command.
Answers only the clicker should see go to them privately; the changes themselves appear in the
thread, posted by the flow.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from app.catalog import UnknownService
from app.core.incidents import BadIncidentValue, IncidentError, IncidentView, incident_ref, parse_incident_id
from app.core.responders import Place
from app.flows import correlation, incident_views
from app.flows import incidents as flows
from app.flows.responders import place_of
from app.slack.commands.incident import declared, notifier_from
from app.slack.context import deps_of
from app.slack.deferral import deferred
from app.slack.render import incidents as render
from app.slack.render.common import message, section
from app.slack.responders import Refusal, refuse_unless_responder

log = logging.getLogger("pitcrew.slack.incidents")


def register(app: AsyncApp) -> None:
    app.action(render.ACK)(on_ack)
    app.action(render.UPDATE)(on_update_click)
    app.action(render.RESOLVE)(on_resolve_click)
    app.action(re.compile(rf"^{re.escape(render.SPLIT)}\.\d+$"))(on_split_click)
    app.view(render.DECLARE_VIEW)(on_declare_submit)
    app.view(render.UPDATE_VIEW)(on_update_submit)
    app.view(render.RESOLVE_VIEW)(on_resolve_submit)


def _clicked_incident(body: dict[str, Any]) -> int | None:
    try:
        return parse_incident_id(str(body["actions"][0].get("value", "")))
    except (KeyError, IndexError, BadIncidentValue):
        return None


async def _audit_click(context: Any, user: str, action: str, incident_id: int | None, outcome: str) -> None:
    await deps_of(context).audit(
        actor=user,
        action=f"click {action}",
        target=incident_ref(incident_id) if incident_id else None,
        outcome=outcome,
    )


@deferred()
async def on_ack(ack: Any, body: dict[str, Any], respond: Any, context: Any, client: Any) -> None:
    await ack()
    deps = deps_of(context)
    user = body.get("user", {}).get("id", "unknown")
    incident_id = _clicked_incident(body)
    if incident_id is None:
        await respond(**render.problem("This button does not name an incident."), replace_original=False)
        await _audit_click(context, user, render.ACK, None, "no incident")
        return
    refused = await _refused_click(context, client, body, user, "ack", incident_id)
    if refused is not None:
        await respond(**refused.message, response_type="ephemeral", replace_original=False)
        await _audit_click(context, user, render.ACK, incident_id, refused.outcome)
        return
    try:
        result = await flows.acknowledge(deps, notifier_from(client, deps), incident_id, by=user)
    except IncidentError as err:
        await respond(**render.problem(str(err)), response_type="ephemeral", replace_original=False)
        await _audit_click(context, user, render.ACK, incident_id, f"refused: {err}")
        return
    if not result.acknowledged_now:
        said = f"{result.view.ref} was acknowledged already by {render.mention(result.view.acknowledged_by)}."
        await respond(**message(said, [section(said)]), response_type="ephemeral", replace_original=False)
    await _audit_click(context, user, render.ACK, incident_id, "acknowledged" if result.acknowledged_now else "already")


@deferred()
async def on_split_click(ack: Any, body: dict[str, Any], respond: Any, context: Any, client: Any) -> None:
    """A *Split out <source>* button of the root's alert list: as `@pitcrew split <source>`."""
    await ack()
    deps = deps_of(context)
    user = body.get("user", {}).get("id", "unknown")
    action = (body.get("actions") or [{}])[0]
    incident_word, _, source = str(action.get("value", "")).partition(":")
    try:
        incident_id = parse_incident_id(incident_word)
    except BadIncidentValue:
        await respond(**render.problem("This button does not name an incident."), replace_original=False)
        await _audit_click(context, user, render.SPLIT, None, "no incident")
        return
    refused = await _refused_click(context, client, body, user, "split", incident_id)
    if refused is not None:
        await respond(**refused.message, response_type="ephemeral", replace_original=False)
        await _audit_click(context, user, render.SPLIT, incident_id, refused.outcome)
        return
    try:
        result = await correlation.split(deps, notifier_from(client, deps), incident_id, source, by=user)
    except IncidentError as err:
        await respond(**render.problem(str(err)), response_type="ephemeral", replace_original=False)
        await _audit_click(context, user, render.SPLIT, incident_id, f"refused: {err}")
        return
    await _audit_click(context, user, render.SPLIT, incident_id, f"split into {result.new.ref}")


async def _refused_click(
    context: Any, client: Any, body: dict[str, Any], user: str, verb: str, incident_id: int
) -> Refusal | None:
    """The responder check of a click on an incident's message (its root, in the alerts channel)."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message_ts = container.get("thread_ts") or container.get("message_ts") or (body.get("message") or {}).get("ts")
    place = await place_of(deps_of(context), channel, message_ts)
    return await refuse_unless_responder(
        context, client, user=user, verb=verb, ref=incident_ref(incident_id), place=place
    )


async def clicked_open_incident(
    body: dict[str, Any], respond: Any, context: Any, client: Any, *, action: str, verb: str
) -> IncidentView | None:
    """The preamble of a click that opens a form on an incident: the incident the button names, if
    it is still open and the clicker is a responder where they clicked.

    Returns None when the click stops here, having told the clicker why privately (and audited it,
    once an incident is named); Update, Resolve and Silence share it so their refusals read alike."""
    user = _user(body)
    incident_id = _clicked_incident(body)
    if incident_id is None:
        await respond(**render.problem("This button does not name an incident."), replace_original=False)
        return None
    try:
        view = await incident_views.load(deps_of(context), incident_id)
    except IncidentError as err:
        await respond(**render.problem(str(err)), response_type="ephemeral", replace_original=False)
        return None
    if not view.is_open:
        await respond(
            **render.problem(f"{view.ref} is resolved already."), response_type="ephemeral", replace_original=False
        )
        await _audit_click(context, user, action, incident_id, "resolved already")
        return None
    refused = await _refused_click(context, client, body, user, verb, incident_id)
    if refused is not None:
        await respond(**refused.message, response_type="ephemeral", replace_original=False)
        await _audit_click(context, user, action, incident_id, refused.outcome)
        return None
    return view


async def _open_form(kind: str, body: dict[str, Any], respond: Any, context: Any, client: Any) -> None:
    action = render.UPDATE if kind == "update" else render.RESOLVE
    view = await clicked_open_incident(body, respond, context, client, action=action, verb=kind)
    if view is None:
        return
    form = render.update_view(view) if kind == "update" else render.resolve_view(view)
    await client.views_open(trigger_id=body.get("trigger_id"), view=form)
    await _audit_click(context, _user(body), action, view.id, "form opened")


async def on_update_click(ack: Any, body: dict[str, Any], respond: Any, context: Any, client: Any) -> None:
    await ack()
    await _open_form("update", body, respond, context, client)


async def on_resolve_click(ack: Any, body: dict[str, Any], respond: Any, context: Any, client: Any) -> None:
    await ack()
    await _open_form("resolve", body, respond, context, client)


# --- form submissions ----------------------------------------------------------------------------


async def _tell(client: Any, channel: str | None, user: str, message: dict[str, Any]) -> None:
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, **message)


async def on_declare_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any, client: Any) -> None:
    values = render.view_values(view)
    title, severity = values.get("title", "").strip(), values.get("severity", "")
    if not title:
        await ack(response_action="errors", errors={"title": "Say in a few words what is wrong."})
        return
    if not severity:
        await ack(response_action="errors", errors={"severity": "Pick a severity."})
        return
    await ack()
    deps = deps_of(context)
    user = body.get("user", {}).get("id", "unknown")
    try:
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    except ValueError:
        channel = None
    refused = await refuse_unless_responder(
        context, client, user=user, verb="declare", ref=None, place=Place(channel)
    )
    if refused is not None:
        await _tell(client, channel, user, refused.message)
        await deps.audit(actor=user, action="form incident.declare", outcome=refused.outcome)
        return
    try:
        incident = await flows.declare(
            deps,
            notifier_from(client, deps),
            severity=severity,
            title=title,
            by=user,
            service=values.get("service"),
            description=values.get("description"),
        )
    except (IncidentError, UnknownService) as err:
        await _tell(client, channel, user, render.problem(str(err)))
        await deps.audit(actor=user, action="form incident.declare", outcome=f"refused: {err}")
        return
    if channel and channel != incident.channel:
        await _tell(client, channel, user, declared(incident))
    await deps.audit(actor=user, action="form incident.declare", target=incident.ref, outcome="declared")


def _form_incident(view: dict[str, Any]) -> int | None:
    try:
        return parse_incident_id(str(view.get("private_metadata", "")))
    except BadIncidentValue:
        return None


async def on_update_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any, client: Any) -> None:
    values = render.view_values(view)
    text = values.get("text", "").strip()
    if not await _ack_required(ack, "text", text, "Write the update: what is known, what is being done."):
        return
    deps = deps_of(context)
    notifier = notifier_from(client, deps)
    state = values.get("state")

    async def update(incident_id: int) -> None:
        if state:
            await flows.change_state(deps, notifier, incident_id, state, by=_user(body), note=text)
        else:
            await flows.post_update(deps, notifier, incident_id, text, by=_user(body))

    await _act_on_form(context, client, body, view, "incident.update", "updated", update)


async def on_resolve_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any, client: Any) -> None:
    summary = render.view_values(view).get("summary", "").strip()
    if not await _ack_required(ack, "summary", summary, "Say what happened and what fixed it."):
        return
    deps = deps_of(context)

    async def resolve(incident_id: int) -> None:
        await flows.resolve(deps, notifier_from(client, deps), incident_id, by=_user(body), summary=summary)

    await _act_on_form(context, client, body, view, "incident.resolve", "resolved", resolve)
    deps.job_signal.notify()


def _user(body: dict[str, Any]) -> str:
    return str(body.get("user", {}).get("id", "unknown"))


async def _ack_required(ack: Any, field: str, value: str, missing: str) -> bool:
    """Ack the form: with `missing` shown under `field` when it was left empty (the form stays open)."""
    if not value:
        await ack(response_action="errors", errors={field: missing})
        return False
    await ack()
    return True


async def _act_on_form(
    context: Any,
    client: Any,
    body: dict[str, Any],
    view: dict[str, Any],
    form: str,
    done: str,
    act: Callable[[int], Awaitable[None]],
    *,
    verb: str | None = None,
) -> None:
    """Act on the form's incident; a refusal is told privately where the incident is; the outcome is audited.

    Responders are checked again at submission: the form was opened from the incident's message (or
    by a command that was checked), so its place is the incident's thread, but the person may have
    left `slack.responders`' groups in the meantime."""
    deps = deps_of(context)
    incident_id = _form_incident(view)
    if incident_id is None:
        return
    user = _user(body)
    verb = verb or ("resolve" if form == "incident.resolve" else "update")
    incident = await _maybe_load(deps, incident_id)
    place = Place(incident.channel if incident else None, in_incident_thread=incident is not None)
    refused = await refuse_unless_responder(
        context, client, user=user, verb=verb, ref=incident_ref(incident_id), place=place
    )
    if refused is not None:
        await _tell(client, incident.channel if incident else None, user, refused.message)
        await deps.audit(actor=user, action=f"form {form}", target=incident_ref(incident_id), outcome=refused.outcome)
        return
    try:
        await act(incident_id)
    except IncidentError as err:
        incident = await _maybe_load(deps, incident_id)
        await _tell(client, incident.channel if incident else None, user, render.problem(str(err)))
        outcome = f"refused: {err}"
    else:
        outcome = done
    await deps.audit(actor=user, action=f"form {form}", target=incident_ref(incident_id), outcome=outcome)


async def _maybe_load(deps: Any, incident_id: int) -> Any:
    try:
        return await incident_views.load(deps, incident_id)
    except IncidentError:
        return None
