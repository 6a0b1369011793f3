"""The PostgreSQL provider: the database's vital signs, its idle sessions, and its slow queries.

Every call opens its own short-lived connection and closes it, because the moment pitcrew is asked
about a database is often the moment it is out of connections: holding a pool would make pitcrew
part of the problem. Each call is bounded twice: `statement_timeout` makes the server give up, and
`asyncio.timeout` makes us give up even when the server or the network no longer answers.

The timeout is set with `set_config(..., is_local => true)` inside the call's one transaction rather
than as a startup option, because poolers in front of hosted databases (PgBouncer, Neon, Supabase)
refuse startup options and would leak a session-wide SET to the next client. For the same poolers
every connection has `prepare_threshold=None`: psycopg would otherwise prepare a statement run
five times on one connection, and a transaction pooler hands the next transaction to another
server connection that never saw it (psycopg 3 docs, "Prepared statements"; Supabase: "Supavisor
pooler does not support prepared statements" in transaction mode; Neon: no SQL-level PREPARE).

The DSN is the application's, written for its driver: app/core/postgres_dsn.py makes it libpq's.

What pg_stat_activity shows depends on our role: without the privileges of pg_read_all_stats
(which pg_monitor has), other roles' sessions are listed with state, query and backend_type NULL
(PostgreSQL docs, "The Cumulative Statistics System": "Ordinary users can only see all the
information about their own sessions"). Such sessions are counted as `hidden_sessions` rather
than silently left out, so that a least-privilege role never reads as a quiet, healthy database.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict

from app.core.health import hidden_sessions_note
from app.core.observations import PostgresObservation, RunningQuery, SlowQueries, StatementStats
from app.core.postgres_dsn import PLATFORM_ROLES, clean_dsn, pooler_of, split_list
from app.core.secrets import mask_values
from app.providers.base import ProviderError

T = TypeVar("T")

_IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")
# A row of pg_stat_activity about a session our role may not see: its backend_type and state are NULL
# (only superusers and roles with pg_read_all_stats see them). Background processes have no user or
# no database, client backends always have both.
_HIDDEN = "backend_type IS NULL AND usesysid IS NOT NULL AND datname IS NOT NULL"


@dataclass(frozen=True)
class DsnFacts:
    """What a DSN says without connecting: where it points, through which pooler, what was dropped."""

    target: str  # user@host:port/db, no password
    user: str | None
    pooler: str | None  # None when the DSN reaches PostgreSQL directly
    ignored: tuple[str, ...]  # query keys libpq does not know, dropped (names only)
    renamed: tuple[str, ...]


@dataclass(frozen=True)
class IdleSession:
    """A session the idle-connection cleanup would end, as the runbook's pg_terminate_backend would."""

    pid: int
    usename: str | None
    application_name: str | None
    client_addr: str | None  # None for a Unix-socket connection
    state: str
    idle_for_s: float


# What "an idle session we may end" means, shared by the preview and the termination so the two can
# never disagree. Beyond the runbook's `state = 'idle' AND state_change < now() - interval`:
# - only this DSN's database: the service's owner asked about their database, not the whole server;
# - only client backends, never our own, and never superuser or replication roles: those are the
#   operators' and the replicas' sessions, and ending them is not a connection-leak fix;
# - only sessions our role may signal (its own roles', or any with pg_signal_backend), so the
#   preview never promises what the termination would then refuse halfway through;
# - only the application's roles when the catalog names them (`roles:`), and never a hosting
#   platform's own roles (Supabase's `authenticator` serves its REST API, Neon's `cloud_admin` runs
#   the compute): ending those breaks the platform, not a leak.
_IDLE_SESSIONS = """
    FROM pg_stat_activity a
    LEFT JOIN pg_roles r ON r.oid = a.usesysid
    WHERE a.state = 'idle'
      AND a.state_change < clock_timestamp() - make_interval(secs => %(idle_s)s)
      AND a.backend_type = 'client backend'
      AND a.datname = current_database()
      AND a.pid <> pg_backend_pid()
      AND NOT coalesce(r.rolsuper OR r.rolreplication, true)
      AND (pg_has_role(a.usesysid, 'USAGE') OR pg_has_role('pg_signal_backend', 'USAGE'))
      AND (cardinality(%(roles)s::text[]) = 0 OR a.usename = ANY(%(roles)s::text[]))
      AND a.usename <> ALL(%(platform)s::text[])
"""


