"""Forms in the console: a button or command that opens a Slack modal asks its fields line by line
and submits them as the `view_submission` Slack would send, through the app's /slack/events.

Each test types lines as a person would and reads the transcript; the requests the fake Slack
delivered are read off the wire (`recorded`), and the incident's state off `/incident`.
"""

from __future__ import annotations

import io
from typing import Any

from app.console.session import ConsoleSession
from tests.console.test_console import ME, catalog_for, post_as_app, recorded, settings_for


async def typed(db_url: str, url: str, lines: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """The transcript of `lines`, and the form submissions the app received."""
    out = io.StringIO()
    async with ConsoleSession(settings_for(db_url), catalog_for(url), user_id=ME, out=out) as session:
        recorder = recorded(session)
        assert await session.run(lines) == 0
    return out.getvalue(), [p for p in recorder.payloads if p.get("type") == "view_submission"]


async def test_the_declare_form_asks_each_field_and_declares(db_url: str, service: Any) -> None:
    _, url = service
    text, sent = await typed(db_url, url, [
        "/incident declare",
        "",  # Title is required: asked again
        "Checkout   fails",
        "SEV9",  # not an option: asked again
        "2",
        "",  # Service is optional: left empty
        "card payments time out \\",  # a line ending in \ goes on
        "since 14:00",
        "/incident",
    ])
    assert "pitcrew opened a form: Declare an incident" in text
    assert "  Title: \n  Title is required: type it, or `cancel` to close the form\n  Title: Checkout   fails\n" in text
    assert "    2. SEV2 (P1) — " in text
    assert "  Severity: SEV9\n  choose Severity by its number (1 to 4) or its value\n  Severity: 2\n" in text
    assert "  Service (optional): \n" in text
    assert len(sent) == 1
    values = sent[0]["view"]["state"]["values"]
    assert values["title"]["title"] == {"type": "plain_text_input", "value": "Checkout   fails"}
    assert values["severity"]["severity"]["selected_option"]["value"] == "SEV2"
    assert values["service"]["service"] == {"type": "static_select", "selected_option": None}
    assert values["description"]["description"]["value"] == "card payments time out\nsince 14:00"
    assert sent[0]["user"]["id"] == ME
    assert "🔴 SEV2 INC-1: Checkout   fails" in text
    assert "form closed" not in text and "Traceback" not in text


async def test_a_default_is_shown_and_enter_keeps_it(db_url: str, service: Any) -> None:
    _, url = service
    text, sent = await typed(db_url, url, ["/incident declare SEV3", "Slow search", "", "", ""])
    assert "  Severity [SEV3 (P2) — " in text
    assert sent[0]["view"]["state"]["values"]["severity"]["severity"]["selected_option"]["value"] == "SEV3"
    assert "SEV3 INC-1: Slow search" in text


async def test_the_incident_buttons_post_an_update_and_resolve(db_url: str, service: Any) -> None:
    _, url = service
    text, sent = await typed(db_url, url, [
        "/incident declare SEV2 Checkout fails",
        "click 2", "Pool exhausted, restarting", "identified",
        "click 3", "Restarted the pool",
        "/incident 1",
    ])
    assert "pitcrew opened a form: Update INC-1\n  INC-1 — Checkout fails\n" in text
    assert "  Move to another state (now: investigating) (optional): identified\n" in text
    assert "investigating → identified: Pool exhausted, restarting" in text
    assert "pitcrew opened a form: Resolve INC-1" in text
    assert "INC-1 Resolved after" in text and "Restarted the pool" in text
    assert [p["view"]["callback_id"] for p in sent] == ["incident.update", "incident.resolve"]
    assert "cannot fill in forms" not in text


async def test_cancel_closes_the_form_and_sends_nothing(db_url: str, service: Any) -> None:
    _, url = service
    text, sent = await typed(db_url, url, [
        "/incident declare SEV2 Checkout fails", "click 3", "cancel", "/incident",
    ])
    assert "  Summary: cancel\nform closed: nothing was sent\n" in text
    assert sent == []
    assert "Resolved" not in text


async def test_the_end_of_input_inside_a_form_sends_nothing(db_url: str, service: Any) -> None:
    _, url = service
    text, sent = await typed(db_url, url, ["/incident declare SEV2 Checkout fails", "click 3"])
    assert text.endswith("form closed: nothing was sent\n")
    assert sent == []


async def test_fields_the_app_refuses_are_asked_again_with_its_note(db_url: str, service: Any) -> None:
    """The app answers `response_action: errors` for a field the form let through: the console says
    why and asks that field again, keeping the other answers."""
    _, url = service
    out = io.StringIO()
    async with ConsoleSession(settings_for(db_url), catalog_for(url), user_id=ME, out=out) as session:
        recorder = recorded(session)
        await session.run(["/incident declare SEV2 Checkout fails"])
        # The update form, but with its text optional, so the console lets an empty one through.
        await post_as_app(session.slack, "views.open", trigger_id="1337.42.abcd", view={
            "type": "modal", "callback_id": "incident.update", "private_metadata": "1",
            "title": {"type": "plain_text", "text": "Update INC-1"},
            "blocks": [{
                "type": "input", "block_id": "text", "optional": True,
                "label": {"type": "plain_text", "text": "Status update"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }],
        })
        await session.run(["", "Found it"])
    text = out.getvalue()
    assert (
        "  Status update (optional): \n! Status update: Write the update: what is known, what is being done.\n"
        "  Status update (optional): Found it\n"
    ) in text
    sent = [p for p in recorder.payloads if p.get("type") == "view_submission"]
    assert [p["view"]["state"]["values"]["text"]["text"]["value"] for p in sent] == [None, "Found it"]
    assert "Found it" in text.split("Status update (optional): Found it\n")[1]
