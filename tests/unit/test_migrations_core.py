"""The verdict on a migration table's state, and what pitcrew.yml may name (app/core/migrations.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.health import Verdict
from app.core.migrations import MigrationState, MigrationTableMissing, judge_migrations, query_problem, table_problem

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_applied_only_is_ok_and_names_the_last():
    result = judge_migrations(MigrationState("django", "django_migrations", 12, "billing.0007_vat",
                                             NOW - timedelta(hours=3)), NOW)
    assert result.verdict is Verdict.OK
    assert result.evidence == (
        "django: last applied billing.0007_vat, 3 h ago (12 applied)",
        "pending: not visible from the database (they are files in the app's repository): "
        "`python manage.py showmigrations` lists them",
    )


def test_failed_or_running_is_degraded():
    state = MigrationState("sqlx", "_sqlx_migrations", 1, "1 init", failed=("2 a", "3 b", "4 c", "5 d"))
    failed = judge_migrations(state)
    assert failed.verdict is Verdict.DEGRADED and "failed: 2 a, 3 b, 4 c and 1 more" in failed.evidence
    running = judge_migrations(MigrationState("knex", "knex_migrations", 0, None, running=("a migration",)))
    assert running.verdict is Verdict.DEGRADED
    assert running.evidence[:2] == ("knex: no migration applied (knex_migrations is empty)", "running now: a migration")


def test_pending_ones_are_said_to_be_invisible_with_the_teams_command_or_the_tools():
    state = MigrationState("prisma", "_prisma_migrations", 3, "20260101_init", NOW)
    assert judge_migrations(state, NOW).evidence[-1] == (
        "pending: not visible from the database (they are files in the app's repository): "
        "`npx prisma migrate status` lists them"
    )
    own = judge_migrations(state, NOW, status_command="pnpm run migrate:status")
    assert own.verdict is Verdict.OK and own.evidence[-1].endswith("`pnpm run migrate:status` lists them")


def test_missing_table_message_names_what_was_looked_for():
    assert "looked for a, b" in str(MigrationTableMissing(("a", "b"), named=False))
    assert "the migration table app.x does not exist" in str(MigrationTableMissing(("app.x",), named=True))


def test_table_and_query_rules():
    assert table_problem("public._prisma_migrations") is None
    assert "no reader" in (table_problem("flyway_schema_history") or "")
    assert "expected a table name" in (table_problem("a b") or "")
    assert query_problem("select count(*) from users;") is None
    assert query_problem("with x as (select 1) select * from x") is None
    assert query_problem("update users set a = 1") is not None
    assert query_problem("select 1; delete from users") is not None
