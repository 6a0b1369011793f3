"""`pitcrew check` against the sandbox Railway and Vercel: each service's line says whether pitcrew can
see its deployments and read its variables (without which /logs shows nothing), never a value."""

from __future__ import annotations

from datetime import UTC, datetime

from app.check import advice, run_checks
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.sample import sample_world as railway_world
from app.sandbox.railway.world import SANDBOX_API_TOKEN
from app.sandbox.slack_payloads import TEAM_ID
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.sample import sample_world as vercel_world
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN
from app.settings import Settings
from app.store.migrate import upgrade_async
from tests.fixtures import ADMIN_DSN, catalog_from, requires_postgres


async def _check(  # type: ignore[no-untyped-def]
    tmp_path, railway: FakeRailway, vercel: FakeVercel, required: list[str] | None = None
) -> list[str]:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    settings = Settings(
        DATABASE_URL=url,
        RAILWAY_API_URL=railway.url,
        RAILWAY_API_TOKEN=SANDBOX_API_TOKEN,
        VERCEL_API_URL=vercel.url,
        VERCEL_TOKEN=SANDBOX_VERCEL_TOKEN,
    )
    catalog = catalog_from({
        "api": {"provider": "railway", "railway": railway.world.ref("api").model_dump(),
                "required_vars": required or []},
        "web": {"provider": "vercel", "vercel": vercel.world.ref("web").model_dump()},
    })
    lines: list[str] = []
    await run_checks(settings, catalog, lines.append)
    return lines


async def test_check_says_the_deployments_and_variables_of_each_service_are_readable(tmp_path):
    async with FakeRailway.serve(railway_world()) as railway, FakeVercel.serve(vercel_world()) as vercel:
        lines = await _check(tmp_path, railway, vercel)
    [api] = [line for line in lines if "service api" in line]
    [web] = [line for line in lines if "service web" in line]
    assert api.startswith("ok   service api (railway): latest deployment ") and "variables readable" in api
    assert web.startswith("ok   service web (vercel): latest deployment ") and "4 variables readable" in web
    assert "1 sensitive (masked in /logs by name only" in web  # its value cannot be read: not counted readable
    assert "rv-sandbox-7f3a9c21" not in "\n".join(lines)  # a variable's value is never shown
    assert "required variable" not in api


async def test_check_names_the_required_variables_missing_or_empty(tmp_path):
    world = railway_world()
    world.set_variable("api", "EMPTY_ONE", "")
    world.set_variable("api", "SEALED_ONE", "s3cr3t-sealed", sealed=True)
    async with FakeRailway.serve(world) as railway, FakeVercel.serve(vercel_world()) as vercel:
        lines = await _check(tmp_path, railway, vercel, ["DATABASE_URL", "EMPTY_ONE", "SEALED_ONE", "SMTP_URL"])
    [api] = [line for line in lines if "service api" in line]
    assert api.startswith("ok   service api (railway)")  # the file is right; the service's settings are not
    assert api.endswith("/health will say degraded: required variable EMPTY_ONE is empty, "
                        "required variable SMTP_URL is missing")
    assert "s3cr3t-sealed" not in "\n".join(lines)


async def test_check_fails_a_service_whose_variables_cannot_be_read(tmp_path):
    async with FakeRailway.serve(railway_world()) as railway, FakeVercel.serve(vercel_world()) as vercel:
        railway.world.fail_next(graphql_error="Not Authorized")
        lines = await _check(tmp_path, railway, vercel)
    [api] = [line for line in lines if "service api" in line]
    assert api.startswith("FAIL service api (railway): railway service variables failed: ")
    assert "Not Authorized" in api and "shows no line without them" in api


async def test_check_fails_slack_when_slack_team_id_is_not_the_tokens_workspace(tmp_path, fake_slack):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    common = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
        "SLACK_API_URL": fake_slack.api_url,
    }
    catalog = catalog_from({"api": {"provider": "http", "health": {"url": "http://127.0.0.1:9/health"}}})
    lines: list[str] = []
    await run_checks(Settings(**common, SLACK_TEAM_ID="T0ELSEWHERE"), catalog, lines.append)
    [slack] = [line for line in lines if line.split()[1] == "slack:"]
    assert slack.startswith("FAIL slack: SLACK_TEAM_ID is T0ELSEWHERE but the bot token belongs to workspace")
    lines.clear()
    await run_checks(Settings(**common, SLACK_TEAM_ID=TEAM_ID), catalog, lines.append)
    [slack] = [line for line in lines if line.split()[1] == "slack:"]
    assert slack.startswith("ok   slack: bot")


