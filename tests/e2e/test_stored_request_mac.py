"""A row written into the jobs table by someone with database access, and no secret of pitcrew's,
must not run as an operator's click: stored Slack requests carry a MAC made at intake, and the
replay refuses, audits and fails one whose MAC does not verify."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import insert, select

from app.slack.deferral import SLACK_REQUEST_JOB
from app.store.db import transaction
from app.store.models import Job
from tests.e2e.actions_support import posted_proposal, proposal_id, wait_audited, wait_ephemeral, wait_status
from tests.fixtures import OPERATOR, STRANGER, RunningPitcrew, Sandbox, sandboxed_pitcrew


async def _stored(pitcrew: RunningPitcrew) -> list[Job]:
    async with transaction(pitcrew.deps.sessions) as session:
        query = select(Job).where(Job.kind == SLACK_REQUEST_JOB).order_by(Job.id)
        return list((await session.scalars(query)).all())


async def _insert_as_an_attacker(pitcrew: RunningPitcrew, payload: dict[str, Any]) -> int:
    """What someone with write access to the database can do: a pending row, due now."""
    now = pitcrew.deps.clock()
    async with transaction(pitcrew.deps.sessions) as session:
        job_id = await session.scalar(
            insert(Job).values(kind=SLACK_REQUEST_JOB, payload=payload, run_at=now, status="pending", attempts=0,
                               created_at=now).returning(Job.id)
        )
    pitcrew.deps.job_signal.notify()  # the app's job runner claims it now, as it would on its next poll
    assert job_id is not None
    return int(job_id)


async def _ended(pitcrew: RunningPitcrew, job_id: int) -> Job:
    async with asyncio.timeout(10):
        while True:
            async with transaction(pitcrew.deps.sessions) as session:
                job = await session.get(Job, job_id)
            assert job is not None
            if job.status in ("done", "failed"):
                return job
            await asyncio.sleep(0.02)


def _as_operator(body: dict[str, Any]) -> dict[str, Any]:
    user = {**body["user"], "id": OPERATOR, "username": OPERATOR.lower(), "name": OPERATOR.lower()}
    return {**body, "user": user}


async def test_a_forged_or_altered_stored_click_is_refused_and_rolls_nothing_back(
    db_url: str, fake_slack: Any, sandbox: Sandbox
) -> None:
    async with sandboxed_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await pitcrew.command("/rollback", "api", user=STRANGER)
        message = await posted_proposal(fake_slack)
        pid = proposal_id(message)
        await fake_slack.click(message, "action.confirm", user=STRANGER)  # refused: not an operator
        await wait_ephemeral(fake_slack, STRANGER)
        await pitcrew.jobs_settled()
        genuine = (await _stored(pitcrew))[-1]
        assert genuine.status == "done" and genuine.payload["body"]["type"] == "block_actions"
        assert len(genuine.payload["mac"]) == 64

        # The stranger's own stored click, its user changed to an operator, its MAC kept (altered);
        # the same with no MAC at all, and with a made-up one (forged).
        altered = {"body": _as_operator(genuine.payload["body"]), "mac": genuine.payload["mac"]}
        forged = [{"body": _as_operator(genuine.payload["body"])}, {**altered, "mac": "0" * 64}]
        refused = []
        for payload in (altered, *forged):
            job = await _ended(pitcrew, await _insert_as_an_attacker(pitcrew, payload))
            refused.append(job)
            assert job.status == "failed" and job.attempts == 1  # failed at once, never retried
            assert job.last_error is not None and "forged or altered stored request refused" in job.last_error

        assert sandbox.mutations() == []  # nothing was rolled back
        assert (await wait_status(pitcrew, pid, "proposed")).status == "proposed"
        entries = await wait_audited(pitcrew, "slack.replay", count=3)
        assert [e.target for e in entries] == [f"job {job.id}" for job in refused]
        for entry in entries:
            assert entry.actor == "pitcrew" and entry.params["claimed_user"] == OPERATOR
            assert entry.outcome.startswith("refused: forged or altered stored request refused")
        assert not [e for e in await wait_audited(pitcrew, "action.confirm") if e.actor == OPERATOR]

        # The operator's real click, signed by Slack and MACed at intake, still acts, once.
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        assert (await wait_status(pitcrew, pid, "accepted", "failed")).status == "accepted"
        assert len(sandbox.mutations("DeploymentRollback")) == 1
