"""Scaling and backups through the real app: `@pitcrew scale` and `@pitcrew backup` mentions, the
proposal (current and new values, the bill), the operator's confirmation, the sandbox Railway's
limits, replicas and backups changed once; bad units and a service without a volume refused
privately with nothing proposed; a restart of a Railway-hosted PostgreSQL.

Every GraphQL document is validated against Railway's schema when the `sandbox` fixture ends.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import yaml

from app.catalog import Catalog, parse_catalog
from app.flows.actions import Asked, Where, propose
from app.flows.health import check_health
from app.jobs.runner import JobRunner
from app.sandbox.railway.sample import SAMPLE_ENVIRONMENT_ID, SAMPLE_PROJECT_ID
from app.sandbox.slack import FakeSlack
from tests.e2e.actions_support import posted_proposal, proposal_id, snapshot, wait_ephemeral, wait_status
from tests.e2e.runbook_support import ended, step_message, until
from tests.e2e.test_actions_railway import notifier_for
from tests.e2e.test_variables import declared, shown
from tests.fixtures import ALERTS, OPERATOR, OPERATOR_2, Sandbox, pitcrew_with_jobs, running_pitcrew

DB_DSN = "postgresql://app:db-secret-pass@127.0.0.1:1/app"


def catalog(sandbox: Sandbox, actions: dict[str, Any] | None = None) -> Catalog:
    services: dict[str, Any] = {
        "api": sandbox.railway_api(),
        "db": {
            "provider": "postgres",
            "postgres": {"dsn_env": "DATABASE_URL"},
            "railway": sandbox.world.ref("postgres").model_dump(),
        },
        "web": {"provider": "vercel", "vercel": sandbox.vercel_world.ref("web").model_dump(exclude_none=True)},
    }
    document: dict[str, Any] = {
        "slack": {"alerts_channel": ALERTS, "operators": [OPERATOR, OPERATOR_2]}, "services": services,
    }
    if actions:
        document["actions"] = actions
    return parse_catalog(yaml.safe_dump(document))


def with_database(sandbox: Sandbox) -> None:
    """A Railway-hosted PostgreSQL with its volume, as seeds 001 and 003 have it."""
    world = sandbox.world
    world.add_service("postgres", project_id=SAMPLE_PROJECT_ID, environment_id=SAMPLE_ENVIRONMENT_ID)
    world.add_deployment("postgres", status="SUCCESS", at=world.clock() - timedelta(days=5))
    volume = world.add_volume("postgres", "postgres-volume", schedules=["DAILY"])
    world.backup(volume.id, "nightly", at=world.clock() - timedelta(hours=30))


def pitcrew(db_url: str, fake_slack: FakeSlack, sandbox: Sandbox):
    with_database(sandbox)
    return running_pitcrew(
        db_url, catalog(sandbox), fake_slack, clock=sandbox.clock, env={"DATABASE_URL": DB_DSN}, **sandbox.settings()
    )


async def test_scale_memory_proposal_states_current_new_and_bill_then_changes_once(db_url, fake_slack, sandbox):
    sandbox.world.service("api").memory_gb = 2.0
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        before = sandbox.world.current("api").id
        await fake_slack.mention("scale api memory 4GB", user=OPERATOR, channel=ALERTS)
        message = await posted_proposal(fake_slack)
        assert "memory 2GB → 4GB" in message.text and "raises the Railway bill" in message.text
        stale = snapshot(message)

        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(app, proposal_id(message), "accepted", "failed", "verified")
        assert done.status in ("accepted", "verified"), done.failure
        await fake_slack.click(stale, "action.confirm", user=OPERATOR_2)  # a second click runs nothing
        await asyncio.sleep(0.2)

        assert sandbox.world.service("api").memory_gb == 4.0
        assert sandbox.world.limit_updates == 1
        [update] = sandbox.mutations("ServiceInstanceLimitsUpdate")
        assert update.variables["input"]["memoryGB"] == 4.0 and "vCPUs" not in update.variables["input"]
        assert sandbox.world.current("api").id != before  # redeployed so the new limit applies


async def test_scale_replicas_through_the_generic_propose(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        proposal = await propose(
            app.deps, "scale", "api", {"resource": "replicas", "value": "3"},
            asked=Asked(OPERATOR, Where(ALERTS), notifier_for(fake_slack)),
        )
        assert "1 replica → 3 replicas" in proposal.description
        message = await posted_proposal(fake_slack)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(app, proposal.id, "accepted", "failed", "verified")
        assert done.status in ("accepted", "verified"), done.failure
        assert sandbox.world.service("api").replicas == 3
        [update] = sandbox.mutations("ServiceInstanceUpdate")
        assert update.variables["input"] == {"numReplicas": 3}


async def test_bad_units_are_refused_privately_with_the_usage_and_nothing_proposed(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox):
        for n, words in enumerate(["scale api memory 2 gigs", "scale api memory 2G", "scale api disk 3",
                                   "scale api replicas 0"], start=1):
            await fake_slack.mention(words, user=OPERATOR, channel=ALERTS)
            said = (await wait_ephemeral(fake_slack, OPERATOR, n))[-1].text
            assert "Usage: `@pitcrew scale <service> memory <size>`" in said, said
        await fake_slack.mention("scale nosuch memory 2GB", user=OPERATOR, channel=ALERTS)
        said = (await wait_ephemeral(fake_slack, OPERATOR, 5))[-1].text
        assert "Nothing was proposed" in said and "nosuch" in said
        assert not sandbox.mutations()
        assert not [m for m in fake_slack.messages if "action.confirm" in str(m.blocks)]


async def test_a_value_beyond_the_plan_fails_with_railways_error(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        await fake_slack.mention("scale api memory 32GB", user=OPERATOR, channel=ALERTS)
        message = await posted_proposal(fake_slack)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(app, proposal_id(message), "accepted", "failed")
        assert done.status == "failed"
        assert "at most 8 GB" in str(done.failure)
        assert sandbox.world.service("api").memory_gb == 8.0
        # Railway's own words on the proposal's message, and nothing changed: no limit, no redeploy
        await until(lambda: "Memory limit must be at most 8 GB on your plan" in json.dumps(message.blocks),
                    what="Railway's error on the proposal")
        assert sandbox.world.limit_updates == 0 and not sandbox.mutations("DeploymentRedeploy")


async def test_backup_of_a_railway_hosted_postgres_taken_once(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        await fake_slack.mention("backup db", user=OPERATOR, channel=ALERTS)
        message = await posted_proposal(fake_slack)
        assert "backup of db's Railway volume postgres-volume" in message.text
        # what the backup adds to: the newest one's age and the schedule, on the card and in the dialog
        shown_text = json.dumps(message.blocks, ensure_ascii=False)
        assert "*Backups:* newest backup 30 h ago; schedule: daily" in shown_text
        assert "Before it: newest backup 30 h ago; schedule: daily." in shown_text
        stale = snapshot(message)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(app, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure
        assert done.backups == "newest backup 30 h ago; schedule: daily"  # as it was when proposed
        await fake_slack.click(stale, "action.confirm", user=OPERATOR_2)
        await asyncio.sleep(0.2)
        [volume] = sandbox.world.service("postgres").volumes
        assert len(volume.backups) == 2  # the nightly one and the one just taken
        assert len(sandbox.mutations("VolumeInstanceBackupCreate")) == 1


async def test_a_backup_proposal_says_when_there_is_no_backup_and_no_schedule(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        [volume] = sandbox.world.service("postgres").volumes
        volume.backups.clear()
        volume.schedules.clear()
        proposal = await propose(
            app.deps, "backup", "db", asked=Asked(OPERATOR, Where(ALERTS), notifier_for(fake_slack))
        )
        assert proposal.backups == "no backup taken yet; no backup schedule"
        message = await posted_proposal(fake_slack)
        assert "*Backups:* no backup taken yet; no backup schedule" in json.dumps(message.blocks, ensure_ascii=False)
        assert not sandbox.mutations()


async def test_backup_of_a_service_without_a_volume_is_refused(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox):
        await fake_slack.mention("backup api", user=OPERATOR, channel=ALERTS)
        said = (await wait_ephemeral(fake_slack, OPERATOR))[-1].text
        assert "api has no Railway volume attached" in said
        await fake_slack.mention("backup", user=OPERATOR, channel=ALERTS)
        said = (await wait_ephemeral(fake_slack, OPERATOR, 2))[-1].text
        assert "Usage: `@pitcrew backup <service>`" in said
        assert not sandbox.mutations()


async def test_restart_of_a_railway_hosted_postgres(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        sandbox.world.crash("postgres", "FATAL: the database system is in recovery mode")
        proposal = await propose(
            app.deps, "restart", "db", asked=Asked(OPERATOR, Where(ALERTS), notifier_for(fake_slack))
        )
        message = await posted_proposal(fake_slack)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(app, proposal.id, "accepted", "failed", "verified")
        assert done.status in ("accepted", "verified"), done.failure
        [restart] = sandbox.mutations("DeploymentRestart")
        assert restart.variables["id"] == sandbox.world.current("postgres").id
        assert sandbox.world.current("postgres").status == "SUCCESS"


async def test_health_db_shows_the_railway_deployment_and_the_backup_age(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        report = await check_health(app.deps, ["db"])
        [db] = report.services
        checks = {c.name: c for c in db.checks}
        backups = checks["backups"]
        assert backups.verdict == "ok"  # a daily schedule exists
        assert "volume postgres-volume: newest backup 30 h ago; schedule: daily" in backups.evidence
        assert any(name.startswith("railway") or "deployment" in name for name in checks), checks
        assert DB_DSN not in str(report)

        sandbox.world.service("postgres").volumes[0].schedules.clear()
        [db] = (await check_health(app.deps, ["db"])).services
        backups = next(c for c in db.checks if c.name == "backups")
        assert backups.verdict == "degraded"
        assert "newest backup 30 h ago; no backup schedule" in backups.evidence[0]


async def test_restart_and_backup_of_a_database_not_on_railway_are_refused(db_url, fake_slack, sandbox):
    with_database(sandbox)
    services = {"db": {"provider": "postgres", "postgres": {"dsn_env": "DATABASE_URL"}}}
    document = {"slack": {"alerts_channel": ALERTS, "operators": [OPERATOR]}, "services": services}
    async with running_pitcrew(
        db_url, parse_catalog(yaml.safe_dump(document)), fake_slack, clock=sandbox.clock,
        env={"DATABASE_URL": DB_DSN}, **sandbox.settings(),
    ):
        await fake_slack.mention("backup db", user=OPERATOR, channel=ALERTS)
        said = (await wait_ephemeral(fake_slack, OPERATOR))[-1].text
        assert "only when it also has a `railway:` reference" in said
        assert not sandbox.mutations()


BACKUP_RUNBOOK = """\
name: db-change
title: Database change
steps:
  - id: backup-check
    check: backup
    hours: 24
  - id: backup-take
    action: backup
  - id: db-restart
    action: restart
    target: database
  - id: grow
    action: scale
    service: api
    resource: replicas
    value: 2
