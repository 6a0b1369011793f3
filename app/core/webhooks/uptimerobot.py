"""UptimeRobot: a body the user writes themselves, from a template of `*variable*` placeholders.

There is no fixed shape, so fields are found by name whatever the template's spelling
(`monitorID`, `monitorId`, `monitor_id` are one field), in JSON or form-encoded bodies. A
placeholder UptimeRobot did not fill in (`*monitorID*` sent literally) counts as absent.
`alertType` is 1 for down, 2 for up, 3 for an SSL certificate about to expire.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from app.core.alerts import Alert, WebhookBodyError, derive_fingerprint, make_alert
from app.core.webhooks._body import kind_of, load_json, text, timestamp

SOURCE = "uptimerobot"
_PLACEHOLDER = re.compile(r"^\*[A-Za-z]+\*$")
_DOWN, _UP, _SSL = "1", "2", "3"
_FRIENDLY_TYPES = {"down": _DOWN, "up": _UP, "ssl expiry": _SSL, "ssl expiration": _SSL}


def parse(body: bytes, content_type: str | None = None) -> list[Alert]:
    fields = _fields(body, content_type)
    friendly = (fields.get("alerttypefriendlyname") or "").lower()
    alert_type = fields.get("alerttype") or _FRIENDLY_TYPES.get(friendly)
    if alert_type not in (_DOWN, _UP, _SSL):
        raise WebhookBodyError(
            f"{SOURCE}: `alertType` is required and must be 1 (down), 2 (up) or 3 (SSL expiry);"
            ' add "alertType": "*alertType*" to the webhook\'s POST value'
        )
    monitor_id = fields.get("monitorid")
    url = fields.get("monitorurl")
    link = _link(url)
    name = fields.get("monitorfriendlyname")
    if not (monitor_id or url or name):
        raise WebhookBodyError(
            f"{SOURCE}: cannot tell which monitor this is; add `monitorID` (best), `monitorURL`"
            " or `monitorFriendlyName` to the webhook's POST value"
        )
    monitor = monitor_id or derive_fingerprint(url or "", name or "")
    shown = name or url or f"monitor {monitor_id}"
    labels = {
        "monitor_id": monitor_id,
        "url": url,
        "alert_type": fields.get("alerttypefriendlyname") or alert_type,
    }
    if alert_type == _SSL:
        return [
            make_alert(
                source=SOURCE,
                fingerprint=f"{monitor}:ssl",
                status="firing",
                title=f"{shown}: SSL certificate expires soon",
                details=fields.get("alertdetails") or "",
                link=link,
                labels={k: v for k, v in labels.items() if v},
                started_at=timestamp(fields.get("alertdatetime")),
            )
        ]
    down = alert_type == _DOWN
    return [
        make_alert(
            source=SOURCE,
            fingerprint=monitor,
            status="firing" if down else "resolved",
            title=f"{shown} is down" if down else f"{shown} is up",
            details=_details(fields, down),
            link=link,
            labels={k: v for k, v in labels.items() if v},
            started_at=timestamp(fields.get("alertdatetime")) if down else None,
        )
    ]


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?(?:[/?#]\S*)?$")


def _link(url: str | None) -> str | None:
    """The monitor's URL as a link. A ping, port or keyword monitor's "URL" is often a bare host or
    IP (`api.example.com`, `203.0.113.7`): UptimeRobot's API calls the field "URL/IP of the monitor"
    (uptimeRobot R client, `uptimerobot.monitor.new`), and the webhook's `*monitorURL*` passes it on
    as typed. Such a host gets `https://` so the alert keeps its link; anything else is left alone."""
    if not url or _SCHEME.match(url):
        return url
    return f"https://{url}" if _HOST.match(url) and "." in url.split("/")[0] else url


def _details(fields: dict[str, str], down: bool) -> str:
    lines = [fields.get("alertdetails") or ""]
    duration = fields.get("alertfriendlyduration") or (
        f"{fields['alertduration']} s" if fields.get("alertduration") else None
    )
    if duration:
        lines.append(f"{'Up' if down else 'Down'} for {duration} before this alert.")
    return "\n".join(line for line in lines if line)


def _fields(body: bytes, content_type: str | None) -> dict[str, str]:
    """The body's fields with normalised names (lower case, no `_`/`-`) and filled-in values only."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        raise WebhookBodyError(
            f"{SOURCE}: multipart bodies are not read; send JSON or form-encoded (key=value&...)"
        )
    raw: list[tuple[Any, Any]]
    if kind == "application/x-www-form-urlencoded" or (kind != "application/json" and _looks_form(body)):
        raw = _form_pairs(body)
    else:
        doc = load_json(SOURCE, body)
        if not isinstance(doc, dict):
            raise WebhookBodyError(f"{SOURCE}: the body must be a JSON object, got {kind_of(doc)}")
        raw = list(doc.items())
    fields: dict[str, str] = {}
    for key, value in raw:
        name = re.sub(r"[_\-\s]", "", str(key)).lower()
        value = text(value)
        if value and not _PLACEHOLDER.match(value) and name not in fields:
            fields[name] = value
    return fields


def _looks_form(body: bytes) -> bool:
    start = body.lstrip()[:1]
    return start not in (b"{", b"[", b"") and b"=" in body


def _form_pairs(body: bytes) -> list[tuple[Any, Any]]:
    try:
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=False, max_num_fields=200)
    except ValueError as err:
        raise WebhookBodyError(f"{SOURCE}: cannot read the form-encoded body: {err}") from None
