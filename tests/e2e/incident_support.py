"""What the incident end-to-end tests share: the incident catalog, what reached the fake Slack, and
webhook samples as the monitoring tools send them.

The running app, its clock and its job runner (`Pitcrew`, whose `webhook()` and `submit()` post as
the tools and Slack do) come from `tests/fixtures.py`: jobs fall due by the app's own clock and
`run_jobs()` runs them, so a test reaches "15 minutes later" at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from app.catalog import IncidentsConfig
from app.sandbox.slack import FakeSlack, SlackCall, SlackMessage
from tests.fixtures import ALERTS, UPDATES, Clock, Pitcrew, catalog_from, pitcrew_with_jobs
from tests.refdata import REFDATA, strip_jsonc

WEBHOOKS = REFDATA / "webhooks"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ESCALATION = [
    {"after_minutes": 0, "notify": ["S0ONCALL"]},
    {"after_minutes": 30, "notify": ["U0LEAD"]},
    {"after_minutes": 60, "notify": ["U0CTO"], "severities": ["SEV1"]},
]


def incident_catalog(services: dict[str, Any] | None = None, **incidents: Any):  # type: ignore[no-untyped-def]
    base = (
        services
        if services is not None
        else {
            "api": {"provider": "http", "health": {"url": "https://api.example.com/health"}},
            "web": {"provider": "http", "health": {"url": "https://www.example.com/"}},
        }
    )
    catalog = catalog_from(base, escalation=ESCALATION)
    if incidents:
        validated = IncidentsConfig.model_validate({**catalog.incidents.model_dump(), **incidents})  # as pitcrew.yml
        catalog = catalog.model_copy(update={"incidents": validated})
    return catalog


def pitcrew_for_incidents(
    db_url: str, slack: FakeSlack, *, catalog: Any = None, clock: Clock | None = None, **settings: Any
) -> AbstractAsyncContextManager[Pitcrew]:
    """pitcrew on the incident catalog (or `catalog`), a clock at START (or `clock`) and SECRET for webhooks."""
    return pitcrew_with_jobs(db_url, catalog or incident_catalog(), slack, clock=clock or Clock(START), **settings)


# --- what reached the fake Slack --------------------------------------------------------------------


def posts(slack: FakeSlack, channel: str, *, thread_ts: str | None = None, top_level: bool = False) -> list[SlackCall]:
    found = [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]
    if thread_ts is not None:
        found = [c for c in found if c.args.get("thread_ts") == thread_ts]
    if top_level:
        found = [c for c in found if not c.args.get("thread_ts")]
    return found


def roots(slack: FakeSlack) -> list[SlackMessage]:
    """Root messages of incidents in the alerts channel, in posting order."""
    return [m for m in slack.messages if m.channel == ALERTS and not m.thread_ts and _is_root(m)]


def _is_root(message: SlackMessage) -> bool:
    return any(b.get("type") == "header" for b in message.blocks) and "INC-" in message.text


def thread(slack: FakeSlack, root: SlackMessage) -> list[SlackMessage]:
    return [m for m in slack.messages if m.thread_ts == root.ts and m.channel == root.channel and m.ts != root.ts]


def updates_posts(slack: FakeSlack) -> list[SlackCall]:
    return posts(slack, UPDATES)


def edits_of(slack: FakeSlack, message: SlackMessage) -> list[SlackCall]:
    return [c for c in slack.calls_to("chat.update") if c.args.get("ts") == message.ts]


def text_of(message: SlackMessage | SlackCall) -> str:
    """Everything a message says: its text and every text in its blocks."""
    if isinstance(message, SlackCall):
        return json.dumps(message.args, ensure_ascii=False)
    return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)


async def wait_until(predicate: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
    """Poll `predicate` (what the app does after answering, it does in its own time)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - polling state owned by another component
            await asyncio.sleep(0.01)


# --- samples ------------------------------------------------------------------------------------------


