"""Proposals in Block Kit, in every status: what people read, escaped, restated in the dialog, within limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.core.health import CheckResult, ServiceHealth, Verdict, failed_probe
from app.flows.action_views import (
    ClickResult,
    DeploymentList,
    DeploymentView,
    IdlePreview,
    Outcome,
    SessionGroup,
    view,
)
from app.providers.postgres import IdleSession
from app.slack.render.actions import (
    click_reply,
    deployment_list,
    health_actions,
    proposal_message,
    verification_alert,
)
from app.slack.render.common import Block
from app.store.proposals import ProposalRecord
from tests.unit.test_health_render import assert_within_slack_limits

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
CURRENT = DeploymentView(
    "4e6a8c0d-5f7b-4d9c-9e3f-a4b5c6d7e8f9", "SUCCESS", NOW - timedelta(hours=3), "d5e2f68" * 5,
    "Fix <!channel> & more\nsecond line", "Dana <Ops>", is_current=True,
)
TARGET = DeploymentView(
    "2c4e6a8b-3d5f-4b7a-9c1d-e2f3a4b5c6d7", "REMOVED", NOW - timedelta(days=2), "b81e4d0" * 5,
    "Cache sessions in Redis", "Lee Dev", can_rollback=True,
)


def record(kind: str = "rollback", status: str = "proposed", *, provider: str = "railway", inputs=None,
           plan=None, result=None, confirmed_by=None, policy=None) -> ProposalRecord:
    return ProposalRecord(
        id="a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        kind=kind,
        service="api",
        params={
            "provider": provider,
            "inputs": inputs if inputs is not None else {"target_deployment_id": TARGET.id},
            "plan": plan if plan is not None else {
                "current": CURRENT.to_dict(), "target": TARGET.to_dict(),
                "why": "the newest deployment before the current one that never crashed, failed or was marked bad",
            },
            "policy": policy or {},
        },
        status=status,
        proposed_by="U0ASKER",
        confirmed_by=confirmed_by,
        incident_id=None,
        channel="C0ALERTS",
        message_ts="1.1",
        thread_ts=None,
        result=result or {},
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
        updated_at=NOW,
    )


def buttons(message: dict[str, Any]) -> list[Block]:
    found = []
    for block in message["blocks"]:
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
    return found


def test_an_open_proposal_shows_both_deployments_and_the_two_buttons():
    message = proposal_message(view(record(), NOW))
    assert_within_slack_limits(message)
    shown = str(message["blocks"])
    assert "`4e6a8c0d` *SUCCESS* · current" in shown and "3 h ago" in shown
    assert "`2c4e6a8b` *REMOVED*" in shown and "b81e4d0 “Cache sessions in Redis”" in shown and "2 d ago" in shown
    assert "*Why this one:* the newest deployment before the current one that never crashed, failed" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt; &amp; more" in shown and "Dana &lt;Ops&gt;" in shown
    assert "<@U0ASKER>" in shown and "(in 10 min)" in shown and "<!date^" in shown
    confirm, cancel = buttons(message)
    assert confirm["action_id"] == "action.confirm" and confirm["style"] == "danger"
    assert confirm["value"] == cancel["value"] == "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
    assert cancel["action_id"] == "action.cancel" and "style" not in cancel
    dialog = confirm["confirm"]
    assert dialog["title"]["text"] == "Roll back api?"
    assert "Roll back api to deployment 2c4e6a8b" in dialog["text"]["text"]
    assert "Cache sessions in Redis" in dialog["text"]["text"]
    assert dialog["confirm"]["text"] == "Roll back"
    assert message["text"].startswith("Proposed: Roll back api to deployment 2c4e6a8b.")


@pytest.mark.parametrize(("provider", "kind", "words"), [
    ("railway", "rollback", "Railway restores that deployment's variables too: a variable changed since"),
    ("vercel", "rollback", "Vercel pins production to that build: new production deployments do not go live until"),
    ("vercel", "rollback", "On the Hobby plan Vercel rolls back only to the previous production deployment"),
    ("vercel", "promote", "This also ends a rollback"),
])
def test_the_card_says_what_a_rollback_also_does(provider: str, kind: str, words: str):
    message = proposal_message(view(record(kind, provider=provider), NOW))
    assert_within_slack_limits(message)
    shown = str(message["blocks"])
    assert "*Also:* " in shown and words in shown


def test_second_approver_is_said_on_the_proposal():
    message = proposal_message(view(record(policy={"second_approver": True}), NOW))
    assert "needs a second operator" in str(message["blocks"])


def test_an_expired_proposal_offers_to_propose_again_whatever_its_row_says():
    message = proposal_message(view(record(), NOW + timedelta(minutes=10)))
    assert message["text"].startswith("Expired:")
    assert [b["action_id"] for b in buttons(message)] == ["action.propose_again"]


@pytest.mark.parametrize(
    ("status", "result", "headline", "button_ids"),
    [
        ("running", {}, "Running:", []),
        ("accepted", {"answer": {"action": "rollback", "deployment_id": TARGET.id, "accepted": True}},
         "Accepted:", []),
        ("failed", {"failure": {"call": "railway rollback", "reason": "Deployment cannot be rolled back"}},
         "Failed:", ["action.propose_again"]),
        ("cancelled", {"cancelled_by": "U0OPS1"}, "Cancelled:", []),
    ],
)
def test_each_status_reads_as_it_should(status, result, headline, button_ids):
    message = proposal_message(view(record(status=status, result=result, confirmed_by="U0OPS1"), NOW))
    assert_within_slack_limits(message)
    assert message["text"].startswith(headline)
    assert [b["action_id"] for b in buttons(message)] == button_ids
    if status == "failed":
        assert "railway rollback failed:* Deployment cannot be rolled back" in str(message["blocks"])
    if status == "cancelled":
        assert "cancelled by <@U0OPS1>" in str(message["blocks"])


def test_an_uncertain_failure_warns_it_may_have_happened():
    failure = {"call": "railway rollback", "reason": "no answer within 10 s", "uncertain": True}
    message = proposal_message(view(record(status="failed", result={"failure": failure}), NOW))
    assert "may have happened anyway" in str(message["blocks"])


def test_verification_progress_and_outcome():
    until = (NOW + timedelta(minutes=15)).isoformat()
    watching = {"phase": "watching", "checks": 1, "healthy_since": NOW.isoformat(), "deployment_id": "9f9f9f9f-1"}
    accepted = record(status="accepted", result={"answer": {"deployment_id": "x"}, "verification": watching,
                                                 "verify_until": until})
    assert "healthy since" in str(proposal_message(view(accepted, NOW))["blocks"])
    failed_state = {**watching, "phase": "failed", "reason": "health failed again: HTTP 503"}
    failed = record(status="failed", result={"answer": {}, "verification": failed_state, "verify_until": until})
    message = proposal_message(view(failed, NOW))
    assert "Verification failed:* health failed again: HTTP 503" in str(message["blocks"])
    assert "Verification failed: health failed again" in message["text"]
    alert = verification_alert(view(failed, NOW), "Health failed again after the action: HTTP 503")
    assert alert["text"].startswith(":rotating_light: api: Health failed again")


def test_a_variable_value_never_reaches_the_message():
    inputs = {"name": "JWT_SECRET", "value": "super-secret-value", "redeploy": True}
    message = proposal_message(view(record("set_variable", inputs=inputs, plan={"current": CURRENT.to_dict()}), NOW))
    assert "super-secret-value" not in str(message)
    assert "`JWT_SECRET` = `***`" in str(message["blocks"])
    assert buttons(message)[0]["confirm"]["title"]["text"] == "Set variable api?"


def test_idle_sessions_preview_by_application_and_user():
    sessions = [
        IdleSession(1, "app", "web-api", "10.0.0.1", "idle", 600.0),
        IdleSession(2, "app", "web-api", "10.0.0.1", "idle", 900.0),
        IdleSession(3, "etl", None, None, "idle", 7200.0),
    ]
    preview = IdlePreview.of(sessions, 5)
    assert preview.groups[0] == SessionGroup("web-api", "app", 2, 900.0)
    plan = {"sessions": preview.to_dict()}
    rec = record("terminate_idle_sessions", provider="postgres", inputs={"idle_minutes": 5}, plan=plan)
    message = proposal_message(view(rec, NOW))
    shown = str(message["blocks"])
    assert "3 sessions idle for more than 5 min" in shown
    assert "• `web-api` as `app`: 2 (longest idle 15 min)" in shown
    assert "• `(no application name)` as `etl`: 1 (longest idle 2 h)" in shown
    assert "3 sessions would be ended" in buttons(message)[0]["confirm"]["text"]["text"]


def test_click_replies_mention_who_holds_it():
    proposal = view(record(status="running", confirmed_by="U0OPS1"), NOW)
    reply = click_reply(Outcome(ClickResult.NOT_OPEN, proposal, "already confirmed by U0OPS1: it is running now",
                                "U0OPS1"), "confirm")
    assert "already confirmed by <@U0OPS1>" in reply["text"] and "roll back api" in reply["text"]
    refused = click_reply(Outcome(ClickResult.REFUSED, proposal, "you are <not> one"), "confirm")
    assert refused["text"].startswith(":no_entry: You cannot confirm") and "&lt;not&gt;" in refused["text"]


def test_deployment_list_buttons_only_on_candidates():
    listing = DeploymentList("api", "railway", (CURRENT, TARGET), frozenset({TARGET.id}), TARGET.id, NOW)
    message = deployment_list(listing)
    assert_within_slack_limits(message)
    accessories = [b["accessory"] for b in message["blocks"] if "accessory" in b]
    assert [a["value"] for a in accessories] == [f"api {TARGET.id}"]
    assert "`/rollback api` would roll back to `2c4e6a8b`" in str(message["blocks"])
    assert "<deployment-id>" not in str(message) and "&lt;deployment-id&gt;" in str(message["blocks"])
    assert TARGET.id in message["text"]


def test_health_card_buttons_only_for_services_that_are_down():
    down = CheckResult("railway deployment", Verdict.DOWN, ("crashed",))
    ok = CheckResult("railway deployment", Verdict.OK, ("fine",))
    assert health_actions(ServiceHealth.of("api", "railway", [ok])) == []
    [block] = health_actions(ServiceHealth.of("api", "railway", [down]))
    assert block["block_id"] == "health.actions.api"
    assert [(e["action_id"], e["value"]) for e in block["elements"]] == [
        ("health.propose_restart", "api"), ("health.propose_rollback", "api"),
    ]
    [web] = health_actions(ServiceHealth.of("web", "vercel", [down]))
    assert [e["action_id"] for e in web["elements"]] == ["health.propose_redeploy", "health.propose_rollback"]
    [db] = health_actions(ServiceHealth.of("db", "postgres", [down]))
    assert [e["action_id"] for e in db["elements"]] == ["health.propose_terminate_idle"]
    assert health_actions(ServiceHealth.of("site", "http", [down])) == []


def test_no_health_button_when_the_check_it_would_go_through_did_not_reach_the_provider():
    unreached = failed_probe("railway deployment", "railway latest deployment", "connection refused")
    http_down = CheckResult("GET https://api/health", Verdict.DOWN, ("HTTP 503, expected 200",))
    [note] = health_actions(ServiceHealth.of("api", "railway", [unreached, http_down]))
    assert note["type"] == "context"
    assert note["elements"][0]["text"] == "Railway could not be reached: no actions offered."
    [web] = health_actions(ServiceHealth.of("web", "vercel", [failed_probe("vercel deployment", "x", "y")]))
    assert web["elements"][0]["text"] == "Vercel could not be reached: no actions offered."
    [db] = health_actions(ServiceHealth.of("db", "postgres", [failed_probe("postgres", "postgres probe", "no host")]))
    assert db["elements"][0]["text"] == "The database could not be reached: no actions offered."
    # Another check failing to connect (the service's own URL) says nothing of the provider.
    unreachable_url = failed_probe("GET https://api/health", "GET https://api/health", "connection refused")
    crashed = CheckResult("railway deployment", Verdict.DOWN, ("latest deployment d1 CRASHED",))
    [block] = health_actions(ServiceHealth.of("api", "railway", [crashed, unreachable_url]))
    assert block["type"] == "actions"


def test_approvals_so_far_are_shown_while_a_second_operator_is_awaited():
    message = proposal_message(view(record(policy={"second_approver": True}, result={"approvals": ["U0OPS1"]}), NOW))
    assert "two different operators must approve" in str(message["blocks"])
    assert "approved so far by <@U0OPS1>" in str(message["blocks"])
    assert "Approved so far by <@U0OPS1>" in message["text"]
    ran = view(record(status="accepted", confirmed_by="U0OPS2", policy={"second_approver": True},
                      result={"approvals": ["U0OPS1", "U0OPS2"], "answer": {"deployment_id": TARGET.id}}), NOW)
    assert "approved by <@U0OPS1>, <@U0OPS2>" in str(proposal_message(ran)["blocks"])


def test_an_approval_is_told_to_the_clicker_as_such():
    shown = view(record(policy={"second_approver": True}), NOW)
    reply = click_reply(Outcome(ClickResult.APPROVED, shown, "it runs once a second operator approves too"), "confirm")
    assert reply["text"].startswith(":ballot_box_with_check: You approved *roll back api*")


def test_the_deployments_passed_over_are_listed_with_why():
    plan = {"current": CURRENT.to_dict(), "target": TARGET.to_dict(), "why": "w",
            "passed_over": [{"id": "3d5f7b9c-4e6a-4c8b-8d2e-f3a4b5c6d7e8", "status": "REMOVED",
                             "reason": "pitcrew rolled back from it <during> INC-4"}]}
    shown = str(proposal_message(view(record(plan=plan), NOW))["blocks"])
    assert "*Passed over:* `3d5f7b9c` REMOVED: pitcrew rolled back from it &lt;during&gt; INC-4" in shown


@pytest.mark.parametrize(
    ("outcome", "headline"), [("done", "Accepted"), ("not_done", "Failed"), ("unknown", "Unknown")]
)
def test_a_settled_proposal_says_pitcrew_was_interrupted_and_what_the_provider_showed(outcome, headline):
    status = "accepted" if outcome == "done" else "failed"
    result: dict[str, Any] = {"settled": {"outcome": outcome, "evidence": "unknown: check the provider (x)",
                                          "at": NOW.isoformat()}}
    if status == "failed":
        result["failure"] = {"call": "railway rollback", "reason": "r", "uncertain": outcome == "unknown"}
    message = proposal_message(view(record(status=status, confirmed_by="U0OPS1", result=result), NOW))
    assert f" {headline}: roll back api" in message["blocks"][0]["text"]["text"]
    assert "pitcrew stopped while this was running; asked Railway" in str(message["blocks"])
    assert "pitcrew stopped while it was running" in message["text"]
