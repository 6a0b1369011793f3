"""Ending idle database sessions behind a confirmation, against the real local PostgreSQL.

A throwaway database and a non-superuser role stand for the application's database; its idle
sessions come from two "applications". The proposal shows how many sessions of which application
and user would end; only the confirmation ends them, and only those.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from slack_sdk.web.async_client import AsyncWebClient

from app.flows.actions import ActionError, Asked, Where, propose_terminate_idle
from app.slack.notifier import SlackNotifier
from tests.e2e.actions_support import posted_proposal, proposal_id, snapshot, wait_ephemeral, wait_status
from tests.fixtures import (
    ADMIN_DSN,
    ALERTS,
    OPERATOR,
    STRANGER,
    Sandbox,
    alive,
    running_pitcrew,
    throwaway_database,
)


@pytest.fixture
async def app_database() -> AsyncIterator[tuple[str, str]]:
    """(superuser DSN, application-role DSN) of a throwaway database."""
    async with throwaway_database("app") as made:
        yield made.dsn(), made.dsn(made.role)


async def _open(dsn: str, application: str) -> psycopg.AsyncConnection[Any]:
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, application_name=application)
    await conn.execute("SELECT 1")
    return conn


async def _all_ended(conns: list[psycopg.AsyncConnection[Any]]) -> None:
    async with asyncio.timeout(10):
        while True:
            if not any([await alive(c) for c in conns if not c.closed]):
                return
            await asyncio.sleep(0.02)


async def test_terminate_idle_sessions_shows_whose_then_ends_them_once(db_url, fake_slack, sandbox, app_database):
    superuser_dsn, role_dsn = app_database
    web = [await _open(role_dsn, "web-api") for _ in range(3)]
    worker = [await _open(role_dsn, "worker")]
    mine = await _open(superuser_dsn, "psql")  # an operator's own session: never ended
    catalog = sandbox.catalog(extra={"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}}})
    env = {"APP_DATABASE_URL": superuser_dsn}
    try:
        async with running_pitcrew(db_url, catalog, fake_slack, env=env, **sandbox.settings()) as pitcrew:
            notifier = SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))
            proposal = await propose_terminate_idle(
                pitcrew.deps, "db", idle_minutes=0, asked=Asked(STRANGER, Where(ALERTS), notifier)
            )
            assert proposal.sessions is not None and proposal.sessions.count == 4
            message = await posted_proposal(fake_slack)
            shown = str(message.blocks)
            assert "4 sessions" in shown and "`web-api` as `pitcrew_t_" in shown and ": 3 (longest idle" in shown
            assert "`worker`" in shown and superuser_dsn not in fake_slack.all_text()
            assert all([await alive(c) for c in [*web, *worker]])  # proposing ends nothing

            assert proposal_id(message) == proposal.id
            stale = snapshot(message)
            await fake_slack.click(message, "action.confirm", user=OPERATOR)
            await fake_slack.click(stale, "action.confirm", user=OPERATOR)  # a double click
            done = await wait_status(pitcrew, proposal.id, "accepted", "failed")

            assert done.status == "accepted", done.failure
            assert done.answer is not None and done.answer["terminated"] == 4
            assert done.verifies is False and done.verification is None
            await _all_ended([*web, *worker])  # a backend ends moments after it is signalled
            assert await alive(mine)
            [told] = await wait_ephemeral(fake_slack, OPERATOR)
            assert "already confirmed by <@U0OPS1>" in told.text

            with pytest.raises(ActionError, match="no session of db has been idle for more than 0 minutes"):
                await propose_terminate_idle(
                    pitcrew.deps, "db", idle_minutes=0, asked=Asked(STRANGER, Where(ALERTS), notifier)
                )
            with pytest.raises(ActionError, match="idle_minutes must be between 0 and 1440"):
                await propose_terminate_idle(
                    pitcrew.deps, "db", idle_minutes=-1, asked=Asked(STRANGER, Where(ALERTS), notifier)
                )
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
    finally:
        for conn in [*web, *worker, mine]:
            await conn.close()


async def test_terminate_idle_needs_the_dsn_variable(db_url, fake_slack, sandbox: Sandbox):
    catalog = sandbox.catalog(extra={"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}}})
    async with running_pitcrew(db_url, catalog, fake_slack, **sandbox.settings()) as pitcrew:
        notifier = SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))
        with pytest.raises(ActionError, match="APP_DATABASE_URL is not set"):
            await propose_terminate_idle(pitcrew.deps, "db", asked=Asked(STRANGER, Where(ALERTS), notifier))
        with pytest.raises(ActionError, match="railway services have no terminate idle sessions"):
            await propose_terminate_idle(pitcrew.deps, "api", asked=Asked(STRANGER, Where(ALERTS), notifier))
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.fixture
async def other_role(app_database: tuple[str, str]) -> AsyncIterator[str]:
    """Another team's role in the application's database (a reporting job), whose sessions are not ours."""
    role = f"pitcrew_t_{uuid.uuid4().hex[:12]}_other"
    async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
            await admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


async def test_behind_a_pooler_the_cleanup_uses_the_direct_dsn_and_ends_only_the_catalogs_roles(
    db_url, fake_slack, sandbox, app_database, other_role
):
    superuser_dsn, role_dsn = app_database
    app_role = conninfo_to_dict(role_dsn)["user"]
    # The same real server twice: as the application reaches it (Prisma through PgBouncer) and directly.
    pooled_dsn = f"{superuser_dsn}?pgbouncer=true&connection_limit=1"
    web = [await _open(role_dsn, "web-api") for _ in range(2)]
    reporting = await _open(role_dsn.replace(app_role, other_role, 1), "reporting")
    postgres = {"dsn_env": "APP_DATABASE_URL", "direct_dsn_env": "APP_DIRECT_URL", "roles": [app_role]}
    catalog = sandbox.catalog(extra={"db": {"provider": "postgres", "postgres": postgres}})
    env = {"APP_DATABASE_URL": pooled_dsn, "APP_DIRECT_URL": superuser_dsn}
    try:
        async with running_pitcrew(db_url, catalog, fake_slack, env=env, **sandbox.settings()) as pitcrew:
            notifier = SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))
            proposal = await propose_terminate_idle(
                pitcrew.deps, "db", idle_minutes=0, asked=Asked(STRANGER, Where(ALERTS), notifier)
            )
            assert proposal.sessions is not None and proposal.sessions.count == 2
            message = await posted_proposal(fake_slack)
            assert "`reporting`" not in str(message.blocks)
            await fake_slack.click(message, "action.confirm", user=OPERATOR)
            done = await wait_status(pitcrew, proposal.id, "accepted", "failed")
            assert done.status == "accepted", done.failure
            assert done.answer is not None and done.answer["terminated"] == 2
            assert done.answer["dsn_env"] == "APP_DIRECT_URL" and done.answer["roles"] == [app_role]
            await _all_ended(web)
            assert await alive(reporting)  # another role's idle session: never ours to end
    finally:
        for conn in [*web, reporting]:
            await conn.close()


async def test_behind_a_pooler_without_a_direct_dsn_the_cleanup_is_refused_and_says_why(
    db_url, fake_slack, sandbox, app_database
):
    superuser_dsn, role_dsn = app_database
    idle = await _open(role_dsn, "web-api")
    catalog = sandbox.catalog(extra={"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}}})
    env = {"APP_DATABASE_URL": f"{superuser_dsn}?pgbouncer=true"}
    try:
        async with running_pitcrew(db_url, catalog, fake_slack, env=env, **sandbox.settings()) as pitcrew:
            notifier = SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))
            with pytest.raises(ActionError, match=r"goes through PgBouncer \(pgbouncer=true\): ending idle") as caught:
                await propose_terminate_idle(
                    pitcrew.deps, "db", idle_minutes=0, asked=Asked(STRANGER, Where(ALERTS), notifier)
                )
            assert "`postgres.direct_dsn_env`" in caught.value.reason
            assert await alive(idle)
        assert fake_slack.calls_to("chat.postMessage") == []
    finally:
        await idle.close()


async def test_a_least_privilege_role_finding_nothing_idle_says_which_grant_it_lacks(
    db_url, fake_slack, sandbox, app_database
):
    _, role_dsn = app_database
    ops_role = f"pitcrew_t_{uuid.uuid4().hex[:12]}_ops"
    async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(ops_role)))
        await admin.execute(sql.SQL("GRANT pg_signal_backend TO {}").format(sql.Identifier(ops_role)))
    app_role = conninfo_to_dict(role_dsn)["user"]
    idle = [await _open(role_dsn, "web-api") for _ in range(2)]
    catalog = sandbox.catalog(extra={"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}}})
    env = {"APP_DATABASE_URL": role_dsn.replace(app_role, ops_role, 1)}
    try:
        async with running_pitcrew(db_url, catalog, fake_slack, env=env, **sandbox.settings()) as pitcrew:
            notifier = SlackNotifier(AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url))
            with pytest.raises(ActionError) as caught:
                await propose_terminate_idle(
                    pitcrew.deps, "db", idle_minutes=0, asked=Asked(STRANGER, Where(ALERTS), notifier)
                )
        assert caught.value.reason == (
            "no session of db has been idle for more than 0 minutes; but pitcrew cannot see 2 sessions of other"
            f" roles: GRANT pg_monitor TO {ops_role}"
        )
        assert all([await alive(c) for c in idle])
    finally:
        for conn in idle:
            await conn.close()
        async with await psycopg.AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [ops_role])
            await admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ops_role)))
