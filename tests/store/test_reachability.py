"""Whether the database can be reached, against a real PostgreSQL: away is away, busy is not away."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.store.db import async_url
from app.store.reachability import Reachability

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


async def test_a_database_that_refuses_connections_is_unreachable():
    engine = create_async_engine(async_url("postgresql://postgres@127.0.0.1:1/nothing"))
    try:
        assert await Reachability(engine).check() is False
    finally:
        await engine.dispose()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_pool_whose_every_connection_is_busy_is_still_reachable():
    """A burst that holds every pooled connection must not make Slack hear 'cannot reach its database'."""
    assert TEST_DATABASE_URL is not None
    engine = create_async_engine(async_url(TEST_DATABASE_URL), pool_size=1, max_overflow=0)
    try:
        reachability = Reachability(engine)
        assert await reachability.check() is True
        reachability.suspect()
        async with engine.connect():  # the only connection, held by someone else's work
            assert await reachability.check() is True
    finally:
        await engine.dispose()