"""


async def test_backup_check_then_backup_then_database_restart_in_a_runbook(db_url, fake_slack, sandbox, tmp_path):
    (tmp_path / "db-change.yml").write_text(BACKUP_RUNBOOK, encoding="utf-8")
    with_database(sandbox)
    cat = catalog(sandbox).model_copy(update={"runbooks_dir": str(tmp_path)})
    async with pitcrew_with_jobs(db_url, cat, fake_slack, clock=sandbox.clock, env={"DATABASE_URL": DB_DSN},
                                 **sandbox.settings()) as crew:
        root = await declared(crew)
        await fake_slack.mention("runbook db-change", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        check = await step_message(fake_slack, root, "backup-check")
        assert "Check that a backup of the database newer than 24 hours exists" in check.text
        await fake_slack.click(check, "runbook.run", user=OPERATOR)
        done = shown(await ended(check, "Ran"))
        assert "no backup of db in the last 24 h (newest: 30 h ago)" in done
        assert "volume postgres-volume: newest backup 30 h ago; schedule: daily" in done

        take = await step_message(fake_slack, root, "backup-take")
        await fake_slack.click(take, "runbook.run", user=OPERATOR)
        proposal = await posted_proposal(fake_slack, channel=root.channel)
        await fake_slack.click(proposal, "action.confirm", user=OPERATOR_2)
        assert (await wait_status(crew.app, proposal_id(proposal), "accepted", "failed")).status == "accepted"
        assert len(sandbox.world.service("postgres").volumes[0].backups) == 2

        restart = await step_message(fake_slack, root, "db-restart")
        assert "Restart the database" in restart.text
        await fake_slack.click(restart, "runbook.run", user=OPERATOR)
        second = await posted_proposal(fake_slack, count=2, channel=root.channel)
        assert "Restart db" in second.text


async def test_logs_of_a_railway_hosted_postgres_read_its_railway_log(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        sandbox.world.log("postgres", "LOG:  checkpoint complete: wrote 42 buffers", level="info")
        before = len(fake_slack.calls_to("response_url"))
        response = await app.command("/logs", "db --lines 20", user=OPERATOR)
        assert response.status_code == 200
        calls = await fake_slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
        answer = json.dumps(calls[-1].args, ensure_ascii=False)
        assert "checkpoint complete: wrote 42 buffers" in answer
        assert DB_DSN not in answer


async def test_scale_by_a_factor_applies_it_to_the_current_limit_and_says_how_to_scale_back(
    db_url, fake_slack, sandbox
):
    sandbox.world.service("api").memory_gb = 1.0
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        await fake_slack.mention("scale api memory x2", user=OPERATOR, channel=ALERTS)
        message = await posted_proposal(fake_slack)
        shown_text = json.dumps(message.blocks, ensure_ascii=False)
        assert "memory 1GB → 2GB" in message.text
        assert "scale back with `@pitcrew scale`" in shown_text
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(app, proposal_id(message), "accepted", "failed", "verified")
        assert done.status in ("accepted", "verified"), done.failure
        assert sandbox.world.service("api").memory_gb == 2.0


async def test_slash_health_db_shows_the_backup_age_and_schedule(db_url, fake_slack, sandbox):
    async with pitcrew(db_url, fake_slack, sandbox) as app:
        before = len(fake_slack.calls_to("response_url"))
        response = await app.command("/health", "db", user=OPERATOR)
        assert response.status_code == 200
        calls = await fake_slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
        answer = json.dumps(calls[-1].args, ensure_ascii=False)
        assert "volume postgres-volume: newest backup 30 h ago; schedule: daily" in answer
        assert "db-secret-pass" not in answer


async def test_a_scale_is_verified_on_the_new_deployment(db_url, fake_slack, sandbox):
    with_database(sandbox)
    cat = catalog(sandbox, actions={"verify": {"interval_s": 30, "window_minutes": 1}})
    async with running_pitcrew(db_url, cat, fake_slack, clock=sandbox.clock, env={"DATABASE_URL": DB_DSN},
                               **sandbox.settings()) as app:
        runner = JobRunner(app.deps, worker="test")
        await fake_slack.mention("scale api replicas 2", user=OPERATOR, channel=ALERTS)
        message = await posted_proposal(fake_slack)
        await fake_slack.click(message, "action.confirm", user=OPERATOR)
        done = await wait_status(app, proposal_id(message), "accepted", "failed")
        assert done.status == "accepted", done.failure
        new_deployment = sandbox.world.current("api").id
        for _ in range(4):
            sandbox.clock.advance(seconds=30)
            await runner.run_due()
        verified = await wait_status(app, done.id, "verified", "failed")
        assert verified.status == "verified", verified.verification
        assert verified.verification is not None and verified.verification.deployment_id == new_deployment
        await app.jobs_settled()