async def probe_postgres(
    dsn: str, *, timeout_s: float = 5.0, long_query_s: float = 5.0
) -> PostgresObservation:
    """The vital signs of the database behind `dsn`, our own connection left out of every count.

    `connections` counts client backends on the whole server, since `max_connections` is a
    server-wide limit, those of other roles our role may not see included (`hidden_sessions`); long
    queries and sessions idle in a transaction are those of this database,
    the ones its service causes and its runbook acts on. `longest_query_s` is the longest active
    query whatever `long_query_s` says. `latency_ms` is one `SELECT 1` round trip, connection set-up
    excluded.
    """

    async def observe(conn: psycopg.AsyncConnection[Any]) -> PostgresObservation:
        started = time.perf_counter()
        await conn.execute("SELECT 1")
        latency_ms = (time.perf_counter() - started) * 1000
        cur = await conn.execute(
            """
            SELECT
              (SELECT count(*) FROM pg_stat_activity
                WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()),
              (SELECT count(*) FROM pg_stat_activity WHERE """ + _HIDDEN + """),
              current_user::text,
              pg_has_role('pg_read_all_stats', 'USAGE'),
              current_setting('max_connections')::int,
              count(*) FILTER (WHERE state = 'active'
                               AND query_start < clock_timestamp() - make_interval(secs => %(long_s)s)),
              coalesce(max(greatest(extract(epoch FROM clock_timestamp() - query_start), 0)::float8)
                         FILTER (WHERE state = 'active'), 0),
              count(*) FILTER (WHERE state = ANY(%(idle_tx)s))
            FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database()
            """,
            {"long_s": float(long_query_s), "idle_tx": list(_IDLE_IN_TRANSACTION)},
        )
        row = _one(await cur.fetchone())
        visible, hidden, role, sees_all, max_connections, long_queries, longest_s, idle_tx = row
        return PostgresObservation(
            latency_ms=latency_ms,
            connections=visible + hidden,
            max_connections=max_connections,
            long_queries=long_queries,
            longest_query_s=float(longest_s),
            idle_in_transaction=idle_tx,
            hidden_sessions=hidden,
            role=role,
            sees_all_sessions=bool(sees_all),
            pooler=facts.pooler,
        )

    if long_query_s < 0:
        raise ValueError(f"long_query_s must be 0 or more, got {long_query_s}")
    facts = describe_dsn(dsn, "probe")
    return await _with_connection(dsn, "probe", timeout_s, observe)


async def idle_sessions(
    dsn: str, *, idle_minutes: float = 5, timeout_s: float = 5.0, roles: Sequence[str] = ()
) -> list[IdleSession]:
    """The sessions `terminate_idle_sessions` would end now, longest idle first: the preview to confirm.

    `idle_minutes` may be fractional (0.5 is thirty seconds); 0 means every idle session. `roles`,
    when given, are the only roles whose sessions may be ended (the catalog's `roles:`).
    """
    idle_s = _idle_seconds(idle_minutes)
    only = _roles(roles)

    async def preview(conn: psycopg.AsyncConnection[Any]) -> list[IdleSession]:
        cur = await conn.execute(
            "SELECT a.pid, a.usename, a.application_name, host(a.client_addr), a.state,"
            " greatest(extract(epoch FROM clock_timestamp() - a.state_change), 0)::float8"
            + _IDLE_SESSIONS
            + " ORDER BY a.state_change",
            {"idle_s": idle_s, **only},
        )
        return [
            IdleSession(pid, usename, application_name or None, client_addr, state, idle_for_s)
            for pid, usename, application_name, client_addr, state, idle_for_s in await cur.fetchall()
        ]

    return await _with_connection(dsn, "idle sessions", timeout_s, preview)


