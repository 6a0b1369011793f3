"""Deciding who may speak for the team (app/core/responders.py) with what the decision needs:
whether the place is an incident's thread (the database) and who is in which group (the chat).

Every edge asks here before a verb of RESPONDER_VERBS reaches the incident flows: the slash
command (also when a job replays it), the mention in a thread, the buttons and the forms. The
incident flows themselves stay callable by pitcrew's own jobs (auto-resolve, alerts), which need no
permission. Nothing is read that the answer does not need: a user listed by id, or someone in the
alerts channel when `slack.responders` is unset, costs no Slack call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.guard import Decision
from app.core.responders import (
    Place,
    Responders,
    answers_in_public,
    responder_decision,
    unreadable_groups,
)
from app.flows.action_ports import GroupMembers
from app.flows.incident_views import find_by_thread
from app.flows.memberships import read_groups

if TYPE_CHECKING:
    from app.deps import Deps


@dataclass(frozen=True)
class SpeakerCheck:
    """The decision, and what a refusal must name: who may, and which groups could not be read."""

    decision: Decision
    responders: Responders
    unreadable: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


def responders_of(deps: Deps) -> Responders:
    slack = deps.catalog.slack
    return Responders.of(slack.responders, slack.operators, slack.alerts_channel)


async def place_of(deps: Deps, channel: str | None, thread_ts: str | None) -> Place:
    """The place of a request: in an incident thread when (channel, thread_ts) is an incident's root."""
    if not channel or not thread_ts:
        return Place(channel)
    return Place(channel, in_incident_thread=await find_by_thread(deps, channel, thread_ts) is not None)


async def check_speaker(deps: Deps, members: GroupMembers, *, user: str, place: Place) -> SpeakerCheck:
    """May `user`, acting at `place`, declare, update, ack or resolve?"""
    responders = responders_of(deps)
    if responders.allowed_without_lookup(user, place):
        return SpeakerCheck(responder_decision(user, responders, {}, place), responders)
    groups = await read_groups(members, responders.groups())
    decision = responder_decision(user, responders, groups, place)
    unreadable = () if decision.allowed else unreadable_groups(responders, groups)
    return SpeakerCheck(decision, responders, unreadable)


async def answers_publicly(deps: Deps, channel: str | None, thread_ts: str | None = None) -> bool:
    """Whether pitcrew may answer for all to see where it was asked (slack.channels)."""
    slack = deps.catalog.slack
    if channel == slack.alerts_channel or (channel is not None and channel in slack.channels):
        return True
    place = await place_of(deps, channel, thread_ts)
    return answers_in_public(place, alerts_channel=slack.alerts_channel, channels=slack.channels)
