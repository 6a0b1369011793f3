"""The PostgreSQL provider as hosted databases are really used, against the real server.

DSNs as ORMs write them (Prisma's `pgbouncer=true`, asyncpg's `ssl=`), a least-privilege role for
pitcrew that may signal backends but not read other roles' activity (what a cautious team grants),
and sessions of several roles, only some of them the application's. Every role and database is
created here and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from app.providers.postgres import (
    describe_dsn,
    hidden_sessions,
    idle_sessions,
    probe_postgres,
    slow_queries,
    terminate_idle_sessions,
)
from tests.fixtures import ADMIN_DSN, alive, dsn_for, requires_postgres, throwaway_database_sync

pytestmark = requires_postgres

_ADMIN = conninfo_to_dict(ADMIN_DSN)
PRISMA_KEYS = "pgbouncer=true&connection_limit=5&pool_timeout=10&schema=public"


def _dsn(user: str, dbname: str, scheme: str = "postgresql", query: str = "") -> str:
    return dsn_for(dbname, user, scheme=scheme, query=query)


@dataclass(frozen=True)
class Hosted:
    database: str
    app: str  # the application's role
    other: str  # another team's role in the same database (a reporting job, say)
    pitcrew: str  # pitcrew's least-privilege role: pg_signal_backend only
    admin_dsn: str  # the superuser in the throwaway database


@pytest.fixture(scope="module")
def hosted() -> Iterator[Hosted]:
    with throwaway_database_sync("app", "other", "ops") as made:
        app, other, pitcrew = made.roles
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("GRANT pg_signal_backend TO {}").format(sql.Identifier(pitcrew)))
        yield Hosted(made.database, app, other, pitcrew, made.dsn())


async def _open(dsn: str, application: str = "web-api") -> psycopg.AsyncConnection[Any]:
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, application_name=application)
    await conn.execute("SELECT 1")
    return conn


async def _ended(conns: list[psycopg.AsyncConnection[Any]]) -> bool:
    async with asyncio.timeout(10):  # a signalled backend ends moments later
        while True:
            if not any([await alive(c) for c in conns if not c.closed]):
                return True
            await asyncio.sleep(0.02)


@pytest.fixture
async def app_sessions(hosted: Hosted) -> AsyncIterator[list[psycopg.AsyncConnection[Any]]]:
    conns = [await _open(_dsn(hosted.app, hosted.database)) for _ in range(2)]
    try:
        yield conns
    finally:
        for conn in conns:
            await conn.close()


# ---- DSNs as applications write them ------------------------------------------------------------


async def test_a_prisma_dsn_is_probed_and_its_pgbouncer_flag_names_the_pooler(hosted: Hosted):
    dsn = _dsn(_ADMIN.get("user", "postgres"), hosted.database, query=f"{PRISMA_KEYS}&sslmode=prefer")
    observed = await probe_postgres(dsn)
    assert observed.max_connections > 0 and observed.hidden_sessions == 0 and observed.sees_all_sessions
    assert observed.pooler == "PgBouncer (pgbouncer=true)"
    facts = describe_dsn(dsn)
    assert facts.ignored == ("pgbouncer", "connection_limit", "pool_timeout", "schema")


async def test_an_asyncpg_dsn_with_ssl_is_probed_and_slow_queries_read(hosted: Hosted):
    dsn = _dsn(_ADMIN.get("user", "postgres"), hosted.database, scheme="postgresql+asyncpg", query="ssl=prefer")
    assert (await probe_postgres(dsn)).pooler is None
    assert (await slow_queries(dsn, limit=5)).source in ("pg_stat_statements", "pg_stat_activity")
    assert describe_dsn(dsn).renamed == ("ssl → sslmode",)


async def test_every_connection_has_prepared_statements_off(hosted: Hosted):
    """A transaction pooler would hand a prepared statement's next use to a server that never saw it."""
    from app.providers.postgres import _with_connection

    async def threshold(conn: psycopg.AsyncConnection[Any]) -> int | None:
        for _ in range(8):  # more than psycopg's default threshold of 5: would be prepared if it were on
            await conn.execute("SELECT 1")
        cur = await conn.execute("SELECT count(*) FROM pg_prepared_statements")
        row = await cur.fetchone()
        assert row == (0,)
        return conn.prepare_threshold

    assert await _with_connection(hosted.admin_dsn, "test", 5, threshold) is None


# ---- a least-privilege role ---------------------------------------------------------------------


async def test_a_role_without_pg_read_all_stats_is_told_what_it_cannot_see(hosted: Hosted, app_sessions):
    mine = _dsn(hosted.pitcrew, hosted.database)
    observed = await probe_postgres(mine, long_query_s=0)
    assert observed.role == hosted.pitcrew and observed.sees_all_sessions is False
    assert observed.hidden_sessions >= len(app_sessions)
    assert observed.connections >= len(app_sessions)  # counted, not left out
    # The cleanup sees nothing idle (the state of those sessions is NULL to this role) and says why.
    assert await idle_sessions(mine, idle_minutes=0) == []
    hidden, role = await hidden_sessions(mine)
    assert hidden == len(app_sessions) and role == hosted.pitcrew
    # `/logs --slow` falls back to what runs now, and says what it cannot see of it.
    found = await slow_queries(mine)
    assert found.source == "pg_stat_activity" and found.note is not None
    assert f"cannot see {len(app_sessions)} sessions of other roles: GRANT pg_monitor TO {hosted.pitcrew}" in found.note


