"""The console end to end: lines in, the real Bolt app over a FakeSlack, a transcript out.

Each test runs on SQLite and on PostgreSQL (the `db_url` fixture) against a real sample service
served over loopback HTTP, and asserts on what a person would read.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from app.catalog import Catalog, parse_catalog
from app.console.session import HELP, ConsoleSession, console_main
from app.sandbox.slack import FakeSlack
from app.settings import Settings
from app.slack.render.common import actions, button, confirm_dialog, message, section
from tests.fixtures import UNRESOLVABLE_DSN, closed_port_url

ALERTS = "C0ALERTS"
ME = "U0CONSOLE"


def catalog_for(service_url: str) -> Catalog:
    return parse_catalog(
        f"""
slack: {{alerts_channel: {ALERTS}, operators: [U0OPS1]}}
services:
  api:
    provider: http
    health: {{url: "{service_url}/health", expect_json: {{status: ok}}}}
"""
    )


def settings_for(db_url: str) -> Settings:
    # Real-looking Slack values that the console must ignore in favour of its fake's.
    return Settings(
        DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-real-token", SLACK_SIGNING_SECRET="real-secret",
        SLACK_API_URL="http://127.0.0.1:9/api/",
    )


async def transcript(db_url: str, service_url: str, lines: list[str], **kwargs: Any) -> str:
    out = io.StringIO()
    async with ConsoleSession(
        settings_for(db_url), catalog_for(service_url), user_id=ME, out=out, **kwargs
    ) as session:
        assert await session.run(lines) == 0
    return out.getvalue()


async def post_as_app(slack: FakeSlack, method: str, **args: Any) -> dict[str, Any]:
    """What the app would send, sent straight to the fake's Web API over HTTP."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            slack.api_url + method, json=args, headers={"Authorization": f"Bearer {slack.token}"}
        )
    body: dict[str, Any] = response.json()
    assert body["ok"], body
    return body


class Recorder:
    """Every request the fake delivers to the app, read off an httpx hook on the way there."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def __call__(self, request: httpx.Request) -> None:
        form = parse_qs(request.content.decode())
        if "payload" in form:
            self.payloads.append(json.loads(form["payload"][0]))

    def clicks(self) -> list[dict[str, Any]]:
        return [p for p in self.payloads if p.get("type") == "block_actions"]


def recorded(session: ConsoleSession) -> Recorder:
    recorder = Recorder()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=session.web_app), base_url="http://pitcrew",
        event_hooks={"request": [recorder]},
    )
    session.slack.connect_app(client)
    return recorder


# --- /health and @pitcrew -----------------------------------------------------------------------
async def test_health_prints_the_card_with_the_service_line(db_url: str, service: Any) -> None:
    sample, url = service
    text = await transcript(db_url, url, ["/health", "quit"])
    lines = text.splitlines()
    assert lines[0] == (
        f"pitcrew console: you are {ME} in #{ALERTS}. Type help for what you can do, quit to leave."
    )
    assert lines[1] == "> /health"
    assert lines[2] == "#1 🟢 api ok"
    assert "   🟢 api (http): ok" in lines
    assert any(line.startswith(f"   • GET {url}/health: HTTP 200") for line in lines)
    assert sample.requests == 1
    assert lines[-1] == "> quit"
    assert "\x1b[" not in text


async def test_the_health_card_says_why_it_offers_no_button(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Railway that does not answer and a database whose host does not resolve: no [n] to press."""
    monkeypatch.setenv("APP_DATABASE_URL", UNRESOLVABLE_DSN)
    catalog = parse_catalog(f"""
slack: {{alerts_channel: {ALERTS}, operators: [U0OPS1]}}
services:
  api: {{provider: railway, railway: {{project_id: p1, environment_id: e1, service_id: s1}}}}
  db: {{provider: postgres, postgres: {{dsn_env: APP_DATABASE_URL, timeout_s: 2}}}}
""")
    settings = settings_for(db_url).model_copy(
        update={"RAILWAY_API_URL": closed_port_url(), "RAILWAY_API_TOKEN": SecretStr("console-railway-token")}
    )
    out = io.StringIO()
    async with ConsoleSession(settings, catalog, user_id=ME, out=out) as session:
        assert await session.run(["/health"]) == 0
    text = out.getvalue()
    assert "Railway could not be reached: no actions offered." in text
    assert "The database could not be reached: no actions offered." in text
    assert "[1]" not in text and "Restart api" not in text and "End idle sessions" not in text


