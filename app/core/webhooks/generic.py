"""pitcrew's own alert body, for any tool that can POST JSON:

    {"title", "service", "severity", "status": "firing"|"resolved", "fingerprint", "url", "description"}

`title` and `status` are required. Being our format, it is checked strictly: a field of the wrong
type is refused with its name, because whoever wrote the body can fix it. An unknown severity word
is not refused: it is kept in `labels["severity"]` for the team's mapping in pitcrew.yml. Without
a fingerprint, the title and service identify the alert, so the resolved call must repeat them.
"""

from __future__ import annotations

from typing import Any

from app.core.alerts import Alert, WebhookBodyError, derive_fingerprint, make_alert, severity_from
from app.core.webhooks._body import JsonObject, kind_of, load_object

SOURCE = "generic"
_OPTIONAL = ("service", "severity", "fingerprint", "url", "description")


def parse(body: bytes, content_type: str | None = None) -> list[Alert]:
    doc = load_object(SOURCE, body)
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip():
        raise WebhookBodyError(f"{SOURCE}: `title` is required and must be a non-empty string")
    status = doc.get("status")
    if not isinstance(status, str) or status.strip().lower() not in ("firing", "resolved"):
        raise WebhookBodyError(f"{SOURCE}: `status` is required (firing or resolved)")
    fields = {name: _optional_string(doc, name) for name in _OPTIONAL}
    fingerprint = fields["fingerprint"] or derive_fingerprint(title.strip(), fields["service"])
    return [
        make_alert(
            source=SOURCE,
            fingerprint=fingerprint,
            status="firing" if status.strip().lower() == "firing" else "resolved",
            title=title,
            service=fields["service"],
            severity=severity_from(fields["severity"]),
            details=fields["description"] or "",
            link=fields["url"],
            labels={"severity": fields["severity"], "url": fields["url"]},
        )
    ]


def _optional_string(doc: JsonObject, name: str) -> str | None:
    value: Any = doc.get(name)
    if value is None:
        return None
    if name == "fingerprint" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise WebhookBodyError(f"{SOURCE}: `{name}` must be a string, got {kind_of(value)}")
    return value.strip() or None
