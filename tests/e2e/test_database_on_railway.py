"""A Railway-hosted PostgreSQL (a `postgres` service with a `railway:` reference, seeds 001 and 003) has
the metrics a Railway service has, through the real app and the sandbox Railway over HTTP: `/health db`
shows its CPU, memory against the limit and volume disk use right after its deployment line, judged
against the same thresholds (the service's own `thresholds:` win), with no HTTP line a database cannot
have; a `check: metrics` step on it uploads its chart in the incident's thread.

Every GraphQL document is validated against Railway's schema when the `sandbox` fixture ends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from app.catalog import Catalog, parse_catalog
from app.flows.health import check_health
from app.sandbox.slack import FakeSlack
from tests.e2e.actions_support import wait_ephemeral
from tests.e2e.runbook_support import ended, step_message
from tests.e2e.test_capacity import DB_DSN, catalog, with_database
from tests.e2e.test_health_metrics import health_card, section_of
from tests.e2e.test_variables import declared, shown
from tests.fixtures import ALERTS, OPERATOR, Sandbox, pitcrew_with_jobs, running_pitcrew

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def quiet_database(sandbox: Sandbox, **levels: Any) -> None:
    """The database as Railway measures it: no HTTP traffic (it is reached over TCP), 2 GB of memory."""
    with_database(sandbox)
    sandbox.world.set_metrics("postgres", requests_per_minute=0, memory_limit_gb=2.0, **levels)


def started(db_url: str, fake_slack: FakeSlack, sandbox: Sandbox, cat: Catalog | None = None):  # type: ignore[no-untyped-def]
    return running_pitcrew(db_url, cat or catalog(sandbox), fake_slack, clock=sandbox.clock,
                           env={"DATABASE_URL": DB_DSN}, **sandbox.settings())


async def test_health_db_shows_its_railway_metrics_after_its_deployment(db_url, fake_slack: FakeSlack, sandbox):
    quiet_database(sandbox, cpu=0.5, memory_gb=0.6)
    sandbox.world.service("postgres").volumes[0].used_mb = 1000
    async with started(db_url, fake_slack, sandbox) as app:
        [db] = (await check_health(app.deps, ["db"])).services
        names = [c.name for c in db.checks]
        assert names.index("railway metrics") == names.index("railway deployment") + 1, names
        metrics = next(c for c in db.checks if c.name == "railway metrics")
        assert metrics.verdict == "ok"
        assert metrics.evidence == (
            "CPU 6% of 8 vCPU", "memory 600 MB of 2.0 GB (30%)", "disk /var/lib/postgresql/data 20% of 5.0 GB",
        )  # no "no HTTP requests" line: a database is not reached over HTTP
        # the deployment and the metrics in one request, as for a Railway service
        assert [c.operation for c in sandbox.railway.calls].count("LatestDeploymentWithMetrics") == 1
        assert "LatestDeployment" not in [c.operation for c in sandbox.railway.calls]

        card = section_of(await health_card(app, fake_slack, "db"), "db")
        assert "railway metrics: CPU 6% of 8 vCPU · memory 600 MB of 2.0 GB (30%)" in card
        assert "db-secret-pass" not in card


@pytest.mark.parametrize(
    ("levels", "used_mb", "said"),
    [
        ({"cpu": 6.0}, 420, "CPU 75% of 8 vCPU, over 70%"),
        ({"memory_gb": 1.8}, 420, "memory 1.8 GB of 2.0 GB (90%), over 85%"),
        ({}, 4500, "disk /var/lib/postgresql/data 90% of 5.0 GB, over 85%"),
    ],
)
async def test_a_database_over_a_threshold_is_degraded_as_a_service_is(db_url, fake_slack, sandbox, levels, used_mb,
                                                                        said):
    quiet_database(sandbox, **levels)
    sandbox.world.service("postgres").volumes[0].used_mb = used_mb
    async with started(db_url, fake_slack, sandbox) as app:
        [db] = (await check_health(app.deps, ["db"])).services
        metrics = next(c for c in db.checks if c.name == "railway metrics")
        assert metrics.verdict == "degraded"
        assert said in metrics.evidence


async def test_an_oom_restart_of_the_database_is_down(db_url, fake_slack, sandbox):
    quiet_database(sandbox, memory_gb=1.2)
    sandbox.world.oom("postgres", at=sandbox.clock() - timedelta(minutes=5))
    async with started(db_url, fake_slack, sandbox) as app:
        [db] = (await check_health(app.deps, ["db"])).services
        metrics = next(c for c in db.checks if c.name == "railway metrics")
        assert metrics.verdict == "down"
        assert "1 OOM restart in 15 min (memory hit the limit)" in metrics.evidence


async def test_the_databases_own_thresholds_win(db_url, fake_slack, sandbox):
    quiet_database(sandbox, memory_gb=1.8)  # 90%: over the seeds' 85%, under this database's 95%
    services = {
        "db": {
            "provider": "postgres",
            "postgres": {"dsn_env": "DATABASE_URL"},
            "railway": sandbox.world.ref("postgres").model_dump(),
            "thresholds": {"memory_percent": 95},
        },
    }
    document = {"slack": {"alerts_channel": ALERTS, "operators": [OPERATOR]}, "services": services}
    async with started(db_url, fake_slack, sandbox, parse_catalog(yaml.safe_dump(document))) as app:
        [db] = (await check_health(app.deps, ["db"])).services
        metrics = next(c for c in db.checks if c.name == "railway metrics")
        assert metrics.verdict == "ok", metrics
        assert "memory 1.8 GB of 2.0 GB (90%)" in metrics.evidence


async def test_a_metrics_outage_on_the_database_degrades_that_line_only(db_url, fake_slack, sandbox):
    quiet_database(sandbox)
    sandbox.world.fail_field("httpDurationMetrics", "metrics backend unavailable")
    async with started(db_url, fake_slack, sandbox) as app:
        [db] = (await check_health(app.deps, ["db"])).services
        checks = {c.name: c for c in db.checks}
        assert checks["railway metrics"].evidence == ("metrics unavailable: metrics backend unavailable",)
        assert checks["railway deployment"].verdict == "ok"


METRICS_RUNBOOK = """\
name: db-look
title: Look at the database
steps:
  - id: db-metrics
    check: metrics
    service: db
