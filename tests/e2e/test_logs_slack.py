"""`/logs` and `@pitcrew logs` end to end: signed requests from the fake Slack to the app over HTTP, the
sandbox Railway and Vercel behind it, and assertions on what reached Slack (messages, uploaded files)
and the audit trail. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from app.core.audit import verify
from app.core.logs import make_record
from app.core.logs_args import LogsArgs
from app.flows.logs import LogSource, LogsResult
from app.sandbox.railway.sample import SAMPLE_DEPLOYMENT_IDS as RAILWAY_IDS
from app.sandbox.slack import FakeSlack, SlackCall
from app.sandbox.vercel.sample import SAMPLE_DEPLOYMENT_IDS as VERCEL_IDS
from app.slack.commands.logs import Place, deliver
from app.slack.render.common import MAX_BLOCKS, MAX_MESSAGE_TEXT, MAX_SECTION_TEXT
from app.store import audit as audit_store
from tests.fixtures import ALERTS, OPERATOR, RunningPitcrew, running_pitcrew
from tests.logs_support import (
    DB_PASSWORD,
    RAILWAY_SECRETS,
    VERCEL_SECRETS,
    Providers,
    add_railway_lines,
    add_vercel_lines,
    catalog_for,
    railway_world,
    serving,
    vercel_world,
)

THREAD = "1700000000.000777"
LINE = re.compile(r"^\d\d:\d\d:\d\d (TRACE|DEBUG|INFO |WARN |ERROR|FATAL|-    ) \S")


@dataclass
class Logs:
    pitcrew: RunningPitcrew
    slack: FakeSlack
    providers: Providers

    async def slash(self, text: str, *, user: str = OPERATOR) -> SlackCall:
        """`/logs text`; the answer that came to the response URL (for a live tail, the one that
        replaced the "tailing…" notice)."""
        before = len(self.slack.calls_to("response_url"))
        response = await self.pitcrew.command("/logs", text, user=user)
        assert response.status_code == 200 and response.text == ""  # acknowledged at once, answered later
        calls = await self.slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
        if calls[-1].args.get("text", "").startswith(":hourglass_flowing_sand: tailing"):
            calls = await self.slack.wait_for(lambda c: c.method == "response_url", count=before + 2)
            assert calls[-1].args.get("replace_original") in (True, "true"), "the notice is not replaced"
        return calls[-1]

    async def upload(self, count: int = 1) -> SlackCall:
        return (await self.slack.wait_for(lambda c: c.method == "files.completeUploadExternal", count=count))[-1]

    async def mention(self, text: str, method: str = "chat.postMessage") -> SlackCall:
        before = len(self.slack.calls_to(method))
        await self.slack.mention(text, user=OPERATOR, channel=ALERTS, thread_ts=THREAD)
        return (await self.slack.wait_for(lambda c: c.method == method, count=before + 1))[-1]

    def uploaded(self) -> list[str]:
        return [info["content"].decode() for info in self.slack.uploads.values() if "content" in info]


@asynccontextmanager
async def running(db_url: str, slack: FakeSlack, *, env: dict[str, str] | None = None) -> AsyncIterator[Logs]:
    now = datetime.now(UTC)
    rworld, vworld = railway_world(now), vercel_world(now)
    async with serving(rworld, vworld) as providers, running_pitcrew(
        db_url, catalog_for(rworld, vworld), slack, env=env, **providers.settings()
    ) as pitcrew:
        yield Logs(pitcrew, slack, providers)


def code_lines(call: SlackCall) -> list[str]:
    """The lines inside the message's code blocks, as Slack shows them (entities decoded)."""
    lines: list[str] = []
    for block in call.args["blocks"]:
        text = block.get("text", {}).get("text", "") if block["type"] == "section" else ""
        if text.startswith("```"):
            lines.extend(text.split("\n")[1:-1])
    return [line.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for line in lines]


def header(call: SlackCall) -> str:
    return call.args["blocks"][0]["text"]["text"]


