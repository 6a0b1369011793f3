"""Better Stack (Uptime) incident webhooks: the JSON:API incident object, `data.attributes`.

Better Stack calls the webhook when an incident starts, is acknowledged and is resolved, each
time with the whole incident. Resolved is read from `status` or a set `resolved_at`.
Acknowledged becomes *firing*, not nothing: it carries the same fingerprint (the incident id),
so it joins the open incident as a repeat, and if the "started" call was lost it still opens one;
`labels["acknowledged_by"]` records who took it.
"""

from __future__ import annotations

from app.core.alerts import Alert, WebhookBodyError, derive_fingerprint, make_alert
from app.core.webhooks._body import dig, load_object, obj, text, timestamp

SOURCE = "betterstack"


def parse(body: bytes, content_type: str | None = None) -> list[Alert]:
    doc = load_object(SOURCE, body)
    data = doc.get("data")
    attributes = dig(data, "attributes")
    if not isinstance(attributes, dict):
        raise WebhookBodyError(
            f"{SOURCE}: `data.attributes` must be an object (expected a Better Stack incident webhook)"
        )
    name = text(attributes.get("name"))
    url = text(attributes.get("url"))
    cause = text(attributes.get("cause"))
    incident_id = text(obj(data).get("id"))
    state = (text(attributes.get("status")) or "").lower()
    resolved = state == "resolved" or text(attributes.get("resolved_at")) is not None
    regions = attributes.get("regions")
    labels = {
        "incident_id": incident_id,
        "monitor_id": text(dig(data, "relationships", "monitor", "data", "id")),
        "team": text(attributes.get("team_name")),
        "url": url,
        "http_method": text(attributes.get("http_method")),
        "regions": ", ".join(r for r in regions if isinstance(r, str)) if isinstance(regions, list) else None,
        "acknowledged_by": text(attributes.get("acknowledged_by")),
        "resolved_by": text(attributes.get("resolved_by")),
        "state": state or None,
    }
    return [
        make_alert(
            source=SOURCE,
            fingerprint=incident_id or derive_fingerprint(name, url),
            status="resolved" if resolved else "firing",
            title=name or cause or url or "Better Stack incident",
            details="\n".join(p for p in (cause, text(attributes.get("response_content"))) if p),
            link=url,
            labels={k: v for k, v in labels.items() if v},
            started_at=timestamp(attributes.get("started_at")),
        )
    ]