async def test_a_service_that_is_down_shows_as_down(db_url: str, service: Any) -> None:
    sample, url = service
    sample.down()
    text = await transcript(db_url, url, ["/health api"])
    assert "#1 🔴 api down" in text
    assert "🔴 api (http): down" in text
    assert "503" in text


async def test_unknown_service_gets_the_usage_only_for_you(db_url: str, service: Any) -> None:
    _, url = service
    text = await transcript(db_url, url, ["/health nosuch"])
    assert "> /health nosuch\n#1 (only you) Unknown service: nosuch\n" in text
    assert "\n   Usage: /health [service ...]" in text
    assert "   Known services: api" in text


async def test_a_mention_in_the_channel_is_answered_in_its_thread_and_thread_n_replies_there(
    db_url: str, service: Any
) -> None:
    sample, url = service
    lines = ["@pitcrew health", "thread 1", "@pitcrew health api", "leave", "/health"]
    text = await transcript(db_url, url, lines)
    assert f"> @pitcrew health\n#1 {ME}: @pitcrew health\n  ↳ #2 (thread #1) 🟢 api ok\n" in text
    assert f"> thread 1\nin the thread of #1: @pitcrew lines go there; `leave` goes back to #{ALERTS}\n" \
        in text
    assert f"  ↳ #3 (thread #1) {ME}: @pitcrew health api\n  ↳ #4 (thread #1) 🟢 api ok\n" in text
    assert f"> leave\nback in #{ALERTS}\n> /health\n#5 🟢 api ok\n" in text
    assert sample.requests == 3


async def test_each_line_s_answer_is_printed_before_the_next_line(db_url: str, service: Any) -> None:
    sample, url = service
    sample.slow(300)  # the probe outlasts the ack by far: the console must wait for the card
    text = await transcript(db_url, url, ["/health", "help"])
    assert text.index("#1 🟢 api ok") < text.index("> help")


# --- console commands and bad input -------------------------------------------------------------
async def test_help_and_every_bad_line_get_one_clear_line(db_url: str, service: Any) -> None:
    _, url = service
    text = await transcript(db_url, url, [
        "help", "what now", "click 99", "click", "thread 5", "leave", "as nobody", "@someone hi", "/nosuch",
        "/bad!cmd",
    ])
    assert "> help\nType what you would type in Slack:\n" in text
    assert "  click N " in text and "  quit " in text
    expected = [
        ("> what now", "don't know 'what now': type a /command, @pitcrew <verb>, click N, thread N, as U123, "
                       "help or quit"),
        ("> click 99", "no button [99]: no buttons yet"),
        ("> click", "click needs a button number, like `click 3`"),
        ("> thread 5", "no message #5: no messages yet"),
        ("> leave", f"you are not in a thread (you are in #{ALERTS})"),
        ("> as nobody",
         "'nobody' is not a Slack user id (expected U or W, then capitals and digits, like U0123ABC)"),
        ("> @someone hi", "only @pitcrew listens here, not @someone: try `@pitcrew help`"),
        ("> /nosuch", "pitcrew has no /nosuch command (type help)"),
        ("> /bad!cmd", "'/bad!cmd' is not a slash command: letters, digits, - or _ after /"),
    ]
    for line, answer in expected:
        assert f"{line}\n{answer}\n" in text
    assert "Traceback" not in text


async def test_numbers_that_do_not_exist_name_the_ones_that_do(db_url: str, service: Any) -> None:
    _, url = service
    text = await transcript(db_url, url, ["/health", "thread 5", "click 1"])
    assert "> thread 5\nno message #5: messages on screen are #1 to #1\n" in text
    assert "> click 1\nno button [1]: no buttons yet\n" in text


async def test_end_of_input_ends_the_session(db_url: str, service: Any) -> None:
    _, url = service
    text = await transcript(db_url, url, ["help"])
    assert text.endswith(HELP + "\n")  # nothing after the last line's answer: no prompt, no error


