"""Runbook buttons (`runbook.run`, `runbook.skip`, `runbook.done`, `runbook.choose.N`) and
`@pitcrew runbook <name>` in an incident's thread.

Each listener acks at once (a check may take ten seconds; Slack wants its answer within three), then
calls one runbook flow with plain values read off the click. The thread shows what changed (the
flow edits the step's message and posts the next); what changed nothing (a second click on a
handled step, a step someone else is running) is said to the clicker alone.

`runbook.run` serves two buttons: an offer's (its value is the runbook's name: start it) and a
step's (its value is `<run>/<step>/<position>[/<service>]`: run that step).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from app.catalog import UnknownService
from app.core.incidents import IncidentError
from app.core.runbook_machine import InvalidOutcome, StaleStep
from app.core.runbooks import (
    CHOOSE_ACTION_PREFIX,
    DONE_ACTION_ID,
    RUN_ACTION_ID,
    SKIP_ACTION_ID,
    UnknownRunbook,
    parse_choice_action_id,
)
from app.flows import runbook_offers as offers
from app.flows import runbooks as flow
from app.flows.responders import place_of
from app.flows.runbook_views import (
    ClickDone,
    RunbookError,
    StepRef,
    ValueNeeded,
    is_runbook_name,
    parse_step_value,
    use_runbook_notifier,
)
from app.slack.context import deps_of
from app.slack.deferral import deferred
from app.slack.mention_verbs import Mention, Reply
from app.slack.render import variable_forms
from app.slack.render.runbooks import problem, runbook_list
from app.slack.responders import Refusal, refuse_unless_responder
from app.slack.runbook_notifier import SlackRunbookNotifier, runbook_notifier

log = logging.getLogger("pitcrew.slack.runbooks")

CHOOSE_ACTION = re.compile(r"^" + re.escape(CHOOSE_ACTION_PREFIX) + r"[1-9][0-9]{0,2}$")
# What a click can be told instead of a traceback: every error a runbook flow raises on purpose.
EXPECTED = (RunbookError, StaleStep, InvalidOutcome, UnknownRunbook, IncidentError, UnknownService)


@dataclass(frozen=True)
class Click:
    """A button press as the flows need it: who, where, which message, which button, what it carried."""

    user: str
    channel: str
    thread_ts: str | None
    message_ts: str | None
    action_id: str
    value: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Click:
        container = body.get("container") or {}
        message = body.get("message") or {}
        action = (body.get("actions") or [{}])[0]
        return cls(
            user=str((body.get("user") or {}).get("id", "unknown")),
            channel=str((body.get("channel") or {}).get("id") or container.get("channel_id") or ""),
            thread_ts=container.get("thread_ts") or message.get("thread_ts"),
            message_ts=container.get("message_ts") or message.get("ts"),
            action_id=str(action.get("action_id") or ""),
            value=str(action.get("value") or ""),
        )


StepClick = Callable[[Any, SlackRunbookNotifier, Click, StepRef], Awaitable[ClickDone]]


def register(app: AsyncApp) -> None:
    use_runbook_notifier(runbook_notifier)
    app.action(RUN_ACTION_ID)(_listener(_run))
    app.action(SKIP_ACTION_ID)(_listener(_on_step(_skip)))
    app.action(DONE_ACTION_ID)(_listener(_on_step(_done)))
    app.action(CHOOSE_ACTION)(_listener(_on_step(_choose)))


def _listener(handle: Callable[[Any, SlackRunbookNotifier, Click], Awaitable[ClickDone]]) -> Any:
    @deferred()
    async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await ack()
        click = Click.of(body)
        deps = deps_of(context)
        refused = await _refused_update(context, client, click)
        if refused is not None:
            await _tell(client, click, refused.message)
            await deps.audit(
                actor=click.user, action=f"click {click.action_id}", target=click.channel,
                params={"value": click.value[:200], "thread_ts": click.thread_ts}, outcome=refused.outcome[:250],
            )
            return
        try:
            done = await handle(deps, SlackRunbookNotifier(client, deps), click)
        except EXPECTED as err:
            await _tell(client, click, problem(err) if isinstance(err, RunbookError) else problem(str(err)))
            outcome = f"refused: {err}"
        except Exception as err:  # the database went away, say: tell the clicker rather than nothing
            log.exception("runbook click %s (%s) failed", click.action_id, click.value[:80])
            await _tell(client, click, problem(f"That did not work: {type(err).__name__}. Nothing more was done."))
            outcome = f"failed: {type(err).__name__}"
        else:
            outcome = done.what
        await deps.audit(
            actor=click.user, action=f"click {click.action_id}", target=click.channel,
            params={"value": click.value[:200], "thread_ts": click.thread_ts}, outcome=outcome[:250],
        )

    return listener


async def _refused_update(context: Any, client: AsyncWebClient, click: Click) -> Refusal | None:
    """A step that posts a status update speaks for the team, and one that reads a service's variables
    shows what it holds: only a responder may run either."""
    ref = parse_step_value(click.value) if click.action_id == RUN_ACTION_ID else None
    if ref is None:
        return None
    verb, incident = "update", await flow.update_posted_by(deps_of(context), ref.run_id, ref.step_id)
    if incident is None:  # a check of variables: responders only, as `@pitcrew vars`
        verb, incident = "vars", await flow.variables_read_by(deps_of(context), ref.run_id, ref.step_id)
    if incident is None:
        return None
    place = await place_of(deps_of(context), click.channel, click.thread_ts)
    return await refuse_unless_responder(context, client, user=click.user, verb=verb, ref=incident, place=place)


async def _run(deps: Any, notifier: SlackRunbookNotifier, click: Click) -> ClickDone:
    if is_runbook_name(click.value):  # an offer's button: start that runbook in this incident's thread
        incident = await offers.incident_of_thread(deps, click.channel, click.thread_ts)
        started = await flow.start_runbook(deps, incident.id, click.value, by=click.user, notifier=notifier)
        return ClickDone(f"started {started.runbook} in {started.incident_ref}")
    ref = _ref(click)
    try:
        return await flow.run_step(
            deps, ref.run_id, ref.step_id, by=click.user, position=ref.position, service=ref.service,
            message_ts=click.message_ts, notifier=notifier,
        )
    except ValueNeeded as need:  # a set_variable step without `value:`: the form takes it, privately
        note = variable_forms.form_note(
            "set_variable", need.service, need.name, click.thread_ts, step=click.value, message_ts=click.message_ts,
            fixed=need.fixed,
        )
        await notifier.client.chat_postEphemeral(
            channel=click.channel, user=click.user, thread_ts=click.thread_ts, **note
        )
        return ClickDone(f"{ref.step_id}: value asked in a form")


def _on_step(handle: StepClick) -> Callable[[Any, SlackRunbookNotifier, Click], Awaitable[ClickDone]]:
    async def on_step(deps: Any, notifier: SlackRunbookNotifier, click: Click) -> ClickDone:
        return await handle(deps, notifier, click, _ref(click))

    return on_step


def _ref(click: Click) -> StepRef:
    ref = parse_step_value(click.value)
    if ref is None:
        raise RunbookError("this button does not name a runbook step (was the message changed?)")
    return ref


async def _skip(deps: Any, notifier: SlackRunbookNotifier, click: Click, ref: StepRef) -> ClickDone:
    return await flow.skip_step(deps, ref.run_id, ref.step_id, by=click.user, position=ref.position,
                                message_ts=click.message_ts, notifier=notifier)


async def _done(deps: Any, notifier: SlackRunbookNotifier, click: Click, ref: StepRef) -> ClickDone:
    return await flow.mark_done(deps, ref.run_id, ref.step_id, by=click.user, position=ref.position,
                                message_ts=click.message_ts, notifier=notifier)


async def _choose(deps: Any, notifier: SlackRunbookNotifier, click: Click, ref: StepRef) -> ClickDone:
    index = parse_choice_action_id(click.action_id)
    return await flow.choose(deps, ref.run_id, ref.step_id, index, by=click.user, position=ref.position,
                             message_ts=click.message_ts, notifier=notifier)


async def _tell(client: AsyncWebClient, click: Click, reply: dict[str, Any]) -> None:
    """Say it to the clicker alone; a failure to do so is logged, never raised into Bolt."""
    try:
        await client.chat_postEphemeral(channel=click.channel, user=click.user, thread_ts=click.thread_ts, **reply)
    except Exception:
        log.exception("could not tell %s privately in %s", click.user, click.channel)


# ---- @pitcrew runbook <name> ----------------------------------------------------------------------


async def runbook_verb(mention: Mention, context: Any, reply: Reply) -> str:
    """`@pitcrew runbook <name>` starts it in this incident's thread; alone, it lists what fits."""
    deps = deps_of(context)
    words = mention.args.split()
    name = words[0].lower() if words else ""
    try:
        incident = await offers.incident_of_thread(deps, mention.channel, mention.thread_ts)
        if name in ("", "list", "help"):
            offer = await offers.offer_runbooks(deps, incident)
            names = (await offers.runbooks_of(deps)).names()
            await reply(**runbook_list(offer, names, incident.ref))
            return "listed"
        started = await flow.start_runbook(
            deps, incident.id, name, by=mention.user, notifier=SlackRunbookNotifier(context.client, deps), resume=True
        )
    except EXPECTED as err:
        await reply(**(problem(err) if isinstance(err, RunbookError) else problem(str(err))))
        return f"refused: {err}"[:250]
    return f"{'resumed' if started.resumed else 'started'} {started.runbook} in {started.incident_ref}"
