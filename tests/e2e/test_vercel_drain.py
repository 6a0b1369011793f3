"""`POST /drains/vercel` and `/logs web` as Vercel really behaves: a runtime-logs API that is a live
tail, and a log drain that gives pitcrew a history.

The sandbox Vercel delivers its drain batches to the running app over HTTP, signed as Vercel signs
them (HMAC-SHA1 of the body with the drain secret, in `x-vercel-signature`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.catalog import LogsConfig
from app.drains import DRAIN_MAX_BODY_BYTES
from app.jobs.purge import purge
from app.sandbox.slack import FakeSlack
from app.sandbox.vercel.rest import drain_body, drain_signature
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN
from app.store.models import DrainLine
from tests.fixtures import ALERTS, OPERATOR, Clock, RunningPitcrew, running_pitcrew
from tests.logs_support import SHAPED_LINES, VARIABLES, Providers, catalog_for, railway_world, serving, vercel_world

DRAIN_SECRET = "drain-secret-4f1c9a77e2"
VERIFY_CODE = "7f4677dfb49b149c4a67d45e84e0bcaab835ea50"


@asynccontextmanager
async def running(
    db_url: str, slack: FakeSlack, *, drain: bool = True, clock: Clock | None = None, **logs: Any
) -> AsyncIterator[tuple[RunningPitcrew, Providers]]:
    now = clock.now if clock is not None else datetime.now(UTC)
    rworld, vworld = railway_world(now), vercel_world(now, clock=clock)
    catalog = catalog_for(rworld, vworld)
    catalog = catalog.model_copy(update={"logs": LogsConfig(**logs)})
    settings = {"VERCEL_DRAIN_SECRET": DRAIN_SECRET, "VERCEL_DRAIN_VERIFY": VERIFY_CODE} if drain else {}
    async with serving(rworld, vworld) as providers, running_pitcrew(
        db_url, catalog, slack, clock=clock, **providers.settings(), **settings
    ) as pitcrew:
        if drain:
            vworld.add_drain(f"{pitcrew.url}/drains/vercel", DRAIN_SECRET, projects=["web"])
        yield pitcrew, providers


async def stored(pitcrew: RunningPitcrew) -> list[DrainLine]:
    async with pitcrew.deps.sessions() as session:
        return list((await session.execute(select(DrainLine).order_by(DrainLine.id))).scalars())


async def slash(pitcrew: RunningPitcrew, slack: FakeSlack, text: str) -> list[dict[str, Any]]:
    """`/logs text`, and every response_url call it made (a live tail's notice, then the answer)."""
    before = len(slack.calls_to("response_url"))
    await pitcrew.command("/logs", text)
    await slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
    calls = slack.calls_to("response_url")[before:]
    if calls[-1].args.get("text", "").startswith(":hourglass_flowing_sand:"):
        await slack.wait_for(lambda c: c.method == "response_url", count=before + 2)
        calls = slack.calls_to("response_url")[before:]
    return [c.args for c in calls]


async def test_a_bad_signature_is_refused_and_the_verification_header_answered(
    db_url: str, fake_slack: FakeSlack
) -> None:
    async with running(db_url, fake_slack) as (pitcrew, providers):
        body = drain_body([{"projectId": providers.vercel.world.ref("web").project_id, "message": "hello",
                            "timestamp": 1, "source": "lambda", "level": "info"}], "ndjson")
        wrong = await pitcrew.http.post("/drains/vercel", content=body,
                                        headers={"x-vercel-signature": drain_signature(body, "another-secret")})
        missing = await pitcrew.http.post("/drains/vercel", content=body)
        check = await pitcrew.http.get("/drains/vercel")

        assert wrong.status_code == 401 and missing.status_code == 401
        assert "signature" in wrong.json()["error"] and DRAIN_SECRET not in wrong.text
        assert await stored(pitcrew) == []
        assert check.status_code == 200 and check.headers["x-vercel-verify"] == VERIFY_CODE
        assert wrong.headers["x-vercel-verify"] == VERIFY_CODE


@pytest.mark.parametrize("encoding", ["ndjson", "json"])
async def test_ndjson_and_json_array_batches_are_stored_masked(
    db_url: str, fake_slack: FakeSlack, encoding: str
) -> None:
    async with running(db_url, fake_slack) as (pitcrew, providers):
        world = providers.vercel.world
        world.drains[0].encoding = encoding
        world.log("web", f"revalidating with {VARIABLES['INTERNAL_API_KEY']}", level="error", path="/api/revalidate")
        for line in SHAPED_LINES:
            world.log("web", line)
        other = world.add_project("other", team_id=world.ref("web").team_id)
        world.add_deployment("other")
        world.drains[0].project_ids.add(other.id)
        world.log("other", "not a project of pitcrew.yml")

        assert await providers.vercel.deliver_drains() == [200]

        rows = await stored(pitcrew)
        assert len(rows) == 1 + len(SHAPED_LINES)
        text = json.dumps([[r.message, r.attributes] for r in rows])
        assert VARIABLES["INTERNAL_API_KEY"] not in text  # a secret only the project's variables reveal
        for secret in ("urlpass-3344", "tok_9f8e7d6c5b4a39281706", "xoxb-1234567890"):
            assert secret not in text
        assert rows[0].message == "revalidating with ***" and rows[0].level == "error"
        assert rows[0].attributes["requestPath"] == "/api/revalidate"
        assert {r.project_id for r in rows} == {world.ref("web").project_id}


async def test_drained_lines_are_bounded_in_rows_and_in_hours(db_url: str, fake_slack: FakeSlack) -> None:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    async with running(db_url, fake_slack, clock=clock, max_rows_per_project=10, retention_hours=1) as (
        pitcrew, providers
    ):
        world = providers.vercel.world
        for n in range(25):
            world.log("web", f"request #{n}")
        assert await providers.vercel.deliver_drains() == [200]
        rows = await stored(pitcrew)
        assert [r.message for r in rows] == [f"request #{n}" for n in range(15, 25)]  # the oldest went first

        clock.advance(minutes=90)
        world.log("web", "a newer line")
        assert await providers.vercel.deliver_drains() == [200]
        await pitcrew.jobs_settled()
        await purge(pitcrew.deps, None)  # type: ignore[arg-type]  # the hourly purge job, run now
        assert [r.message for r in await stored(pitcrew)] == ["a newer line"]


async def test_logs_since_reads_the_drain_and_says_so(db_url: str, fake_slack: FakeSlack) -> None:
    async with running(db_url, fake_slack) as (pitcrew, providers):
        world = providers.vercel.world
        world.log("web", "Error: upstream timed out after 10000ms", level="error", at=datetime.now(UTC) - timedelta(
            minutes=10))
        world.log("web", f"token {VARIABLES['INTERNAL_API_KEY']} refused", level="error")
        assert await providers.vercel.deliver_drains() == [200]
        tails_before = [c for c in providers.vercel.calls if c.path.endswith("/runtime-logs")]

        [answer] = await slash(pitcrew, fake_slack, "web --since 30m")

        said = json.dumps(answer["blocks"])
        assert "history from the Vercel log drain" in said
        assert "Error: upstream timed out after 10000ms" in said and "token *** refused" in said
        assert VARIABLES["INTERNAL_API_KEY"] not in said
        assert [c for c in providers.vercel.calls if c.path.endswith("/runtime-logs")] == tails_before


async def test_logs_without_a_drain_is_a_live_tail_said_to_be_one(db_url: str, fake_slack: FakeSlack) -> None:
    async with running(db_url, fake_slack, drain=False) as (pitcrew, providers):
        providers.vercel.world._when_tailed.clear()  # nothing is logged while pitcrew listens

        notice, answer = await slash(pitcrew, fake_slack, "web")

        assert notice["text"].startswith(":hourglass_flowing_sand: tailing web for 20 s…")
        assert answer["replace_original"] in (True, "true")
        said = answer["text"] + json.dumps(answer["blocks"])
        assert "live tail of 20 s" in said
        assert "Nothing was logged during the 20 s live tail" in said
        assert "The log is empty for this window" not in said


async def test_gzip_bodies_bad_bodies_and_oversized_bodies(db_url: str, fake_slack: FakeSlack) -> None:
    async with running(db_url, fake_slack) as (pitcrew, providers):
        project = providers.vercel.world.ref("web").project_id
        body = drain_body([{"projectId": project, "message": "compressed line", "timestamp": 1_765_000_000_000,
                            "source": "lambda", "level": "info"}], "json")
        packed = gzip.compress(body)
        zipped = await pitcrew.http.post("/drains/vercel", content=packed, headers={
            "content-encoding": "gzip", "x-vercel-signature": drain_signature(packed, DRAIN_SECRET)})
        garbage = b'{"projectId": "x", "message": '
        bad = await pitcrew.http.post("/drains/vercel", content=garbage,
                                      headers={"x-vercel-signature": drain_signature(garbage, DRAIN_SECRET)})
        huge = b"[" + b" " * (DRAIN_MAX_BODY_BYTES + 1) + b"]"
        too_large = await pitcrew.http.post("/drains/vercel", content=huge,
                                            headers={"x-vercel-signature": drain_signature(huge, DRAIN_SECRET)})

        assert zipped.status_code == 200 and zipped.json() == {"received": 1, "stored": 1, "skipped": 0}
        assert bad.status_code == 400 and "NDJSON" in bad.json()["error"]
        assert too_large.status_code == 413
        assert [r.message for r in await stored(pitcrew)] == ["compressed line"]


async def test_a_batch_that_cannot_be_masked_is_refused_and_not_stored(db_url: str, fake_slack: FakeSlack) -> None:
    """Without the project's variables a line could keep a secret: 503 (the sender retries), nothing kept."""
    async with running(db_url, fake_slack) as (pitcrew, providers):
        world = providers.vercel.world
        world.tokens.clear()  # pitcrew's Vercel token is refused: the variables cannot be read
        world.log("web", f"token {VARIABLES['INTERNAL_API_KEY']} refused")

        assert await providers.vercel.deliver_drains() == [503]
        assert await stored(pitcrew) == []
        world.tokens.add(SANDBOX_VERCEL_TOKEN)
        assert await providers.vercel.deliver_drains() == [200]  # the same batch, delivered again
        assert [r.message for r in await stored(pitcrew)] == ["token *** refused"]


async def test_a_mention_tails_in_the_thread_and_edits_its_notice(db_url: str, fake_slack: FakeSlack) -> None:
    async with running(db_url, fake_slack, drain=False, tail_seconds=5) as (_pitcrew, providers):
        providers.vercel.world.when_tailed("web", "GET /checkout 500", level="error", status=500)
        await fake_slack.mention("logs web", user=OPERATOR, channel=ALERTS, thread_ts="1700000000.000100")
        [update] = await fake_slack.wait_for(lambda c: c.method == "chat.update")
        [notice] = [c for c in fake_slack.calls_to("chat.postMessage") if "tailing web" in c.args.get("text", "")]

        assert notice.args["text"].startswith(":hourglass_flowing_sand: tailing web for 5 s…")
        assert "live tail of 5 s" in update.args["text"] and "GET /checkout 500" in update.args["text"]
