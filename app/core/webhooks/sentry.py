"""Sentry integration-platform webhooks: issue alerts, issue events, errors and metric alerts.

Sentry sends every resource an integration subscribes to to the one webhook URL, naming it in the
`Sentry-Hook-Resource` header: `installation`, `event_alert`, `issue`, `metric_alert`, `error`,
`comment` (https://docs.sentry.io/integrations/integration-platform/webhooks/), and more as Sentry
adds them. The kind is read from the body rather than that header so the parser needs only the body
(a stored body is read again later): each resource's body names its object under `data`, and every
one is `{action, installation: {uuid}, data, actor}` (Sentry's `AppPlatformEvent`).
- `data.metric_alert` (action critical/warning/resolved), `data.event` (an issue alert rule fired),
  `data.error` (an error event was created: read as an issue alert's event, per the `error` page),
  `data.issue` (issue created/resolved/unresolved) are alerts;
- `data.installation`, `data.comment` and any other resource say nothing broke: no alert, and the
  edge answers 2xx (a 4xx counts as a failed delivery to Sentry, which disables a webhook after
  enough of them).
Issue alerts, errors and issue events share the fingerprint `issue-<id>`, so a rule firing and the
issue later being resolved meet in one incident; a metric alert's fingerprint is Sentry's own
incident id for it. The legacy per-project webhook plugin (flat `id`/`level`/`message`/`url`) is
read too.
"""

from __future__ import annotations

import re
from typing import Any

from app.core.alerts import Alert, WebhookBodyError, derive_fingerprint, make_alert, severity_from
from app.core.webhooks._body import JsonObject, dig, load_object, obj, text, timestamp

SOURCE = "sentry"
_PROJECT_IN_URL = re.compile(r"/projects/[^/]+/([^/]+)/")
_ISSUE_ACTIONS = {"created": "firing", "unresolved": "firing", "resolved": "resolved"}
_OWN_LABELS = {"issue_id", "event_id", "rule", "environment", "severity", "project", "user"}
_METRIC_ACTIONS = {"critical": "firing", "warning": "firing", "resolved": "resolved"}


def parse(body: bytes, content_type: str | None = None) -> list[Alert]:
    doc = load_object(SOURCE, body)
    data = doc.get("data")
    action = (text(doc.get("action")) or "").lower()
    if isinstance(dig(data, "metric_alert"), dict):
        return [_metric_alert(action, data)]
    if isinstance(dig(data, "event"), dict):
        return [_issue_alert(data, data["event"])]
    if isinstance(dig(data, "error"), dict):
        return [_issue_alert(data, data["error"])]
    if isinstance(dig(data, "issue"), dict):
        return _issue(action, data["issue"])
    if text(doc.get("id")) and ("level" in doc or "culprit" in doc):
        return [_legacy(doc)]
    if isinstance(data, dict) and isinstance(doc.get("installation"), dict):
        return []  # installation, comment, or a resource added since: an integration's, but no alert
    raise WebhookBodyError(
        f"{SOURCE}: expected an issue alert (`data.event`), an error (`data.error`), an issue webhook"
        " (`data.issue`) or a metric alert (`data.metric_alert`), or another integration webhook"
        " (with `installation`)"
    )


def _issue_alert(data: JsonObject, event: JsonObject) -> Alert:
    """An issue alert's `data.event`, or an `error` webhook's `data.error` (the same event fields)."""
    issue_id = text(event.get("issue_id")) or _issue_id_from(text(event.get("issue_url")))
    event_id = text(event.get("event_id"))
    level = text(event.get("level"))
    tags = _tags(event.get("tags"))
    rule = text(data.get("triggered_rule")) or text(dig(data, "issue_alert", "title"))
    details = [
        text(dig(event, "metadata", "value")),
        f"Culprit: {text(event.get('culprit'))}" if text(event.get("culprit")) else None,
        f"Alert rule: {rule}" if rule else None,
    ]
    project = tags.get("service") or _project_slug(text(event.get("url")))
    return make_alert(
        source=SOURCE,
        fingerprint=f"issue-{issue_id}"
        if issue_id
        else "event-" + derive_fingerprint(text(event.get("title")), text(event.get("culprit"))),
        status="firing",
        title=text(event.get("title")) or text(event.get("message")) or "Sentry issue alert",
        service=project,
        severity=severity_from(level),
        details="\n".join(d for d in details if d),
        link=text(event.get("web_url")),
        labels={
            "issue_id": issue_id,
            "event_id": event_id,
            "rule": rule,
            "environment": text(event.get("environment")) or tags.get("environment"),
            "severity": level,
            "project": _project_slug(text(event.get("url"))),
        }
        | _extra(tags),
        started_at=timestamp(event.get("datetime")) or timestamp(event.get("timestamp")),
    )


