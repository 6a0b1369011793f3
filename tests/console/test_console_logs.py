"""`/logs` from the console: the same app, the sandbox Railway and Vercel behind it, a transcript out.

Runs on SQLite and on PostgreSQL (the `db_url` fixture), and asserts on what a person would read:
the lines (masked), the groups, a long result's file with its first lines, the usage when a value
is wrong.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from app.console.session import ConsoleSession
from app.settings import Settings
from tests.logs_support import (
    RAILWAY_SECRETS,
    VERCEL_SECRETS,
    add_railway_lines,
    catalog_for,
    railway_world,
    serving,
    vercel_world,
)

SCRIPT = [
    "/logs api --level error --lines 3",
    "/logs api --top --lines 3",
    "/logs api --lines 400",
    "@pitcrew logs web --grep checkout",
    "/logs api --lines lots",
    "/logs nowhere",
]


async def console_transcript(db_url: str, lines: list[str]) -> str:
    now = datetime.now(UTC)
    rworld, vworld = railway_world(now), vercel_world(now)
    add_railway_lines(rworld, 300, now)
    out = io.StringIO()
    async with serving(rworld, vworld) as providers:
        settings = Settings(DATABASE_URL=db_url, **providers.settings())
        async with ConsoleSession(settings, catalog_for(rworld, vworld), user_id="U0CONSOLE", out=out) as session:
            assert await session.run(lines) == 0
    return out.getvalue()


async def test_logs_from_the_console(db_url: str) -> None:
    text = await console_transcript(db_url, SCRIPT)

    assert re.search(r"\d\d:\d\d:\d\d ERROR Error: connect ECONNREFUSED 10\.0\.0\.16:5432\n", text)
    assert re.search(r"\d\d:\d\d:\d\d ERROR checkout failed: card_declined\n", text)
    assert "     7  ERROR  Error: connect ECONNREFUSED <ip>" in text
    assert re.search(r"\[file: Logs of api: 334 lines, 3\d\d lines\]", text)  # the file, previewed
    assert "  # /logs api --lines 400" in text
    assert "INFO  Connecting to postgresql://app:***@postgres.railway.internal:5432/app" in text  # masked
    assert "checkout started req_TRACE42" in text  # the mention's answer, in the channel's thread
    assert "(only you)" in text and "--lines lots is not a whole number" in text
    assert "There is no service nowhere. Known services: api, db, site, web, worker." in text
    assert "Traceback" not in text and "! pitcrew error" not in text
    for secret in {*RAILWAY_SECRETS, *VERCEL_SECRETS}:
        assert secret not in text
