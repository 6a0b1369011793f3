"""`Settings.key_secrets`: the one reading of AUDIT_KEY and the signing secret that stored requests'
MACs, sealed secret inputs and value fingerprints derive their keys from, each with its own label."""

from __future__ import annotations

from pydantic import SecretStr

from app.core.request_mac import request_key
from app.core.value_fingerprints import fingerprint_key
from app.core.value_vault import input_key
from app.settings import Settings

DERIVE = (request_key, input_key, fingerprint_key)


def test_audit_key_comes_first_and_the_signing_secret_is_the_fallback() -> None:
    both = Settings(AUDIT_KEY=SecretStr("audit-k"), SLACK_SIGNING_SECRET=SecretStr("signing-s"))
    assert both.key_secrets() == ("audit-k", "signing-s")
    signing_only = Settings(AUDIT_KEY=None, SLACK_SIGNING_SECRET=SecretStr("signing-s"))
    neither = Settings(AUDIT_KEY=None, SLACK_SIGNING_SECRET=None)  # explicit: the environment may set them
    assert signing_only.key_secrets() == (None, "signing-s")
    assert neither.key_secrets() == (None, None)
    for derive in DERIVE:
        assert derive(*both.key_secrets()) == derive("audit-k", None)
        assert derive(*signing_only.key_secrets()) == derive(None, "signing-s")
        assert derive(*signing_only.key_secrets()) != derive(*both.key_secrets())
        assert derive(*neither.key_secrets()) is None


def test_each_use_derives_a_key_of_its_own_from_the_same_secrets() -> None:
    secrets = Settings(AUDIT_KEY=SecretStr("audit-k")).key_secrets()
    keys = [derive(*secrets) for derive in DERIVE]
    assert all(keys) and len(set(keys)) == len(keys)