# --- buttons ------------------------------------------------------------------------------------
def restart_card(service: str = "api") -> dict[str, Any]:
    return message(f"Restart {service}?", [
        section(f"Restart *{service}*?"),
        actions(
            button("console.test.restart", f"Restart {service}", "p-1", style="danger",
                   confirm=confirm_dialog(f"Restart {service}?", "It drops *every* connection.")),
            button("console.test.cancel", "Cancel", "p-1"),
        ),
    ])


async def test_a_confirm_dialog_answered_no_does_not_click_and_yes_does(db_url: str, service: Any) -> None:
    _, url = service
    out = io.StringIO()
    async with ConsoleSession(settings_for(db_url), catalog_for(url), user_id=ME, out=out) as session:
        recorder = recorded(session)
        await post_as_app(session.slack, "chat.postMessage", channel=ALERTS, **restart_card())
        await session.run(["click 1", "n"])
        assert recorder.clicks() == []
        await session.run(["click 1", "yes"])
        assert [c["actions"][0]["action_id"] for c in recorder.clicks()] == ["console.test.restart"]
        assert recorder.clicks()[0]["user"]["id"] == ME
    text = out.getvalue()
    assert "#1 Restart api?\n   [1] Restart api (danger)  [2] Cancel\n" in text
    prompt = "Restart api? — It drops every connection. [y/N] "
    assert f"> click 1\n{prompt}n\nnot clicked: [1] was left alone\n" in text
    assert f"> click 1\n{prompt}yes\nnothing in pitcrew handles the button “Restart api”\n" in text


async def test_a_button_without_confirm_is_clicked_as_the_current_user(db_url: str, service: Any) -> None:
    _, url = service
    out = io.StringIO()
    async with ConsoleSession(settings_for(db_url), catalog_for(url), user_id=ME, out=out) as session:
        recorder = recorded(session)
        await post_as_app(session.slack, "chat.postMessage", channel=ALERTS, **restart_card())
        await session.run(["as U0OTHER", "click 2"])
        clicks = recorder.clicks()
    assert "> as U0OTHER\nyou are now U0OTHER\n" in out.getvalue()
    pressed = [(c["actions"][0]["action_id"], c["user"]["id"]) for c in clicks]
    assert pressed == [("console.test.cancel", "U0OTHER")]
    assert clicks[0]["channel"]["id"] == ALERTS


async def test_edits_are_reprinted_with_the_same_numbers_and_a_removed_button_is_gone(
    db_url: str, service: Any
) -> None:
    _, url = service
    out = io.StringIO()
    async with ConsoleSession(settings_for(db_url), catalog_for(url), user_id=ME, out=out) as session:
        posted = await post_as_app(session.slack, "chat.postMessage", channel=ALERTS, **restart_card())
        await session.run(["help"])
        edited = message("Restarted", [
            section("Restarted *api*"), actions(button("console.test.cancel", "Cancel", "p-1")),
        ])
        await post_as_app(session.slack, "chat.update", channel=ALERTS, ts=posted["ts"], **edited)
        await post_as_app(session.slack, "chat.postMessage", channel="C0UPDATES", **restart_card("web"))
        await session.run(["click 1", "thread 1"])
    text = out.getvalue()
    assert "#1 (edited) Restarted api\n   [2] Cancel\n" in text
    assert "#2 (in #C0UPDATES) Restart web?\n   [3] Restart web (danger)  [4] Cancel\n" in text
    assert "> click 1\nbutton [1] is gone: message #1 was changed since\n" in text
    assert "> thread 1\nin the thread of #1:" in text


async def test_ephemeral_messages_have_no_thread(db_url: str, service: Any) -> None:
    _, url = service
    text = await transcript(db_url, url, ["/health help", "thread 1"])
    assert "#1 (only you) Usage: /health [service ...]" in text
    assert "> thread 1\nmessage #1 is visible only to you and has no thread\n" in text


