"""`@pitcrew set|unset <service> NAME`: the private note, the form it opens, and the form's submission.

The mention checks the service, the provider and the name, then tells the asker alone of a button
(mentions carry no trigger_id, app/slack/render/variable_forms.py says why); the button opens the form;
the submission is checked (value, revert delay, operator) and proposed through the actions flow,
whose card, guard, run-once, verification and audit apply as for a rollback.

Neither the button nor the submission is `@deferred`: opening a form must use its trigger_id within
Slack's 3 s, and a submission carries the value, which must never be stored as a deferred request.
The value leaves this module only as the proposal's secret parameter; nothing here logs or audits it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from app.core.actions import InvalidActionParams
from app.core.runbook_machine import InvalidOutcome, StaleStep
from app.core.variable_changes import check_value, parse_revert_after
from app.flows import incident_timeline, incident_views, runbooks
from app.flows import variable_changes as flow
from app.flows.action_calls import ActionError
from app.flows.actions import Asked, Where, propose_set_variable, propose_unset_variable
from app.flows.runbook_views import RunbookError, parse_step_value
from app.slack.client import web_client
from app.slack.context import deps_of
from app.slack.mention_verbs import Mention, Reply
from app.slack.notifier import SlackNotifier
from app.slack.operators import GroupCache, SlackGroupMembers
from app.slack.render import variable_forms as render
from app.slack.render.actions import action_error
from app.slack.render.common import escape, message, section
from app.slack.runbook_notifier import SlackRunbookNotifier

log = logging.getLogger("pitcrew.slack.variables")
_cache = GroupCache()


class SlackValueAsker:
    """A revert reminder with no kept value: posted in the change's thread with the form's button."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def ask_for_value(self, channel: str, thread_ts: str | None, service: str, name: str, text: str) -> None:
        if channel:
            await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, **render.revert_ask(text, service, name, thread_ts)
            )


def register(app: AsyncApp) -> None:
    app.action(render.OPEN_FORM)(on_open_form)
    app.view(render.FORM)(on_submit)
    flow.use_value_asker(lambda deps: SlackValueAsker(web_client(deps.settings)))


async def _verb(kind: str, mention: Mention, context: Any, reply: Reply) -> str:
    deps = deps_of(context)
    words = mention.args.split()
    client = context.get("client")

    async def private(answer: dict[str, Any]) -> None:
        if client is not None:
            await client.chat_postEphemeral(
                channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **answer
            )
        else:
            await reply(**answer)

    if len(words) != 2:
        await private(render.usage(kind))
        return "usage"
    service, name = words
    try:
        flow.check_request(deps, service, name, kind)
    except ActionError as err:
        await private(render.usage(kind, err.reason))
        return f"refused: {err.reason}"[:200]
    await private(render.form_note(kind, service, name, mention.reply_ts))
    return "form offered"


async def set_verb(mention: Mention, context: Any, reply: Reply) -> str:
    return await _verb("set_variable", mention, context, reply)


async def unset_verb(mention: Mention, context: Any, reply: Reply) -> str:
    return await _verb("unset_variable", mention, context, reply)


async def on_open_form(ack: Any, body: dict[str, Any], client: Any, context: Any) -> None:
    await ack()
    deps = deps_of(context)
    user = str((body.get("user") or {}).get("id", "unknown"))
    container = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    note = render.read_note(str(((body.get("actions") or [{}])[0]).get("value") or ""))
    if note is None:
        return
    kind, service, name = note["k"], note["s"], note["n"]
    try:
        flow.check_request(deps, service, name, kind)
    except ActionError as err:
        await client.chat_postEphemeral(channel=channel, user=user, **render.usage(kind, err.reason))
        return
    provider = deps.catalog.service(service).provider
    view = render.form(
        kind, service, name, provider, channel=channel, thread_ts=note.get("t"), step=note.get("rb"),
        message_ts=note.get("m"), fixed=tuple(str(f) for f in note.get("f") or ()), revert=bool(note.get("rv")),
    )
    await client.views_open(trigger_id=body.get("trigger_id"), view=view)
    await deps.audit(actor=user, action="click variables.open_form", target=service,
                     params={"kind": kind, "name": name}, outcome="form opened")


