from app.core.request_mac import request_key
from app.core.value_fingerprints import fingerprint, fingerprint_key


def test_equal_values_share_a_fingerprint_and_different_ones_do_not():
    key = fingerprint_key("audit", None)
    assert fingerprint(key, "s3cret") == fingerprint(key, "s3cret")
    assert fingerprint(key, "s3cret") != fingerprint(key, "s3cret ")
    assert len(fingerprint(key, "")) == 8


def test_the_key_is_derived_and_depends_on_the_secret():
    assert fingerprint_key(None, None) is None
    assert fingerprint_key("", "") is None
    by_audit = fingerprint_key("audit", "signing")
    assert by_audit == fingerprint_key("audit", None)
    assert by_audit != fingerprint_key(None, "signing")
    assert by_audit not in (b"audit", request_key("audit", None))
    assert fingerprint(by_audit, "v") != fingerprint(fingerprint_key(None, "signing"), "v")
