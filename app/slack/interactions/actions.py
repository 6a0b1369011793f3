"""Buttons of destructive actions: confirm, cancel, propose again, and the proposals from other messages.

Each listener acks first (Slack wants its answer within 3 seconds; a provider call may take ten),
then calls the flow with plain values. A click that changes nothing (a refusal, a second click, an
expired proposal) is told to the clicker alone, with `chat.postEphemeral`; everything else shows in
the proposal's own message, which the flow edits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from app.deps import Deps
from app.flows import actions as flow
from app.flows import incident_timeline, incident_views
from app.flows.actions import ActionError, Asked, Outcome, Proposal, Where
from app.slack.client import web_client
from app.slack.context import deps_of
from app.slack.deferral import deferred
from app.slack.notifier import SlackNotifier
from app.slack.operators import GroupCache, SlackGroupMembers
from app.slack.render.actions import (
    CANCEL,
    CONFIRM,
    HEALTH_REDEPLOY,
    HEALTH_RESTART,
    HEALTH_ROLLBACK,
    HEALTH_TERMINATE_IDLE,
    PROPOSE_AGAIN,
    REDEPLOY_CURRENT,
    ROLLBACK_TO,
    action_error,
    click_reply,
    failed_reply,
)

log = logging.getLogger("pitcrew.slack")


@dataclass(frozen=True)
class Click:
    """A button press as the listeners need it: who, where (the thread when in one) and the button's value."""

    user: str
    channel: str
    thread_ts: str | None
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
            value=str(action.get("value") or ""),
        )

    @property
    def where(self) -> Where:
        return Where(self.channel, self.thread_ts)


Propose = Callable[[Deps, Click, Asked], Awaitable[Proposal]]
Decide = Callable[..., Awaitable[Outcome]]


def register(app: AsyncApp) -> None:
    cache = GroupCache()
    flow.use_notifier(lambda deps: SlackNotifier(web_client(deps.settings)))

    def clicking(verb: str, decide: Decide) -> Callable[..., Awaitable[None]]:
        """A listener for confirm or cancel: the flow edits the message; what changed nothing is said privately."""

        @deferred()
        async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
            await ack()
            click = Click.of(body)
            # a confirm runs something destructive: it reads the groups anew, a cancel may use the cache
            members = SlackGroupMembers(client, cache, fresh=verb == "confirm")
            try:
                outcome = await decide(
                    deps_of(context), click.value, by=click.user,
                    members=members, notifier=SlackNotifier(client),
                )
            except Exception as err:  # the database went away, say: tell the clicker rather than nothing
                log.exception("%s of proposal %s failed", verb, click.value[:64])
                await _tell(client, click, failed_reply(verb, err))
                return
            if outcome.private:
                await _tell(client, click, click_reply(outcome, verb))

        return listener

    def proposing(propose: Propose) -> Callable[..., Awaitable[None]]:
        @deferred()
        async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
            await ack()
            click = Click.of(body)
            deps = deps_of(context)
            try:
                # A card in an incident's thread proposes for that incident: it names it, and the
                # incident's timeline says what was proposed and what became of it.
                incident = await incident_views.find_by_thread(deps, click.channel, click.thread_ts)
                asked = Asked(click.user, click.where, SlackNotifier(client), incident.id if incident else None)
                proposal = await propose(deps, click, asked)
                await incident_timeline.note_proposal(deps, proposal)
            except ActionError as err:
                await _tell(client, click, action_error(err.reason))
            except Exception as err:
                log.exception("proposing from a button failed")
                await _tell(client, click, failed_reply("propose", err))

        return listener

    app.action(CONFIRM)(clicking("confirm", flow.confirm))
    app.action(CANCEL)(clicking("cancel", flow.cancel))

    app.action(PROPOSE_AGAIN)(proposing(  # the proposal renewed keeps its own incident
        lambda deps, click, asked: flow.propose_again(deps, click.value, by=asked.by, notifier=asked.notifier)
    ))
    app.action(HEALTH_RESTART)(proposing(
        lambda deps, click, asked: flow.propose_restart(deps, click.value, asked=asked)
    ))
    app.action(REDEPLOY_CURRENT)(proposing(  # `/rollback <vercel service> list`: beside the rollback targets
        lambda deps, click, asked: flow.propose_redeploy(deps, click.value, asked=asked)
    ))
    app.action(HEALTH_REDEPLOY)(proposing(
        lambda deps, click, asked: flow.propose_redeploy(deps, click.value, asked=asked)
    ))
    app.action(HEALTH_ROLLBACK)(proposing(
        lambda deps, click, asked: flow.propose_rollback(deps, click.value, asked=asked)
    ))
    app.action(HEALTH_TERMINATE_IDLE)(proposing(
        lambda deps, click, asked: flow.propose_terminate_idle(deps, click.value, asked=asked)
    ))
    app.action(ROLLBACK_TO)(proposing(
        lambda deps, click, asked: flow.propose_rollback(deps, *_service_and_deployment(click.value), asked=asked)
    ))


def _service_and_deployment(value: str) -> tuple[str, str | None]:
    service, _, deployment = value.partition(" ")
    return service, deployment or None


async def _tell(client: AsyncWebClient, click: Click, reply: dict[str, Any]) -> None:
    """Say it to the clicker alone; a failure to do so is logged, never raised into Bolt."""
    try:
        await client.chat_postEphemeral(channel=click.channel, user=click.user, thread_ts=click.thread_ts, **reply)
    except Exception:
        log.exception("could not tell %s privately in %s", click.user, click.channel)