"""


async def test_check_metrics_on_the_database_charts_it_in_the_thread(db_url, fake_slack: FakeSlack, sandbox, tmp_path):
    (tmp_path / "db-look.yml").write_text(METRICS_RUNBOOK, encoding="utf-8")
    quiet_database(sandbox, memory_gb=1.8)
    cat = catalog(sandbox).model_copy(update={"runbooks_dir": str(tmp_path)})
    async with pitcrew_with_jobs(db_url, cat, fake_slack, clock=sandbox.clock, env={"DATABASE_URL": DB_DSN},
                                 **sandbox.settings()) as crew:
        root = await declared(crew)
        await fake_slack.mention("runbook db-look", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        step = await step_message(fake_slack, root, "db-metrics")
        await fake_slack.click(step, "runbook.run", user=OPERATOR)
        said = shown(await ended(step, "Ran"))
        assert "memory 1.8 GB of 2.0 GB (90%), over 85%" in said
        assert "disk /var/lib/postgresql/data 8% of 5.0 GB" in said
        assert "HTTP requests" not in said
        assert "chart of the last hour: db-metrics.png" in said
        [upload] = [u for u in fake_slack.uploads.values() if u.get("filename") == "db-metrics.png"]
        assert upload["content"].startswith(PNG_SIGNATURE)
        assert upload["channel"] == root.channel and upload["thread_ts"] == root.ts
        assert "memory now 90%" in upload["alt_txt"]


async def test_a_database_without_its_volume_says_so_and_nothing_is_backed_up(db_url, fake_slack: FakeSlack, sandbox):
    quiet_database(sandbox)
    sandbox.world.service("postgres").volumes.clear()  # the `railway:` reference names a service with no volume
    async with started(db_url, fake_slack, sandbox) as app:
        [db] = (await check_health(app.deps, ["db"])).services
        checks = {c.name: c for c in db.checks}
        assert checks["backups"].verdict == "degraded"
        assert checks["backups"].evidence == ("no Railway volume attached: nothing to back up",)
        assert not [line for line in checks["railway metrics"].evidence if line.startswith("disk ")]

        await fake_slack.mention("backup db", user=OPERATOR, channel=ALERTS)
        said = (await wait_ephemeral(fake_slack, OPERATOR))[-1].text
        assert "db has no Railway volume attached, so there is nothing to back up" in said
        assert "Nothing was proposed" in said
    assert not sandbox.mutations()
    assert not [m for m in fake_slack.messages if "action.confirm" in str(m.blocks)]
