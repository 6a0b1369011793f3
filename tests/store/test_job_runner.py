"""The job runner's polling loop when the database is not usable: it keeps polling, says so once,
and says when it works again (a log that repeats every second at 3 a.m. hides everything else)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from app.deps import build_deps
from app.jobs.runner import JobRunner
from app.settings import Settings
from app.store.migrate import upgrade_async
from tests.fixtures import catalog_from


async def _wait_for(predicate, what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def test_a_failing_poll_is_said_once_and_recovery_is_said(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    database = tmp_path / "late.db"
    database.touch()  # no tables yet: every poll fails until the migration runs
    url = f"sqlite:///{database}"
    settings = Settings(DATABASE_URL=url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s")
    deps = build_deps(settings, catalog_from({}))
    runner = JobRunner(deps, worker="test", poll_s=0.005)
    caplog.set_level(logging.INFO, logger="pitcrew.jobs")

    def said(prefix: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]

    task = asyncio.create_task(runner.run_forever())
    try:
        await _wait_for(lambda: said("claiming jobs failed"), "the first failed poll")
        failed_polls_seen = len(said("claiming jobs failed"))
        await asyncio.sleep(0.2)  # many more polls at 5 ms, all failing
        assert failed_polls_seen == len(said("claiming jobs failed")) == 1
        assert "no such table" in said("claiming jobs failed")[0]
        await upgrade_async(url)
        await _wait_for(lambda: said("claiming jobs works again"), "the recovery message")
        assert len(said("claiming jobs works again")) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await deps.close()
