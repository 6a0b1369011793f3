"""The PagerDuty wire formats: events valid per the Events API v2 schema (as the stand-in reads
it), the v3 signature (several while a secret rotates), and which webhooks name an incident of pitcrew's."""

from __future__ import annotations

import json

from app.core import pagerduty as pd
from app.sandbox.pagerduty import schema_errors, signature

KEY = "R0UT1NGKEY0F0THE0SANDB0X00000000"


def test_the_events_pitcrew_builds_are_valid():
    for action in pd.EVENT_ACTIONS:
        body = pd.event(KEY, action, 7, summary="x" * 2000, source="api", severity="SEV3")  # type: ignore[arg-type]
        assert schema_errors(body) == []
        assert body["dedup_key"] == "pitcrew-INC-7"
    trigger = pd.event(KEY, "trigger", 7, summary="s", source="api", severity="SEV3")
    assert trigger["payload"]["severity"] == "warning"
    long = pd.event(KEY, "trigger", 7, summary="x" * 2000, source="a", severity="SEV1")
    assert len(long["payload"]["summary"]) == 1024


def test_invalid_events_are_named():
    assert schema_errors([]) == ["the body is not a JSON object"]
    errors = schema_errors({"routing_key": "short", "event_action": "page"})
    assert any("routing_key" in e for e in errors) and any("event_action" in e for e in errors)
    assert schema_errors({"routing_key": KEY, "event_action": "resolve"}) == [
        "dedup_key is required to acknowledge or resolve"]
    bad = {"routing_key": KEY, "event_action": "trigger", "payload": {"summary": "", "severity": "sev1"}}
    assert len(schema_errors(bad)) == 3


def test_signatures():
    body = b'{"event": {}}'
    good = signature("s3cret", body)  # as the stand-in (PagerDuty) signs
    assert good == pd.signature("s3cret", body)
    assert pd.signature_valid("s3cret", body, good)
    assert pd.signature_valid("s3cret", body, f"{signature('old', body)}, {good}")  # rotation
    assert not pd.signature_valid("s3cret", body + b" ", good)
    assert not pd.signature_valid("s3cret", body, None)
    assert not pd.signature_valid("", body, pd.signature("", body))  # no secret set: nothing passes


def _webhook(event_type: str, key: object, agent: object = None) -> bytes:
    return json.dumps({"event": {"event_type": event_type, "agent": agent or {"summary": "Jane"},
                                 "data": {"incident_key": key}}}).encode()


def test_webhooks_for_pitcrew_incidents():
    assert pd.read_webhook(_webhook("incident.acknowledged", "pitcrew-INC-3")) == pd.PagerDutyChange(
        3, "acknowledge", "Jane")
    assert pd.read_webhook(_webhook("incident.resolved", "pitcrew-INC-3", {"id": "P1"})).by == "PagerDuty"  # type: ignore[union-attr]
    for ignored in (_webhook("incident.triggered", "pitcrew-INC-3"), _webhook("incident.resolved", "other-3"),
                    _webhook("incident.resolved", "pitcrew-INC-x"), _webhook("incident.resolved", 3),
                    b"not json", b"[]", b'{"event": 1}'):
        assert pd.read_webhook(ignored) is None
