"""Keeping a variable's old value until its revert reminder, encrypted, and only while it is needed.

AES-GCM (the `cryptography` package) with a key derived from `AUDIT_KEY` under a label of its own, so
the audit chain's key is never used raw for anything else. The row keeps only the nonce and the
ciphertext; the proposal's id is the associated data, so a ciphertext moved to another row does not
open. Without `AUDIT_KEY` there is no key and pitcrew keeps nothing (the reminder asks for the value).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PURPOSE = b"pitcrew variable revert vault v1"
_INPUT_PURPOSE = b"pitcrew proposal secret input v1"


def vault_key(audit_key: bytes | None) -> bytes | None:
    """The 256-bit key old values are sealed with; None without AUDIT_KEY."""
    if not audit_key:
        return None
    return hmac.new(audit_key, _PURPOSE, hashlib.sha256).digest()


def input_key(audit_key: str | None, signing_secret: str | None) -> bytes | None:
    """The key an open proposal's secret inputs (a value typed for `set`) are sealed with at rest.

    Unlike the revert vault, this one must exist whenever a proposal can: it falls back to the Slack
    signing secret, which every instance has, so a value waiting for its confirmation is never a
    plain column. None only when pitcrew has neither secret (then nothing secret can be proposed)."""
    secret = audit_key or signing_secret
    if not secret:
        return None
    return hmac.new(secret.encode(), _INPUT_PURPOSE, hashlib.sha256).digest()


def seal(key: bytes, value: str, bound_to: str) -> str:
    """`value` encrypted, as text for a column: base64 of nonce + ciphertext."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode("utf-8"), bound_to.encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal(key: bytes, sealed: str, bound_to: str) -> str | None:
    """The value back; None when the key or the row is not the one it was sealed with."""
    try:
        raw = base64.b64decode(sealed)
        return AESGCM(key).decrypt(raw[:12], raw[12:], bound_to.encode()).decode("utf-8")
    except (InvalidTag, ValueError):
        return None