async def terminate_idle_sessions(
    dsn: str, *, idle_minutes: float = 5, timeout_s: float = 5.0, roles: Sequence[str] = ()
) -> list[int]:
    """End the sessions idle for longer than `idle_minutes` (of `roles` only, when given); the pids ended.

    The predicate is applied again here, in the very statement that terminates, on a fresh view of
    pg_stat_activity: a session that became busy since the preview is left alone. (PostgreSQL
    signals rather than locks, so a session that wakes in the microseconds between that view and
    the signal can still be hit; this is the narrowest the server allows.)
    """
    idle_s = _idle_seconds(idle_minutes)
    only = _roles(roles)

    async def terminate(conn: psycopg.AsyncConnection[Any]) -> list[int]:
        # MATERIALIZED: the planner must not evaluate pg_terminate_backend before the predicate.
        cur = await conn.execute(
            "WITH idle AS MATERIALIZED (SELECT a.pid, a.state_change"
            + _IDLE_SESSIONS
            + ") SELECT pid FROM idle WHERE pg_terminate_backend(pid) ORDER BY state_change",
            {"idle_s": idle_s, **only},
        )
        return [pid for (pid,) in await cur.fetchall()]

    return await _with_connection(dsn, "terminate idle sessions", timeout_s, terminate)


async def hidden_sessions(dsn: str, *, timeout_s: float = 5.0) -> tuple[int, str]:
    """How many sessions in this DSN's database our role cannot see, and our role's name.

    Said when a cleanup finds nothing: with hidden sessions, "nothing idle" may only mean "nothing
    we are allowed to see".
    """

    async def count(conn: psycopg.AsyncConnection[Any]) -> tuple[int, str]:
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE " + _HIDDEN + " AND datname = current_database()), current_user::text"
            " FROM pg_stat_activity"
        )
        hidden, role = _one(await cur.fetchone())
        return int(hidden), str(role)

    return await _with_connection(dsn, "hidden sessions", timeout_s, count)


def _roles(roles: Sequence[str]) -> dict[str, list[str]]:
    return {"roles": list(roles), "platform": sorted(PLATFORM_ROLES)}


async def slow_queries(
    dsn: str, *, limit: int = 10, timeout_s: float = 5.0, order_by: Literal["mean", "total"] = "mean"
) -> SlowQueries:
    """The slowest statements of this database from pg_stat_statements, else the longest running now.

    pg_stat_statements knows history (what is slow on average or in total); pg_stat_activity only
    what runs at this moment, so it is the fallback when the extension is not installed in this
    database, not loaded by the server, or not readable by our role.
    """
    if not 1 <= limit <= 100:
        raise ValueError(f"limit must be between 1 and 100, got {limit}")
    if order_by not in ("mean", "total"):
        raise ValueError(f"order_by must be 'mean' or 'total', got {order_by!r}")

    async def find(conn: psycopg.AsyncConnection[Any]) -> SlowQueries:
        cur = await conn.execute(
            """
            SELECT n.nspname, array_agg(a.attname::text)
            FROM pg_extension e
            JOIN pg_namespace n ON n.oid = e.extnamespace
            JOIN pg_class c ON c.relnamespace = e.extnamespace AND c.relname = 'pg_stat_statements'
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE e.extname = 'pg_stat_statements'
            GROUP BY n.nspname
            """
        )
        found = await cur.fetchone()
        if found is None:
            return await _running_queries(conn, limit, note=None)
        schema, columns = found
        # PostgreSQL 13 renamed mean_time/total_time to mean_exec_time/total_exec_time.
        suffix = "_exec_time" if "mean_exec_time" in columns else "_time"
        if f"mean{suffix}" not in columns or f"total{suffix}" not in columns:
            return await _running_queries(conn, limit, note="pg_stat_statements has columns we do not know")
        query = sql.SQL(
            "SELECT query, calls, {mean}, {total}, rows FROM {view}"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY {order} DESC NULLS LAST LIMIT %s"
        ).format(
            mean=sql.Identifier(f"mean{suffix}"),
            total=sql.Identifier(f"total{suffix}"),
            view=sql.Identifier(schema, "pg_stat_statements"),
            order=sql.Identifier(f"{order_by}{suffix}"),
        )
        await conn.execute("SAVEPOINT pitcrew_statements")
        try:
            cur = await conn.execute(query, [limit])
            rows = await cur.fetchall()
        except (psycopg.errors.ObjectNotInPrerequisiteState, psycopg.errors.InsufficientPrivilege) as err:
            # Installed in the database but not loaded by the server (shared_preload_libraries), or
            # not ours to read: the running queries still say something.
            await conn.execute("ROLLBACK TO SAVEPOINT pitcrew_statements")
            note = f"pg_stat_statements unusable: {_first_line(err)}"
            return await _running_queries(conn, limit, note=note)
        return SlowQueries(
            source="pg_stat_statements",
            statements=tuple(
                StatementStats(query=text, calls=calls, mean_ms=float(mean), total_ms=float(total), rows=n)
                for text, calls, mean, total, n in rows
            ),
        )

    return await _with_connection(dsn, "slow queries", timeout_s, find)


