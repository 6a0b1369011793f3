"""Checking that a webhook really comes from who it claims, without I/O and in constant time.

Every comparison goes through `hmac.compare_digest`, so the time a check takes says nothing
about how much of a guessed signature or secret was right. An empty secret never verifies:
whether an unset secret means "refuse" or "use WEBHOOK_SECRET instead" is the edge's decision,
and it must be taken there, explicitly, not by a helper that quietly says yes.
"""

from __future__ import annotations

import hmac


def verify_sentry(body: bytes, header: str | None, secret: str) -> bool:
    """`Sentry-Hook-Signature`: the hex HMAC-SHA256 of the raw body under the integration's client secret.

    Sentry sends the bare hex digest; a `sha256=` prefix (as GitHub-style relays write it) is
    tolerated since it changes nothing about what is proven.
    """
    return _verify_hex(body, header, secret, "sha256")


def verify_vercel(body: bytes, header: str | None, secret: str) -> bool:
    """`x-vercel-signature`: the hex HMAC-SHA1 of the raw body under the webhook's secret."""
    return _verify_hex(body, header, secret, "sha1")


def verify_shared_secret(provided: str | None, expected: str) -> bool:
    """The `?token=` or bearer token equals WEBHOOK_SECRET."""
    if not provided or not expected:
        return False
    return hmac.compare_digest(provided.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _verify_hex(body: bytes, header: str | None, secret: str, algorithm: str) -> bool:
    if not header or not secret:
        return False
    provided = header.strip().lower().removeprefix(f"{algorithm}=")
    expected = hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
    return hmac.compare_digest(provided.encode("utf-8", "replace"), expected.encode("ascii"))