def within_slack_limits(args: dict[str, Any]) -> None:
    assert args["text"] and len(args["text"]) <= MAX_MESSAGE_TEXT
    assert 0 < len(args["blocks"]) <= MAX_BLOCKS
    for block in args["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT


Check = Callable[[list[str]], bool]
OPTIONS: dict[str, list[tuple[str, Check]]] = {
    "api": [
        ("--lines 3", lambda lines: len(lines) == 3 and lines[-1].endswith("smtp login with ***")),
        ("--level error", lambda lines: len(lines) == 9 and all(" ERROR " in line for line in lines)),
        ("--grep econnrefused", lambda lines: len(lines) == 7 and all("ECONNREFUSED" in line for line in lines)),
        ("--request-id req_TRACE42", lambda lines: [line[9:] for line in lines] == [
            "INFO  checkout started", "ERROR checkout failed: card_declined"]),
        ("--since 30m", lambda lines: len(lines) == 28 and not any("Starting api" in line for line in lines)),
        (f"--deployment {RAILWAY_IDS[1][:8]}", lambda lines: lines[0].endswith("Starting api (node dist/server.js)")
         and len(lines) == 6),
        ("--top", lambda lines: lines[0] == "     7  ERROR  Error: connect ECONNREFUSED <ip>"
         and lines[2] == "     4  INFO   GET /orders/<num> <num> <num>ms"),
        ("--build", lambda lines: [line[15:] for line in lines] == ["Using Nixpacks", "npm ci", "Build completed"]),
    ],
    "web": [
        ("--lines 3", lambda lines: len(lines) == 3 and lines[-1].endswith("webhook check with *** failed")),
        ("--level error", lambda lines: len(lines) == 8 and all(" ERROR " in line for line in lines)),
        ("--grep econnrefused", lambda lines: len(lines) == 7 and all("ECONNREFUSED" in line for line in lines)),
        ("--request-id req_TRACE42", lambda lines: [line[9:] for line in lines] == [
            "INFO  checkout started req_TRACE42", "ERROR checkout failed req_TRACE42: card_declined"]),
        ("--since 30m", lambda lines: len(lines) == 24 and not any("GET /pricing" in line for line in lines)),
        # an older deployment serves no traffic: its tail is quiet, and says so (no code block)
        (f"--deployment {VERCEL_IDS[1]}", lambda lines: lines == []),
        ("--top", lambda lines: lines[0] == "     7  ERROR  Error: connect ECONNREFUSED <ip>"
         and lines[2] == "     4  INFO   GET /orders/<num> <num> <num>ms"),
        ("--build", lambda lines: lines[-1].endswith("INFO  env dump: JWT_SECRET=*** STRIPE_KEY=*** PASSWORD=***")),
    ],
}


@pytest.mark.parametrize("service", ["api", "web"])
async def test_every_option_against_each_provider(db_url: str, fake_slack: FakeSlack, service: str) -> None:
    async with running(db_url, fake_slack) as logs:
        for option, check in OPTIONS[service]:
            answer = await logs.slash(f"{service} {option}")
            lines = code_lines(answer)
            assert answer.args["response_type"] == "in_channel", option
            assert check(lines), (option, lines)
            within_slack_limits(answer.args)
            assert f"/logs {service} {option}" in header(answer)
            if option != "--top":
                assert all(LINE.match(line) for line in lines), (option, lines)  # time, level, message
        deployment_answer = next(c for c in fake_slack.calls_to("response_url") if "--deployment" in header(c))
        assert "(REMOVED)" in header(deployment_answer) or "(READY)" in header(deployment_answer)
        assert "build log of deployment" in header(fake_slack.calls_to("response_url")[-1])
        assert not fake_slack.calls_to("files.completeUploadExternal")


@pytest.mark.parametrize("service", ["api", "web"])
async def test_a_long_result_is_uploaded_as_a_file_with_its_first_lines_in_the_message(
    db_url: str, fake_slack: FakeSlack, service: str
) -> None:
    async with running(db_url, fake_slack) as logs:
        now = datetime.now(UTC)
        if service == "api":
            add_railway_lines(logs.providers.railway.world, 400, now)
        else:
            add_vercel_lines(logs.providers.vercel.world, 400, now)
        answer = await logs.slash(f"{service} --lines 500 --grep health")
        completed = await logs.upload()

        within_slack_limits(answer.args)
        assert code_lines(answer)[0].endswith("GET /health 200 0ms #0") and len(code_lines(answer)) == 20
        assert "All of them are in the file" in json.dumps(answer.args["blocks"])
        [(file_id, upload)] = list(fake_slack.uploads.items())
        assert completed.args["channel_id"] == ALERTS and completed.args.get("thread_ts") is None
        assert completed.args["files"][0]["id"] == file_id
        content = upload["content"].decode()
        body = content.split("\n\n", 1)[1].splitlines()
        assert content.startswith(f"# /logs {service} --lines 500 --grep health\n")
        assert len(body) == 400
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO  GET /health 200 0ms #0$", body[0])
        assert body[-1].endswith("GET /health 200 0ms #399")
        assert upload["filename"].startswith(f"logs-{service}-") and upload["filename"].endswith(".txt")
        assert int(upload["length"]) == len(upload["content"])
        posted = [m for m in fake_slack.messages if m.blocks and m.blocks[0].get("type") == "file"]
        assert len(posted) == 1 and posted[0].channel == ALERTS


async def test_the_mention_answers_in_its_thread_file_and_all(db_url: str, fake_slack: FakeSlack) -> None:
    async with running(db_url, fake_slack) as logs:
        reply = await logs.mention("logs api --level error --lines 2")
        assert reply.args["thread_ts"] == THREAD and reply.args["channel"] == ALERTS
        assert [line[9:] for line in code_lines(reply)] == [
            "ERROR Error: connect ECONNREFUSED 10.0.0.16:5432", "ERROR checkout failed: card_declined",
        ]

        add_railway_lines(logs.providers.railway.world, 300, datetime.now(UTC))
        await logs.mention("logs api --lines 300")
        completed = await logs.upload()
        assert completed.args["thread_ts"] == THREAD and completed.args["channel_id"] == ALERTS
        assert len(fake_slack.messages_in_thread(THREAD)) == 3  # two answers and the file

        usage = await logs.mention("logs api --lines lots", method="chat.postEphemeral")
        assert usage.args["user"] == OPERATOR and usage.args["thread_ts"] == THREAD
        assert "`--lines lots` is not a whole number" in usage.args["text"]
        assert {e.action for e in await _audited(logs, 3)} == {"mention logs"}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "Which service?"),
        ("help", "Usage: /logs <service> [options]"),
        ("api --lines 0", "`--lines 0` is out of range; use 1 to 5000"),
        ("api --lines 9000", "`--lines 9000` is out of range"),
        ("api --since 8d", "too far back; the limit is 7 days"),
        ("api --since soon", "`--since soon` is not a duration"),
        ("api --level loud", "`--level loud` is not a level"),
        ("api --colour", "`--colour` is not an option of `/logs`"),
        ("api --slow --grep x", "`--slow` lists slow queries, not log lines"),
        ("nope", "There is no service `nope`. Known services: `api`, `db`, `site`, `web`, `worker`."),
        ("site", "site is checked over HTTP only"),
        ("db --top", "/logs db --slow"),
        ("api --deployment 00000000-0000-4000-8000-000000000000", "no deployment"),
    ],
)
async def test_bad_requests_get_the_usage_or_the_reason_privately(
    db_url: str, fake_slack: FakeSlack, text: str, said: str
) -> None:
    async with running(db_url, fake_slack) as logs:
        answer = await logs.slash(text)
        assert answer.args["response_type"] == "ephemeral"
        assert said in answer.args["text"].replace("&lt;", "<").replace("&gt;", ">")
        within_slack_limits(answer.args)
        if "Usage" in said or "`--" in said or "Which" in said or "no service" in said:
            assert "Usage: /logs <service> [options]" in json.dumps(answer.args["blocks"]).replace("&lt;", "<").replace(
                "&gt;", ">")
        [entry] = await _audited(logs, 1)
        assert entry.outcome in ("usage", "unknown service") or entry.outcome.startswith("no logs: ")


