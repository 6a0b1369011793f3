"""`/incident report` from the console: the figures printed, the chart written to a file it names."""

from __future__ import annotations

import io
import re
from pathlib import Path

from app.catalog import parse_catalog
from app.console.session import ConsoleSession
from app.settings import Settings

CATALOG = """
slack: {alerts_channel: C0ALERTS, operators: [U0CONSOLE]}
services:
  api: {provider: http, health: {url: "http://127.0.0.1:9/health"}}
"""


async def test_the_report_in_the_console_prints_the_figures_and_where_the_chart_is(db_url: str) -> None:
    out = io.StringIO()
    settings = Settings(DATABASE_URL=db_url)
    lines = ["/incident declare SEV2 Search slow", "/incident 1 ack", "/incident report", "/incident report 9x"]
    async with ConsoleSession(settings, parse_catalog(CATALOG), user_id="U0CONSOLE", out=out) as session:
        assert await session.run(lines) == 0
    text = out.getvalue()
    assert "Incident report: last 7 days" in text and "By severity: SEV1 0 · SEV2 1 · SEV3 0 · SEV4 0" in text
    written = re.search(r"\[image: Incidents, last 7 days \(to [0-9-]+\), written to (\S+\.png)\]", text)
    assert written, text
    assert _head(Path(written.group(1))) == b"\x89PNG\r\n\x1a\n"
    assert "9x is not a period I report on" in text and "Traceback" not in text


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(8)


async def test_each_session_writes_its_own_image_never_showing_an_earlier_runs(db_url: str) -> None:
    """The fake Slack numbers files alike in every run: a second console's chart is its own file, with its
    own bytes, not the first run's image left under the same name."""
    written: list[Path] = []
    for lines in (["/incident declare SEV2 Search slow", "/incident report"],
                  ["/incident declare SEV1 Checkout down", "/incident report"]):
        out = io.StringIO()
        async with ConsoleSession(Settings(DATABASE_URL=db_url), parse_catalog(CATALOG), user_id="U0CONSOLE",
                                  out=out) as session:
            assert await session.run(lines) == 0
        found = re.search(r"written to (\S+\.png)\]", out.getvalue())
        assert found, out.getvalue()
        written.append(Path(found.group(1)))
    first, second = written
    assert first != second and first.name == second.name  # the same file id, each run's own directory
    assert first.read_bytes() != second.read_bytes()  # the second report counts both incidents
