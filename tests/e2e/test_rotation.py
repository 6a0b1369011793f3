"""`@pitcrew rotate NAME` end to end: a signed mention, the first service's proposal, the operator's
confirmation, the Railway upsert with its redeploy, the verification driven by a hand-moved clock,
then the next service's proposal (in `depends_on` order), and the closing notify note. The new value,
made by pitcrew and read back from the sandbox, is then looked for in every Slack call, log line,
audit entry and database row, and found in none. Also: refused without AUDIT_KEY, for an unknown
name, and for a non-operator, each privately and with nothing proposed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.jobs.runner import JobRunner
from app.sandbox.railway.sample import SAMPLE_JWT_SECRET
from app.sandbox.slack import FakeSlack
from app.store import rotations
from tests.e2e.actions_support import audit_entries, posted_proposal, proposal_id, wait_ephemeral, wait_status
from tests.e2e.test_variables_set import AUDIT, _proposals_posted, _rows
from tests.fixtures import ALERTS, OPERATOR, OPERATOR_2, STRANGER, RunningPitcrew, Sandbox, running_pitcrew

THREAD = "1700000000.000321"


def _pitcrew(db_url: str, slack: FakeSlack, sandbox: Sandbox, *, audit_key: bool = True, **api_more: Any):
    settings = sandbox.settings()
    if audit_key:
        settings["AUDIT_KEY"] = AUDIT
    worker = {"provider": "railway", "railway": sandbox.world.ref("worker").model_dump()}
    # api depends on worker here, so the order differs from pitcrew.yml's: worker first, then api
    api = sandbox.railway_api(depends_on=["worker"], **api_more)
    catalog = sandbox.catalog(
        extra={"api": api, "worker": worker}, actions={"verify": {"interval_s": 30, "window_minutes": 1}}
    )
    return running_pitcrew(db_url, catalog, slack, clock=sandbox.clock, **settings)


async def _confirm_and_verify(pitcrew: RunningPitcrew, slack: FakeSlack, sandbox: Sandbox, count: int) -> Any:
    message = await posted_proposal(slack, count=count)
    await slack.click(message, "action.confirm", user=OPERATOR_2)
    pid = proposal_id(message)
    done = await wait_status(pitcrew, pid, "accepted", "failed")
    assert done.status == "accepted", done.failure
    runner = JobRunner(pitcrew.deps, worker="test")
    for _ in range(20):
        await pitcrew.jobs_settled()
        sandbox.clock.advance(seconds=30)
        await runner.run_due()
        found = await wait_status(pitcrew, pid, "accepted", "verified", "failed")
        if found.status != "accepted":
            break
    assert found.status == "verified", found.verification
    return message


async def _health(slack: FakeSlack, fragment: str) -> None:
    """`@pitcrew health api` in the thread, and the card's evidence of `rotate_after_days`."""
    seen = len(_notes(slack, fragment))
    await slack.mention("health api", user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
    await slack.wait_for(lambda c: c.method == "chat.postMessage" and fragment in json.dumps(c.args), count=seen + 1)


def _notes(slack: FakeSlack, fragment: str) -> list[Any]:
    return [c for c in slack.calls if c.method == "chat.postMessage" and fragment in json.dumps(c.args, default=str)]


async def test_rotate_sets_the_shared_variable_once_then_redeploys_each_service_in_order(
    db_url, fake_slack, sandbox: Sandbox, caplog
):
    """The sample's api and worker both take JWT_SECRET from `${{shared.JWT_SECRET}}`: the shared
    variable is set once (no serviceId, skipDeploys) with worker's redeploy, then api is redeployed;
    each deployment is given the new value only when it starts, and the references stay references."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="pitcrew")
    async with _pitcrew(db_url, fake_slack, sandbox, rotate_after_days={"JWT_SECRET": 90}) as pitcrew:
        await _health(fake_slack, "no rotation by pitcrew on record (rotate_after_days 90)")
        await fake_slack.mention("rotate JWT_SECRET", user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
        first = await _confirm_and_verify(pitcrew, fake_slack, sandbox, 1)
        assert "worker" in json.dumps(first.blocks) and "JWT_SECRET" in json.dumps(first.blocks)
        assert first.thread_ts == THREAD and "rotation of JWT_SECRET" in json.dumps(first.blocks)
        assert "Set the shared JWT_SECRET that worker's JWT_SECRET references" in first.text
        assert "the shared `JWT_SECRET` is what changes" in json.dumps(first.blocks)
        assert "*Also referenced by:* api: each takes the new value when it next deploys" in json.dumps(first.blocks)
        new = _shared(sandbox)
        assert new != SAMPLE_JWT_SECRET and len(new) == len(SAMPLE_JWT_SECRET)
        # worker's new deployment was given the new value; api has not redeployed and still runs the old
        assert sandbox.world.current("worker").variables["JWT_SECRET"] == new
        assert sandbox.world.current("api").variables["JWT_SECRET"] == SAMPLE_JWT_SECRET
        second = await _confirm_and_verify(pitcrew, fake_slack, sandbox, 2)
        assert "Redeploy api" in second.text and "already has the new value" in json.dumps(second.blocks)
        assert sandbox.world.current("api").variables["JWT_SECRET"] == new
        await pitcrew.jobs_settled()
        assert _proposals_posted(fake_slack) == 2
        [note] = _notes(fake_slack, "sign in again")
        assert note.args["thread_ts"] == THREAD and "JWT_SECRET rotated on worker, api" in json.dumps(note.args)

        for name in ("api", "worker"):  # still references: the shared variable is the one place it lives
            assert sandbox.world.service(name).variables["JWT_SECRET"] == "${{shared.JWT_SECRET}}"
            assert sandbox.world.rendered_variables(name)["JWT_SECRET"] == new
        [upsert] = sandbox.mutations("VariableUpsert")
        assert "serviceId" not in upsert.variables["input"] and upsert.variables["input"]["skipDeploys"] is True
        assert upsert.variables["input"]["value"] == "***"  # the sandbox keeps no value either
        redeployed = [sandbox.world.deployment(c.variables["id"]).service_id
                      for c in sandbox.mutations("DeploymentRedeploy")]
        assert redeployed == [sandbox.world.ref("worker").service_id, sandbox.world.ref("api").service_id]
        assert len(sandbox.mutations()) == 3  # one upsert, two redeploys: nothing deployed twice

        entries = await audit_entries(pitcrew)
        rotated = [e for e in entries if e.action == "rotate"]
        assert [e.actor for e in rotated] == [OPERATOR, OPERATOR]
        assert rotated[0].outcome.startswith("started") and rotated[-1].outcome.startswith("done")
        async with pitcrew.deps.sessions() as session:
            from sqlalchemy import select

            from app.store.models import Rotation

            row = (await session.execute(select(Rotation))).scalar_one()
        assert row.status == "done" and row.sealed is None
        assert await rotations.last_done(pitcrew.deps.sessions, "JWT_SECRET") is not None
        await _health(fake_slack, "rotated within JWT_SECRET 90 days")
        sandbox.clock.advance(days=91)
        await _health(fake_slack, "JWT_SECRET was last rotated 91 days ago (rotate_after_days 90)")
        rows = await _rows(pitcrew)
    assert new not in fake_slack.all_text()
    assert new not in json.dumps([[e.action, e.target, e.params, e.outcome] for e in entries], default=str)
    assert new not in rows
    assert new not in caplog.text


def _shared(sandbox: Sandbox) -> str:
    ref = sandbox.world.ref("api")
    return sandbox.world.shared[(ref.project_id, ref.environment_id)]["JWT_SECRET"]


async def _refused(pitcrew: RunningPitcrew, slack: FakeSlack, text: str, user: str) -> str:
    await slack.mention(text, user=user, channel=ALERTS, thread_ts=THREAD)
    notes = await wait_ephemeral(slack, user, 1)
    await pitcrew.jobs_settled()
    assert _proposals_posted(slack) == 0
    return notes[-1].text


async def test_rotate_is_refused_without_audit_key(db_url, fake_slack, sandbox: Sandbox):
    async with _pitcrew(db_url, fake_slack, sandbox, audit_key=False) as pitcrew:
        said = await _refused(pitcrew, fake_slack, "rotate JWT_SECRET", OPERATOR)
    assert "AUDIT_KEY" in said and "Nothing was rotated" in said
    assert not sandbox.mutations("VariableUpsert")


async def test_rotate_an_unknown_name_is_refused(db_url, fake_slack, sandbox: Sandbox):
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        said = await _refused(pitcrew, fake_slack, "rotate NO_SUCH_SECRET", OPERATOR)
        bad = await _refused(pitcrew, fake_slack, "rotate 9BAD", OPERATOR_2)
    assert "no Railway or Vercel service has a variable NO_SUCH_SECRET" in said and "Usage" in said
    assert "Nothing was rotated" in bad
    assert not sandbox.mutations("VariableUpsert")


async def test_rotate_by_a_non_operator_is_refused(db_url, fake_slack, sandbox: Sandbox):
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        said = await _refused(pitcrew, fake_slack, "rotate JWT_SECRET", STRANGER)
        entries = await audit_entries(pitcrew)
    assert "only operators rotate secrets" in said
    assert any(e.action == "rotate" and e.outcome.startswith("refused") and e.actor == STRANGER for e in entries)
    assert not sandbox.mutations("VariableUpsert")


async def test_a_sealed_holder_is_left_out_and_the_asker_is_asked(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_variable("worker", "JWT_SECRET", "sealed-worker-secret-value", sealed=True)
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await fake_slack.mention("rotate JWT_SECRET", user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
        message = await posted_proposal(fake_slack)
        [note] = await wait_ephemeral(fake_slack, OPERATOR, 1)
        await pitcrew.jobs_settled()
    assert "Set the shared JWT_SECRET that api's JWT_SECRET references" in message.text
    assert "worker also has JWT_SECRET, but its value cannot be read" in note.text
    assert "rotate JWT_SECRET api worker" in note.text


async def test_a_cancelled_proposal_stops_the_rotation_and_forgets_the_value(db_url, fake_slack, sandbox: Sandbox):
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await fake_slack.mention("rotate JWT_SECRET", user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
        message = await posted_proposal(fake_slack)
        await fake_slack.click(message, "action.cancel", user=OPERATOR)
        await fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and "stopped" in json.dumps(c.args))
        await pitcrew.jobs_settled()
        async with pitcrew.deps.sessions() as session:
            from sqlalchemy import select

            from app.store.models import Rotation

            row = (await session.execute(select(Rotation))).scalar_one()
    assert row.status == "stopped" and row.sealed is None
    assert _proposals_posted(fake_slack) == 1 and not sandbox.mutations("VariableUpsert")


async def test_a_vercel_frontend_sharing_the_secret_is_rotated_last(db_url, fake_slack, sandbox: Sandbox):
    """web (Vercel) depends on api: worker, then api, then web's production entry and its redeploy."""
    sandbox.vercel_world.set_env("web", "JWT_SECRET", SAMPLE_JWT_SECRET, targets=["production"])
    settings = {**sandbox.settings(), "AUDIT_KEY": AUDIT}
    worker = {"provider": "railway", "railway": sandbox.world.ref("worker").model_dump()}
    web = {"provider": "vercel", "vercel": sandbox.vercel_world.ref("web").model_dump(exclude_none=True),
           "depends_on": ["api"]}
    catalog = sandbox.catalog(
        extra={"api": sandbox.railway_api(depends_on=["worker"]), "worker": worker, "web": web},
        actions={"verify": {"interval_s": 30, "window_minutes": 1}},
    )
    async with running_pitcrew(db_url, catalog, fake_slack, clock=sandbox.clock, **settings) as pitcrew:
        await fake_slack.mention("rotate JWT_SECRET", user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
        cards = [await _confirm_and_verify(pitcrew, fake_slack, sandbox, n) for n in (1, 2, 3)]
        await fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and "sign in again" in json.dumps(c.args))
        await pitcrew.jobs_settled()
    expected = (
        "Set the shared JWT_SECRET that worker's JWT_SECRET references", "Redeploy api (", "Set JWT_SECRET on web"
    )
    assert all(said in card.text for said, card in zip(expected, cards, strict=True))
    new = _shared(sandbox)
    assert sandbox.vercel_world.project("web").env["JWT_SECRET"] == new != SAMPLE_JWT_SECRET
    assert new not in fake_slack.all_text()


async def test_a_secret_under_two_names_on_one_service_is_set_in_one_collection_upsert(
    db_url, fake_slack, sandbox: Sandbox, caplog
):
    """worker holds its own copy of the secret as JWT_SECRET and NEXTAUTH_SECRET: one
    variableCollectionUpsert sets both (replace false, one deploy); api's shared reference follows."""
    caplog.set_level(logging.DEBUG, logger="pitcrew")
    sandbox.world.set_variable("worker", "JWT_SECRET", SAMPLE_JWT_SECRET)
    sandbox.world.set_variable("worker", "NEXTAUTH_SECRET", SAMPLE_JWT_SECRET)
    async with _pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await fake_slack.mention("rotate JWT_SECRET", user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
        first = await _confirm_and_verify(pitcrew, fake_slack, sandbox, 1)
        second = await _confirm_and_verify(pitcrew, fake_slack, sandbox, 2)
        await fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and "sign in again" in json.dumps(c.args))
        await pitcrew.jobs_settled()
        entries = await audit_entries(pitcrew)
        rows = await _rows(pitcrew)
    assert "Set JWT_SECRET and NEXTAUTH_SECRET on worker" in first.text
    assert "*Also set:* `NEXTAUTH_SECRET`" in json.dumps(first.blocks)
    assert "Set the shared JWT_SECRET that api's JWT_SECRET references" in second.text
    [collection] = sandbox.mutations("VariableCollectionUpsert")
    sent = collection.variables["input"]
    assert sent["serviceId"] == sandbox.world.ref("worker").service_id
    assert sent["replace"] is False and sent["skipDeploys"] is False
    assert sent["variables"] == {"JWT_SECRET": "***", "NEXTAUTH_SECRET": "***"}
    worker = sandbox.world.service("worker").variables
    new = worker["JWT_SECRET"]
    assert new == worker["NEXTAUTH_SECRET"] == _shared(sandbox) != SAMPLE_JWT_SECRET
    assert worker["QUEUE"] == "default"  # replace false: the others stay
    assert [d.reason for d in sandbox.world.service("worker").deployments[:2]] == ["variableChange", "deploy"]
    assert sandbox.world.current("worker").variables["NEXTAUTH_SECRET"] == new
    assert new not in fake_slack.all_text() and new not in caplog.text and new not in rows
    assert new not in json.dumps([[e.action, e.target, e.params, e.outcome] for e in entries], default=str)