async def test_a_provider_failure_says_which_call_failed_privately(db_url: str, fake_slack: FakeSlack) -> None:
    async with running(db_url, fake_slack) as logs:
        logs.providers.vercel.world.fail_next(status=503, times=2)
        answer = await logs.slash("web")
        assert answer.args["response_type"] == "ephemeral"
        said = answer.args["text"]  # the variables and the deployment are asked for together: either fails first
        failed = r"Could not read the logs of `web`: vercel (environment variables|deployments) failed: HTTP 503"
        assert re.search(failed, said), said
        logs.providers.railway.world.fail_next(status=500, body="boom", times=2)
        answer = await logs.slash("api --top")
        assert "railway service variables failed: HTTP 500: boom" in answer.args["text"]


async def test_no_seeded_secret_reaches_slack_or_the_audit_trail(db_url: str, fake_slack: FakeSlack) -> None:
    async with running(db_url, fake_slack) as logs:
        now = datetime.now(UTC)
        add_railway_lines(logs.providers.railway.world, 200, now)
        add_vercel_lines(logs.providers.vercel.world, 200, now)
        for service in ("api", "web"):
            for option in ("", "--lines 5000", "--top", "--build", "--level info --lines 100", "--since 1h --top"):
                await logs.slash(f"{service} {option}")
        await logs.slash(f"api --grep {DB_PASSWORD}")
        await logs.slash("web --grep sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5R")
        await logs.mention("logs api --lines 5000")
        await logs.mention("logs web --lines 40")
        await logs.upload(count=3)
        await _audited(logs, 16)

        sent = fake_slack.all_text()
        files = "\n".join(logs.uploaded())
        entries = [e async for e in audit_store.entries(logs.pitcrew.deps.sessions)]
        audit = json.dumps([[e.params, e.outcome] for e in entries])
        assert "postgresql://app:***@db.internal:5432/app" in files  # the lines are there, masked
        assert "env dump: JWT_SECRET=*** STRIPE_KEY=*** PASSWORD=***" in sent
        for secret in {*RAILWAY_SECRETS, *VERCEL_SECRETS}:
            assert secret not in sent, secret
            assert secret not in files, secret
            assert secret not in audit, secret
        assert "/logs api --grep ***" in sent
        assert verify(entries).ok


