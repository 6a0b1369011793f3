"""The PostgreSQL provider against a real server: a throwaway database per module, real sessions in it.

The server comes from TEST_DATABASE_URL (a superuser who may create databases and roles), and
the module is skipped without it. The sessions under observation belong to a
throwaway non-superuser role, as an application's would: the provider leaves superusers alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from app.providers.base import ProviderError
from app.providers.postgres import (
    IdleSession,
    idle_sessions,
    probe_postgres,
    slow_queries,
    terminate_idle_sessions,
)
from tests.fixtures import ADMIN_DSN, alive, dsn_for, requires_postgres, throwaway_database_sync

pytestmark = requires_postgres

_ADMIN = conninfo_to_dict(ADMIN_DSN)
IDLE_APP = "pitcrew-test-idle"


def _dsn(user: str, dbname: str, scheme: str = "postgres") -> str:
    return dsn_for(dbname, user, scheme=scheme)


@dataclass(frozen=True)
class Scratch:
    database: str
    role: str  # a LOGIN role without superuser, standing for the application
    dsn: str  # the superuser in the throwaway database, as `postgres://`
    role_dsn: str  # the application role in the throwaway database
    other_db_role_dsn: str  # the application role in the admin database


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    with throwaway_database_sync("app") as made:
        yield Scratch(
            database=made.database,
            role=made.role,
            dsn=_dsn(_ADMIN.get("user", "postgres"), made.database),
            role_dsn=_dsn(made.role, made.database),
            other_db_role_dsn=_dsn(made.role, _ADMIN.get("dbname", "test")),
        )


async def _wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for the server to reach a state (a backend starting or ending is not instantaneous)."""
    try:
        async with asyncio.timeout(15):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(what) from None


