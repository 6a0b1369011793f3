"""The web app runs the job table while it lives: `pitcrew serve` needs no separate worker process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from app.deps import build_deps
from app.settings import Settings
from app.slack.app import build_slack_app
from app.store import jobs as job_store
from app.store.db import transaction
from app.store.models import Job
from app.web import build_web_app
from tests.fixtures import catalog_from


async def _status(deps, dedupe_key: str) -> str | None:
    async with transaction(deps.sessions) as session:
        return await session.scalar(select(Job.status).where(Job.dedupe_key == dedupe_key))


async def _until_done(deps, dedupe_key: str) -> None:
    async with asyncio.timeout(10):
        while True:
            if await _status(deps, dedupe_key) == "done":
                return
            await asyncio.sleep(0.05)


async def test_the_lifespan_runs_due_jobs_and_stops_with_the_app(db_url):
    settings = Settings(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-unused", SLACK_SIGNING_SECRET="unused")
    deps = build_deps(settings, catalog_from({}))
    web = build_web_app(deps, build_slack_app(deps))
    now = datetime.now(UTC)
    try:
        async with transaction(deps.sessions) as session:
            await job_store.enqueue(
                session, kind="expire_action", payload={"proposal_id": "0" * 32}, run_at=now, now=now,
                dedupe_key="lifespan-test",
            )
        async with web.router.lifespan_context(web):
            runner = [t for t in asyncio.all_tasks() if t.get_name() == "pitcrew-jobs"]
            assert len(runner) == 1
            await _until_done(deps, "lifespan-test")
        await asyncio.sleep(0)
        assert runner[0].done()
    finally:
        await deps.close()