async def test_pg_monitor_lets_the_same_role_see_and_end_the_applications_idle_sessions(hosted: Hosted, app_sessions):
    mine = _dsn(hosted.pitcrew, hosted.database)
    grant = sql.SQL("GRANT pg_monitor TO {}").format(sql.Identifier(hosted.pitcrew))
    async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
        await admin.execute(grant)
    try:
        observed = await probe_postgres(mine)
        assert observed.hidden_sessions == 0 and observed.sees_all_sessions
        found = await idle_sessions(mine, idle_minutes=0, roles=[hosted.app])
        assert {s.pid for s in found} == {c.info.backend_pid for c in app_sessions}
        ended = await terminate_idle_sessions(mine, idle_minutes=0, roles=[hosted.app])  # pg_signal_backend
        assert set(ended) == {c.info.backend_pid for c in app_sessions}
        assert await _ended(app_sessions)
    finally:
        async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
            await admin.execute(sql.SQL("REVOKE pg_monitor FROM {}").format(sql.Identifier(hosted.pitcrew)))


# ---- only the application's roles ---------------------------------------------------------------


async def test_the_cleanup_ends_only_sessions_of_the_catalogs_roles(hosted: Hosted, app_sessions):
    others = [await _open(_dsn(hosted.other, hosted.database), "reporting") for _ in range(2)]
    try:
        preview = await idle_sessions(hosted.admin_dsn, idle_minutes=0, roles=[hosted.app])
        assert {s.usename for s in preview} == {hosted.app}
        ended = await terminate_idle_sessions(hosted.admin_dsn, idle_minutes=0, roles=[hosted.app])
        assert set(ended) == {c.info.backend_pid for c in app_sessions}
        assert await _ended(app_sessions)
        assert all([await alive(c) for c in others])  # another role's idle sessions are left alone
    finally:
        for conn in others:
            await conn.close()


async def test_a_platform_role_is_never_ended_even_without_roles(hosted: Hosted):
    """Supabase's `authenticator` is PostgREST's login: its idle sessions are the API's pool, not a leak."""
    async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
        cur = await admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'authenticator'")
        if await cur.fetchone() is not None:
            pytest.skip("a role named authenticator already exists on this server; not ours to use")
        await admin.execute("CREATE ROLE authenticator LOGIN NOINHERIT")
    try:
        platform = await _open(_dsn("authenticator", hosted.database), "postgrest")
        try:
            assert await idle_sessions(hosted.admin_dsn, idle_minutes=0) == []
            assert await terminate_idle_sessions(hosted.admin_dsn, idle_minutes=0) == []
            assert await alive(platform)
        finally:
            await platform.close()
    finally:
        async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'authenticator'"
            )
            await admin.execute("DROP ROLE IF EXISTS authenticator")


# ---- a real PgBouncer in transaction mode (when installed: `apt-get install pgbouncer`) -------------


@pytest.fixture(scope="module")
def pgbouncer() -> Iterator[int]:
    """A PgBouncer in transaction mode in front of the test server, as Neon and Supabase run theirs; its port."""
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if binary is None:
        pytest.skip("pgbouncer is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="pitcrew-pgbouncer-")
    os.chmod(workdir, 0o777)  # PgBouncer refuses to run as root: it drops to `postgres` and writes here
    user = _ADMIN.get("user", "postgres")
    with open(os.path.join(workdir, "userlist.txt"), "w") as users:
        users.write(f'"{user}" ""\n')
    with open(os.path.join(workdir, "pgbouncer.ini"), "w") as ini:
        ini.write(
            "[databases]\n"
            f"* = host={_ADMIN.get('host', '127.0.0.1')} port={_ADMIN.get('port', 5432)}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {workdir}/userlist.txt\npool_mode = transaction\n"
            f"logfile = {workdir}/pgbouncer.log\npidfile = {workdir}/pgbouncer.pid\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
    for name in os.listdir(workdir):
        os.chmod(os.path.join(workdir, name), 0o666)
    command = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), f"{workdir}/pgbouncer.ini"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    ended = process.stderr is not None and process.poll() is not None
                    said = process.stderr.read().decode()[-300:] if ended and process.stderr else ""
                    pytest.skip(f"pgbouncer did not start: {said}")
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


async def test_through_a_real_transaction_pooler_a_prisma_dsn_is_probed_and_read(hosted: Hosted, pgbouncer: int):
    user = _ADMIN.get("user", "postgres")
    dsn = f"postgresql://{user}@127.0.0.1:{pgbouncer}/{hosted.database}?{PRISMA_KEYS}"
    for _ in range(3):  # several calls: each transaction may land on another server connection
        observed = await probe_postgres(dsn)
        assert observed.pooler == "PgBouncer (pgbouncer=true)" and observed.max_connections > 0
        assert (await slow_queries(dsn, limit=5)).source in ("pg_stat_statements", "pg_stat_activity")
    # statement_timeout was set for the transaction only: nothing leaks to the next client of the pool.
    async with await psycopg.AsyncConnection.connect(
        f"postgresql://{user}@127.0.0.1:{pgbouncer}/{hosted.database}", prepare_threshold=None
    ) as client:
        cur = await client.execute("SHOW statement_timeout")
        assert (await cur.fetchone()) == ("0",)
