"""The two things the actions flow needs from the chat, as protocols the edge implements.

Flows never import Slack (DESIGN.md): the Slack edge implements these in app/slack/notifier.py
and app/slack/operators.py, and a runbook, a job or the console reaches the same flow through them.
Jobs run outside any click, so the edge registers how to build a notifier from `Deps` once, at
start (`use_notifier`), as job handlers themselves are registered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.deps import Deps
    from app.flows.action_views import Proposal

log = logging.getLogger("pitcrew.actions")


class NotifyFailed(Exception):
    """The chat could not take a message (Slack said `not_in_channel`, ...); the text says why."""


@dataclass(frozen=True)
class Posted:
    """Where a proposal's message went: its channel, thread and ts. Not always where it was asked
    for: a chat that cannot post there (a private channel the bot is not in) may post it in a direct
    message with whoever asked, and every later edit follows it there."""

    channel: str
    ts: str
    thread_ts: str | None = None

    @property
    def where(self) -> tuple[str, str | None]:
        return self.channel, self.thread_ts


class ProposalNotifier(Protocol):
    """Where proposals are shown: the Slack edge posts Block Kit; anything else may show them otherwise."""

    async def post_proposal(self, proposal: Proposal) -> Posted:
        """Post the proposal in `proposal.channel` (in `thread_ts` when set), or where the chat could
        reach the asker instead; where it went. NotifyFailed."""
        ...

    async def update_proposal(self, proposal: Proposal) -> None:
        """Edit the proposal's own message (`channel`, `message_ts`) to show its current status."""
        ...

    async def post_in_thread(self, proposal: Proposal, text: str) -> None:
        """Say `text` in the thread of the proposal's message (a verification that failed)."""
        ...


class GroupMembers(Protocol):
    """Who belongs to a user group (Slack's `usergroups.users.list`); raises for a group it cannot read."""

    async def members(self, group_id: str) -> Collection[str]: ...


NotifierFactory = Callable[["Deps"], ProposalNotifier]
_notifier_factory: NotifierFactory | None = None


def use_notifier(factory: NotifierFactory) -> None:
    """How jobs (expiry, verification) reach the chat; the edge sets it when it starts."""
    global _notifier_factory
    _notifier_factory = factory


def notifier_for(deps: Deps) -> ProposalNotifier:
    return _notifier_factory(deps) if _notifier_factory is not None else LoggingNotifier()


OutcomeListener = Callable[["Deps", "Proposal"], Awaitable[None]]
_outcome_listeners: list[OutcomeListener] = []


def listen_to_outcomes(listener: OutcomeListener) -> None:
    """Be told when a proposal ends (accepted, failed, cancelled, expired): a runbook step that proposed
    it moves on. Registered once, at import, by the flow that listens (app/flows/runbook_settle.py)."""
    if listener not in _outcome_listeners:
        _outcome_listeners.append(listener)


async def tell_outcome(deps: Deps, proposal: Proposal) -> None:
    """Tell the listeners; a listener's failure is logged and never undoes or hides the action's outcome."""
    for listener in list(_outcome_listeners):
        try:
            await listener(deps, proposal)
        except Exception:
            log.exception("a listener of proposal %s (%s) failed", proposal.id, proposal.status)


_verification_listeners: list[OutcomeListener] = []


def listen_to_verifications(listener: OutcomeListener) -> None:
    """Be told when a proposal's verification ends (verified or failed), after `listen_to_outcomes` was
    told it was accepted: what waits for the service to be healthy, not only for the provider to take
    it (a secret rotation's next service, app/flows/rotation.py). Registered once, at import."""
    if listener not in _verification_listeners:
        _verification_listeners.append(listener)


async def tell_verified(deps: Deps, proposal: Proposal) -> None:
    """Tell the verification listeners; a listener's failure is logged and changes nothing of the outcome."""
    for listener in list(_verification_listeners):
        try:
            await listener(deps, proposal)
        except Exception:
            log.exception("a verification listener of proposal %s (%s) failed", proposal.id, proposal.status)


class LoggingNotifier:
    """No chat connected (a bare job runner): the changes are in the database, and the log says them."""

    async def post_proposal(self, proposal: Proposal) -> Posted:
        raise NotifyFailed("no chat is connected")

    async def update_proposal(self, proposal: Proposal) -> None:
        log.info("proposal %s is now %s", proposal.id, proposal.status)

    async def post_in_thread(self, proposal: Proposal, text: str) -> None:
        log.warning("proposal %s: %s", proposal.id, text)