def _values(view: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for block_id, elements in ((view.get("state") or {}).get("values") or {}).items():
        for state in elements.values():
            if state.get("type") == "static_select":
                chosen = state.get("selected_option") or {}
                if chosen.get("value"):
                    found[block_id] = chosen["value"]
            elif isinstance(state.get("value"), str):
                found[block_id] = state["value"]
    return found


async def on_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any) -> None:
    deps = deps_of(context)
    user = str((body.get("user") or {}).get("id", "unknown"))
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    kind, service, name = str(meta.get("k", "")), str(meta.get("s", "")), str(meta.get("n", ""))
    channel, thread_ts = str(meta.get("c") or ""), meta.get("t")
    values = _values(view)
    errors: dict[str, str] = {}
    value: str | None = None
    try:
        flow.check_request(deps, service, name, kind)
        provider = deps.catalog.service(service).provider
    except ActionError as err:
        await ack(response_action="errors", errors={"revert_after": err.reason[:150]})
        return
    if kind == "set_variable":
        value = values.get("value", "")
        try:
            check_value(value, provider)
        except InvalidActionParams as err:
            errors["value"] = str(err)[:150]
    try:
        revert_after = parse_revert_after(values.get("revert_after"))
    except InvalidActionParams as err:
        errors["revert_after"] = str(err)[:150]
    if errors:
        await ack(response_action="errors", errors=errors)
        await deps.audit(actor=user, action="form variables", target=service,
                         params={"kind": kind, "name": name}, outcome=f"refused: {'; '.join(errors.values())}"[:300])
        return
    await ack()
    decision = await flow.may_submit(deps, user, SlackGroupMembers(client, _cache, fresh=True))
    if not decision.allowed:
        said = f":no_entry: Nothing was proposed: {escape(decision.reason)}."
        await _tell(client, channel, user, thread_ts, message(said, [section(said)]))
        await deps.audit(actor=user, action="form variables", target=service,
                         params={"kind": kind, "name": name}, outcome=f"refused: {decision.reason}"[:300])
        return
    redeploy = values.get("redeploy", "yes") != "no"
    targets = values.get("targets", "production").split(",")
    if isinstance(meta.get("rb"), str) and value is not None:  # a runbook step asked for it
        await _run_step(deps, client, user, channel, thread_ts, meta, {
            "value": value, "redeploy": redeploy, "revert_after": values.get("revert_after") or None,
            "targets": targets,
        })
        return
    where = Where(channel, thread_ts)
    incident = await incident_views.find_by_thread(deps, channel, thread_ts)
    common = {
        "asked": Asked(user, where, SlackNotifier(client), incident.id if incident else None),
        "redeploy": redeploy, "revert_after": revert_after, "targets": targets,
    }
    if meta.get("rv"):
        common["why"] = "the revert reminder: the value it had before pitcrew's change, typed in the form"
    try:
        if kind == "set_variable" and value is not None:
            proposal = await propose_set_variable(deps, service, name, value, **common)
        else:
            proposal = await propose_unset_variable(deps, service, name, **common)
        await incident_timeline.note_proposal(deps, proposal)
    except ActionError as err:
        await _tell(client, channel, user, thread_ts, action_error(err.reason))
        return
    await deps.audit(actor=user, action="form variables", target=service,
                     params={"kind": kind, "name": name}, outcome=f"proposed {proposal.id}")


async def _run_step(
    deps: Any, client: Any, user: str, channel: str, thread_ts: str | None, meta: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    """Run the runbook step that asked for the value, with it: the step proposes and waits as any action step."""
    ref = parse_step_value(str(meta["rb"]))
    if ref is None:
        return
    try:
        done = await runbooks.run_step(
            deps, ref.run_id, ref.step_id, by=user, position=ref.position, service=ref.service or meta.get("s"),
            message_ts=meta.get("m"), notifier=SlackRunbookNotifier(client, deps), extra=extra,
        )
        outcome = done.what
    except (RunbookError, InvalidOutcome, StaleStep) as err:
        await _tell(client, channel, user, thread_ts, action_error(str(err)))
        outcome = f"refused: {err}"
    await deps.audit(actor=user, action="form variables", target=str(meta.get("s")),
                     params={"kind": "set_variable", "name": meta.get("n"), "step": ref.step_id},
                     outcome=outcome[:300])


async def _tell(client: Any, channel: str, user: str, thread_ts: str | None, answer: dict[str, Any]) -> None:
    if not channel:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **answer)
    except Exception:
        log.exception("could not tell %s privately in %s", user, channel)