async def test_check_fails_a_status_page_that_needs_a_token_nobody_has(tmp_path):
    from app.catalog import StatusPageConfig

    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    catalog = catalog_from({}).model_copy(update={"status_page": StatusPageConfig(require_token=True)})
    lines: list[str] = []
    await run_checks(Settings(DATABASE_URL=url), catalog, lines.append)
    assert "FAIL status page: status_page.require_token is true but STATUS_PAGE_TOKEN is not set" in "\n".join(lines)
    lines.clear()
    await run_checks(Settings(DATABASE_URL=url, STATUS_PAGE_TOKEN="t0ken-abcdef"), catalog, lines.append)
    [line] = [line for line in lines if line[5:].startswith("status page")]
    assert line.startswith("ok   status page") and "t0ken-abcdef" not in line


async def test_check_fails_a_page_webhook_without_its_secret(tmp_path, monkeypatch):
    from app.catalog import OncallConfig

    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    oncall = OncallConfig.model_validate({
        "rotations": {"primary": {"members": ["U0ANA"], "anchor": "2026-01-05"}},
        "page_webhook": {"url": "https://pager.example.com/hook", "secret_env": "PAGER_TEST_SECRET"},
    })
    catalog = catalog_from({}).model_copy(update={"oncall": oncall})
    monkeypatch.delenv("PAGER_TEST_SECRET", raising=False)
    lines: list[str] = []
    await run_checks(Settings(DATABASE_URL=url), catalog, lines.append)
    assert "FAIL page webhook: PAGER_TEST_SECRET is not set" in "\n".join(lines)
    monkeypatch.setenv("PAGER_TEST_SECRET", "s3cret-value-xyz")
    lines.clear()
    await run_checks(Settings(DATABASE_URL=url), catalog, lines.append)
    [line] = [line for line in lines if "page webhook" in line]
    assert line.startswith("WARN page webhook: PUBLIC_URL is not set") and "s3cret-value-xyz" not in line


async def test_check_recommends_setting_slack_responders(tmp_path):
    async with FakeRailway.serve(railway_world()) as railway, FakeVercel.serve(vercel_world()) as vercel:
        lines = await _check(tmp_path, railway, vercel)
    [note] = [line for line in lines if "slack.responders" in line]
    assert note.startswith("WARN slack.responders: not set: anyone acting in the alerts channel")
    assert ", 2 warnings, " in lines[-1]  # slack.responders and AUDIT_KEY: said, not failed
    assert advice(catalog_from({}, responders=["S0ONCALL"])) == []


async def test_check_names_parked_jobs_by_kind_with_their_last_error_masked(tmp_path):
    from app.deps import build_deps
    from app.jobs.runner import MAX_ATTEMPTS, JobRunner
    from app.store import jobs as job_store
    from app.store.db import transaction
    from tests.fixtures import Clock

    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    token = "xoxb-parked-job-secret-token"
    settings = Settings(DATABASE_URL=url, SLACK_BOT_TOKEN=token)
    catalog = catalog_from({})
    lines: list[str] = []
    await run_checks(settings, catalog, lines.append)
    assert "ok   jobs: none parked" in lines

    async def flaky(deps, job):  # type: ignore[no-untyped-def]
        raise ConnectionError(f"Slack refused {token}")

    clock = Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    deps = build_deps(settings, catalog, clock=clock)
    try:
        async with transaction(deps.sessions) as session:
            for n in range(2):
                await job_store.enqueue(session, kind="test.flaky", payload={"n": n}, run_at=clock.now, now=clock.now)
            await job_store.enqueue(session, kind="test.retired", payload={}, run_at=clock.now, now=clock.now)
        runner = JobRunner(deps, worker="test", handlers={"test.flaky": flaky})
        for _ in range(MAX_ATTEMPTS):
            await runner.run_due()
            clock.advance(minutes=10)
    finally:
        await deps.close()
    lines.clear()
    await run_checks(settings, catalog, lines.append)
    [jobs] = [line for line in lines if " jobs: " in line]
    assert jobs.startswith(f"FAIL jobs: 3 parked after failing {MAX_ATTEMPTS} times in a row: ")
    assert "test.flaky ×2 (last error: ConnectionError('Slack refused ***'))" in jobs
    assert "test.retired ×1 (last error: no handler for 'test.retired')" in jobs
    assert token not in "\n".join(lines)


async def _check_postgres(tmp_path, postgres: dict[str, object]) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    catalog = catalog_from({"db": {"provider": "postgres", "postgres": postgres}})
    lines: list[str] = []
    await run_checks(Settings(DATABASE_URL=url), catalog, lines.append)
    [db] = [line for line in lines if "service db" in line]
    return db