async def _running_queries(
    conn: psycopg.AsyncConnection[Any], limit: int, *, note: str | None
) -> SlowQueries:
    cur = await conn.execute(
        """
        SELECT pid, usename, application_name,
               greatest(extract(epoch FROM clock_timestamp() - query_start), 0)::float8,
               CASE WHEN wait_event IS NOT NULL THEN wait_event_type || ': ' || wait_event END,
               query
        FROM pg_stat_activity
        WHERE state = 'active' AND backend_type = 'client backend'
          AND datname = current_database() AND pid <> pg_backend_pid()
        ORDER BY query_start
        LIMIT %s
        """,
        [limit],
    )
    running = tuple(
        RunningQuery(pid, usename, application_name or None, duration_s, wait_event, query)
        for pid, usename, application_name, duration_s, wait_event, query in await cur.fetchall()
    )
    # Other roles' running queries are invisible without pg_read_all_stats: say so rather than show a
    # database that looks idle.
    cur = await conn.execute(
        "SELECT count(*) FILTER (WHERE " + _HIDDEN + " AND datname = current_database()), current_user::text"
        " FROM pg_stat_activity"
    )
    hidden, role = _one(await cur.fetchone())
    if hidden:
        blind = hidden_sessions_note(hidden, role)
        note = f"{note}; {blind}" if note else blind
    return SlowQueries(source="pg_stat_activity", running=running, note=note)


async def read_only(
    dsn: str, what: str, timeout_s: float, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]
) -> T:
    """`work` in a READ ONLY transaction, bounded as every call here: for reading the application's
    own tables (its migration table, the restore's count queries), where a write must be impossible
    even if a query in pitcrew.yml tried one."""
    return await _with_connection(dsn, what, timeout_s, work, read_only=True)


async def _with_connection(
    dsn: str,
    what: str,
    timeout_s: float,
    work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]],
    *,
    read_only: bool = False,
) -> T:
    """Run `work` on a fresh connection, in one transaction, within `timeout_s`; errors: ProviderError.

    The transaction is never committed: reading needs no commit, pg_terminate_backend acts at once,
    and closing the connection is the one clean-up that cannot wait on a server that stopped answering.
    """
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be more than 0, got {timeout_s}")
    params, target, password = _parse_dsn(dsn, what, timeout_s)
    call = f"postgres {what} ({target})"
    conn: psycopg.AsyncConnection[Any] | None = None
    try:
        async with asyncio.timeout(timeout_s):
            conn = await psycopg.AsyncConnection.connect(**params, prepare_threshold=None)
            if read_only:  # must be the transaction's first statement (PostgreSQL docs, SET TRANSACTION)
                await conn.execute("SET TRANSACTION READ ONLY")
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", [f"{max(1, round(timeout_s * 1000))}ms"]
            )
            return await work(conn)
    except TimeoutError:
        raise ProviderError(call, f"timed out after {timeout_s:g} s") from None
    except psycopg.Error as err:
        raise ProviderError(call, mask_values(_reason(err, timeout_s), [password, dsn])) from None
    finally:
        if conn is not None:
            await conn.close()


