"""The webhook page's pure parts: the signature a receiver recomputes, the token and its hash, the body."""

from __future__ import annotations

import hashlib
import hmac
import json

from app.core.page_webhook import PagedPerson, new_token, page_body, signature, thread_url, token_hash


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"a":1}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k", 1700000000, body) == f"sha256={expected}"
    assert signature("k", 1700000001, body) != signature("k", 1700000000, body)  # the timestamp is in the MAC


def test_tokens_are_random_and_stored_only_as_their_sha256():
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 43  # 32 random bytes, URL-safe base64
    assert token_hash(first) == hashlib.sha256(first.encode()).hexdigest() and first not in token_hash(first)


def test_the_body_names_the_incident_who_is_paged_and_the_links():
    body = page_body(ref="INC-7", incident_id=7, title="<b>down</b>", severity="SEV1", step=2,
                     paged=[PagedPerson("U0ANA", "https://p.example/ack/x")], thread=thread_url("C0A", "17.000100"),
                     sent_at=5)
    page = json.loads(body)
    assert page["incident"]["title"] == "<b>down</b>"  # JSON, not HTML: the receiver escapes for its medium
    assert page["ack_url"] == "https://p.example/ack/x"
    assert page["paged"] == [{"user": "U0ANA", "ack_url": page["ack_url"]}]
    assert page["thread_url"] == "https://slack.com/archives/C0A/p17000100"
    assert thread_url(None, None) is None