@requires_postgres
async def test_check_names_the_dsn_parameters_it_ignored_and_the_pooler(tmp_path, monkeypatch):
    admin = ADMIN_DSN
    monkeypatch.setenv("PITCREW_T_PRISMA_URL", f"{admin}?pgbouncer=true&connection_limit=1&schema=public&ssl=prefer")
    db = await _check_postgres(tmp_path, {"dsn_env": "PITCREW_T_PRISMA_URL"})
    assert db.startswith("ok   service db (postgres): reachable as ")
    assert "ignored DSN parameters that libpq does not know: pgbouncer, connection_limit, schema" in db
    assert "read ssl → sslmode" in db and "through PgBouncer (pgbouncer=true)" in db
    assert "the idle-session cleanup needs `direct_dsn_env`" in db


@requires_postgres
async def test_check_fails_a_direct_dsn_that_goes_through_a_pooler_too(tmp_path, monkeypatch):
    admin = ADMIN_DSN
    monkeypatch.setenv("PITCREW_T_POOLED_URL", f"{admin}?pgbouncer=true")
    monkeypatch.setenv("PITCREW_T_DIRECT_URL", f"{admin}?pgbouncer=true")
    db = await _check_postgres(tmp_path, {"dsn_env": "PITCREW_T_POOLED_URL", "direct_dsn_env": "PITCREW_T_DIRECT_URL"})
    assert db.startswith("FAIL service db (postgres): PITCREW_T_DIRECT_URL (direct_dsn_env) goes through PgBouncer")
    monkeypatch.setenv("PITCREW_T_DIRECT_URL", admin)
    db = await _check_postgres(tmp_path, {"dsn_env": "PITCREW_T_POOLED_URL", "direct_dsn_env": "PITCREW_T_DIRECT_URL"})
    assert db.startswith("ok   service db (postgres): ") and "direct DSN PITCREW_T_DIRECT_URL reachable" in db


async def test_check_names_a_railway_service_no_token_reaches(tmp_path):
    from app.sandbox.railway.world import SANDBOX_PROJECT_TOKEN

    world = railway_world()
    world.add_service("api-staging", project_id=world.ref("api").project_id, environment_id="staging-env-1")
    world.add_deployment("api-staging", status="SUCCESS")
    async with FakeRailway.serve(world) as railway:
        url = f"sqlite:///{tmp_path / 'p.db'}"
        await upgrade_async(url)
        catalog = catalog_from({
            "api": {"provider": "railway", "railway": world.ref("api").model_dump()},
            "api-staging": {"provider": "railway", "railway": world.ref("api-staging").model_dump()},
        })
        only_project = Settings(
            DATABASE_URL=url, RAILWAY_API_URL=railway.url, RAILWAY_PROJECT_TOKEN=SANDBOX_PROJECT_TOKEN
        )
        alone: list[str] = []
        await run_checks(only_project, catalog, alone.append)
        both = only_project.model_copy(update={"RAILWAY_API_TOKEN": Settings(
            DATABASE_URL=url, RAILWAY_API_TOKEN=SANDBOX_API_TOKEN).RAILWAY_API_TOKEN})
        together: list[str] = []
        await run_checks(both, catalog, together.append)

    [api] = [line for line in alone if "service api " in line]
    [staging] = [line for line in alone if "service api-staging" in line]
    assert api.startswith("ok   service api (railway)")
    assert staging.startswith("FAIL service api-staging (railway): no token reaches it")
    assert "RAILWAY_PROJECT_TOKEN covers only environment" in staging and "set RAILWAY_API_TOKEN" in staging
    assert SANDBOX_PROJECT_TOKEN not in "\n".join(alone)
    assert all(line.startswith("ok") for line in together if "(railway)" in line), together


def test_check_lists_the_schedules_with_their_next_due_time_soonest_first():
    import yaml

    from app.catalog import parse_catalog
    from app.check import schedule_lines

    document = {
        "slack": {"alerts_channel": "C0ALERTS"},
        "reports": {"weekly": {"timezone": "Europe/Paris"}},
        "services": {"api": {"provider": "http", "health": {"url": "https://api.example.com/health"}}},
        "schedules": [
            {"name": "health-monday", "check": "health", "service": "api", "every": "monday at 09:00",
             "post": "always", "channel": "C0UPDATES"},
            {"name": "tls-morning", "check": "tls", "service": "api", "every": "day at 08:00"},
        ],
    }
    saturday_noon = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)
    lines = [str(line) for line in schedule_lines(parse_catalog(yaml.safe_dump(document)), saturday_noon)]
    assert lines == [
        "ok   schedule tls-morning: tls on api every day at 08:00 (Europe/Paris); next Sun 2026-12-06 08:00 CET; "
        "posts problems only to C0ALERTS",
        "ok   schedule health-monday: health on api every monday at 09:00 (Europe/Paris); next Mon 2026-12-07 "
        "09:00 CET; posts every result to C0UPDATES",
    ]
