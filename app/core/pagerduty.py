"""PagerDuty's two wire formats, as pure values: the Events API v2 event pitcrew sends, and the v3
webhook (its signature and the incident it names) PagerDuty sends back.

Kept in the core so the flow and the provider share one reading of them (the sandbox's stand-in,
app/sandbox/pagerduty.py, checks events with its own reading of the schema). Sources: the Events
API v2 "Send an Alert Event" reference
(https://developer.pagerduty.com/docs/events-API-v2/02-Trigger-Events.md: `routing_key`,
`event_action` trigger|acknowledge|resolve, `dedup_key` up to 255 characters, and for a trigger
`payload.summary` up to 1024 characters, `payload.source`, `payload.severity`
critical|error|warning|info) and the v3 webhooks' signature ("Verifying Signatures":
`X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>`, several comma-separated while a
secret is rotated).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

EventAction = Literal["trigger", "acknowledge", "resolve"]
EVENT_ACTIONS: tuple[str, ...] = ("trigger", "acknowledge", "resolve")
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255
# pitcrew's severities onto PagerDuty's four (SEV1 wakes people, SEV4 is information).
SEVERITY_OF = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
DEDUP_PREFIX = "pitcrew-INC-"
# The v3 event types that change the incident in pitcrew, and what they do there.
WEBHOOK_ACTIONS = {"incident.acknowledged": "acknowledge", "incident.resolved": "resolve"}


def dedup_key(incident_id: int) -> str:
    """One key per incident: every trigger, acknowledge and resolve of it lands on one PagerDuty alert."""
    return f"{DEDUP_PREFIX}{incident_id}"


def incident_of(key: str | None) -> int | None:
    """The pitcrew incident a dedup key (PagerDuty's `incident_key`) names; None for one pitcrew did not send."""
    if not key or not key.startswith(DEDUP_PREFIX):
        return None
    number = key[len(DEDUP_PREFIX):]
    return int(number) if number.isdigit() and len(number) < 18 else None


def event(
    routing_key: str, action: EventAction, incident_id: int, *, summary: str, source: str, severity: str
) -> dict[str, Any]:
    """The body of POST /v2/enqueue; a trigger carries the payload, acknowledge and resolve only the key."""
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(incident_id)}
    if action == "trigger":
        body["payload"] = {
            "summary": summary[:SUMMARY_MAX],
            "source": source,
            "severity": SEVERITY_OF.get(severity, "critical"),
        }
    return body


def signature(secret: str, body: bytes) -> str:
    """The `X-PagerDuty-Signature` value for `body` (one secret)."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether any `v1=` signature of the header is the body's under `secret` (compared in constant time)."""
    if not secret or not header:
        return False
    expected = signature(secret, body)
    return any(hmac.compare_digest(part.strip(), expected) for part in header.split(","))


@dataclass(frozen=True)
class PagerDutyChange:
    """A v3 webhook that acknowledges or resolves an incident pitcrew triggered."""

    incident_id: int
    action: Literal["acknowledge", "resolve"]
    by: str  # who did it in PagerDuty, as PagerDuty names them (escaped before it is posted)


def read_webhook(body: bytes) -> PagerDutyChange | None:
    """The change a v3 webhook body asks for; None for any other event or an incident pitcrew did not page.

    v3 bodies are `{"event": {"event_type", "agent": {"summary"}, "data": {"incident_key", ...}}}`.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    found = document.get("event") if isinstance(document, dict) else None
    if not isinstance(found, dict):
        return None
    action = WEBHOOK_ACTIONS.get(str(found.get("event_type")))
    data = found.get("data") if isinstance(found.get("data"), dict) else {}
    incident_id = incident_of(data.get("incident_key") if isinstance(data.get("incident_key"), str) else None)
    if action is None or incident_id is None:
        return None
    agent = found.get("agent") if isinstance(found.get("agent"), dict) else {}
    who = agent.get("summary") if isinstance(agent.get("summary"), str) else None
    return PagerDutyChange(incident_id, action, (who or "PagerDuty")[:100])  # type: ignore[arg-type]
