"""The MAC of a Slack request stored for a job runner to replay (app/slack/deferral.py).

A request is verified by Slack's signature when it arrives; its replay later skips that check (the
stored body is not what Slack signed). Without a MAC, anyone able to insert a row into the jobs
table could have pitcrew run it as an operator's command or click. So the stored body carries an
HMAC-SHA256 made at intake, and the replay refuses a body whose MAC does not verify.

The key is derived (never used raw) from `AUDIT_KEY` when set, else from the Slack signing secret:
both live only in the environment, so an attacker with database access alone has neither. The
derivation keeps this MAC apart from the audit chain's, even when both come from `AUDIT_KEY`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

_PURPOSE = b"pitcrew stored slack request v1"


def request_key(audit_key: str | None, signing_secret: str | None) -> bytes | None:
    """The key stored requests are MACed with; None when pitcrew has neither secret."""
    secret = audit_key or signing_secret
    if not secret:
        return None
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _canonical(kind: str, body: dict[str, Any]) -> bytes:
    return json.dumps(
        {"kind": kind, "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def request_mac(key: bytes, kind: str, body: dict[str, Any]) -> str:
    """HMAC-SHA256 of the job's kind and the body as stored (canonical JSON: survives the database)."""
    return hmac.new(key, _canonical(kind, body), hashlib.sha256).hexdigest()


def request_mac_ok(key: bytes | None, kind: str, body: Any, mac: Any) -> bool:
    """True only for a body (a dict) whose MAC was made with `key`; a missing key refuses everything."""
    if key is None or not isinstance(body, dict) or not isinstance(mac, str):
        return False
    return hmac.compare_digest(request_mac(key, kind, body), mac)
