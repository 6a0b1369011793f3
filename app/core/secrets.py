"""Keeping secrets out of everything pitcrew writes: Slack messages, logs and the audit trail.

There is one masking engine, `app.core.masking.Masker`; this module keeps the two older entry points
that error messages and the audit trail use, on top of it, so a secret that `/logs` would mask is
masked in an error message or an audit entry too (a password in a URL, a `Bearer` token, a JWT), not
only the exact values passed in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from app.core.masking import MASK, Masker

__all__ = ["MASK", "SECRET_KEY_NAME", "dsn_secrets", "mask_values", "scrub"]

# Broader than `masking.is_secret_name` on purpose: in the audit trail a value under `token_type` or
# `password_reset` is masked too. Audit entries are read rarely and kept for ever; a false positive
# there costs nothing, a leak is permanent.
SECRET_KEY_NAME = re.compile(r"(secret|token|password|passwd|pwd|api[_-]?key|private[_-]?key|dsn|credential)", re.I)

# `password=secret` or `password='a secret'` in a libpq key=value DSN.
_KEYWORD_PASSWORD = re.compile(r"""\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))""", re.I)

# Known values shorter than this are ignored, so that a secret `1` never masks every digit.
MIN_KNOWN_LENGTH = 4


@functools.lru_cache(maxsize=16)
def _masker(known: frozenset[str]) -> Masker:
    """One compiled Masker per set of known values: most callers pass the settings' secrets every time,
    and compiling the values into one pattern costs more than masking a short text."""
    return Masker(known, min_length=MIN_KNOWN_LENGTH)


def _masker_for(secrets: Iterable[str]) -> Masker:
    return _masker(frozenset(s for s in secrets if isinstance(s, str) and len(s) >= MIN_KNOWN_LENGTH))


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """`text` with each known secret value (at least 4 characters) and every secret-shaped string masked."""
    return _masker_for(secrets).mask(text)


def scrub(params: Mapping[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of `params` fit for the audit trail: values under secret-looking keys, known secret values
    and secret-shaped strings masked, nested mappings and lists walked."""
    return _masker_for(secrets).mask_mapping(_mask_broad_keys(params))


def _mask_broad_keys(params: Mapping[str, Any]) -> dict[str, Any]:
    """The audit trail's own key rule, applied before the Masker's narrower one."""

    def clean(key: str, value: Any) -> Any:
        if SECRET_KEY_NAME.search(key) and value not in (None, ""):
            return MASK
        if isinstance(value, Mapping):
            return {str(k): clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(key, v) for v in value]
        return value

    return {str(k): clean(str(k), v) for k, v in params.items()}


def dsn_secrets(dsn: str) -> list[str]:
    """The DSN and its password (as written and percent-decoded), to mask in any text that might quote
    them: an error a driver raised, a log line, an alert. Both DSN forms: `postgresql://user:pw@host/db`
    and libpq's `host=... password=...`."""
    if not dsn.strip():
        return []
    values = [dsn.strip()]
    try:
        password = urlsplit(dsn.strip()).password
    except ValueError:
        password = None
    if password:
        values.extend(dict.fromkeys((password, unquote(password))))
    for quoted, bare in _KEYWORD_PASSWORD.findall(dsn):
        if quoted or bare:
            values.append(quoted.replace("\\'", "'").replace("\\\\", "\\") if quoted else bare)
    return values