def describe_dsn(dsn: str, what: str = "dsn") -> DsnFacts:
    """Where the DSN points, through which pooler, and what of it libpq could not use; no connection made.

    Raises ProviderError (never quoting the DSN) when it is not a DSN at all.
    """
    cleaned = clean_dsn(dsn, _libpq_keywords())
    params = _conninfo(cleaned.dsn, what)
    pooler = pooler_of(split_list(params.get("host")), split_list(params.get("port")), pgbouncer=cleaned.pgbouncer)
    return DsnFacts(_target(params), params.get("user") or None, pooler, cleaned.ignored, cleaned.renamed)


@functools.cache
def _libpq_keywords() -> frozenset[str]:
    """The keywords of the libpq psycopg is linked with: exact for its version, unlike any list of ours."""
    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def _conninfo(dsn: str, what: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(dsn)
    except psycopg.Error:
        # libpq's message quotes the DSN, password included: say what is expected instead.
        raise ProviderError(
            f"postgres {what}",
            "the DSN is not valid (expected postgresql://user:password@host:port/database)",
        ) from None


def _target(params: dict[str, Any]) -> str:
    return (
        f"{params.get('user') or '?'}@{params.get('host') or params.get('hostaddr') or 'localhost'}"
        f":{params.get('port') or 5432}/{params.get('dbname') or params.get('user') or '?'}"
    )


def _parse_dsn(dsn: str, what: str, timeout_s: float) -> tuple[dict[str, Any], str, str]:
    """Connection parameters, a password-free `user@host:port/db` for messages, and the password to mask.

    The application's DSN is made libpq's first (app/core/postgres_dsn.py): `postgresql+asyncpg://`,
    Prisma's `?pgbouncer=true&connection_limit=5`, asyncpg's `ssl=require` are all accepted.
    """
    params = _conninfo(clean_dsn(dsn, _libpq_keywords()).dsn, what)
    params.setdefault("application_name", "pitcrew")
    params["connect_timeout"] = max(2, math.ceil(timeout_s))  # libpq counts whole seconds, 2 at least
    return params, _target(params), str(params.get("password") or "")


def _reason(err: psycopg.Error, timeout_s: float) -> str:
    """libpq's and the server's words, shortened to the part that says why."""
    if isinstance(err, psycopg.errors.QueryCanceled):
        return f"timed out after {timeout_s:g} s (statement_timeout)"
    message = _first_line(err)
    if isinstance(err, psycopg.errors.InsufficientPrivilege):
        return f"permission denied: {message}"
    if isinstance(err, psycopg.OperationalError) and err.sqlstate is None:
        # "connection failed: connection to server at "h", port p failed: FATAL:  why"
        why = message.rpartition(" failed: ")[2] if " failed: " in message else message
        why = re.sub(r"^(FATAL|ERROR):\s+", "", why).strip()
        if why.lower().startswith("connection refused"):
            return "connection refused"
        if "timeout expired" in why.lower():
            return f"timed out connecting after {timeout_s:g} s"
        return why or message
    return message


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0].strip()


def _idle_seconds(idle_minutes: float) -> float:
    if not math.isfinite(idle_minutes) or idle_minutes < 0:
        raise ValueError(f"idle_minutes must be 0 or more, got {idle_minutes}")
    return float(idle_minutes) * 60


def _one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    if row is None:  # an aggregate always returns a row; this guards the type, not a real case
        raise psycopg.InterfaceError("the server returned no row")
    return row
