"""Start-up helpers: reach the database, check its schema, say in one line what must be fixed.

They live apart from the `pitcrew` command so that `pitcrew check` can use them without importing
the command that runs it.
"""

from __future__ import annotations

import asyncio
import logging

from app.settings import Settings
from app.store.db import safe_url

log = logging.getLogger("pitcrew.cli")

# `serve` waits for a database that is down when it starts (a platform may start the app before
# its database, or restart both together): first retry after 1 s, doubling up to 30 s, for ever.
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 30.0


class StartupError(Exception):
    """Something the person must fix before pitcrew can start; the message says what."""


class DatabaseUnreachable(StartupError):
    """The database did not answer; unlike a wrong schema, this may pass by itself."""

async def current_revision(settings: Settings) -> str | None:
    """Reach the database and read its migration revision; one clear line if it cannot be reached."""
    from alembic.runtime.migration import MigrationContext

    from app.store.db import create_engine

    engine = create_engine(settings.DATABASE_URL)
    try:
        async with asyncio.timeout(10), engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    except Exception as err:
        where = safe_url(settings.DATABASE_URL)
        raise DatabaseUnreachable(f"cannot reach the database at {where}: {first_line(err)}") from None
    finally:
        await engine.dispose()


async def ensure_database(settings: Settings, *, migrate: bool) -> None:
    """Reach the database and check its schema is current; with `migrate`, bring it up to date instead."""
    from alembic.script import ScriptDirectory

    from app.store.migrate import alembic_config, upgrade_async

    current = await current_revision(settings)
    head = ScriptDirectory.from_config(alembic_config(settings.DATABASE_URL)).get_current_head()
    if current != head:
        if not migrate:
            raise StartupError(
                f"the database at {safe_url(settings.DATABASE_URL)} is not up to date "
                f"(at {current or 'no schema'}, need {head}): run `pitcrew db upgrade`"
            )
        await upgrade_async(settings.DATABASE_URL)


async def wait_for_database(
    settings: Settings, *, first_retry_s: float = FIRST_RETRY_S, max_retry_s: float = MAX_RETRY_S
) -> None:
    """`ensure_database`, tried again while the database cannot be reached, one log line per attempt.

    A schema that is not up to date still ends the start at once: waiting would not fix it.
    """
    delay = first_retry_s
    attempt = 1
    while True:
        try:
            await ensure_database(settings, migrate=False)
        except DatabaseUnreachable as err:
            log.warning("%s; attempt %d, trying again in %g s", err, attempt, delay)
        else:
            if attempt > 1:
                log.warning("reached the database at %s after %d attempts", safe_url(settings.DATABASE_URL), attempt)
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_retry_s)
        attempt += 1


def first_line(err: BaseException) -> str:
    original = getattr(err, "orig", None) or err
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__
