"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, a fake Slack, a running app.

Every test that asks for `db_url` runs twice, once per backend; PostgreSQL comes from
TEST_DATABASE_URL (a server where we may create databases), and each test gets a database of its
own that is dropped afterwards, so no run sees another's data.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest

from app.sandbox.slack import FakeSlack
from app.store.migrate import upgrade_async
from tests.postgres_support import SKIP_REASON, TEST_DATABASE_URL

BACKENDS = ["sqlite", "postgres"]


def _admin_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """A migrated, empty database; the URL as a user would write it in DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pitcrew.db'}"
        await upgrade_async(url)
        yield url
        return
    if not TEST_DATABASE_URL:
        pytest.skip(SKIP_REASON)
    admin = _admin_dsn(TEST_DATABASE_URL)
    name = f"pitcrew_t_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    try:
        await upgrade_async(url)
        yield url
    finally:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    async with slack.serve():
        yield slack