async def test_a_production_secret_printed_by_a_vercel_app_is_masked_in_slack(
    db_url: str, fake_slack: FakeSlack
) -> None:
    """Vercel lists an encrypted value as ciphertext and a sensitive one without a value: the secret the
    production deployment prints is masked all the same, and the footer says what was masked by name only."""
    async with running(db_url, fake_slack) as logs:
        world = logs.providers.vercel.world
        world.set_env("web", "STRIPE_WEBHOOK_SECRET", "whsk-prod-7Hq2Lm9Zx4", targets=["production"])
        world.set_env("web", "STRIPE_WEBHOOK_SECRET", "whsk-prev-3Tc8Vn1Pd6", targets=["preview"])
        world.set_env("web", "LICENSE_SEED", "ls-9d8c7b6a5f4e", sensitive=True)
        world.when_tailed("web", "payment webhook verified with whsk-prod-7Hq2Lm9Zx4")
        world.when_tailed("web", "boot: LICENSE_SEED=ls-9d8c7b6a5f4e mode=prod")

        answer = await logs.slash("web --lines 2")

        assert code_lines(answer)[-2:][0].endswith("payment webhook verified with ***")
        assert code_lines(answer)[-1].endswith("boot: LICENSE_SEED=*** mode=prod")
        sent = fake_slack.all_text()
        assert "whsk-prod-7Hq2Lm9Zx4" not in sent and "ls-9d8c7b6a5f4e" not in sent
        assert "2 variables (CMS_PREVIEW_SECRET, LICENSE_SEED) are sensitive on Vercel" in sent


async def _audited(logs: Logs, count: int) -> list[Any]:
    """The `/logs` entries of the audit trail once there are `count` (each is written after its answer)."""
    async with asyncio.timeout(20):
        while True:
            entries = [e async for e in audit_store.entries(logs.pitcrew.deps.sessions)]
            found = [e for e in entries if e.action in ("command /logs", "mention logs")]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)


async def test_a_file_that_cannot_be_uploaded_is_said_in_the_same_place() -> None:
    posted: list[dict[str, Any]] = []

    async def post(message: dict[str, Any]) -> None:
        posted.append(message)

    nowhere = AsyncWebClient(token="xoxb-unused", base_url="http://127.0.0.1:1/api/", timeout=2)
    place = Place(public=post, private=post, channel=ALERTS, thread_ts=None, client=nowhere)
    result = LogsResult(
        service="api", asked="api --lines 500", args=LogsArgs.parse("api --lines 500"),
        source=LogSource("railway", "runtime"), fetched_at=datetime(2025, 11, 20, 12, 0, tzinfo=UTC),
        records=tuple(make_record(f"GET /health 200 {n}ms") for n in range(500)), scanned=500, matched=500,
        fetch_limit=500,
    )
    outcome = await deliver(result, place)

    assert len(posted) == 2
    assert posted[0]["blocks"][1]["text"]["text"].startswith("```")  # the first lines went out
    assert posted[1]["text"].startswith(":warning: Could not attach `logs-api-20251120-120000.txt` (")
    assert "file not attached" in outcome
