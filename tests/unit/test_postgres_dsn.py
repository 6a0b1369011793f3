"""Hosted-Postgres DSNs as applications carry them: made into libpq's, and their pooler recognised.

The DSNs are those the providers' and ORMs' guides tell people to paste (Prisma's `pgbouncer=true`,
Neon's `-pooler` host, Supabase's port 6543, asyncpg's `ssl=require`); libpq's own parser is the
judge of whether the result is a DSN it accepts.
"""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from app.catalog import CatalogError, PostgresRef, parse_catalog
from app.core.health import Verdict, judge_postgres
from app.core.observations import PostgresObservation
from app.core.postgres_dsn import clean_dsn, pooler_of

PRISMA_SUPABASE = (
    "postgresql://postgres.abcdefghijkl:s3cr%40t@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    "?pgbouncer=true&connection_limit=1&pool_timeout=20&schema=public&sslmode=require"
)


def test_prisma_keys_are_dropped_and_named_libpq_keys_are_kept():
    cleaned = clean_dsn(PRISMA_SUPABASE)
    assert cleaned.ignored == ("pgbouncer", "connection_limit", "pool_timeout", "schema")
    assert cleaned.pgbouncer is True
    params = conninfo_to_dict(cleaned.dsn)  # libpq accepts it
    assert params["sslmode"] == "require" and params["password"] == "s3cr@t" and params["port"] == "6543"
    assert "pgbouncer" not in params and "schema" not in params


def test_libpq_refuses_the_dsn_as_the_application_has_it():
    """The reason for all this: one unknown key and libpq refuses the whole DSN."""
    with pytest.raises(Exception, match="invalid URI query parameter"):
        conninfo_to_dict(PRISMA_SUPABASE)


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql+asyncpg://app:pw@db.example.com/app?ssl=require", "postgresql://app:pw@db.example.com/app?sslmode=require"),
        ("postgres+psycopg2://app:pw@h/app?ssl=verify-full", "postgres://app:pw@h/app?sslmode=verify-full"),
        ("postgresql://app@h/app?ssl=true", "postgresql://app@h/app?sslmode=require"),  # node-postgres
        ("postgresql://app@h/app?ssl=false", "postgresql://app@h/app?sslmode=disable"),
        ("POSTGRESQL+ASYNCPG://app@h/app", "postgresql://app@h/app"),
    ],
)
def test_driver_schemes_and_ssl_become_libpqs(dsn: str, expected: str):
    cleaned = clean_dsn(dsn)
    assert cleaned.dsn == expected
    conninfo_to_dict(cleaned.dsn)


def test_ssl_beside_sslmode_or_unknown_is_ignored_not_guessed():
    both = clean_dsn("postgresql://app@h/app?sslmode=verify-full&ssl=disable")
    assert both.dsn == "postgresql://app@h/app?sslmode=verify-full" and both.ignored == ("ssl",)
    odd = clean_dsn("postgresql://app@h/app?ssl=maybe")
    assert odd.dsn == "postgresql://app@h/app" and odd.ignored == ("ssl",) and odd.renamed == ()


def test_percent_encoding_and_every_known_key_survive_as_written():
    dsn = "postgresql://app@h:5432/app?options=-c%20search_path%3Dshop&application_name=my%20api&connect_timeout=3"
    assert clean_dsn(dsn).dsn == dsn
    assert conninfo_to_dict(clean_dsn(dsn).dsn)["options"] == "-c search_path=shop"


def test_the_keywords_of_the_linked_libpq_decide():
    assert clean_dsn("postgresql://h/app?sslnegotiation=direct", known={"host"}).ignored == ("sslnegotiation",)


def test_key_value_dsns_and_dsns_without_query_are_left_alone():
    assert clean_dsn(" host=h dbname=app user=app ").dsn == "host=h dbname=app user=app"
    assert clean_dsn("postgresql://app@h/app#frag").dsn == "postgresql://app@h/app"
    assert clean_dsn("postgresql://app@h/app?").dsn == "postgresql://app@h/app"


