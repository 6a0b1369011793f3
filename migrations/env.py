"""Alembic environment: runs migrations over the async engine that pitcrew itself uses.

Two ways in. `pitcrew db upgrade` passes the database in the config (app/store/migrate.py);
`alembic upgrade head` from a clone reads `alembic.ini`, and then the database is DATABASE_URL from the
environment, with pitcrew's own default and the same reading of it (`postgres://` as Railway and
Heroku give it, SQLite as a file), so both commands migrate the same database.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from app.settings import Settings
from app.store.db import create_engine
from app.store.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    return config.get_main_option("pitcrew.database_url") or Settings().DATABASE_URL


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("pitcrew runs migrations online only: `pitcrew db upgrade` or `alembic upgrade head`")
if config.config_file_name is not None:  # the alembic command line: log as alembic.ini says
    fileConfig(config.config_file_name, disable_existing_loggers=False)
asyncio.run(_main())
