"""Reading the application's own tables: its migration table, and the restore's named count queries.

Both run on a fresh connection in a READ ONLY transaction with the statement timeout of every
PostgreSQL call of pitcrew (app/providers/postgres.py): pitcrew looks, it never writes here.
What each tool's table holds, and why a row means failed or running, is in app/core/migrations.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from app.core.migrations import KNOWN_TABLES, MigrationState, MigrationTableMissing, tool_of
from app.providers.postgres import read_only

MAX_ROWS = 10_000  # a migration history is hundreds of rows; a bound all the same


async def read_migrations(dsn: str, table: str | None, *, timeout_s: float = 5.0) -> MigrationState:
    """The migration table's state: `table` (the catalog's `migrations_table`), else the first known
    table found. Raises MigrationTableMissing (naming the tables looked for) or ProviderError."""
    looked_for = (table,) if table else tuple(KNOWN_TABLES)

    async def read(conn: psycopg.AsyncConnection[Any]) -> MigrationState:
        for candidate in looked_for:
            if await _exists(conn, candidate):
                return await _READERS[tool_of(candidate) or ""](conn, candidate)
        raise MigrationTableMissing(looked_for, named=table is not None)

    return await read_only(dsn, "migrations", timeout_s, read)


@dataclass(frozen=True)
class CountResult:
    """One named verify query's answer, or why it has none."""

    name: str
    value: Any | None
    error: str | None = None


async def run_verify_queries(dsn: str, queries: Mapping[str, str], *, timeout_s: float = 5.0) -> list[CountResult]:
    """Each named query (a SELECT, checked at load) and its first value, in one read-only transaction;
    a query that fails is reported and the others still run (each behind a savepoint)."""

    async def run(conn: psycopg.AsyncConnection[Any]) -> list[CountResult]:
        results: list[CountResult] = []
        for name, query in queries.items():
            await conn.execute("SAVEPOINT pitcrew_verify")
            try:
                cur = await conn.execute(query.encode())  # no parameters: `%` in the query is the query's
                row = await cur.fetchone()
                results.append(CountResult(name, row[0] if row else None))
            except psycopg.errors.QueryCanceled:
                raise
            except psycopg.Error as err:
                await conn.execute("ROLLBACK TO SAVEPOINT pitcrew_verify")
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                results.append(CountResult(name, None, first))
        return results

    return await read_only(dsn, "verify queries", timeout_s, run)


def _parts(table: str) -> tuple[str, ...]:
    return tuple(table.split("."))


async def _exists(conn: psycopg.AsyncConnection[Any], table: str) -> bool:
    quoted = ".".join('"' + part + '"' for part in _parts(table))
    cur = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", [quoted])
    row = await cur.fetchone()
    return bool(row and row[0])


def _ident(table: str) -> sql.Identifier:
    return sql.Identifier(*_parts(table))


async def _prisma(conn: psycopg.AsyncConnection[Any], table: str) -> MigrationState:
    cur = await conn.execute(
        sql.SQL(
            "SELECT migration_name, finished_at, rolled_back_at FROM {} ORDER BY started_at, migration_name LIMIT %s"
        ).format(_ident(table)),
        [MAX_ROWS],
    )
    applied: dict[str, Any] = {}
    tried: list[str] = []
    for name, finished_at, rolled_back_at in await cur.fetchall():
        if finished_at is not None and rolled_back_at is None:
            applied[name] = finished_at
        elif name not in tried:
            tried.append(name)
    failed = tuple(n for n in tried if n not in applied)
    last = max(applied.items(), key=lambda item: item[1], default=None)
    return MigrationState("prisma", table, len(applied), last[0] if last else None,
                          last[1] if last else None, failed=failed)


async def _alembic(conn: psycopg.AsyncConnection[Any], table: str) -> MigrationState:
    cur = await conn.execute(sql.SQL("SELECT version_num FROM {} ORDER BY version_num").format(_ident(table)))
    heads = [str(v) for (v,) in await cur.fetchall()]
    return MigrationState("alembic", table, len(heads), ", ".join(heads) or None)


async def _django(conn: psycopg.AsyncConnection[Any], table: str) -> MigrationState:
    cur = await conn.execute(
        sql.SQL(
            "SELECT (SELECT count(*) FROM {t}), app, name, applied FROM {t} ORDER BY applied DESC, id DESC LIMIT 1"
        ).format(t=_ident(table))
    )
    row = await cur.fetchone()
    if row is None:
        return MigrationState("django", table, 0, None)
    count, app, name, applied = row
    return MigrationState("django", table, int(count), f"{app}.{name}", applied)


async def _knex(conn: psycopg.AsyncConnection[Any], table: str) -> MigrationState:
    cur = await conn.execute(
        sql.SQL(
            "SELECT (SELECT count(*) FROM {t}), name, migration_time FROM {t} ORDER BY id DESC LIMIT 1"
        ).format(t=_ident(table))
    )
    row = await cur.fetchone()
    count, name, at = row if row is not None else (0, None, None)
    running: tuple[str, ...] = ()
    lock = f"{table}_lock"  # knex names its lock table after the migrations table
    if await _exists(conn, lock):
        cur = await conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE is_locked <> 0").format(_ident(lock)))
        locked = await cur.fetchone()
        if locked and locked[0]:
            running = (f"a migration ({lock} is locked)",)
    return MigrationState("knex", table, int(count), name, at, running=running)


async def _sqlx(conn: psycopg.AsyncConnection[Any], table: str) -> MigrationState:
    cur = await conn.execute(
        sql.SQL("SELECT version, description, installed_on, success FROM {} ORDER BY version LIMIT %s").format(
            _ident(table)
        ),
        [MAX_ROWS],
    )
    rows = await cur.fetchall()
    ok = [(f"{v} {d}", at) for v, d, at, success in rows if success]
    failed = tuple(f"{v} {d}" for v, d, _, success in rows if not success)
    last = ok[-1] if ok else None
    return MigrationState("sqlx", table, len(ok), last[0] if last else None, last[1] if last else None,
                          failed=failed)


_READERS = {"prisma": _prisma, "alembic": _alembic, "django": _django, "knex": _knex, "sqlx": _sqlx}
