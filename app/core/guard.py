"""Who may confirm or cancel a destructive action: the operators of pitcrew.yml, by policy.

Operators are Slack user ids (U..., W...) and user groups (S...) whose members count as operators.
Group membership is looked up by the caller (Slack's `usergroups.users.list`) and handed in, so
the decision itself is a pure function of plain values and every rule is a small unit test.
A group that could not be read grants nothing, and the refusal says so: failing closed is the
point of a guard, and "could not read group S0ONCALL" tells the operator what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    @classmethod
    def allow(cls, reason: str) -> Decision:
        return cls(True, reason)

    @classmethod
    def refuse(cls, reason: str) -> Decision:
        return cls(False, reason)


@dataclass(frozen=True)
class Operators:
    """The `operators:` list split into users and groups (anything else in it is ignored)."""

    users: frozenset[str]
    groups: tuple[str, ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> Operators:
        entries = list(entries)
        return cls(
            users=frozenset(e for e in entries if USER_ID.match(e)),
            groups=tuple(dict.fromkeys(e for e in entries if GROUP_ID.match(e))),
        )

    @property
    def empty(self) -> bool:
        return not self.users and not self.groups

    def needs_lookup(self, user: str) -> bool:
        """Whether group membership must be read to decide about `user` (not when listed by id)."""
        return user not in self.users and bool(self.groups)


GroupMembers = Mapping[str, Collection[str] | None]
"""Each operator group's members; None for a group whose members could not be read."""


def operator_decision(user: str, operators: Operators, members: GroupMembers) -> Decision:
    """Is `user` an operator: listed by id, or a member of a listed group?"""
    if operators.empty:
        return Decision.refuse("pitcrew.yml lists no operators (slack.operators), so nobody may confirm")
    if user in operators.users:
        return Decision.allow("listed as an operator")
    for group in operators.groups:
        found = members.get(group)
        if found is not None and user in found:
            return Decision.allow(f"member of operator group {group}")
    unreadable = [g for g in operators.groups if members.get(g) is None]
    reason = "only operators listed in pitcrew.yml may do this, and you are not one"
    if unreadable:
        reason += f" (could not read the members of {', '.join(unreadable)})"
    return Decision.refuse(reason)


def confirm_decision(
    user: str,
    operators: Operators,
    members: GroupMembers,
    *,
    proposed_by: str,
    second_approver: bool,
) -> Decision:
    """May `user` confirm a proposal of `proposed_by`? Operators only; with `second_approver`, not its proposer.

    With `second_approver` a confirmation is one approval, and the action runs once two distinct
    operators approved (`approvals_needed`); an operator's proposal is their approval already, so
    their own click would not be a second one.
    """
    decision = operator_decision(user, operators, members)
    if not decision.allowed:
        return decision
    if second_approver and user == proposed_by:
        return Decision.refuse(
            "this action needs a second approver: another operator than the one who proposed it must confirm"
        )
    return decision


def approvals_needed(second_approver: bool) -> int:
    """How many distinct operators must approve before an action runs: two with a second approver."""
    return 2 if second_approver else 1


def counted_approvers(candidates: Mapping[str, str], operators: Operators, members: GroupMembers) -> dict[str, str]:
    """Of the people whose approval is implied (user → role: the proposer, earlier approvers of a
    proposal this one renews), those who count: operators now. A non-operator's proposal implies no
    approval, so two operators must still confirm it."""
    return {user: role for user, role in candidates.items() if operator_decision(user, operators, members).allowed}


def cancel_decision(user: str, operators: Operators, members: GroupMembers, *, proposed_by: str) -> Decision:
    """The proposer may always take back their own proposal; anyone else must be an operator."""
    if user == proposed_by:
        return Decision.allow("the proposer")
    decision = operator_decision(user, operators, members)
    if decision.allowed:
        return decision
    return Decision.refuse(
        "only the person who proposed it or an operator may cancel it"
        + decision.reason.removeprefix("only operators listed in pitcrew.yml may do this, and you are not one")
    )
