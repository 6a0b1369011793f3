"""Prometheus Alertmanager, webhook payload version 4: one notification carries a group of alerts.

Each entry of `alerts` becomes its own Alert with Alertmanager's own `fingerprint` (a hash of
the alert's labels), so a group that fires three alerts and later resolves one of them resolves
exactly that one.
"""

from __future__ import annotations

from typing import Any

from app.core.alerts import Alert, WebhookBodyError, derive_fingerprint, make_alert, severity_from
from app.core.webhooks._body import kind_of, load_object, obj, text, timestamp

SOURCE = "alertmanager"


def parse(body: bytes, content_type: str | None = None) -> list[Alert]:
    doc = load_object(SOURCE, body)
    entries = doc.get("alerts")
    if not isinstance(entries, list):
        raise WebhookBodyError(
            f"{SOURCE}: `alerts` must be a list, got {kind_of(entries)}"
            " (expected an Alertmanager webhook body, version 4)"
        )
    group_status = text(doc.get("status"))
    fallback_link = text(doc.get("externalURL"))
    return [_alert(i, entry, group_status, fallback_link) for i, entry in enumerate(entries)]


def _alert(index: int, entry: Any, group_status: str | None, fallback_link: str | None) -> Alert:
    where = f"`alerts[{index}]`"
    if not isinstance(entry, dict):
        raise WebhookBodyError(f"{SOURCE}: {where} must be an object, got {kind_of(entry)}")
    status = (text(entry.get("status")) or group_status or "").lower()
    if status not in ("firing", "resolved"):
        raise WebhookBodyError(f"{SOURCE}: {where}.status must be firing or resolved")
    labels = {k: v for k, v in obj(entry.get("labels")).items() if text(v) is not None}
    annotations = obj(entry.get("annotations"))
    alertname = text(labels.get("alertname"))
    summary = text(annotations.get("summary")) or text(annotations.get("title"))
    title = summary or alertname or "Alertmanager alert"
    details = "\n".join(
        part for part in (text(annotations.get("description")), text(annotations.get("message"))) if part
    )
    fingerprint = text(entry.get("fingerprint")) or derive_fingerprint(
        *(f"{k}={text(v)}" for k, v in sorted(labels.items()))
    )
    return make_alert(
        source=SOURCE,
        fingerprint=fingerprint,
        status=status,  # type: ignore[arg-type]  # checked above
        title=title,
        service=text(labels.get("service")) or text(labels.get("job")),
        severity=severity_from(text(labels.get("severity"))),
        details=details,
        link=text(entry.get("generatorURL")) or fallback_link,
        labels=labels,
        started_at=timestamp(entry.get("startsAt")),
    )
