"""Who may confirm or cancel: operators by id or by group, the second-approver rule, failing closed."""

from __future__ import annotations

from app.core.guard import Operators, cancel_decision, confirm_decision, operator_decision

OPS = Operators.of(["U0OPS1", "S0ONCALL", "S0SRE", "C0NOTAUSER"])


def test_operators_split_into_users_and_groups():
    assert OPS.users == frozenset({"U0OPS1"})
    assert OPS.groups == ("S0ONCALL", "S0SRE")
    assert not OPS.needs_lookup("U0OPS1")
    assert OPS.needs_lookup("U0OTHER")
    assert not Operators.of(["U0OPS1"]).needs_lookup("U0OTHER")


def test_a_listed_user_is_an_operator():
    decision = operator_decision("U0OPS1", OPS, {})
    assert decision.allowed and decision.reason == "listed as an operator"


def test_a_group_member_is_an_operator():
    decision = operator_decision("U0ANA", OPS, {"S0ONCALL": {"U0BOB"}, "S0SRE": {"U0ANA"}})
    assert decision.allowed and decision.reason == "member of operator group S0SRE"


def test_anyone_else_is_refused():
    decision = operator_decision("U0EVE", OPS, {"S0ONCALL": {"U0BOB"}, "S0SRE": set()})
    assert not decision.allowed
    assert decision.reason == "only operators listed in pitcrew.yml may do this, and you are not one"


def test_an_unreadable_group_grants_nothing_and_says_so():
    decision = operator_decision("U0ANA", OPS, {"S0ONCALL": None, "S0SRE": {"U0BOB"}})
    assert not decision.allowed
    assert "could not read the members of S0ONCALL" in decision.reason


def test_no_operators_means_nobody():
    decision = operator_decision("U0OPS1", Operators.of([]), {})
    assert not decision.allowed and "lists no operators" in decision.reason


def test_second_approver_refuses_the_proposer_only():
    refused = confirm_decision("U0OPS1", OPS, {}, proposed_by="U0OPS1", second_approver=True)
    assert not refused.allowed and "second approver" in refused.reason
    assert confirm_decision("U0OPS1", OPS, {}, proposed_by="U0OPS1", second_approver=False).allowed
    members = {"S0ONCALL": {"U0BOB"}, "S0SRE": set()}
    assert confirm_decision("U0BOB", OPS, members, proposed_by="U0OPS1", second_approver=True).allowed


def test_second_approver_does_not_let_a_non_operator_in():
    members = {"S0ONCALL": set(), "S0SRE": set()}
    decision = confirm_decision("U0EVE", OPS, members, proposed_by="U0X", second_approver=True)
    assert not decision.allowed and "not one" in decision.reason


def test_cancel_by_the_proposer_or_an_operator():
    assert cancel_decision("U0EVE", OPS, {}, proposed_by="U0EVE").allowed
    assert cancel_decision("U0OPS1", OPS, {}, proposed_by="U0EVE").allowed
    refused = cancel_decision("U0MALLORY", OPS, {"S0ONCALL": set(), "S0SRE": None}, proposed_by="U0EVE")
    assert not refused.allowed
    assert refused.reason.startswith("only the person who proposed it or an operator may cancel it")
    assert "could not read the members of S0SRE" in refused.reason


def test_two_distinct_operators_are_needed_with_a_second_approver():
    from app.core.guard import approvals_needed

    assert approvals_needed(True) == 2 and approvals_needed(False) == 1


def test_only_operators_implied_approvals_count():
    from app.core.guard import counted_approvers

    members = {"S0ONCALL": {"U0BOB"}}
    implied = {"U0OPS1": "earlier", "U0BOB": "proposer", "U0EVE": "earlier"}
    assert counted_approvers(implied, OPS, members) == {"U0OPS1": "earlier", "U0BOB": "proposer"}
    assert counted_approvers(implied, OPS, {"S0ONCALL": None}) == {"U0OPS1": "earlier"}  # unreadable group: no
