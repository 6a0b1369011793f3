"""`mask_values` and `scrub` are the one Masker underneath: known values and secret shapes alike, with the
audit trail's broader key rule on top."""

from __future__ import annotations

from app.core.secrets import MASK, mask_values, scrub

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36"


def test_known_values_of_four_characters_or_more_are_masked_longest_first() -> None:
    text = "token abcd-efgh and abcd and 123 here"
    assert mask_values(text, ["abcd-efgh", "abcd", "123", ""]) == "token *** and *** and 123 here"


def test_secret_shapes_are_masked_even_when_not_known() -> None:
    said = mask_values(f"connect postgresql://app:pw-9x8y@db:5432/app failed; Authorization: Bearer {JWT}", [])
    assert said == "connect postgresql://app:***@db:5432/app failed; Authorization: Bearer ***"


def test_url_encoded_known_values_are_masked_too() -> None:
    assert mask_values("dsn=p%40ss%2Fword", ["p@ss/word"]) == "dsn=***"


def test_text_without_secrets_is_unchanged() -> None:
    text = "railway deployments failed: HTTP 502: Bad Gateway"
    assert mask_values(text, ["sandbox-railway-account-token"]) == text


def test_scrub_masks_broad_keys_narrow_keys_values_and_nesting() -> None:
    params = {
        "token_type": "bearer",  # the audit trail's broader rule: masked here, not by the log masker
        "api_key": "k-123456",
        "nested": {"Password": "x", "note": "uses sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5R now"},
        "list": ["plain", "the value s3cr3t-v4lue", {"dsn": "postgres://a:b@c/d"}],
        "text": "/logs api --grep s3cr3t-v4lue",
        "empty_secret": "",
        "count": 3,
    }
    clean = scrub(params, ["s3cr3t-v4lue"])
    assert clean == {
        "token_type": MASK,
        "api_key": MASK,
        "nested": {"Password": MASK, "note": f"uses {MASK} now"},
        "list": ["plain", f"the value {MASK}", {"dsn": MASK}],
        "text": f"/logs api --grep {MASK}",
        "empty_secret": "",
        "count": 3,
    }
    assert params["nested"]["Password"] == "x"  # type: ignore[index]  # a copy, the original untouched
