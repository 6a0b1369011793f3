"""Secrets out of an alert before it is stored or shown anywhere.

Monitoring tools put whatever the failing code printed into an alert: `could not connect to
postgresql://app:S3cr3t@db.internal/prod`, an API key in a URL, a `password=` in a stack trace.
An alert's text reaches the database, the incident thread, the managers' channel and the status
page, so it is masked once, where it enters (the webhook flow), with the same `Masker` that `/logs`
uses: pitcrew's own secrets and the catalog's known values by exact value, everything else by shape.

The fingerprint is masked too (a tool may build it from the message), but a fingerprint derived
by pitcrew is a hash and never holds one. Masking is deterministic, so the firing and the resolved
notification of one problem still share a dedupe key.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from app.core.alerts import Alert, clean_link
from app.core.masking import MASK, Masker, is_secret_name

# Label names repeat from alert to alert (`severity`, `instance`, `alertname`): deciding once per name
# whether it names a secret keeps a storm's alerts cheap (the name pattern is the costly part).
_secret_label = functools.lru_cache(maxsize=4096)(is_secret_name)


def mask_alert(alert: Alert, masker: Masker) -> Alert:
    """The alert with every text field masked; the very same object when nothing held a secret."""
    title = masker.mask(alert.title)
    details = masker.mask(alert.details)
    fingerprint = masker.mask(alert.fingerprint)
    service = masker.mask(alert.service) if alert.service else alert.service
    link = masker.mask(alert.link) if alert.link else alert.link
    # A value under `api_key` or `password` is masked whole, as `Masker.mask_mapping` does.
    labels = {k: MASK if v and _secret_label(k) else masker.mask(v) for k, v in alert.labels.items()}
    changed = (
        title is not alert.title
        or details is not alert.details
        or fingerprint is not alert.fingerprint
        or service is not alert.service
        or link is not alert.link
        or any(labels.get(k) is not v for k, v in alert.labels.items())
    )
    if not changed:
        return alert
    return replace(
        alert,
        title=title,
        details=details,
        fingerprint=fingerprint,
        service=service,
        link=clean_link(link) if link else None,  # `user:***@host` is still a link; anything else is dropped
        labels=labels,
    )


def mask_body(body: bytes, masker: Masker) -> bytes:
    """A raw webhook body as it may be kept for inspection: its secrets masked, its other bytes kept.

    Bytes that are not UTF-8 survive the round trip (`surrogateescape`), so a body that is stored
    base64-encoded is still the body that was sent, less its secrets.
    """
    text = body.decode("utf-8", "surrogateescape")
    masked = masker.mask(text)
    if masked is text:
        return body
    return masked.encode("utf-8", "surrogateescape")
