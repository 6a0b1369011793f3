"""The async engine, built from DATABASE_URL as users paste it (Railway and Heroku say `postgres://`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class DatabaseUrlError(ValueError):
    """DATABASE_URL is not a URL pitcrew can use."""


def async_url(url: str) -> str:
    """The SQLAlchemy async URL for a URL as platforms give it: postgres(ql):// → psycopg, sqlite → aiosqlite."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            "DATABASE_URL is not a database URL (expected postgresql://user@host/db or sqlite:///file.db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise DatabaseUrlError(f"DATABASE_URL uses {backend!r}; pitcrew supports postgresql and sqlite")


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    try:
        return make_url(async_url(url)).render_as_string(hide_password=True)
    except DatabaseUrlError:
        return "(unparseable DATABASE_URL)"


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def dialect_insert(session: AsyncSession) -> Any:
    """The backend's own `insert`, for ON CONFLICT, which both backends spell alike but SQLAlchemy keeps per dialect."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


def create_engine(url: str) -> AsyncEngine:
    engine_url = async_url(url)
    if engine_url.startswith("sqlite"):
        engine = create_async_engine(engine_url, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    return create_async_engine(engine_url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    """WAL and foreign keys; and BEGIN IMMEDIATE so a transaction that will write takes the lock at once.

    pysqlite's default deferred transactions let two writers both read, then fail to upgrade their
    lock; immediate transactions serialise them instead, which the exactly-once updates rely on.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


AUDIT_KEY_INFO = "audit_key"


def session_factory(engine: AsyncEngine, *, audit_key: bytes | None = None) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`. `audit_key` travels in each session's `info`, so that every audit append
    made in one (by a flow in its own transaction, or by the group commit) chains with the key,
    whichever code path appends: none can forget it (app/store/audit.py)."""
    return async_sessionmaker(engine, expire_on_commit=False, info={AUDIT_KEY_INFO: audit_key})


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    async with sessions() as session, session.begin():
        yield session
