"""The table of actions, their descriptions, the proposal's statuses, expiry, policy, and `/rollback` arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.actions import (
    ACTION_KINDS,
    ActionNotAvailable,
    ActionPolicy,
    InvalidActionParams,
    InvalidTransition,
    PolicyLayer,
    ProposalStatus,
    check_transition,
    describe,
    expires_at,
    idle_minutes_of,
    is_expired,
    is_final,
    masked_params,
    resolve_policy,
    short_id,
    spec_for,
    verifies,
    why_not_open,
)
from app.core.rollback_args import RollbackArgs, RollbackUsage

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
UUID = "2c4e6a8b-3d5f-4b7a-9c1d-e2f3a4b5c6d7"


def test_every_provider_action_of_the_issue_exists():
    wanted = {
        ("railway", "rollback"), ("railway", "restart"), ("railway", "redeploy"), ("railway", "stop"),
        ("railway", "set_variable"), ("vercel", "rollback"), ("vercel", "promote"),
        ("postgres", "terminate_idle_sessions"),
        # issue 16: scaling and backups; a Railway-hosted PostgreSQL restarts and backs up
        ("railway", "scale"), ("railway", "backup"), ("postgres", "restart"), ("postgres", "backup"),
        ("postgres", "scale"),
        # issue 15: variables changed from Slack, and redeploy for Vercel
        ("railway", "unset_variable"), ("vercel", "set_variable"), ("vercel", "unset_variable"), ("vercel", "redeploy"),
    }
    assert {(p, k) for p in ("railway", "vercel", "postgres") for k in ACTION_KINDS if _exists(p, k)} == wanted


def _exists(provider: str, kind: str) -> bool:
    try:
        spec_for(provider, kind)
    except ActionNotAvailable:
        return False
    return True


@pytest.mark.parametrize(
    ("provider", "kind", "said"),
    [
        ("postgres", "rollback", "postgres services have no rollback (rollback works on railway and vercel services)"),
        (
            "vercel", "restart",
            "vercel services have no restart (restart works on postgres and railway services); available here",
        ),
        ("http", "rollback", "pitcrew has no actions for http services"),
        ("railway", "nuke", "there is no action 'nuke'"),
    ],
)
def test_an_action_a_provider_lacks_is_refused_with_a_sentence(provider, kind, said):
    with pytest.raises(ActionNotAvailable, match=said.replace("(", r"\(").replace(")", r"\)")):
        spec_for(provider, kind)


def test_descriptions_say_what_confirming_does_without_secrets():
    railway = lambda kind: spec_for("railway", kind)  # noqa: E731
    rollback = describe(railway("rollback"), "api", {"target_deployment_id": UUID})
    assert rollback == "Roll back api to deployment 2c4e6a8b"
    assert describe(railway("restart"), "api", {"deployment_id": UUID}) == "Restart api (deployment 2c4e6a8b)"
    assert "stops serving" in describe(railway("stop"), "api", {"deployment_id": UUID})
    said = describe(railway("set_variable"), "api", {"name": "JWT_SECRET", "value": "s3cr3t-value", "redeploy": True})
    assert said == "Set JWT_SECRET on api, then redeploy it" and "s3cr3t" not in said
    assert describe(spec_for("vercel", "promote"), "web", {"target_deployment_id": "dpl_X"})== (
        "Promote deployment dpl_X to production on web"
    )
    assert describe(spec_for("postgres", "terminate_idle_sessions"), "db", {"idle_minutes": 5}) == (
        "End the sessions of db idle for more than 5 minutes"
    )


def test_secret_parameters_are_masked_and_only_they():
    spec = spec_for("railway", "set_variable")
    assert masked_params(spec, {"name": "TOKEN", "value": "abc", "redeploy": True}) == {
        "name": "TOKEN", "value": "***", "redeploy": True,
    }
    assert masked_params(spec_for("railway", "restart"), {"deployment_id": "x"}) == {"deployment_id": "x"}


def test_which_actions_are_verified_afterwards():
    assert verifies(spec_for("railway", "rollback"), {})
    assert verifies(spec_for("railway", "set_variable"), {"redeploy": True})
    assert not verifies(spec_for("railway", "set_variable"), {"redeploy": False})
    assert not verifies(spec_for("railway", "stop"), {})
    assert not verifies(spec_for("postgres", "terminate_idle_sessions"), {})


def test_short_ids():
    assert short_id(UUID) == "2c4e6a8b"
    assert short_id("dpl_Sbx2Pricing") == "dpl_Sbx2Pricing"


@pytest.mark.parametrize(("value", "minutes"), [(5, 5.0), ("0.5", 0.5), (0, 0.0)])
def test_idle_minutes(value, minutes):
    assert idle_minutes_of(value) == minutes


@pytest.mark.parametrize("value", [-1, "five", None, 1e9, float("nan")])
def test_bad_idle_minutes(value):
    with pytest.raises(InvalidActionParams):
        idle_minutes_of(value)


def test_statuses_only_move_forward():
    assert check_transition("proposed", "running") is ProposalStatus.RUNNING
    assert check_transition("running", "accepted") is ProposalStatus.ACCEPTED
    assert check_transition("accepted", "verified") is ProposalStatus.VERIFIED
    for current, new in [("running", "proposed"), ("cancelled", "running"), ("expired", "running"),
                         ("proposed", "accepted"), ("verified", "failed")]:
        with pytest.raises(InvalidTransition):
            check_transition(current, new)


def test_final_statuses():
    assert is_final("failed", verifies=True) and is_final("expired", verifies=True)
    assert not is_final("accepted", verifies=True)
    assert is_final("accepted", verifies=False)
    assert not is_final("proposed", verifies=False)


def test_expiry_is_exclusive_at_the_instant():
    until = expires_at(NOW, 10)
    assert until == NOW + timedelta(minutes=10)
    assert not is_expired(until, until - timedelta(microseconds=1))
    assert is_expired(until, until)
    with pytest.raises(ValueError):
        expires_at(NOW, 0)


def test_why_a_proposal_is_not_open():
    assert "expired" in why_not_open("proposed", expired=True, confirmed_by=None)
    assert why_not_open("running", expired=False, confirmed_by="U1") == "already confirmed by U1: it is running now"
    assert "cancelled by U2" in why_not_open("cancelled", expired=False, confirmed_by="U2")
    assert "propose it again" in why_not_open("failed", expired=False, confirmed_by="U1")


def test_policy_defaults_and_layers():
    assert resolve_policy("rollback", []) == ActionPolicy(10.0, False, 30, 15.0)
    top = PolicyLayer(expire_minutes=5, second_approver=["stop"], verify_interval_s=10)
    service = PolicyLayer(verify_window_minutes=2)
    assert resolve_policy("rollback", [top, service]) == ActionPolicy(5.0, False, 10, 2.0)
    assert resolve_policy("stop", [top, service]).second_approver is True
    assert resolve_policy("stop", [top, PolicyLayer(second_approver=False)]).second_approver is False
    assert ActionPolicy.from_dict(ActionPolicy(3, True, 7, 1).to_dict()) == ActionPolicy(3, True, 7, 1)


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("api", RollbackArgs("api")),
        ("API", RollbackArgs("api")),
        (f"api {UUID}", RollbackArgs("api", target=UUID)),
        ("api list", RollbackArgs("api", list_only=True)),
        ("  web   dpl_abc  ", RollbackArgs("web", target="dpl_abc")),
        ("web https://web-abc123.vercel.app/", RollbackArgs("web", target="web-abc123.vercel.app")),
    ],
)
def test_rollback_arguments(text, args):
    assert RollbackArgs.parse(text) == args


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which service?"),
        ("help", None),
        ("api x y", "Too many words"),
        ("<!channel>", "is not a service name"),
        ("api ../../v2/user", "is not a deployment id"),
    ],
)
def test_rollback_usage(text, problem):
    with pytest.raises(RollbackUsage) as caught:
        RollbackArgs.parse(text)
    assert caught.value.problem == problem or (problem and problem in (caught.value.problem or ""))
    assert "/rollback <service> list" in str(caught.value)
