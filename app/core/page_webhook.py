"""The outgoing webhook page, pure: its JSON, its signature, and the ack link's token and hash.

A receiver verifies a page by computing HMAC-SHA256 over `<timestamp>.<raw body>` (the timestamp
from `X-Pitcrew-Timestamp`, Unix seconds) with the shared secret and comparing it in constant time
with the hex after `sha256=` in `X-Pitcrew-Signature`; the timestamp inside the MAC lets it refuse
replays older than a few minutes. docs/configuration.md shows a receiver doing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

ACK_LINK_TTL = timedelta(hours=1)
SIGNATURE_HEADER = "X-Pitcrew-Signature"
TIMESTAMP_HEADER = "X-Pitcrew-Timestamp"
PAGE_VERSION = 1


def new_token() -> str:
    """A fresh ack token: 32 random bytes, URL-safe; it goes out in the page and is never stored."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: reading the table gives nobody a working link."""
    return hashlib.sha256(token.encode()).hexdigest()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`: the header value a receiver checks."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def thread_url(channel: str | None, thread_ts: str | None) -> str | None:
    """Slack's permalink form for a message (`/archives/<channel>/p<ts without the dot>`)."""
    if not channel or not thread_ts:
        return None
    return f"https://slack.com/archives/{channel}/p{thread_ts.replace('.', '')}"


@dataclass(frozen=True)
class PagedPerson:
    user: str
    ack_url: str | None


def page_body(
    *,
    ref: str,
    incident_id: int,
    title: str,
    severity: str,
    step: int,
    paged: list[PagedPerson],
    thread: str | None,
    sent_at: int,
) -> bytes:
    """The page as sent (and signed): compact JSON, keys sorted, so its bytes are what was MACed."""
    document: dict[str, Any] = {
        "version": PAGE_VERSION,
        "incident": {"ref": ref, "id": incident_id, "title": title, "severity": severity},
        "escalation_step": step,
        "paged": [{"user": p.user, "ack_url": p.ack_url} for p in paged],
        "ack_url": paged[0].ack_url if paged else None,
        "thread_url": thread,
        "sent_at": sent_at,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
