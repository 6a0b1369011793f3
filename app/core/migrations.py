"""Schema migrations as the team's migration tool records them, and the verdict on what was read.

Each tool keeps its own table, and pitcrew reads it rather than the migration files (which live in
the application's repository, not in the database): what was applied last, what failed, and what
is running now. Pending migrations (files no row names yet) are not in the database at all: the
verdict says so and names the command that lists them. The shapes, from each tool's own source:

- Prisma: `_prisma_migrations` (id, checksum, finished_at, migration_name, logs, rolled_back_at,
  started_at, applied_steps_count), prisma-engines `schema-engine/connectors/sql-schema-connector`
  (the table it creates) and the Prisma docs "About migration histories": a row without
  `finished_at` is a failed (or still running) migration; `prisma migrate resolve --rolled-back`
  sets `rolled_back_at`. A name is applied when one of its rows finished and was not rolled back.
- Alembic: `alembic_version (version_num)`, one row per head (alembic/runtime/migration.py,
  `_version` table); it records no history and no failure.
- Django: `django_migrations (id, app, name, applied)`, django/db/migrations/recorder.py: "having
  a row in the table always means a migration is applied"; no failure is recorded.
- Knex: `knex_migrations (id, name, batch, migration_time)` and `knex_migrations_lock (index,
  is_locked)`, knex/lib/migrations/migrate/table-creator.js: `is_locked = 1` while a migration runs.
- sqlx: `_sqlx_migrations (version, description, installed_on, success, checksum, execution_time)`,
  sqlx-postgres/src/migrate.rs: `success = false` is a migration that failed part-way (sqlx refuses
  to go on until it is fixed: "migration ... is partially applied").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.core.health import CheckResult, Verdict

MIGRATIONS_CHECK = "migrations"

# The table each tool creates, and the tool it names. Looked for in this order when the team names none.
KNOWN_TABLES: dict[str, str] = {
    "_prisma_migrations": "prisma",
    "alembic_version": "alembic",
    "django_migrations": "django",
    "knex_migrations": "knex",
    "_sqlx_migrations": "sqlx",
}
# Pending migrations are files of the application's repository that no row names yet: none of these tables
# records them, so pitcrew says so and names the tool's own command that compares the files with the table:
# `prisma migrate status` (Prisma CLI reference), `alembic current` (says "(head)" when nothing is pending),
# `manage.py showmigrations` ("[ ]" marks an unapplied one), `knex migrate:list` (completed and pending),
# `sqlx migrate info` (each migration, installed or pending).
STATUS_COMMANDS: dict[str, str] = {
    "prisma": "npx prisma migrate status",
    "alembic": "alembic current",
    "django": "python manage.py showmigrations",
    "knex": "npx knex migrate:list",
    "sqlx": "sqlx migrate info",
}
MAX_NAMED = 3
TABLE_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$")  # [schema.]table
QUERY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SELECT = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def table_problem(table: str) -> str | None:
    """Why `migrations_table` cannot be read, or None."""
    if not TABLE_NAME.match(table):
        return "expected a table name, optionally with its schema, such as _prisma_migrations or app.knex_migrations"
    if tool_of(table) is None:
        return f"no reader for {table}; pitcrew reads {', '.join(KNOWN_TABLES)}"
    return None


def query_problem(query: str) -> str | None:
    """Why a verify query is refused, or None: one SELECT, nothing else (it also runs read-only)."""
    body = query.strip().rstrip(";").strip()
    if not _SELECT.match(body) or ";" in body:
        return "only one SELECT is allowed, such as select count(*) from users"
    return None


def tool_of(table: str) -> str | None:
    """The tool whose table this is (`public._prisma_migrations` is Prisma's), or None."""
    return KNOWN_TABLES.get(table.rpartition(".")[2].strip('"').lower())


@dataclass(frozen=True)
class MigrationState:
    """What the migration table says: the last applied migration and any failed or running one."""

    tool: str
    table: str
    applied: int  # how many migrations are applied (Alembic: how many heads)
    last: str | None  # the last applied migration's name (Django: `app.name`; sqlx: `version description`)
    last_at: datetime | None = None
    failed: tuple[str, ...] = ()
    running: tuple[str, ...] = ()  # in progress now (a Knex lock held, a Prisma row just started)


class MigrationTableMissing(Exception):
    """The named table (or any known one) does not exist; says which tables were looked for."""

    def __init__(self, looked_for: tuple[str, ...], named: bool) -> None:
        self.looked_for = looked_for
        what = "the migration table" if named else "no migration table found;"
        tables = ", ".join(looked_for)
        reason = f"{what} {tables} does not exist" if named else f"{what} looked for {tables}"
        super().__init__(reason + " (set migrations_table: in pitcrew.yml to the table your tool uses)")


def pending_note(tool: str, status_command: str | None = None) -> str:
    """What pitcrew cannot see, said rather than left out: pending migrations are the app's files, not rows."""
    command = status_command or STATUS_COMMANDS.get(tool)
    how = f": `{command}` lists them" if command else ""
    return f"pending: not visible from the database (they are files in the app's repository){how}"


def judge_migrations(
    state: MigrationState, now: datetime | None = None, *, status_command: str | None = None
) -> CheckResult:
    """A failed migration is degraded (the schema is half-changed, and the tool refuses to go on);
    one running now is degraded too (the application may see the schema change under it). Pending
    ones cannot be read from the database: the last line says so, and which command shows them
    (`status_command`, the team's own from pitcrew.yml, else the tool's)."""
    evidence: list[str] = []
    if state.last is None:
        evidence.append(f"{state.tool}: no migration applied ({state.table} is empty)")
    else:
        when = f", {_age(state.last_at, now)}" if state.last_at is not None and now is not None else ""
        evidence.append(f"{state.tool}: last applied {state.last}{when} ({state.applied} applied)")
    verdict = Verdict.OK
    if state.failed:
        verdict = Verdict.DEGRADED
        evidence.append("failed: " + _names(state.failed))
    if state.running:
        verdict = Verdict.DEGRADED
        evidence.append("running now: " + _names(state.running))
    evidence.append(pending_note(state.tool, status_command))
    return CheckResult(MIGRATIONS_CHECK, verdict, tuple(evidence))


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def _age(at: datetime, now: datetime) -> str:
    seconds = max(0.0, (now - at).total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"
