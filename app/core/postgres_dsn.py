"""Hosted-Postgres DSNs as applications carry them, made into what libpq accepts, and pooler recognition.

A `DATABASE_URL` is written for the application's driver, not for libpq, and libpq refuses the
whole DSN for one key it does not know. What teams really paste:
- Prisma adds `pgbouncer=true`, `connection_limit`, `pool_timeout`, `schema`, `sslaccept`
  (https://www.prisma.io/docs/orm/prisma-client/setup-and-configuration/databases-connections/pgbouncer
  and the PostgreSQL connector's "connection URL arguments");
- asyncpg and SQLAlchemy's `postgresql+asyncpg://` spell TLS `ssl=require` where libpq says
  `sslmode=require` (asyncpg's connect() docs; MagicStack/asyncpg#737);
- node-postgres writes `ssl=true`.
Those keys tune the application's own pool, which pitcrew does not use: dropping them changes
nothing of what pitcrew asks the server. The keys libpq knows are kept as they were written.

Poolers are recognised by how their DSNs look (their own documentation):
- Neon: the pooled endpoint's host ends its first label in `-pooler`
  (https://neon.com/docs/connect/connection-pooling: `ep-...-pooler.<region>.aws.neon.tech`);
- Supabase Supavisor: `*.pooler.supabase.com`, and port 6543 for transaction mode
  (https://supabase.com/docs/guides/database/connecting-to-postgres);
- PgBouncer: `pgbouncer=true`, the flag Prisma asks for in front of PgBouncer.

Pure functions only: the provider feeds them the DSN and libpq's own list of keywords.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

# libpq's parameter key words, PostgreSQL 17 documentation, "Parameter Key Words"
# (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS). The provider
# passes the list of the libpq it is linked with instead, which is exact for that version.
LIBPQ_KEYWORDS = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth",
        "channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
        "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode", "requiressl",
        "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslpassword", "sslcertmode",
        "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version",
        "ssl_max_protocol_version", "krbsrvname", "gsslib", "gssdelegation", "service",
        "target_session_attrs", "load_balance_hosts",
    }
)  # fmt: skip

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# `ssl=true` (node-postgres, Prisma's examples) asks for TLS; libpq's nearest mode that connects
# without a root certificate file is `require`. `ssl=false` asks for none.
_SSL_WORDS = {"true": "require", "1": "require", "on": "require", "false": "disable", "0": "disable", "off": "disable"}
_URI = re.compile(r"^(?P<scheme>postgres(?:ql)?)(?:\+[A-Za-z0-9_]+)?://", re.IGNORECASE)
SUPABASE_POOLER_PORT = 6543


@dataclass(frozen=True)
class CleanDsn:
    """A DSN libpq accepts, and what was changed to get it (key names only: values may be secrets)."""

    dsn: str
    ignored: tuple[str, ...] = ()  # keys dropped because libpq does not know them
    renamed: tuple[str, ...] = ()  # e.g. `ssl → sslmode`
    pgbouncer: bool = False  # `pgbouncer=true` was there: the application talks to PgBouncer


def clean_dsn(dsn: str, known: Collection[str] = LIBPQ_KEYWORDS) -> CleanDsn:
    """`dsn` with the URI's query keys libpq does not know dropped, `ssl=` mapped to `sslmode=`.

    `postgresql+asyncpg://` (SQLAlchemy's `dialect+driver`) becomes `postgresql://`. A key=value
    DSN (`host=... dbname=...`) is returned as it is: drivers other than libpq seldom use that form.
    """
    text = dsn.strip()
    match = _URI.match(text)
    if match is None:
        return CleanDsn(text)
    rest = text[match.end() :]
    rest = rest.partition("#")[0]
    head, question, query = rest.partition("?")
    if not question:
        return CleanDsn(f"{match['scheme'].lower()}://{rest}")
    kept: list[str] = []
    ignored: list[str] = []
    renamed: list[str] = []
    pgbouncer = False
    pairs = [segment for segment in query.split("&") if segment]
    has_sslmode = any(unquote(segment.partition("=")[0]) == "sslmode" for segment in pairs)
    for segment in pairs:
        raw_key, _, raw_value = segment.partition("=")
        key = unquote(raw_key)
        if key == "pgbouncer":
            pgbouncer = unquote(raw_value).strip().lower() in ("true", "1", "yes")
        if key in known:
            kept.append(segment)
        elif key == "ssl" and not has_sslmode and (mode := _ssl_mode(unquote(raw_value))) is not None:
            kept.append(f"sslmode={mode}")
            renamed.append("ssl → sslmode")
        else:
            ignored.append(key)
    cleaned = f"{match['scheme'].lower()}://{head}" + ("?" + "&".join(kept) if kept else "")
    return CleanDsn(cleaned, tuple(dict.fromkeys(ignored)), tuple(renamed), pgbouncer)


def _ssl_mode(value: str) -> str | None:
    word = value.strip().lower()
    if word in SSL_MODES:
        return word
    return _SSL_WORDS.get(word)


def pooler_of(hosts: Iterable[str], ports: Iterable[str], *, pgbouncer: bool = False) -> str | None:
    """Which connection pooler a DSN goes through, by its hosts, ports and flags; None when direct.

    The answer names the sign it was recognised by, so that the card says why pitcrew thinks so.
    """
    hosts = [h.strip().lower() for h in hosts if h and h.strip()]
    for host in hosts:
        first_label = host.split(".", 1)[0]
        if first_label.endswith("-pooler"):
            return f"Neon's pooler (host {first_label})"
        if host.endswith(".pooler.supabase.com"):
            return "Supabase's Supavisor (host *.pooler.supabase.com)"
    if any(p.strip() == str(SUPABASE_POOLER_PORT) for p in ports if p):
        return f"a transaction pooler (port {SUPABASE_POOLER_PORT}, Supabase's Supavisor or PgBouncer)"
    if pgbouncer:
        return "PgBouncer (pgbouncer=true)"
    return None


def split_list(value: str | None) -> list[str]:
    """libpq's comma-separated `host` and `port` values (`h1,h2`), as a list."""
    return [part for part in (value or "").split(",") if part]


# Roles that hosting platforms create for their own services, whose sessions pitcrew never ends
# whatever `roles:` says. Supabase: the roles of its initial schema (supabase/postgres migrations,
# docker/volumes/db/init; https://supabase.com/docs/guides/database/postgres/roles): `authenticator`
# is the role PostgREST logs in as, the others serve Auth, Storage, Realtime, the dashboard and
# Supavisor (`pgbouncer`). Neon: `cloud_admin`. RDS: `rdsadmin`. Cloud SQL: `cloudsqladmin`.
# Azure: `azuresu`, `azure_superuser`.
PLATFORM_ROLES = frozenset(
    {
        "authenticator", "supabase_admin", "supabase_auth_admin", "supabase_storage_admin",
        "supabase_realtime_admin", "supabase_replication_admin", "supabase_read_only_user",
        "supabase_functions_admin", "supabase_etl_admin", "dashboard_user", "pgbouncer",
        "cloud_admin", "rdsadmin", "cloudsqladmin", "azuresu", "azure_superuser",
    }
)  # fmt: skip
