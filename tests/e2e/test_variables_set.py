"""`@pitcrew set|unset <service> NAME` end to end: a signed mention, the private button, the form
(`views.open`), its signed `view_submission`, the proposal card, the operator's confirmation, the
provider change with its redeploy, and the revert reminder when the clock has moved. Railway's
documents are validated against its schema and Vercel's calls against its OpenAPI description (the
`sandbox` fixture). The values set are then looked for in every Slack call, log line, audit entry
and database row, and found in none.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from app.jobs.runner import JobRunner
from app.sandbox.slack import FakeSlack, find_button
from app.store.models import Base
from tests.e2e.actions_support import (
    audit_entries,
    ephemerals_to,
    posted_proposal,
    proposal_id,
    wait_audited,
    wait_ephemeral,
    wait_status,
)
from tests.fixtures import ALERTS, OPERATOR, OPERATOR_2, STRANGER, RunningPitcrew, Sandbox, running_pitcrew

THREAD = "1700000000.000123"
NEW = "debug-7c1e55aa-NEWVALUE"
OLD = "info-OLDVALUE-93ab"
AUDIT = "audit-key-for-tests-0123456789abcdef"


def _pitcrew(db_url: str, slack: FakeSlack, sandbox: Sandbox, *, audit_key: bool = True, **catalog: Any):
    settings = sandbox.settings()
    if audit_key:
        settings["AUDIT_KEY"] = AUDIT
    return running_pitcrew(db_url, sandbox.catalog(**catalog), slack, clock=sandbox.clock, **settings)


async def _form(slack: FakeSlack, text: str, user: str) -> dict[str, Any]:
    """Mention, press the private button, and return the form Slack was asked to open."""
    seen = _ephemeral_calls(slack, user)
    opened = len(slack.calls_to("views.open"))
    await slack.mention(text, user=user, channel=ALERTS, thread_ts=THREAD)
    notes = await wait_ephemeral(slack, user, seen + 1)
    note = notes[-1]
    assert find_button(note, "variables.open_form") is not None, note.text
    await slack.click(note, "variables.open_form", user=user)
    calls = await slack.wait_for(lambda c: c.method == "views.open", count=opened + 1)
    view = calls[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


async def _confirmed(pitcrew: RunningPitcrew, slack: FakeSlack, count: int = 1) -> str:
    message = await posted_proposal(slack, count=count)
    pid = proposal_id(message)
    await slack.click(message, "action.confirm", user=OPERATOR_2)
    done = await wait_status(pitcrew, pid, "accepted", "failed")
    assert done.status == "accepted", done.failure
    return pid


def _ephemeral_calls(slack: FakeSlack, user: str) -> int:
    """chat.postEphemeral calls to `user` so far (answers through a response_url are not among them)."""
    return len([c for c in slack.calls_to("chat.postEphemeral") if c.args.get("user") == user])


def _proposals_posted(slack: FakeSlack) -> int:
    return len([
        c for c in slack.calls if c.method == "chat.postMessage" and "action.confirm" in str(c.args.get("blocks"))
    ])


async def _rows(pitcrew: RunningPitcrew) -> str:
    """Every row of every table, as text."""
    found: list[str] = []
    async with pitcrew.deps.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                found.append(repr(tuple(row)))
    return "\n".join(found)


async def test_set_on_railway_redeploys_and_the_reminder_proposes_the_old_value_back(
    db_url, fake_slack, sandbox: Sandbox, caplog
):
    caplog.set_level(logging.INFO)  # what pitcrew logs in production; its own loggers at DEBUG too
    caplog.set_level(logging.DEBUG, logger="pitcrew")
    sandbox.world.set_variable("api", "LOG_LEVEL", OLD)
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        before = sandbox.world.current("api").id
        view = await _form(fake_slack, "set api LOG_LEVEL", OPERATOR)
        assert {b.get("block_id") for b in view["blocks"]} >= {"value", "redeploy", "revert_after"}
        answer = await fake_slack.submit(view, {"value": NEW, "revert_after": "2m"}, user=OPERATOR)
        assert answer.status_code == 200 and answer.content in (b"", b"null")

        message = await posted_proposal(fake_slack)
        card = json.dumps(message.blocks)
        assert "LOG_LEVEL" in card and "fingerprint" in card and f"{len(NEW)} characters" in card
        assert "Revert reminder" in card and message.thread_ts == THREAD
        waiting = await _rows(pitcrew)  # the value waits for its confirmation sealed, not as typed
        assert NEW not in waiting and "'sealed': " in waiting
        await fake_slack.click(message, "action.confirm", user=OPERATOR_2)
        done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure
        assert sandbox.world.service("api").variables["LOG_LEVEL"] == NEW
        assert sandbox.world.current("api").id != before  # one change: the upsert redeployed
        assert not sandbox.mutations("DeploymentRedeploy")
        await wait_audited(pitcrew, "action.run")
        await pitcrew.jobs_settled()

        runner = JobRunner(pitcrew.deps, worker="test")
        sandbox.clock.advance(minutes=1)
        await runner.run_due()
        assert _proposals_posted(fake_slack) == 1  # not yet
        await pitcrew.jobs_settled()
        sandbox.clock.advance(minutes=2)
        await runner.run_due()
        revert = await posted_proposal(fake_slack, count=2)
        assert "LOG_LEVEL" in json.dumps(revert.blocks) and revert.thread_ts == THREAD
        assert "revert reminder of proposal" in json.dumps(revert.blocks)
        await fake_slack.click(revert, "action.confirm", user=OPERATOR_2)
        back = await wait_status(pitcrew, proposal_id(revert), "accepted", "failed")
        assert back.status == "accepted", back.failure
        assert sandbox.world.service("api").variables["LOG_LEVEL"] == OLD
        await wait_audited(pitcrew, "action.run", count=2)
        await pitcrew.jobs_settled()

        entries = await audit_entries(pitcrew)
        rows = await _rows(pitcrew)
    for secret in (NEW, OLD):
        assert secret not in fake_slack.all_text()
        assert secret not in json.dumps([[e.action, e.target, e.params, e.outcome] for e in entries], default=str)
        assert secret not in rows
        assert secret not in caplog.text


async def test_set_on_vercel_edits_the_env_then_redeploys_production(db_url, fake_slack, sandbox: Sandbox):
    vercel = sandbox.vercel_world
    serving = vercel.production("web")
    assert serving is not None
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        view = await _form(fake_slack, "set web FEATURE_FALLBACK", OPERATOR)
        assert "targets" in {b.get("block_id") for b in view["blocks"]}
        await fake_slack.submit(view, {"value": NEW}, user=OPERATOR)
        message = await posted_proposal(fake_slack)
        assert "not set now" in json.dumps(message.blocks)
        await fake_slack.click(message, "action.confirm", user=OPERATOR_2)
        done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure
        assert done.verifies and done.answer and done.answer.get("new_deployment_id")
    assert vercel.project("web").env["FEATURE_FALLBACK"] == NEW
    now = vercel.production("web")
    assert now is not None and now.id != serving.id and now.commit_sha == serving.commit_sha
    calls = [(c.method, c.path) for c in sandbox.vercel.calls]
    assert ("POST", "/v13/deployments") in calls
    assert any(m == "POST" and p.endswith("/env") for m, p in calls)
    assert NEW not in fake_slack.all_text()


async def test_vercel_redeploy_is_an_action(db_url, fake_slack, sandbox: Sandbox):
    from app.flows.actions import Asked, Where, notifier_for, propose

    serving = sandbox.vercel_world.production("web")
    assert serving is not None
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await propose(
            pitcrew.deps, "redeploy", "web", asked=Asked(STRANGER, Where(ALERTS, None), notifier_for(pitcrew.deps))
        )
        await _confirmed(pitcrew, fake_slack)
    now = sandbox.vercel_world.production("web")
    assert now is not None and now.id != serving.id


async def test_unset_on_railway_deletes_the_variable(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_variable("api", "FALLBACK_MODE", "on")
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        view = await _form(fake_slack, "unset api FALLBACK_MODE", OPERATOR)
        assert "value" not in {b.get("block_id") for b in view["blocks"]}
        await fake_slack.submit(view, {}, user=OPERATOR)
        await _confirmed(pitcrew, fake_slack)
    assert "FALLBACK_MODE" not in sandbox.world.service("api").variables
    [deleted] = sandbox.mutations("VariableDelete") or [None]
    assert deleted is None or deleted.variables["input"]["name"] == "FALLBACK_MODE"
    assert [c for c in sandbox.railway.calls if c.operation == "VariableDelete"]


async def test_a_revert_after_a_change_by_hand_proposes_nothing(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_variable("api", "LOG_LEVEL", OLD)
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        view = await _form(fake_slack, "set api LOG_LEVEL", OPERATOR)
        await fake_slack.submit(view, {"value": NEW, "revert_after": "1h"}, user=OPERATOR)
        await _confirmed(pitcrew, fake_slack)
        await pitcrew.jobs_settled()
        sandbox.world.set_variable("api", "LOG_LEVEL", "warn-set-by-hand")
        sandbox.clock.advance(minutes=61)
        await JobRunner(pitcrew.deps, worker="test").run_due()
        await fake_slack.wait_for(
            lambda c: c.method == "chat.postMessage" and "changed" in c.args.get("text", "")
            and "again" in c.args.get("text", "")
        )
        assert _proposals_posted(fake_slack) == 1
    assert sandbox.world.service("api").variables["LOG_LEVEL"] == "warn-set-by-hand"


async def test_without_audit_key_the_reminder_asks_for_the_value_in_the_form(
    db_url, fake_slack, sandbox: Sandbox, caplog
):
    """No AUDIT_KEY: nothing of the old value is kept; the reminder, in the change's thread, carries the
    button that opens the `set` form for api's LOG_LEVEL; an operator types the old value there, never in
    the channel, and its proposal sets it back once confirmed."""
    caplog.set_level(logging.DEBUG, logger="pitcrew")
    sandbox.world.set_variable("api", "LOG_LEVEL", OLD)
    async with _pitcrew(db_url, fake_slack, sandbox, audit_key=False) as pitcrew:
        view = await _form(fake_slack, "set api LOG_LEVEL", OPERATOR)
        await fake_slack.submit(view, {"value": NEW, "revert_after": "2m"}, user=OPERATOR)
        await _confirmed(pitcrew, fake_slack)
        await pitcrew.jobs_settled()
        sandbox.clock.advance(minutes=3)
        await JobRunner(pitcrew.deps, worker="test").run_due()
        [asked] = await fake_slack.wait_for(
            lambda c: c.method == "chat.postMessage" and "kept no copy" in c.args.get("text", "")
        )
        assert asked.args["thread_ts"] == THREAD and asked.args["channel"] == ALERTS
        reminder = next(m for m in fake_slack.messages if "kept no copy" in m.text and not m.ephemeral_to)
        assert find_button(reminder, "variables.open_form") is not None
        assert _proposals_posted(fake_slack) == 1  # nothing proposed without the value

        opened = len(fake_slack.calls_to("views.open"))
        await fake_slack.click(reminder, "variables.open_form", user=OPERATOR)
        calls = await fake_slack.wait_for(lambda c: c.method == "views.open", count=opened + 1)
        form = calls[-1].args["view"]
        form = json.loads(form) if isinstance(form, str) else form
        shown = json.dumps(form["blocks"])
        assert "*LOG_LEVEL* on *api*" in shown and "before pitcrew changed it" in shown
        assert json.loads(form["private_metadata"])["s"] == "api" and json.loads(form["private_metadata"])["n"] == (
            "LOG_LEVEL"
        )
        await fake_slack.submit(form, {"value": OLD}, user=OPERATOR)
        revert = await posted_proposal(fake_slack, count=2)
        assert revert.thread_ts == THREAD and "the revert reminder" in json.dumps(revert.blocks)
        await fake_slack.click(revert, "action.confirm", user=OPERATOR_2)
        back = await wait_status(pitcrew, proposal_id(revert), "accepted", "failed")
        assert back.status == "accepted", back.failure
        await pitcrew.jobs_settled()
        entries = await audit_entries(pitcrew)
        rows = await _rows(pitcrew)
    assert sandbox.world.service("api").variables["LOG_LEVEL"] == OLD
    assert any(e.action == "variables.revert" and e.outcome == "asked for the value" for e in entries)
    for secret in (NEW, OLD):
        assert secret not in rows
        assert secret not in fake_slack.all_text()
        assert secret not in json.dumps([[e.action, e.target, e.params, e.outcome] for e in entries], default=str)
        assert secret not in caplog.text


async def test_bad_input_gets_a_private_message_and_changes_nothing(db_url, fake_slack, sandbox: Sandbox):
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        for text, said in (
            ("set nosuch LOG_LEVEL", "nosuch"),
            ("set api 9LIVES", "not valid"),
            ("set api", "Usage"),
            ("set site LOG_LEVEL", "no actions for http"),
        ):
            seen = len(ephemerals_to(fake_slack, OPERATOR))
            await fake_slack.mention(text, user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
            notes = await wait_ephemeral(fake_slack, OPERATOR, seen + 1)
            assert said in notes[-1].text, (text, notes[-1].text)
            assert find_button(notes[-1], "variables.open_form") is None

        view = await _form(fake_slack, "set api LOG_LEVEL", STRANGER)
        answer = await fake_slack.submit(view, {"value": NEW, "revert_after": "soon"}, user=STRANGER)
        assert answer.json()["response_action"] == "errors" and "revert_after" in answer.json()["errors"]
        await fake_slack.submit(view, {"value": NEW}, user=STRANGER)  # not an operator
        notes = await wait_ephemeral(fake_slack, STRANGER, 2)
        assert "Nothing was proposed" in notes[-1].text and "operator" in notes[-1].text
        await wait_audited(pitcrew, "form variables", count=2)
    assert not sandbox.mutations()
    assert _proposals_posted(fake_slack) == 0
    assert NEW not in fake_slack.all_text()


async def test_the_auth_failing_runbook_on_the_vercel_frontend_reaches_its_redeploy_and_runs_it(
    db_url, fake_slack, sandbox: Sandbox
):
    from tests.e2e.runbook_support import RESPONDER, ended, runbook_catalog, runbook_pitcrew, step_message
    from tests.e2e.test_runbooks_by_hand import _value_for, declared

    web = {"provider": "vercel", "vercel": sandbox.vercel_world.ref("web").model_dump(exclude_none=True)}
    serving = sandbox.vercel_world.production("web")
    assert serving is not None
    async with runbook_pitcrew(db_url, fake_slack, sandbox, catalog=runbook_catalog(sandbox, web=web)) as pitcrew:
        root = await declared(pitcrew, "Login failing for everyone")
        await fake_slack.mention("runbook auth-failing", user=RESPONDER, channel=ALERTS, thread_ts=root.ts)
        for step in ("announce", "health", "test-login", "logs", "variables", "auth-variables"):
            message = await step_message(fake_slack, root, step)
            await fake_slack.click(message, "runbook.skip", user=RESPONDER)
            await ended(message, "Skipped")
        cause = await step_message(fake_slack, root, "cause")
        [choice] = [
            e for b in cause.blocks if b.get("type") == "actions" for e in b["elements"]
            if "Invalid credentials" in e["text"]["text"]
        ]
        await fake_slack.click(cause, choice["action_id"], user=RESPONDER, value=choice["value"])
        credentials = await step_message(fake_slack, root, "credentials")
        await fake_slack.click(credentials, "runbook.done", user=RESPONDER)

        # The secret's step has no value in the file: its Run button offers the form, privately.
        secret = await step_message(fake_slack, root, "set-secret")
        seen = _ephemeral_calls(fake_slack, OPERATOR)
        await fake_slack.click(secret, "runbook.run", user=OPERATOR, value=_value_for(secret, "web"))
        note = (await wait_ephemeral(fake_slack, OPERATOR, seen + 1))[-1]
        await fake_slack.click(note, "variables.open_form", user=OPERATOR)
        [opened] = await fake_slack.wait_for(lambda c: c.method == "views.open")
        view = opened.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert "redeploy" not in {b.get("block_id") for b in view["blocks"]}  # the runbook says: no redeploy
        await fake_slack.submit(view, {"value": NEW, "targets": "production"}, user=OPERATOR)
        setting = await posted_proposal(fake_slack)
        assert "without redeploying" in setting.text
        await fake_slack.click(setting, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew.app, proposal_id(setting), "accepted", "failed")
        assert done.status == "accepted", done.failure
        await ended(secret, "Ran")
        assert sandbox.vercel_world.production("web").id == serving.id  # not deployed yet

        redeploy = await step_message(fake_slack, root, "redeploy")
        await fake_slack.click(redeploy, "runbook.run", user=RESPONDER, value=_value_for(redeploy, "web"))
        proposal = await posted_proposal(fake_slack, count=2)
        assert "Redeploy web" in proposal.text
        await fake_slack.click(proposal, "action.confirm", user=OPERATOR)
        done = await wait_status(pitcrew.app, proposal_id(proposal), "accepted", "failed")
        assert done.status == "accepted", done.failure
        await ended(redeploy, "Ran")
    now = sandbox.vercel_world.production("web")
    assert now is not None and now.id != serving.id
    assert sandbox.vercel_world.project("web").env["LINKEDIN_CLIENT_SECRET"] == NEW
    assert NEW not in fake_slack.all_text()


async def test_a_value_sealed_under_another_key_is_never_sent(db_url, fake_slack, sandbox: Sandbox):
    """The typed value is sealed in the proposal's row; if it cannot be opened (the keys changed
    between the form and the confirmation), nothing reaches the provider and the card says why."""
    sandbox.world.set_variable("api", "LOG_LEVEL", OLD)
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        view = await _form(fake_slack, "set api LOG_LEVEL", OPERATOR)
        await fake_slack.submit(view, {"value": NEW}, user=OPERATOR)
        message = await posted_proposal(fake_slack)
        pitcrew.deps.settings.AUDIT_KEY = SecretStr("another key entirely")
        await fake_slack.click(message, "action.confirm", user=OPERATOR_2)
        done = await wait_status(pitcrew, proposal_id(message), "accepted", "failed")
        assert done.status == "failed" and "could not be opened" in str(done.failure)
    assert sandbox.world.service("api").variables["LOG_LEVEL"] == OLD
    assert not sandbox.mutations("VariableUpsert")


async def test_setting_a_name_that_references_a_shared_variable_says_what_it_replaces(
    db_url, fake_slack, sandbox: Sandbox
):
    """api's JWT_SECRET is `${{shared.JWT_SECRET}}`: `set` would give api a value of its own; the card says
    so, and points to `rotate` for the shared one (the reference's text is never shown)."""
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        view = await _form(fake_slack, "set api JWT_SECRET", OPERATOR)
        await fake_slack.submit(view, {"value": NEW}, user=OPERATOR)
        message = await posted_proposal(fake_slack)
        await pitcrew.jobs_settled()
    card = json.dumps(message.blocks)
    assert "is now a reference to shared JWT_SECRET" in card and "@pitcrew rotate JWT_SECRET" in card
    assert "${{" not in card and NEW not in fake_slack.all_text()
    assert sandbox.world.service("api").variables["JWT_SECRET"] == "${{shared.JWT_SECRET}}"  # not confirmed
