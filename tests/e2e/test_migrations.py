"""Migrations and restores against the real PostgreSQL: each tool's real migration table in a throwaway
database, read by a signed `/health db`, by `check: migrations` and the `db-restore` runbook's counts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from app.catalog import CatalogError
from app.core.migrations import KNOWN_TABLES, STATUS_COMMANDS
from app.sandbox.slack import FakeSlack
from tests.e2e.runbook_support import ended, step_message, until
from tests.e2e.test_variables import declared, shown
from tests.fixtures import OPERATOR, Sandbox, catalog_from, pitcrew_with_jobs, running_pitcrew, throwaway_database

# Each tool's table as the tool creates it (app/core/migrations.py cites where), with an applied
# migration and, where the tool records one, a failed or running one.
TABLES: dict[str, tuple[str, str]] = {
    "prisma": (
        """CREATE TABLE "_prisma_migrations" (id VARCHAR(36) PRIMARY KEY, checksum VARCHAR(64) NOT NULL,
           finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
           started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);
           INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at) VALUES
           ('a', 'x', now() - interval '2 days', '20260101_init', now() - interval '2 days'),
           ('b', 'x', now() - interval '1 hour', '20260201_invoices', now() - interval '1 hour'),
           ('c', 'x', NULL, '20260301_vat', now() - interval '5 minutes')""",
        "prisma: last applied 20260201_invoices, 1 h ago (2 applied) · failed: 20260301_vat",
    ),
    "alembic": (
        """CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
           INSERT INTO alembic_version VALUES ('3f2a9c1d')""",
        "alembic: last applied 3f2a9c1d (1 applied)",
    ),
    "django": (
        """CREATE TABLE django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL,
           name varchar(255) NOT NULL, applied timestamptz NOT NULL);
           INSERT INTO django_migrations (app, name, applied) VALUES
           ('auth', '0001_initial', now() - interval '3 days'), ('billing', '0007_vat', now() - interval '3 hours')""",
        "django: last applied billing.0007_vat, 3 h ago (2 applied)",
    ),
    "knex": (
        """CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer,
           migration_time timestamptz);
           CREATE TABLE knex_migrations_lock ("index" serial PRIMARY KEY, is_locked integer);
           INSERT INTO knex_migrations (name, batch, migration_time) VALUES
           ('20260101_users.js', 1, now() - interval '2 days'),
           ('20260202_orders.js', 2, now() - interval '20 minutes');
           INSERT INTO knex_migrations_lock (is_locked) VALUES (1)""",
        "knex: last applied 20260202_orders.js, 20 min ago (2 applied) · running now: a migration"
        " (knex_migrations_lock is locked)",
    ),
    "sqlx": (
        """CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
           installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL,
           execution_time BIGINT NOT NULL);
           INSERT INTO _sqlx_migrations VALUES
           (20260101, 'init', now() - interval '4 days', true, '\\x00', 1),
           (20260202, 'tokens', now() - interval '4 days', false, '\\x00', 1)""",
        "sqlx: last applied 20260101 init, 4 days ago (1 applied) · failed: 20260202 tokens",
    ),
}


@pytest.fixture
async def app_db() -> AsyncIterator[str]:
    async with throwaway_database() as made:
        yield made.dsn()


async def _setup(dsn: str, statements: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(statements.encode())


def _db(**postgres: Any) -> dict[str, Any]:
    return {"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL", **postgres}}}


async def _health_card(db_url: str, fake_slack: FakeSlack, dsn: str, **postgres: Any) -> str:
    catalog = catalog_from(_db(**postgres))
    async with running_pitcrew(db_url, catalog, fake_slack, env={"APP_DATABASE_URL": dsn}) as pitcrew:
        response = await pitcrew.command("/health", "db")
        assert response.status_code == 200
        [posted] = await fake_slack.wait_for(lambda c: c.method == "response_url")
    card = json.dumps(posted.args, ensure_ascii=False)
    assert "secret" not in card  # the DSN's password (tests/fixtures' admin) is never on the card
    return card


@pytest.mark.parametrize("tool", list(TABLES))
async def test_health_db_shows_each_tools_last_and_failed_migration(tool, db_url, fake_slack, app_db):
    create, line = TABLES[tool]
    await _setup(app_db, create)
    card = await _health_card(db_url, fake_slack, app_db)
    assert f"migrations: {line}" in card
    # pending ones are files of the app, not rows: said, with the tool's command that lists them
    assert f"pending: not visible from the database (they are files in the app's repository): " \
           f"`{STATUS_COMMANDS[tool]}` lists them" in card


async def test_pending_migrations_name_the_teams_own_status_command(db_url, fake_slack, app_db):
    await _setup(app_db, TABLES["prisma"][0])
    card = await _health_card(db_url, fake_slack, app_db, migrations_status_command="pnpm run migrate:status")
    assert "`pnpm run migrate:status` lists them" in card and "prisma migrate status" not in card


async def test_a_named_table_that_does_not_exist_says_which_was_looked_for(db_url, fake_slack, app_db):
    card = await _health_card(db_url, fake_slack, app_db, migrations_table="app._prisma_migrations")
    assert "migrations: the migration table app._prisma_migrations does not exist" in card
    assert "*db* (postgres): degraded" in card


async def test_no_migration_table_and_none_named_adds_no_line(db_url, fake_slack, app_db):
    card = await _health_card(db_url, fake_slack, app_db)
    assert "migrations" not in card and "SELECT 1 in" in card


async def test_the_named_table_wins_over_the_first_found(db_url, fake_slack, app_db):
    await _setup(app_db, TABLES["prisma"][0] + ";" + TABLES["alembic"][0])
    card = await _health_card(db_url, fake_slack, app_db, migrations_table="alembic_version")
    assert "alembic: last applied 3f2a9c1d" in card and "prisma" not in card


def test_migrations_table_and_verify_queries_are_checked_at_load():
    with pytest.raises(CatalogError) as err:
        catalog_from(_db(migrations_table="schema_migrations"))
    assert any("services.db.postgres.migrations_table: no reader for schema_migrations" in p
               for p in err.value.problems), err.value.problems
    with pytest.raises(CatalogError) as err:
        catalog_from(_db(verify_queries={"users": "delete from users"}))
    assert any("services.db.postgres.verify_queries: users: only one SELECT is allowed" in p
               for p in err.value.problems), err.value.problems
    with pytest.raises(CatalogError):
        catalog_from(_db(verify_queries={"users": "select 1; drop table users"}))


RESTORE_DB = """
CREATE TABLE users (id serial PRIMARY KEY, email text);
INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com'), ('c@example.com');
CREATE TABLE invoices (id serial PRIMARY KEY);
INSERT INTO invoices DEFAULT VALUES;
"""


async def _walk_to(fake_slack: FakeSlack, root: Any, step_id: str) -> str:
    message = await step_message(fake_slack, root, step_id)
    await fake_slack.click(message, "runbook.run", user=OPERATOR)
    return shown(await ended(message, "Ran"))


async def test_db_restore_counts_run_read_only_and_check_migrations(db_url, fake_slack, sandbox: Sandbox, app_db):
    await _setup(app_db, RESTORE_DB + ";" + TABLES["sqlx"][0])
    queries = {
        "users": "select count(*) from users",
        "invoices": "select count(*) from invoices;",
        "sneaky": "select nextval('users_id_seq')",  # a write a SELECT can do: refused read-only
    }
    catalog = sandbox.catalog(extra=_db(verify_queries=queries))
    env = {"APP_DATABASE_URL": app_db}
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock, env=env,
                                 **sandbox.settings()) as pitcrew:
        root = await declared(pitcrew)
        await fake_slack.mention("runbook db-restore", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        announce = await step_message(fake_slack, root, "announce")
        await fake_slack.click(announce, "runbook.skip", user=OPERATOR)
        counts = await step_message(fake_slack, root, "counts-before")
        assert "Row counts before the restore" in counts.text
        await fake_slack.click(counts, "runbook.run", user=OPERATOR)
        said = shown(await ended(counts, "Ran"))
        assert "users: 3" in said and "invoices: 1" in said
        assert "sneaky failed: cannot execute nextval() in a read-only transaction" in said
    async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as conn:
        cur = await conn.execute("SELECT last_value FROM users_id_seq")
        assert (await cur.fetchone())[0] == 3  # nothing written


async def test_check_migrations_step_names_the_tables_looked_for(db_url, fake_slack, sandbox: Sandbox, app_db):
    catalog = sandbox.catalog(extra=_db())
    async with pitcrew_with_jobs(db_url, catalog, fake_slack, clock=sandbox.clock,
                                 env={"APP_DATABASE_URL": app_db}, **sandbox.settings()) as pitcrew:
        root = await declared(pitcrew)
        await fake_slack.mention("runbook db-migration", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        before = await step_message(fake_slack, root, "before")
        clicked = await fake_slack.click(before, "runbook.run", user=OPERATOR)
        assert clicked.status_code == 200, clicked.text
        await until(lambda: "looked for" in shown(before), what="the check's answer")
        said = shown(before)
        assert "no migration table found; looked for " + ", ".join(KNOWN_TABLES) in said

        await _setup(app_db, TABLES["prisma"][0])
        await fake_slack.click(before, "runbook.skip", user=OPERATOR)  # a failed check stays: skip it
        for step_id in ("backup-check", "backup-take"):  # no Railway volume here: skipped
            message = await step_message(fake_slack, root, step_id)
            await fake_slack.click(message, "runbook.skip", user=OPERATOR)
        for step_id in ("backup", "staging", "run"):
            message = await step_message(fake_slack, root, step_id)
            await fake_slack.click(message, "runbook.done", user=OPERATOR)
        after = await _walk_to(fake_slack, root, "verify")
        assert "degraded: prisma: last applied 20260201_invoices" in after
        assert "failed: 20260301_vat" in after

