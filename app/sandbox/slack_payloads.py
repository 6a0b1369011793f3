"""Requests exactly as Slack sends them to `/slack/events`, signed with the signing secret.

The sandbox Slack (and so the console and the demo) builds its requests here, and so do the tests:
one definition of what Slack sends. It is Slack's behaviour, not pitcrew's, so it lives with the
rest of the imitated outside world. Shapes follow Slack's docs and the payload samples in
shared/refdata/slack; the signature is Slack's v0 scheme ("Verifying requests from Slack":
HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret), computed by the Slack SDK.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0PITCREW"
API_APP_ID = "A0PITCREW"


def slash_command(
    command: str, text: str, *, user_id: str, channel_id: str, response_url: str, trigger_id: str = "1337.42.abcd"
) -> bytes:
    """The form-encoded body of a slash command invocation."""
    return urlencode(
        {
            "token": "verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "sandbox",
            "channel_id": channel_id,
            "channel_name": "alerts",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    ).encode()


def block_action(
    action: dict[str, Any],
    *,
    user_id: str,
    channel_id: str,
    message: dict[str, Any],
    response_url: str,
    container_ts: str | None = None,
    thread_ts: str | None = None,
    trigger_id: str = "1337.42.abcd",
) -> bytes:
    """The `payload=` form body of a button click (`block_actions`)."""
    ts = container_ts or message.get("ts", "")
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        },
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "sandbox"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "alerts"},
        "message": {
            "type": "message",
            "user": "U0PITCREW",
            "bot_id": "B0PITCREW",
            **message,
            "ts": ts,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_state(view: dict[str, Any], answers: dict[str, str | None]) -> dict[str, Any]:
    """A modal's `state.values` after a person filled it in: {block_id: {action_id: element state}}.

    `answers` maps an input block's block_id to what was typed or the value of the option chosen
    (None or absent: left empty). Slack reports every input block, a text input with `value`
    (null when empty) and a static select with `selected_option` (the whole option, or null),
    as its "Reference: view state" and the view_submission samples in shared/refdata/slack show.
    """
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if block.get("type") != "input" or not block.get("block_id") or not element.get("action_id"):
            continue
        answer = answers.get(block["block_id"])
        kind = element.get("type", "plain_text_input")
        if kind == "static_select":
            chosen = next((o for o in element.get("options") or [] if o.get("value") == answer), None)
            state: dict[str, Any] = {"type": kind, "selected_option": chosen}
        else:
            state = {"type": kind, "value": answer or None}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def view_submission(
    view: dict[str, Any], answers: dict[str, str | None], *, user_id: str, view_id: str,
    trigger_id: str = "1337.42.view",
) -> bytes:
    """The `payload=` form body of a modal's Submit (`view_submission`), shaped as
    shared/refdata/slack/java-sdk-json-logs-samples/app-backend/views/ViewSubmissionPayload.json."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "sandbox"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": "verification-token-unused",
        "trigger_id": trigger_id,
        "view": {
            **view, "id": view_id, "team_id": TEAM_ID, "app_id": API_APP_ID,
            "state": {"values": view_state(view, answers)},
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def app_mention(
    text: str,
    *,
    user_id: str,
    channel_id: str,
    ts: str,
    thread_ts: str | None = None,
    bot_user_id: str = "U0PITCREW",
    event_id: str | None = None,
) -> bytes:
    """The JSON body of an Events API `app_mention` delivery."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user_id,
        "text": f"<@{bot_user_id}> {text}",
        "ts": ts,
        "channel": channel_id,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return json.dumps(
        {
            "token": "verification-token-unused",
            "team_id": TEAM_ID,
            "api_app_id": API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{ts.replace('.', '')}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": bot_user_id, "is_bot": True}],
        }
    ).encode()


def signed_headers(
    body: bytes, signing_secret: str, *, timestamp: int | None = None, content_type: str
) -> dict[str, str]:
    """The headers Slack adds: its timestamp and the v0 HMAC signature over `v0:{ts}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
