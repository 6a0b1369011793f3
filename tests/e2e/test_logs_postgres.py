"""`/logs db --slow` end to end against the real local PostgreSQL: a throwaway database stands for the
service's, its slow statements (from pg_stat_statements, else the queries running now) reach Slack
with the literals that are secrets masked; and the monthly slow-query review of `schedules:` on it.

The server does not preload pg_stat_statements, so (as in tests/providers/test_postgres_provider.py)
the extension's view is swapped for one with the same columns and fixed rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy import select

from app.catalog import parse_catalog
from app.sandbox.slack import FakeSlack, SlackCall
from app.store.db import transaction
from app.store.models import ReportRun
from tests.fixtures import (
    ALERTS,
    OPERATOR,
    Clock,
    RunningPitcrew,
    catalog_from,
    pitcrew_with_jobs,
    requires_postgres,
    running_pitcrew,
    throwaway_database_sync,
)

pytestmark = requires_postgres

ROLE_PASSWORD = "Sl0w-Qu3ry-Pa55"
STRIPE = "sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5R"
RUNNING_PASSWORD = "Run-Pa55word-77"

_NO_STATEMENTS = (
    "DROP EXTENSION IF EXISTS pg_stat_statements",
    "DROP VIEW IF EXISTS public.pg_stat_statements",
)
_STAND_IN = f"""
    CREATE VIEW public.pg_stat_statements AS
    SELECT 10::oid AS userid, dbid, true AS toplevel, queryid, query, calls,
           total AS total_exec_time, mean AS mean_exec_time, rows
    FROM (VALUES
      ((SELECT oid FROM pg_database WHERE datname = current_database()), 1::bigint,
       'SELECT * FROM orders WHERE customer_id = $1', 1000::bigint, 5000.0::float8, 5.0::float8, 1000::bigint),
      ((SELECT oid FROM pg_database WHERE datname = current_database()), 2,
       'SELECT count(*) FROM events', 2, 3000.0, 1500.0, 2),
      ((SELECT oid FROM pg_database WHERE datname = current_database()), 3,
       'ALTER ROLE app WITH PASSWORD ''{ROLE_PASSWORD}''', 1, 900.0, 900.0, 0),
      ((SELECT oid FROM pg_database WHERE datname = current_database()), 4,
       'SELECT * FROM accounts WHERE stripe_key = ''{STRIPE}''', 3, 1200.0, 400.0, 3)
    ) AS s(dbid, queryid, query, calls, total, mean, rows)
"""


@pytest.fixture(scope="module")
def service_db() -> Iterator[str]:
    """A throwaway database standing for the service's; its DSN."""
    with throwaway_database_sync() as made:
        yield made.dsn()