def _issue(action: str, issue: JsonObject) -> list[Alert]:
    status = _ISSUE_ACTIONS.get(action)
    if status is None:  # assigned, archived, ignored: the issue changed hands, nothing broke or recovered
        return []
    issue_id = text(issue.get("id"))
    if not issue_id:
        raise WebhookBodyError(f"{SOURCE}: `data.issue.id` is required")
    level = text(issue.get("level"))
    project = obj(issue.get("project"))
    return [
        make_alert(
            source=SOURCE,
            fingerprint=f"issue-{issue_id}",
            status=status,  # type: ignore[arg-type]
            title=text(issue.get("title")) or "Sentry issue",
            service=text(project.get("slug")),
            severity=severity_from(level),
            details=f"Culprit: {text(issue.get('culprit'))}" if text(issue.get("culprit")) else "",
            link=text(issue.get("web_url")) or text(issue.get("permalink")),
            labels={
                "issue_id": issue_id,
                "severity": level,
                "project": text(project.get("slug")),
                "short_id": text(issue.get("shortId")),
            },
            started_at=timestamp(issue.get("firstSeen")),
        )
    ]


def _metric_alert(action: str, data: JsonObject) -> Alert:
    status = _METRIC_ACTIONS.get(action)
    if status is None:
        raise WebhookBodyError(f"{SOURCE}: a metric alert's `action` must be critical, warning or resolved")
    incident = data["metric_alert"]
    rule = obj(incident.get("alert_rule"))
    incident_id = text(incident.get("id")) or text(incident.get("identifier"))
    rule_name = text(rule.get("name"))
    projects = rule.get("projects") or incident.get("projects")
    project = text(projects[0]) if isinstance(projects, list) and projects else None
    return make_alert(
        source=SOURCE,
        fingerprint=f"metric-{incident_id}" if incident_id else f"metric-rule-{text(rule.get('id'))}",
        status=status,  # type: ignore[arg-type]
        title=rule_name or text(data.get("description_title")) or "Sentry metric alert",
        service=project,
        severity=severity_from(action) if status == "firing" else None,
        details=_unescape_newlines(text(data.get("description_text")) or ""),
        link=text(data.get("web_url")),
        labels={
            "alert_rule_id": text(rule.get("id")),
            "incident_id": incident_id,
            "aggregate": text(rule.get("aggregate")),
            "query": text(rule.get("query")),
            "environment": text(rule.get("environment")),
            "project": project,
            "severity": action if status == "firing" else None,
        },
        started_at=timestamp(incident.get("date_started")) or timestamp(incident.get("date_detected")),
    )


def _legacy(doc: JsonObject) -> Alert:
    level = text(doc.get("level"))
    return make_alert(
        source=SOURCE,
        fingerprint=f"issue-{text(doc.get('id'))}",
        status="firing",
        title=text(doc.get("message")) or text(doc.get("culprit")) or "Sentry issue",
        service=text(doc.get("project_slug")) or text(doc.get("project")),
        severity=severity_from(level),
        details=f"Culprit: {text(doc.get('culprit'))}" if text(doc.get("culprit")) else "",
        link=text(doc.get("url")),
        labels={"issue_id": text(doc.get("id")), "severity": level, "project": text(doc.get("project_slug"))},
    )


def _extra(tags: dict[str, str]) -> dict[str, str]:
    """Tags as labels, minus those our own keys already name and `user` (personal data, not needed)."""
    return {k: v for k, v in tags.items() if k not in _OWN_LABELS}


def _tags(value: Any) -> dict[str, str]:
    """Sentry's tags arrive as `[[key, value], ...]`; a few as `[{"key":..., "value":...}]`."""
    tags: dict[str, str] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) == 2:
            key, val = text(item[0]), text(item[1])
        elif isinstance(item, dict):
            key, val = text(item.get("key")), text(item.get("value"))
        else:
            continue
        if key and val:
            tags[key] = val
    return tags


def _project_slug(api_url: str | None) -> str | None:
    """`.../projects/<org>/<project>/events/...` names the project; the event itself gives only its number."""
    match = _PROJECT_IN_URL.search(api_url or "")
    return match.group(1) if match else None


def _issue_id_from(issue_url: str | None) -> str | None:
    match = re.search(r"/issues/(\d+)/?", issue_url or "")
    return match.group(1) if match else None


def _unescape_newlines(value: str) -> str:
    """Sentry's metric alert text carries `\\n` as two characters; show the line break it means."""
    return value.replace("\\n", "\n")
