"""What the providers observe, as plain values: providers fill these in, core/ judges them.

Living in core/ keeps the dependency pointing inwards: providers import these, core imports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class HttpObservation:
    """One HTTP request to a health URL and what came back."""

    url: str
    method: str
    status: int
    latency_ms: float
    json_body: Any | None = None  # the parsed JSON body, when the response was JSON
    body_is_json: bool = False
    cert_days_left: int | None = None  # https only: days until the server certificate expires
    # The response headers the check asked about (lower-case names), and only those: a Set-Cookie
    # of a test login must not travel further than the probe.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Deployment:
    """A deployment as any provider describes it (Railway deployment, Vercel deployment)."""

    id: str
    status: str  # provider's own word, upper-case: SUCCESS, FAILED, CRASHED, BUILDING, READY, ERROR, ...
    created_at: datetime | None = None
    commit_hash: str | None = None
    commit_message: str | None = None
    author: str | None = None
    url: str | None = None
    can_rollback: bool | None = None
    is_current: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentObservation:
    """The latest (production) deployment of a service and, where the provider says, its instances."""

    provider: str
    deployment: Deployment | None
    instance_states: tuple[str, ...] = ()  # Railway: RUNNING, CRASHED, EXITED, ...


@dataclass(frozen=True)
class PostgresObservation:
    latency_ms: float
    connections: int  # client backends on the server, hidden ones included
    max_connections: int
    long_queries: int  # running longer than the threshold
    longest_query_s: float
    idle_in_transaction: int
    hidden_sessions: int = 0  # sessions of other roles whose state our role may not see
    role: str | None = None  # the role pitcrew connected as
    sees_all_sessions: bool = True  # the role has pg_read_all_stats' privileges (superuser, pg_monitor)
    pooler: str | None = None  # the pooler the DSN goes through (`Neon's pooler (host ...)`), None when direct


@dataclass(frozen=True)
class StatementStats:
    """One normalised statement from pg_stat_statements, with its times in milliseconds."""

    query: str
    calls: int
    mean_ms: float
    total_ms: float
    rows: int


@dataclass(frozen=True)
class RunningQuery:
    """A query running now, from pg_stat_activity."""

    pid: int
    usename: str | None
    application_name: str | None
    duration_s: float
    wait_event: str | None  # `Lock: transactionid`, `IO: DataFileRead`, ... or None when on CPU
    query: str | None  # None when our role may not see other roles' queries


@dataclass(frozen=True)
class SlowQueries:
    """The slowest statements, from the best source the database offers; `source` says which.

    Query text is the database's own and may hold literals (even passwords): mask before posting.
    """

    source: Literal["pg_stat_statements", "pg_stat_activity"]
    statements: tuple[StatementStats, ...] = ()  # when source is pg_stat_statements
    running: tuple[RunningQuery, ...] = ()  # when source is pg_stat_activity
    note: str | None = None  # why pg_stat_statements was not used, when it is installed but unusable