async def _show(setting: str) -> str:
    async with await psycopg.AsyncConnection.connect(ADMIN_DSN) as admin:
        cur = await admin.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting)))
        row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def _states(pids: list[int]) -> dict[int, str | None]:
    async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
        cur = await admin.execute("SELECT pid, state FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
        return dict(await cur.fetchall())


@dataclass
class Sessions:
    """Sessions of every kind the provider must tell apart."""

    idle: list[psycopg.AsyncConnection[Any]]  # the application role, idle: what the cleanup ends
    idle_in_transaction: psycopg.AsyncConnection[Any]
    sleeper: psycopg.AsyncConnection[Any]  # running pg_sleep
    superuser_idle: psycopg.AsyncConnection[Any]  # idle too, but never ours to end
    other_database_idle: psycopg.AsyncConnection[Any]  # idle too, but in another database
    busy: list[asyncio.Task[Any]]

    def all(self) -> list[psycopg.AsyncConnection[Any]]:
        return [
            *self.idle, self.idle_in_transaction, self.sleeper, self.superuser_idle, self.other_database_idle
        ]

    async def start_sleeping(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Run a long pg_sleep on `conn` and return once the server shows it active."""
        self.busy.append(asyncio.create_task(conn.execute("SELECT pg_sleep(60)")))

        async def active() -> bool:
            return (await _states([conn.info.backend_pid])).get(conn.info.backend_pid) == "active"

        await _wait_until(active, "the sleeping query never became active")


@pytest.fixture
async def sessions(scratch: Scratch) -> AsyncIterator[Sessions]:
    async def connect(dsn: str, *, autocommit: bool = True) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=autocommit, application_name=IDLE_APP)
        await conn.execute("SELECT 1")
        return conn

    opened = Sessions(
        idle=[await connect(scratch.role_dsn), await connect(scratch.role_dsn)],
        idle_in_transaction=await connect(scratch.role_dsn, autocommit=False),
        sleeper=await connect(scratch.role_dsn),
        superuser_idle=await connect(scratch.dsn),
        other_database_idle=await connect(scratch.other_db_role_dsn),
        busy=[],
    )
    pids = [conn.info.backend_pid for conn in opened.all()]
    try:
        await opened.start_sleeping(opened.sleeper)
        yield opened
    finally:
        async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
            )
        for task in opened.busy:
            with contextlib.suppress(psycopg.Error):
                await task
        for conn in opened.all():
            await conn.close()

        async def all_gone() -> bool:
            return not await _states(pids)

        await _wait_until(all_gone, "the test's sessions did not end")


def _pids(conns: list[psycopg.AsyncConnection[Any]]) -> set[int]:
    return {conn.info.backend_pid for conn in conns}


# --- probe ------------------------------------------------------------------------------------------


async def test_probe_leaves_its_own_backend_out(scratch):
    observation = await probe_postgres(scratch.dsn, long_query_s=0)
    assert observation.long_queries == 0  # our own query is active, and not counted
    assert observation.longest_query_s == 0
    assert observation.idle_in_transaction == 0
    assert observation.latency_ms > 0


async def test_probe_sees_sessions_long_queries_and_idle_transactions(scratch, sessions):
    observation = await probe_postgres(scratch.dsn, long_query_s=0)
    max_connections = int(await _show("max_connections"))
    assert observation.max_connections == max_connections
    assert len(sessions.all()) <= observation.connections <= max_connections
    assert observation.long_queries == 1  # the sleeper
    assert observation.longest_query_s > 0
    assert observation.idle_in_transaction == 1

    later = await probe_postgres(scratch.dsn, long_query_s=3600)
    assert later.long_queries == 0  # nothing has run for an hour...
    assert later.longest_query_s > 0  # ...but the longest running query is still reported


async def test_sqlalchemy_style_url_is_accepted(scratch):
    url = scratch.dsn.replace("postgres://", "postgresql+psycopg://", 1)
    assert (await probe_postgres(url)).max_connections > 0


# --- idle sessions ----------------------------------------------------------------------------------


async def test_preview_lists_only_idle_application_sessions_of_this_database(scratch, sessions):
    found = await idle_sessions(scratch.dsn, idle_minutes=0)
    assert {s.pid for s in found} == _pids(sessions.idle)
    for session in found:
        assert isinstance(session, IdleSession)
        assert session.usename == scratch.role
        assert session.application_name == IDLE_APP
        assert session.client_addr == "127.0.0.1"
        assert session.state == "idle"
        assert session.idle_for_s >= 0


async def test_preview_honours_the_idle_threshold(scratch, sessions):
    assert await idle_sessions(scratch.dsn, idle_minutes=1) == []
    # A session idle for a known while: ask for "idle longer than it has been" and "shorter than".
    found = {s.pid: s.idle_for_s for s in await idle_sessions(scratch.dsn, idle_minutes=0)}
    longest = max(found.values())
    assert await idle_sessions(scratch.dsn, idle_minutes=(longest + 600) / 60) == []


async def test_terminate_ends_the_idle_sessions_and_nothing_else(scratch, sessions):
    ended = await terminate_idle_sessions(scratch.dsn, idle_minutes=0)
    assert set(ended) == _pids(sessions.idle)
    for conn in sessions.idle:
        assert not await alive(conn)
    assert await alive(sessions.idle_in_transaction)
    assert await alive(sessions.superuser_idle)
    assert await alive(sessions.other_database_idle)
    assert (await _states([sessions.sleeper.info.backend_pid]))[sessions.sleeper.info.backend_pid] == "active"


async def test_terminate_spares_a_session_that_became_busy_since_the_preview(scratch, sessions):
    first, second = sessions.idle
    preview = await idle_sessions(scratch.dsn, idle_minutes=0)
    assert {s.pid for s in preview} == {first.info.backend_pid, second.info.backend_pid}

    await sessions.start_sleeping(second)
    ended = await terminate_idle_sessions(scratch.dsn, idle_minutes=0)

    assert ended == [first.info.backend_pid]
    assert (await _states([second.info.backend_pid]))[second.info.backend_pid] == "active"


async def test_terminate_honours_the_idle_threshold(scratch, sessions):
    assert await terminate_idle_sessions(scratch.dsn, idle_minutes=60) == []
    for conn in sessions.idle:
        assert await alive(conn)


async def test_an_application_role_may_end_its_own_idle_sessions(scratch, sessions):
    """pitcrew connected as the application's (non-superuser) role, as on most hosted databases."""
    assert {s.pid for s in await idle_sessions(scratch.role_dsn, idle_minutes=0)} == _pids(sessions.idle)
    assert set(await terminate_idle_sessions(scratch.role_dsn, idle_minutes=0)) == _pids(sessions.idle)


async def test_negative_idle_minutes_is_refused(scratch):
    with pytest.raises(ValueError, match="idle_minutes"):
        await idle_sessions(scratch.dsn, idle_minutes=-1)


# --- slow queries -----------------------------------------------------------------------------------


async def _admin_in(scratch: Scratch, *statements: str) -> None:
    async with await psycopg.AsyncConnection.connect(scratch.dsn, autocommit=True) as conn:
        for statement in statements:
            await conn.execute(statement)


_NO_STATEMENTS = (
    "DROP EXTENSION IF EXISTS pg_stat_statements",
    "DROP VIEW IF EXISTS public.pg_stat_statements",
)


async def test_without_pg_stat_statements_the_running_queries_are_shown(scratch, sessions):
    result = await slow_queries(scratch.dsn)
    assert result.source == "pg_stat_activity"
    assert result.note is None
    assert [q.pid for q in result.running] == [sessions.sleeper.info.backend_pid]
    (sleeper,) = result.running
    assert "pg_sleep" in (sleeper.query or "")
    assert sleeper.duration_s >= 0
    assert sleeper.usename == scratch.role
    assert sleeper.wait_event == "Timeout: PgSleep"


async def test_pg_stat_statements_installed_but_not_loaded_falls_back_with_a_note(scratch, sessions):
    preload = await _show("shared_preload_libraries")
    await _admin_in(scratch, *_NO_STATEMENTS, "CREATE EXTENSION pg_stat_statements")
    try:
        result = await slow_queries(scratch.dsn)
    finally:
        await _admin_in(scratch, *_NO_STATEMENTS)
    if "pg_stat_statements" in preload:
        assert result.source == "pg_stat_statements"
    else:
        assert result.source == "pg_stat_activity"
        assert "shared_preload_libraries" in (result.note or "")
        assert [q.pid for q in result.running] == [sessions.sleeper.info.backend_pid]


def _stand_in_view(mean: str, total: str, *, slow: bool = False) -> str:
    """pg_stat_statements' view replaced by fixed rows, as the server's statistics would give them.

    The server here does not preload the module, so the real view cannot be read; the extension's
    own view is swapped for one with the same name and columns, and the provider's SQL runs on it.
    """
    sleep = ", pg_sleep(30)" if slow else ""
    return f"""
        CREATE VIEW public.pg_stat_statements AS
        SELECT 10::oid AS userid, dbid, true AS toplevel, queryid, query, calls,
               total AS {total}, mean AS {mean}, rows
        FROM (VALUES
          ((SELECT oid FROM pg_database WHERE datname = current_database()), 1::bigint,
           'SELECT * FROM orders WHERE id = $1', 1000::bigint, 5000.0::float8, 5.0::float8, 1000::bigint),
          ((SELECT oid FROM pg_database WHERE datname = current_database()), 2,
           'SELECT count(*) FROM events', 2, 3000.0, 1500.0, 2),
          ((SELECT oid FROM pg_database WHERE datname = current_database()), 3,
           'UPDATE users SET seen = now()', 10, 10.0, 1.0, 10),
          ((SELECT oid FROM pg_database WHERE datname = 'template1'), 4,
           'SELECT elsewhere', 1, 99999.0, 99999.0, 1)
        ) AS s(dbid, queryid, query, calls, total, mean, rows){sleep}
    """


@pytest.mark.parametrize(
    ("mean", "total"), [("mean_exec_time", "total_exec_time"), ("mean_time", "total_time")]  # PG 13+, PG 12-
)
async def test_pg_stat_statements_top_by_mean_and_total_of_this_database(scratch, mean, total):
    await _admin_in(
        scratch,
        *_NO_STATEMENTS,
        "CREATE EXTENSION pg_stat_statements",
        "ALTER EXTENSION pg_stat_statements DROP VIEW pg_stat_statements",
        "DROP VIEW pg_stat_statements",
        _stand_in_view(mean, total),
    )
    try:
        by_mean = await slow_queries(scratch.dsn, limit=2)
        by_total = await slow_queries(scratch.dsn, order_by="total")
    finally:
        await _admin_in(scratch, *_NO_STATEMENTS)
    assert by_mean.source == "pg_stat_statements"
    assert [s.query for s in by_mean.statements] == [
        "SELECT count(*) FROM events",
        "SELECT * FROM orders WHERE id = $1",
    ]
    assert by_mean.statements[0].mean_ms == 1500.0
    assert by_mean.statements[0].calls == 2
    assert [s.total_ms for s in by_total.statements] == [5000.0, 3000.0, 10.0]  # never another database's


async def test_a_statement_that_outlasts_the_timeout_is_reported_as_timed_out(scratch):
    await _admin_in(
        scratch,
        *_NO_STATEMENTS,
        "CREATE EXTENSION pg_stat_statements",
        "ALTER EXTENSION pg_stat_statements DROP VIEW pg_stat_statements",
        "DROP VIEW pg_stat_statements",
        _stand_in_view("mean_exec_time", "total_exec_time", slow=True),
    )
    try:
        with pytest.raises(ProviderError) as caught:
            await slow_queries(scratch.dsn, timeout_s=1)
    finally:
        await _admin_in(scratch, *_NO_STATEMENTS)
    assert caught.value.reason.startswith("timed out after 1 s")
    assert caught.value.call.startswith("postgres slow queries")


# --- failures ---------------------------------------------------------------------------------------

CALLS = {
    "probe": lambda dsn: probe_postgres(dsn, timeout_s=3),
    "idle sessions": lambda dsn: idle_sessions(dsn, timeout_s=3),
    "terminate idle sessions": lambda dsn: terminate_idle_sessions(dsn, timeout_s=3),
    "slow queries": lambda dsn: slow_queries(dsn, timeout_s=3),
}


@pytest.mark.parametrize("what", CALLS)
async def test_unreachable_server_is_a_provider_error_without_the_password(what):
    dsn = "postgres://app:hunter2secret@127.0.0.1:1/app"
    with pytest.raises(ProviderError) as caught:
        await CALLS[what](dsn)
    assert caught.value.call == f"postgres {what} (app@127.0.0.1:1/app)"
    assert caught.value.reason == "connection refused"
    assert "hunter2secret" not in str(caught.value)


async def test_missing_database_is_named(scratch):
    with pytest.raises(ProviderError) as caught:
        await probe_postgres(scratch.dsn.rsplit("/", 1)[0] + "/pitcrew_no_such_db")
    assert caught.value.reason == 'database "pitcrew_no_such_db" does not exist'


async def test_a_server_that_never_answers_times_out():
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accept, never answer

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ProviderError) as caught:
            await probe_postgres(f"postgresql://app:pw123456@127.0.0.1:{port}/app", timeout_s=0.5)
    finally:
        server.close()
        for writer in accepted:
            writer.close()
        await server.wait_closed()
    assert caught.value.reason == "timed out after 0.5 s"


async def test_a_dsn_that_is_not_one_says_what_is_expected():
    with pytest.raises(ProviderError) as caught:
        await probe_postgres("password=hunter2secret this is not a dsn")
    assert "expected postgresql://" in caught.value.reason
    assert "hunter2secret" not in str(caught.value)