def test_ignored_keys_are_named_once_and_never_with_their_values():
    cleaned = clean_dsn("postgresql://h/app?schema=secret1&schema=secret2&sslaccept=strict")
    assert cleaned.ignored == ("schema", "sslaccept")
    assert "secret1" not in repr(cleaned.ignored)


@pytest.mark.parametrize(
    ("hosts", "ports", "flag", "says"),
    [
        (["ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"], [], False, "Neon's pooler"),
        (["aws-0-eu-central-1.pooler.supabase.com"], ["5432"], False, "Supabase's Supavisor"),
        (["db.example.com"], ["6543"], False, "port 6543"),
        (["db.example.com"], ["5432"], True, "PgBouncer (pgbouncer=true)"),
        (["replica.example.com", "EP-X-POOLER.eu.neon.tech"], ["5432", "5432"], False, "Neon's pooler"),
    ],
)
def test_poolers_are_recognised_by_their_documented_signs(hosts, ports, flag, says):
    assert says in (pooler_of(hosts, ports, pgbouncer=flag) or "")


@pytest.mark.parametrize(
    "host", ["ep-cool-darkness-123456.us-east-2.aws.neon.tech", "db.abcdefghijkl.supabase.co", "127.0.0.1", "pooler"]
)
def test_direct_endpoints_are_not_poolers(host: str):
    assert pooler_of([host], ["5432"]) is None


# ---- the catalog's keys ----------------------------------------------------------------------------


def _db(**postgres: object) -> str:
    import yaml

    document = {
        "slack": {"alerts_channel": "C0ALERTS"},
        "services": {"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL", **postgres}}},
    }
    return yaml.safe_dump(document)


def test_catalog_takes_roles_and_a_direct_dsn_variable():
    ref = parse_catalog(_db(roles=["app", "worker"], direct_dsn_env="APP_DIRECT_URL")).services["db"].postgres
    assert ref is not None and ref.roles == ["app", "worker"] and ref.direct_dsn_env == "APP_DIRECT_URL"


def test_catalog_refuses_a_platform_role_and_a_direct_dsn_that_is_not_a_variable_name():
    with pytest.raises(CatalogError) as caught:
        parse_catalog(_db(roles=["app", "authenticator"]))
    assert "services.db.postgres.roles: authenticator: a hosting platform's own role" in caught.value.problems[0]
    with pytest.raises(CatalogError) as caught:
        parse_catalog(_db(direct_dsn_env="postgresql://app:pw@h/app"))
    [problem] = caught.value.problems
    assert problem.startswith("services.db.postgres.direct_dsn_env: a DSN is not an environment variable name")
    assert "pw" not in problem  # the DSN's password is never echoed


# ---- the verdict ----------------------------------------------------------------------------------


def _obs(**changes: object) -> PostgresObservation:
    values: dict[str, object] = {
        "latency_ms": 2.0, "connections": 3, "max_connections": 100, "long_queries": 0,
        "longest_query_s": 0.0, "idle_in_transaction": 0,
    }  # fmt: skip
    values.update(changes)
    return PostgresObservation(**values)  # type: ignore[arg-type]


def test_sessions_hidden_from_a_least_privilege_role_degrade_and_name_the_grant():
    observed = _obs(hidden_sessions=4, role="pitcrew_ro", sees_all_sessions=False)
    result = judge_postgres(observed, PostgresRef(dsn_env="X"))
    assert result.verdict is Verdict.DEGRADED
    assert "cannot see 4 sessions of other roles: GRANT pg_monitor TO pitcrew_ro" in result.evidence


def test_a_role_name_that_needs_quotes_is_quoted_in_the_grant():
    result = judge_postgres(_obs(hidden_sessions=1, role="Ops-Bot"), PostgresRef(dsn_env="X"))
    assert 'cannot see 1 session of other roles: GRANT pg_monitor TO "Ops-Bot"' in result.evidence


def test_a_pooler_is_named_on_the_card_without_changing_the_verdict():
    result = judge_postgres(_obs(pooler="Neon's pooler (host ep-x-pooler)"), PostgresRef(dsn_env="X"))
    assert result.verdict is Verdict.OK
    assert any(e.startswith("through Neon's pooler (host ep-x-pooler): ") for e in result.evidence)