async def test_an_error_in_the_app_is_one_line_after_what_it_sent(tmp_path: Any, service: Any) -> None:
    _, url = service
    unmigrated = tmp_path / "empty.db"
    unmigrated.touch()  # no tables: the card goes out, then recording the command in the audit trail fails
    text = await transcript(f"sqlite:///{unmigrated}", url, ["/health api", "help"])
    assert "#1 🟢 api ok" in text
    errors = [line for line in text.splitlines() if line.startswith("! ")]
    listener = [e for e in errors if e.startswith("! pitcrew error: Failed to run listener function")]
    assert len(listener) == 1 and "no such table" in listener[0]
    assert text.index("#1 🟢 api ok") < text.index(listener[0]) < text.index("> help")
    # The job runner polls the same missing tables; whether its first poll falls inside this short session
    # depends on the machine's load, but however often it fails, it is said once.
    claiming = [e for e in errors if e.startswith("! pitcrew error: claiming jobs failed")]
    assert len(claiming) <= 1 and all("no such table" in e for e in claiming)
    assert len(errors) == len(listener) + len(claiming)
    assert "Traceback" not in text


async def test_a_form_raised_without_anyone_to_answer_it_is_named_and_left(db_url: str, service: Any) -> None:
    _, url = service
    out = io.StringIO()
    async with ConsoleSession(settings_for(db_url), catalog_for(url), user_id=ME, out=out) as session:
        await post_as_app(session.slack, "views.open", trigger_id="1337.42.abcd", view={
            "type": "modal", "title": {"type": "plain_text", "text": "Declare an incident"}, "blocks": [],
        })
        assert await session.feed("help") is True
        assert await session.feed("quit") is False
    assert out.getvalue().endswith(
        "pitcrew opened a form: Declare an incident\n"
        "  answer each field; Enter keeps the [default], - leaves an optional field empty, `cancel` closes "
        "the form; the last answer presses “Submit”\n(form left unanswered: nothing here can answer it)\n"
    )
    assert "pitcrew console:" not in out.getvalue()  # feed() is one line, without run()'s greeting


# --- waiting ------------------------------------------------------------------------------------
async def test_work_outlasting_the_wait_limit_is_left_running_and_printed_when_it_arrives(
    db_url: str, service: Any
) -> None:
    sample, url = service
    sample.slow(1000)  # well within the 2 s that would make it degraded, far beyond the 0.05 s wait
    out = io.StringIO()
    async with ConsoleSession(
        settings_for(db_url), catalog_for(url), user_id=ME, out=out, wait_limit_s=0.05
    ) as session:
        await session.run(["/health"])
        assert "(pitcrew is still working after 0.05 s; moving on" in out.getvalue()
        assert "api ok" not in out.getvalue()
        session.wait_limit_s = 60
        sample.ok()
        await session.run(["/health"])  # the new line waits for its own work; the old card lands too
        await session.slack.wait_for(lambda call: call.method == "response_url", count=2)
        session.flush_events()
    assert out.getvalue().count("🟢 api ok") == 2


# --- console_main -------------------------------------------------------------------------------
async def test_console_main_runs_lines_into_out(db_url: str, service: Any) -> None:
    _, url = service
    out = io.StringIO()
    code = await console_main(
        settings_for(db_url), catalog_for(url), user_id="U0TRY", lines=_aiter(["/health"]), out=out
    )
    assert code == 0
    assert "you are U0TRY" in out.getvalue()
    assert "#1 🟢 api ok" in out.getvalue()
    assert "\x1b[" not in out.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_console_main_draws_emphasis_in_a_terminal_and_never_shows_the_markers(
    db_url: str, service: Any
) -> None:
    _, url = service
    tty, pipe = _Terminal(), io.StringIO()
    for out in (tty, pipe):
        code = await console_main(
            settings_for(db_url), catalog_for(url), user_id=ME, lines=["/health api"], out=out
        )
        assert code == 0
    assert "🟢 \x1b[1mapi\x1b[22m (http): ok" in tty.getvalue()
    assert "   🟢 api (http): ok" in pipe.getvalue() and "\x1b[" not in pipe.getvalue()
    assert "*api*" not in tty.getvalue() + pipe.getvalue()


async def test_console_main_refuses_a_wrong_user_id(db_url: str, service: Any, capsys: Any) -> None:
    _, url = service
    out = io.StringIO()
    assert await console_main(settings_for(db_url), catalog_for(url), user_id="bob", lines=[], out=out) == 2
    assert "--as 'bob' is not a Slack user id" in capsys.readouterr().err
    assert out.getvalue() == ""


async def _aiter(lines: list[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line
