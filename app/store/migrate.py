"""`pitcrew db upgrade`: Alembic, configured in code so it works from any directory once installed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

PACKAGE = Path(__file__).resolve().parent.parent


def migrations_directory() -> Path:
    """Where the Alembic scripts are: inside the installed package, else at the top of the checkout.

    The scripts live in `migrations/` at the repository's root (where `alembic.ini` points, so
    `alembic upgrade head` works from a clone). A regular install copies them into the package as
    `app/_migrations` (setup.py says how); an editable install or a checkout on PYTHONPATH has
    no such copy and reads them where they are. The packaged copy comes first: next to an installed
    package, `../migrations` would be whatever else sits in site-packages.
    """
    for candidate in (PACKAGE / "_migrations", PACKAGE.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(f"pitcrew's migrations are neither in {PACKAGE / '_migrations'} nor in "
                            f"{PACKAGE.parent / 'migrations'}: reinstall pitcrew")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_directory()))
    config.set_main_option("pitcrew.database_url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations. Runs its own event loop, so call it from sync code or through `upgrade_async`."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
