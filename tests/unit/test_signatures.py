"""Webhook signature and shared-secret checks.

Expected digests come from the RFC test vectors (RFC 4231 case 2 for HMAC-SHA256, RFC 2202
case 2 for HMAC-SHA1), not from the code under test, so a wrong algorithm or key handling fails.
"""

from __future__ import annotations

import hmac

import pytest

from app.core.signatures import bearer_token, verify_sentry, verify_shared_secret, verify_vercel

KEY = "Jefe"
MESSAGE = b"what do ya want for nothing?"
SHA256_HEX = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
SHA1_HEX = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"


def test_sentry_plain_hex_signature_verifies():
    assert verify_sentry(MESSAGE, SHA256_HEX, KEY)


def test_sentry_signature_tolerates_case_whitespace_and_a_sha256_prefix():
    assert verify_sentry(MESSAGE, f"  {SHA256_HEX.upper()} ", KEY)
    assert verify_sentry(MESSAGE, f"sha256={SHA256_HEX}", KEY)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (MESSAGE + b" ", SHA256_HEX, KEY),  # body changed
        (MESSAGE, SHA256_HEX, "jefe"),  # wrong secret
        (MESSAGE, SHA1_HEX, KEY),  # Vercel's algorithm
        (MESSAGE, SHA256_HEX[:-1], KEY),  # truncated
        (MESSAGE, None, KEY),  # header missing
        (MESSAGE, "", KEY),
        (MESSAGE, SHA256_HEX, ""),  # no secret configured never verifies
        (MESSAGE, f"sha1={SHA256_HEX}", KEY),
        (MESSAGE, "é" * 64, KEY),  # non-ASCII header: refused, not an exception
    ],
)
def test_sentry_bad_signatures_are_refused(body, header, secret):
    assert not verify_sentry(body, header, secret)


def test_vercel_sha1_signature_verifies():
    assert verify_vercel(MESSAGE, SHA1_HEX, KEY)
    assert verify_vercel(MESSAGE, SHA1_HEX.upper(), KEY)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (MESSAGE + b"!", SHA1_HEX, KEY),
        (MESSAGE, SHA1_HEX, "other"),
        (MESSAGE, SHA256_HEX, KEY),  # Sentry's algorithm
        (MESSAGE, None, KEY),
        (MESSAGE, SHA1_HEX, ""),
    ],
)
def test_vercel_bad_signatures_are_refused(body, header, secret):
    assert not verify_vercel(body, header, secret)


def test_signature_covers_the_raw_bytes_not_reformatted_json():
    raw = b'{"a": 1}'
    good = hmac.new(b"s3cret", raw, "sha256").hexdigest()
    assert verify_sentry(raw, good, "s3cret")
    assert not verify_sentry(b'{"a":1}', good, "s3cret")  # same JSON, other bytes


@pytest.mark.parametrize(
    ("provided", "expected", "ok"),
    [
        ("tok-123", "tok-123", True),
        ("tok-124", "tok-123", False),
        ("tok-12", "tok-123", False),
        ("", "tok-123", False),
        (None, "tok-123", False),
        ("", "", False),  # an unset secret is the edge's decision, never a silent yes
        ("anything", "", False),
        ("pässwörd", "pässwörd", True),
        ("pässwörd", "passwort", False),
    ],
)
def test_shared_secret(provided, expected, ok):
    assert verify_shared_secret(provided, expected) is ok


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer   abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header, token):
    assert bearer_token(header) == token
