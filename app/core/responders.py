"""Who may speak for the team, and where pitcrew answers in public.

Declaring a SEV1 pages people and lands on the status page; an update reaches managers and
customers; an ack stops the paging; a resolve tells everyone it is over. Each speaks for the team,
so only responders may do it: the people and user groups of `slack.responders`, and every operator.
Without that key, the team is whoever acts where the team works (the alerts channel and the
incident threads), never someone typing in a direct message or another channel.

Membership of a group is read by the caller and handed in, and the membership rule itself is the
operators' (`app/core/guard.py`), so a responder group and an operator group mean the same thing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.core.guard import Decision, GroupMembers, Operators, operator_decision

RESPONDER_VERBS: frozenset[str] = frozenset({
    "declare",
    "ack",
    "update",
    "sev",
    "state",
    "assign",
    "keep",
    "resolve",
    "public",
    "private",
    "silence",
    "unsilence",
    "maintenance",
    "merge",
    "split",
    "oncall_override",
})
"""The `/incident` and `@pitcrew` verbs that change an incident or what others are told of it.
A new such verb is gated by adding its name here; the verbs that only read (list, show, timeline,
postmortem) are not in it."""


def needs_responder(verb: str) -> bool:
    return verb in RESPONDER_VERBS


@dataclass(frozen=True)
class Place:
    """Where someone acted: the channel (None for a form, which has none) and whether it was inside
    an incident's thread (or on an incident's own message)."""

    channel: str | None
    in_incident_thread: bool = False


@dataclass(frozen=True)
class Responders:
    """`slack.responders` (None when the key is not set) and `slack.operators`, as users and groups."""

    listed: Operators | None
    operators: Operators
    alerts_channel: str

    @classmethod
    def of(cls, responders: Collection[str] | None, operators: Collection[str], alerts_channel: str) -> Responders:
        return cls(
            listed=Operators.of(responders) if responders is not None else None,
            operators=Operators.of(operators),
            alerts_channel=alerts_channel,
        )

    def team_place(self, place: Place) -> bool:
        return place.in_incident_thread or place.channel == self.alerts_channel

    def allowed_without_lookup(self, user: str, place: Place) -> bool:
        """Decided without reading any group: the place (key unset) or the user listed by id."""
        if self.listed is None and self.team_place(place):
            return True
        return user in self.operators.users or (self.listed is not None and user in self.listed.users)

    def groups(self) -> tuple[str, ...]:
        """Every group whose members may decide: the responder groups, then the operator groups."""
        listed = self.listed.groups if self.listed is not None else ()
        return tuple(dict.fromkeys((*listed, *self.operators.groups)))


def responder_decision(user: str, responders: Responders, members: GroupMembers, place: Place) -> Decision:
    """May `user`, acting at `place`, speak for the team? `members` has each group's members (None: unreadable)."""
    if responders.listed is None and responders.team_place(place):
        return Decision.allow("acting in the alerts channel or an incident thread")
    if responders.listed is not None and not responders.listed.empty:
        if operator_decision(user, responders.listed, members).allowed:
            return Decision.allow("a responder (slack.responders)")
    if not responders.operators.empty and operator_decision(user, responders.operators, members).allowed:
        return Decision.allow("an operator")
    if responders.listed is None:
        return Decision.refuse("not a responder: not in the alerts channel or an incident thread, and not an operator")
    return Decision.refuse("not a responder: not in slack.responders, and not an operator")


def unreadable_groups(responders: Responders, members: GroupMembers) -> tuple[str, ...]:
    """The groups that might have let the user in had Slack listed their members."""
    return tuple(g for g in responders.groups() if g in members and members[g] is None)


def answers_in_public(place: Place, *, alerts_channel: str, channels: Collection[str]) -> bool:
    """Whether an answer (logs, health, deployments) may be posted for all to see where it was asked:
    the alerts channel, an incident thread and the `slack.channels`; anywhere else (a direct
    message, a Slack Connect channel) only the person who asked sees it."""
    return place.in_incident_thread or place.channel == alerts_channel or (
        place.channel is not None and place.channel in channels
    )