def alertmanager_body(status: str = "firing", fingerprint: str = "6c0a4f8a9e8e2c1d", **labels: str) -> dict[str, Any]:
    """Alertmanager's documented v4 template, its placeholders filled in."""
    values: dict[str, Any] = {
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "pitcrew",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.internal:9093",
        "notification_reason": "new",
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": "api", **labels},
        "annotations": {"summary": "5xx above 5% on api", "description": "Error ratio 7.2% for 5 minutes."},
        "startsAt": "2026-03-02T08:58:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=rate",
        "fingerprint": fingerprint,
    }
    text = strip_jsonc((WEBHOOKS / "alertmanager_webhook_v4_docs_template.jsonc").read_text(encoding="utf-8"))
    text = re.sub(r"^\s*\.\.\.\s*$", "", text, flags=re.M)
    text = re.sub(r'"(\w+)":\s*"?<[^>]*>"?', lambda m: f'"{m.group(1)}": {json.dumps(values[m.group(1)])}', text)
    doc = json.loads(strip_jsonc(text))
    for alert in doc["alerts"]:
        alert["status"] = status
    return doc


def railway_body(kind: str = "Deployment.failed") -> dict[str, Any]:
    """Railway's November 2025 documented example (as is: `Deployment.failed`), or its recovery."""
    doc = json.loads((WEBHOOKS / "railway_webhook_2025-11_docs_example.strict.json").read_text(encoding="utf-8"))
    doc["type"] = kind
    return doc


def railway_legacy_body(status: str = "CRASHED") -> dict[str, Any]:
    doc = json.loads((WEBHOOKS / "railway_webhook_legacy_pre2025-11_docs_example.json").read_text(encoding="utf-8"))
    doc["status"] = status
    return doc


def sentry_body() -> bytes:
    return (WEBHOOKS / "sentry_issue_alert_event_alert_docs_example.json").read_bytes()


def sentry_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def vercel_body(kind: str = "deployment.error") -> dict[str, Any]:
    """A deployment event with the fields Vercel's Webhooks API reference lists."""
    return {
        "id": "evt_1",
        "type": kind,
        "createdAt": 1772442000000,
        "region": "iad1",
        "payload": {
            "team": {"id": "team_1"},
            "user": {"id": "user_1"},
            "deployment": {
                "id": "dpl_1",
                "name": "web",
                "url": "web-abc123.vercel.app",
                "meta": {"githubCommitMessage": "Bump deps", "githubCommitSha": "0123456789abcdef"},
            },
            "links": {"deployment": "https://vercel.com/acme/web/dpl_1", "project": "https://vercel.com/acme/web"},
            "target": "production",
            "project": {"id": "prj_1"},
            "plan": "pro",
            "regions": ["iad1"],
        },
    }


def vercel_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def uptimerobot_body(alert_type: str = "1") -> dict[str, str]:
    """The POST template commonly published for UptimeRobot (shared/refdata/webhooks/SOURCES.md), filled in."""
    return {
        "monitor_url": "https://api.example.com/health",
        "monitor_friendly_name": "API health",
        "alert_type": alert_type,
        "alert_type_friendly_name": "Down" if alert_type == "1" else "Up",
        "alert_details": "Connection Timeout",
        "alert_friendly_duration": "0 seconds",
    }


def betterstack_body(status: str = "Started", **attributes: Any) -> dict[str, Any]:
    """Better Stack's incident object (JSON:API), as its incident webhook sends it."""
    base = {
        "name": "Production API",
        "url": "https://api.example.com/health",
        "http_method": "get",
        "cause": "Status 503",
        "incident_group_id": None,
        "started_at": "2026-03-02T09:00:00Z",
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "status": status,
        "team_name": "Platform",
        "response_content": "Service Unavailable",
        "regions": ["us"],
    }
    base.update(attributes)
    return {
        "data": {
            "id": "123456789",
            "type": "incident",
            "attributes": base,
            "relationships": {"monitor": {"data": {"id": "2345", "type": "monitor"}}},
        }
    }


def generic_body(status: str = "firing", **fields: Any) -> dict[str, Any]:
    return {
        "title": "Checkout failing",
        "service": "api",
        "severity": "critical",
        "status": status,
        "fingerprint": "checkout-5xx",
        "url": "https://grafana.example.com/d/checkout",
        **fields,
    }
