"""Fingerprints of secret values: two values compared without either being shown.

`@pitcrew vars`, `vars compare` and the proposal card of `set` show, for each value, its length and
the first 8 hex digits of an HMAC-SHA256 keyed by pitcrew. Keyed, because a plain hash of a short
or guessable value (`true`, a 6-digit PIN, a known default) can be reversed by hashing guesses;
with a key that lives only in the environment, a fingerprint read from Slack or the audit trail
proves nothing about the value to someone without that key. Eight hex digits (32 bits) tell two
values apart in practice while giving a brute-forcer holding the key little to confirm a guess by.

The key is derived (never used raw) from `AUDIT_KEY` when set, else from the Slack signing secret,
as the stored-request MAC's is (app/core/request_mac.py), under its own label so the two never
coincide. Every instance derives the same key, so fingerprints agree across instances and restarts;
rotating `AUDIT_KEY` changes every fingerprint (say so where fingerprints are compared over time).
"""

from __future__ import annotations

import hashlib
import hmac

_PURPOSE = b"pitcrew variable fingerprint v1"
FINGERPRINT_HEX = 8


def fingerprint_key(audit_key: str | None, signing_secret: str | None) -> bytes | None:
    """The key fingerprints are made with; None when pitcrew has neither secret (then show none)."""
    secret = audit_key or signing_secret
    if not secret:
        return None
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def fingerprint(key: bytes, value: str) -> str:
    """The first 8 hex digits of HMAC-SHA256(key, value): equal values give equal fingerprints."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]
