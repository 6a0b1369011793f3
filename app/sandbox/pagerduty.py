"""A stand-in for PagerDuty, served over real HTTP: its Events API v2 and its v3 webhooks.

`POST /v2/enqueue` checks each event against the Events API v2 schema (the required fields and
enums of https://developer.pagerduty.com/docs/events-API-v2/02-Trigger-Events.md, in
`app.core.pagerduty.schema_errors`) and answers as PagerDuty does: 202 with
`{"status": "success", "message": "Event processed", "dedup_key": ...}`, 400 with
`{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`, and, when told
to fail, 429 (PagerDuty's rate limit per routing key) or 500. Every accepted event is recorded in
`events`; the alert each dedup key opened keeps its status (triggered, acknowledged, resolved).

`send_webhook` posts a v3 webhook (`{"event": {"event_type", "agent", "data"}}`, the incident's
`incident_key` being the dedup key of the event that opened it) to a URL, signed as PagerDuty signs
them: `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>` with the subscription's secret
(PagerDuty's "Verifying Signatures" for v3 webhooks).

This is product code (it ships for the demo): nothing from tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.sandbox.server import LoopbackServer

# A routing key has the shape of PagerDuty's integration keys (32 characters).
SANDBOX_ROUTING_KEY = "R0UT1NGKEY0F0THE0SANDB0X00000000"
# PagerDuty answers a trigger/ack/resolve with the status the alert is then in.
_STATUS = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}


# The Events API v2 schema (https://developer.pagerduty.com/docs/events-API-v2/02-Trigger-Events.md),
# read here apart from pitcrew's own code, so the stand-in checks what pitcrew builds.
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255


def schema_errors(body: Any) -> list[str]:
    """What makes `body` an invalid Events API v2 alert event (empty when valid); the stand-in's check."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    errors = []
    if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
        errors.append("routing_key must be a 32-character string")
    if body.get("event_action") not in EVENT_ACTIONS:
        errors.append("event_action must be one of trigger, acknowledge, resolve")
    key = body.get("dedup_key")
    if key is not None and (not isinstance(key, str) or not key or len(key) > DEDUP_KEY_MAX):
        errors.append("dedup_key must be a string of 1-255 characters")
    if body.get("event_action") in ("acknowledge", "resolve") and key is None:
        errors.append("dedup_key is required to acknowledge or resolve")
    if body.get("event_action") == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            return [*errors, "payload is required for a trigger"]
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > SUMMARY_MAX:
            errors.append("payload.summary must be a string of 1-1024 characters")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            errors.append("payload.source is required")
        if payload.get("severity") not in SEVERITIES:
            errors.append("payload.severity must be one of critical, error, warning, info")
    return errors


def signature(secret: str, body: bytes) -> str:
    """`X-PagerDuty-Signature` of a v3 webhook: `v1=` and the hex HMAC-SHA256 of the raw body."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class FakePagerDuty:
    """The events received (valid ones), the alerts they opened, and the faults to answer with next."""

    events: list[dict[str, Any]] = field(default_factory=list)
    refused: list[list[str]] = field(default_factory=list)
    alerts: dict[str, str] = field(default_factory=dict)  # dedup_key -> triggered | acknowledged | resolved
    faults: list[int] = field(default_factory=list)  # status codes to answer the next requests with
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/enqueue", self._enqueue, methods=["POST"])])

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[FakePagerDuty]:
        async with LoopbackServer(self.app()) as server:
            self.url = f"{server.url}/v2/enqueue"
            yield self

    async def _enqueue(self, request: Request) -> JSONResponse:
        if self.faults:
            status = self.faults.pop(0)
            # 429: "Too many requests" when a routing key sends too fast; 5xx: retry later.
            return JSONResponse({"status": "throttled" if status == 429 else "error", "message": "try again later"},
                                status_code=status)
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        errors = schema_errors(body)
        if errors:
            self.refused.append(errors)
            return JSONResponse({"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                                status_code=400)
        key = body.get("dedup_key") or f"pd-{len(self.events) + 1}"
        self.events.append(body)
        action = body["event_action"]
        if action == "trigger" or key in self.alerts:  # ack/resolve of an unknown key changes nothing
            self.alerts[key] = _STATUS[action]
        return JSONResponse({"status": "success", "message": "Event processed", "dedup_key": key}, status_code=202)

    def of_action(self, action: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event_action"] == action]


def webhook_body(event_type: str, incident_key: str, *, who: str = "Jane Doe", status: str | None = None) -> bytes:
    """A v3 webhook body for the incident PagerDuty opened under `incident_key` (a dedup key)."""
    document = {
        "event": {
            "id": "01" + hashlib.sha256(f"{event_type} {incident_key}".encode()).hexdigest()[:24].upper(),
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-03-02T09:10:00.000Z",
            "agent": {"id": "PUSER01", "type": "user_reference", "summary": who},
            "data": {
                "id": "Q0PDINCIDENT",
                "type": "incident",
                "status": status or event_type.removeprefix("incident."),
                "incident_key": incident_key,
                "title": "paged by pitcrew",
            },
        }
    }
    return json.dumps(document).encode()


async def send_webhook(
    url: str, event_type: str, incident_key: str, *, secret: str, who: str = "Jane Doe"
) -> httpx.Response:
    """POST a signed v3 webhook to `url`, as a PagerDuty webhook subscription does."""
    body = webhook_body(event_type, incident_key, who=who)
    headers = {"content-type": "application/json", "x-pagerduty-signature": signature(secret, body),
               "user-agent": "PagerDuty-Webhook/V3.0"}
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, content=body, headers=headers)