async def _run(dsn: str, *statements: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            await conn.execute(statement)


@pytest.fixture
async def pitcrew(db_url: str, fake_slack: FakeSlack, service_db: str) -> AsyncIterator[RunningPitcrew]:
    catalog = catalog_from({"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}}})
    async with running_pitcrew(db_url, catalog, fake_slack, env={"APP_DATABASE_URL": service_db}) as running:
        yield running


async def _answer(pitcrew: RunningPitcrew, text: str) -> SlackCall:
    before = len(pitcrew.slack.calls_to("response_url"))
    await pitcrew.command("/logs", text, user=OPERATOR)
    return (await pitcrew.slack.wait_for(lambda c: c.method == "response_url", count=before + 1))[-1]


def _code(call: SlackCall) -> list[str]:
    text = call.args["blocks"][1]["text"]["text"]
    assert text.startswith("```")
    return text.split("\n")[1:-1]


async def test_slow_statements_come_from_pg_stat_statements_masked(
    pitcrew: RunningPitcrew, service_db: str
) -> None:
    await _run(
        service_db, *_NO_STATEMENTS, "CREATE EXTENSION pg_stat_statements",
        "ALTER EXTENSION pg_stat_statements DROP VIEW pg_stat_statements", "DROP VIEW pg_stat_statements", _STAND_IN,
    )
    try:
        answer = await _answer(pitcrew, "db --slow --since 1h")
    finally:
        await _run(service_db, *_NO_STATEMENTS)
    assert answer.args["response_type"] == "in_channel"
    assert _code(answer) == [
        "   mean ms     total ms    calls  query",
        "    1500.0       3000.0        2  SELECT count(*) FROM events",
        "     900.0        900.0        1  ALTER ROLE app WITH PASSWORD '***'",
        "     400.0       1200.0        3  SELECT * FROM accounts WHERE stripe_key = '***'",
        "       5.0       5000.0     1000  SELECT * FROM orders WHERE customer_id = $1",
    ]
    assert "from pg_stat_statements" in str(answer.args["blocks"])
    assert "`--since` does not apply to `--slow`" in str(answer.args["blocks"])
    sent = pitcrew.slack.all_text()
    assert ROLE_PASSWORD not in sent and STRIPE not in sent


async def test_without_pg_stat_statements_the_running_queries_are_listed_masked(
    pitcrew: RunningPitcrew, service_db: str
) -> None:
    await _run(service_db, *_NO_STATEMENTS)
    sleeper = await psycopg.AsyncConnection.connect(service_db, autocommit=True)
    busy = asyncio.create_task(sleeper.execute(f"SELECT pg_sleep(30) /* password={RUNNING_PASSWORD} */"))
    try:
        await _wait_running(service_db)
        answer = await _answer(pitcrew, "db --slow --lines 5")
    finally:
        await _run(service_db, f"SELECT pg_cancel_backend({sleeper.info.backend_pid})")
        await asyncio.gather(busy, return_exceptions=True)
        await sleeper.close()
    lines = _code(answer)
    assert lines[0].split() == ["pid", "running", "waiting", "on", "query"]
    assert "Timeout: PgSleep" in lines[1] and "SELECT pg_sleep(30) /* password=*** */" in lines[1]
    assert "pg_stat_activity" in str(answer.args["blocks"])
    assert RUNNING_PASSWORD not in pitcrew.slack.all_text()


async def test_a_database_that_cannot_be_reached_is_said_privately(
    db_url: str, fake_slack: FakeSlack
) -> None:
    postgres = {"dsn_env": "APP_DATABASE_URL", "timeout_s": 2}
    catalog = catalog_from({"db": {"provider": "postgres", "postgres": postgres}})
    env = {"APP_DATABASE_URL": "postgresql://app:Unreachable-Pa55@127.0.0.1:1/app"}
    async with running_pitcrew(db_url, catalog, fake_slack, env=env) as running:
        answer = await _answer(running, "db --slow")
    assert answer.args["response_type"] == "ephemeral"
    assert "postgres slow queries (app@127.0.0.1:1/app) failed: connection refused" in answer.args["text"]
    assert "Unreachable-Pa55" not in fake_slack.all_text()


async def _wait_running(dsn: str) -> None:
    async with asyncio.timeout(15):
        while True:
            async with await psycopg.AsyncConnection.connect(dsn) as conn:
                cur = await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'"
                )
                row: Any = await cur.fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.05)


async def test_the_monthly_slow_query_review_posts_the_statements_over_its_threshold_masked(
    db_url: str, fake_slack: FakeSlack, service_db: str
) -> None:
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    document = {
        "slack": {"alerts_channel": ALERTS},
        "services": {"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}}},
        "schedules": [
            {"name": "slow-queries", "check": "slow_queries", "service": "db", "every": "month on 1 at 09:00"},
            {"name": "slow-lenient", "check": "slow_queries", "service": "db", "every": "month on 1 at 09:00",
             "slow_ms": 2000},
        ],
    }
    await _run(
        service_db, *_NO_STATEMENTS, "CREATE EXTENSION pg_stat_statements",
        "ALTER EXTENSION pg_stat_statements DROP VIEW pg_stat_statements", "DROP VIEW pg_stat_statements", _STAND_IN,
    )
    try:
        async with pitcrew_with_jobs(
            db_url, parse_catalog(yaml.safe_dump(document)), fake_slack, clock=Clock(due - timedelta(hours=1)),
            env={"APP_DATABASE_URL": service_db},
        ) as crew:
            crew.clock.now = due + timedelta(seconds=5)
            await crew.run_jobs()
            async with transaction(crew.app.deps.sessions) as session:
                ran = sorted(r.key for r in (await session.scalars(select(ReportRun))).all())
    finally:
        await _run(service_db, *_NO_STATEMENTS)
    assert ran == ["schedule:slow-lenient:2026-12-01T09:00+00:00", "schedule:slow-queries:2026-12-01T09:00+00:00"]
    [post] = [m for m in fake_slack.messages if m.channel == ALERTS and m.text.startswith("⏰")]
    assert post.text.startswith("⏰ slow-queries: slow-query review: 1 problem")  # 1500 ms > 1000; not > 2000
    assert "slowest on average (pg_stat_statements): 1,500 ms × 2 calls: SELECT count(*) FROM events" in post.text
    blocks = str(post.blocks)
    assert "expected: no statement averaging over 1,000 ms" in blocks and "`/logs db --slow`" in blocks
    assert "ALTER ROLE app WITH PASSWORD '***'" in blocks
    assert ROLE_PASSWORD not in fake_slack.all_text() and STRIPE not in fake_slack.all_text()
