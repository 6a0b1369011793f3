"""`/slack/events` under attack and while the database is away: requests of another workspace or app,
a malformed timestamp, a client that hangs up, what /healthz tells the outside, and commands that
arrive while pitcrew cannot reach its database.

Requests are signed as Slack signs them and sent to the app served over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from app.sandbox import slack_payloads as payloads
from app.slack.stored_requests import sealed_payload
from app.store import audit as audit_store
from app.store.models import Job
from tests.fixtures import ALERTS, OPERATOR, catalog_from, running_pitcrew, signed

UNREACHABLE_DB = "postgresql://postgres@127.0.0.1:1/nothing"
CLICK_MESSAGE = {"text": "INC-1", "blocks": [], "ts": "1700000000.000100"}


def _catalog():  # type: ignore[no-untyped-def]
    return catalog_from({"api": {"provider": "http", "health": {"url": "http://127.0.0.1:9/health", "timeout_s": 1}}})


async def _jobs(pitcrew: Any) -> int:
    async with pitcrew.deps.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(Job.kind == "slack.request")) or 0)


async def _audited(pitcrew: Any, outcome_prefix: str, count: int = 1) -> list[Any]:
    async with asyncio.timeout(10):
        while True:
            found = [
                e async for e in audit_store.entries(pitcrew.deps.sessions) if e.outcome.startswith(outcome_prefix)
            ]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)


def _click(fake_slack: Any, action_id: str = "incident.ack") -> bytes:
    return payloads.block_action(
        {"type": "button", "action_id": action_id, "block_id": "b1", "value": "1", "text": {"type": "plain_text"}},
        user_id=OPERATOR,
        channel_id=ALERTS,
        message=CLICK_MESSAGE,
        response_url=fake_slack._new_response_url(ALERTS, OPERATOR, CLICK_MESSAGE["ts"]),
    )


async def _post(pitcrew: Any, body: bytes, content_type: str, **headers: str) -> Any:
    return await pitcrew.http.post(
        "/slack/events", content=body, headers={**signed(pitcrew.slack, body, content_type), **headers}
    )


# --- another workspace, another app -----------------------------------------------------------------


@pytest.mark.parametrize("setting", [{"SLACK_TEAM_ID": "T0ELSEWHERE"}, {"SLACK_APP_ID": "A0SOMEOTHER"}])
async def test_requests_of_another_workspace_or_app_are_refused_and_audited(db_url, fake_slack, setting):
    async with running_pitcrew(db_url, _catalog(), fake_slack, **setting) as pitcrew:
        deferred = await pitcrew.command("/health", "")  # stored before Bolt when served
        assert deferred.status_code == 200
        assert deferred.json()["response_type"] == "ephemeral"
        assert "another Slack workspace or app" in deferred.json()["text"]
        at_once = await pitcrew.command("/rollback", "api")
        assert at_once.status_code == 200 and at_once.json()["response_type"] == "ephemeral"
        mention = await fake_slack.mention("health", user=OPERATOR, channel=ALERTS, thread_ts="1700000000.000001")
        assert mention.status_code == 200  # a 2xx: Slack must not deliver it again
        click = await _post(pitcrew, _click(fake_slack), payloads.FORM)
        assert click.status_code == 200
        entries = await _audited(pitcrew, "refused: another workspace or app", count=4)
        assert {e.actor for e in entries} == {OPERATOR}
        await asyncio.sleep(0.3)  # anything the app would have done after its ack
        assert await _jobs(pitcrew) == 0
        assert fake_slack.calls_to("response_url") == []
        assert fake_slack.calls_to("chat.postMessage") == []
        assert fake_slack.calls_to("chat.postEphemeral") == []


async def test_requests_of_the_configured_workspace_and_app_are_served(db_url, fake_slack):
    ids = {"SLACK_TEAM_ID": payloads.TEAM_ID, "SLACK_APP_ID": payloads.API_APP_ID}
    async with running_pitcrew(db_url, _catalog(), fake_slack, **ids) as pitcrew:
        assert (await pitcrew.command("/health", "")).status_code == 200
        [answer] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        assert "api" in answer.args["text"]


async def test_a_stored_request_of_another_workspace_is_refused_when_replayed(db_url, fake_slack):
    """A request stored before SLACK_TEAM_ID was set (or by an instance without it) is checked again."""
    async with running_pitcrew(db_url, _catalog(), fake_slack, SLACK_TEAM_ID="T0ELSEWHERE") as pitcrew:
        form = {
            "command": "/health",
            "text": "",
            "team_id": payloads.TEAM_ID,
            "api_app_id": payloads.API_APP_ID,
            "user_id": OPERATOR,
            "channel_id": ALERTS,
            "response_url": fake_slack._new_response_url(ALERTS, OPERATOR),
            "trigger_id": "1.2.3",
        }
        # Sealed as the intake seals what it stores: only the workspace check may refuse it.
        await pitcrew.deps.run_soon("slack.request", sealed_payload(pitcrew.deps, "slack.request", form))
        await _audited(pitcrew, "refused: another workspace or app")
        await pitcrew.jobs_settled()
        assert fake_slack.calls_to("response_url") == []


# --- malformed requests, hang-ups, what the outside is told ------------------------------------------


@pytest.mark.parametrize("content_type", [payloads.FORM, payloads.JSON])
async def test_a_timestamp_that_is_not_a_number_is_401_not_500(db_url, fake_slack, content_type):
    async with running_pitcrew(db_url, _catalog(), fake_slack) as pitcrew:
        body = (
            payloads.slash_command("/health", "", user_id=OPERATOR, channel_id=ALERTS, response_url="http://x/")
            if content_type == payloads.FORM
            else payloads.app_mention("health", user_id=OPERATOR, channel_id=ALERTS, ts="1700000000.000009")
        )
        for timestamp in ("not-a-number", "1e9", ""):
            response = await _post(pitcrew, body, content_type, **{"x-slack-request-timestamp": timestamp})
            assert response.status_code == 401, (timestamp, response.text)


async def test_a_client_that_hangs_up_mid_body_is_one_log_line_without_traceback(db_url, fake_slack, caplog):
    caplog.set_level(logging.INFO)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    uvicorn_error = logging.getLogger("uvicorn.error")  # uvicorn logs there, without propagating
    try:
        async with running_pitcrew(db_url, _catalog(), fake_slack) as pitcrew:
            uvicorn_error.addHandler(keep)  # once uvicorn has configured its loggers (which drops handlers)
            host, port = pitcrew.url.removeprefix("http://").split(":")
            for _ in range(3):
                _reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(
                    b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0=00\r\n".encode()
                    + b"Content-Length: 1000\r\n\r\n{\"type\": \"event_"
                )
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.close()
                await writer.wait_closed()
            await asyncio.sleep(0.5)  # the app notices the hang-ups
            assert (await pitcrew.http.get("/healthz")).status_code == 200
    finally:
        uvicorn_error.removeHandler(keep)
    records = [*caplog.records, *seen]
    assert not [r for r in records if r.exc_info or r.exc_text], [r.getMessage() for r in records if r.exc_info]
    hangups = [r for r in records if "disconnected" in r.getMessage()]
    assert len(hangups) == 3, [r.getMessage() for r in records]


async def test_healthz_tells_the_outside_only_that_the_database_is_unreachable(fake_slack, caplog):
    caplog.set_level(logging.WARNING)
    async with running_pitcrew(UNREACHABLE_DB, _catalog(), fake_slack) as pitcrew:
        response = await pitcrew.http.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "db": "unreachable"}
    assert "127.0.0.1" in caplog.text  # the driver's reason, host included, is for the log


# --- the database is away ---------------------------------------------------------------------------


async def test_commands_while_the_database_is_away_are_answered_with_why(fake_slack):
    async with running_pitcrew(UNREACHABLE_DB, _catalog(), fake_slack) as pitcrew:
        for command, text in (("/health", ""), ("/incident", "declare SEV2 checkout down"), ("/logs", "api")):
            response = await pitcrew.command(command, text)
            assert response.status_code == 200, response.text
            assert response.json()["response_type"] == "ephemeral", command
            assert "pitcrew cannot reach its database" in response.json()["text"], command


async def test_clicks_and_mentions_while_the_database_is_away_get_a_private_note(fake_slack):
    async with running_pitcrew(UNREACHABLE_DB, _catalog(), fake_slack) as pitcrew:
        click = await _post(pitcrew, _click(fake_slack), payloads.FORM)
        assert click.status_code == 200
        [note] = await fake_slack.wait_for(lambda c: c.method == "response_url")
        assert note.args["response_type"] == "ephemeral" and note.args.get("replace_original") is False
        assert "pitcrew cannot reach its database" in note.args["text"]
        mention = await fake_slack.mention("health", user=OPERATOR, channel=ALERTS, thread_ts="1700000000.000001")
        assert mention.status_code == 200
        [private] = await fake_slack.wait_for(lambda c: c.method == "chat.postEphemeral")
        assert private.args["user"] == OPERATOR and private.args["thread_ts"] == "1700000000.000001"
        assert "pitcrew cannot reach its database" in private.args["text"]


async def test_unsigned_requests_learn_nothing_of_the_database(fake_slack):
    async with running_pitcrew(UNREACHABLE_DB, _catalog(), fake_slack) as pitcrew:
        body = payloads.slash_command("/health", "", user_id=OPERATOR, channel_id=ALERTS, response_url="http://x/")
        stale = payloads.signed_headers(
            body, fake_slack.signing_secret, timestamp=int(time.time()) - 600, content_type=payloads.FORM
        )
        response = await pitcrew.http.post("/slack/events", content=body, headers=stale)
        assert response.status_code == 401
        assert "database" not in response.text
