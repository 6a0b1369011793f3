"""The PostgreSQL server the tests may create databases on: TEST_DATABASE_URL, and nothing else.

Without it the PostgreSQL tests are skipped, as the README says (`.ci/run` sets it): a test that
fell back to a server of its own guessing would fail, not skip, on a machine without one, and
would pass on a machine with one that nobody meant to test against.
"""

from __future__ import annotations

import os

import pytest

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
SKIP_REASON = "TEST_DATABASE_URL not set: PostgreSQL tests skipped"
requires_postgres = pytest.mark.skipif(not TEST_DATABASE_URL, reason=SKIP_REASON)


def libpq_dsn(url: str) -> str:
    """The URL as psycopg takes it (no SQLAlchemy driver suffix, `postgresql://`)."""
    return url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")


# No test connects to the placeholder: every one that uses ADMIN_DSN is skipped when it is unset.
ADMIN_DSN = libpq_dsn(TEST_DATABASE_URL or "postgresql://postgres@test-database-url.invalid/unset")


def skip_without_postgres() -> None:
    if not TEST_DATABASE_URL:
        pytest.skip(SKIP_REASON)
