from dataclasses import replace
from datetime import UTC, datetime

from app.core.audit import (
    GENESIS,
    HMAC_SHA256,
    SHA256,
    Anchor,
    AuditEntry,
    ChainVerifier,
    anchor_text,
    entry_hash,
    head_mac,
    head_mac_ok,
    parse_anchors,
    verify,
)
from app.core.request_mac import request_key, request_mac, request_mac_ok

KEY = b"k"


def _chain(keys: list[bytes | None]) -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for seq, key in enumerate(keys, start=1):
        entry = AuditEntry(seq, datetime(2026, 1, 1, tzinfo=UTC), "U1", "click", None, {"k": seq}, "ok", prev,
                           scheme=HMAC_SHA256 if key else SHA256)
        entry = replace(entry, hash=entry_hash(entry, key))
        entries.append(entry)
        prev = entry.hash
    return entries


def test_the_keyed_hash_is_an_hmac_of_the_same_content_and_differs_per_key():
    entry = _chain([None])[0]
    assert entry_hash(entry) == entry.hash
    assert len({entry_hash(entry), entry_hash(entry, b"a"), entry_hash(entry, b"b")}) == 3


def test_a_mixed_chain_verifies_with_the_key_and_counts_each_kind():
    report = verify(_chain([None, None, KEY, KEY]), KEY)
    assert report.ok and (report.checked, report.unkeyed, report.keyed, report.unchecked) == (4, 2, 2, 0)


def test_without_the_key_keyed_entries_are_followed_but_unchecked():
    entries = _chain([None, KEY, KEY])
    changed = replace(entries[1], outcome="refused")  # its hash no longer matches; no key to tell
    report = verify([entries[0], changed, entries[2]])
    assert report.ok and report.unchecked == 2
    assert verify([entries[0], changed, entries[2]], KEY).broken_seq == 2


def test_an_unkeyed_entry_after_keyed_ones_breaks_the_chain_with_the_key():
    entries = _chain([KEY, KEY, None])
    report = verify(entries, KEY)
    assert report.broken_seq == 3 and "without AUDIT_KEY after entries chained with it" in (report.reason or "")


def test_a_chain_rechained_with_another_key_breaks_at_the_first_changed_entry():
    assert verify(_chain([KEY, b"guess", b"guess"]), KEY).broken_seq == 2


def test_anchors_must_match_the_entry_of_their_seq():
    entries = _chain([KEY, KEY, KEY])
    good = ChainVerifier(KEY, [Anchor(2, entries[1].hash, "slack")])
    assert all(good.add(e) for e in entries) and good.report().anchors_matched == (Anchor(2, entries[1].hash, "slack"),)
    rewritten = _recompute([replace(e, params={"k": 9}) for e in entries])  # by someone holding the key
    assert verify(rewritten, KEY).ok  # the chain alone cannot tell
    bad = verify_with_anchor(rewritten, Anchor(2, entries[1].hash, "slack"))
    assert bad.broken_seq == 2 and "anchored in slack" in (bad.reason or "")
    short = ChainVerifier(KEY, [Anchor(5, "f" * 64)])
    for e in entries:
        short.add(e)
    assert [a.seq for a in short.missing_anchors()] == [5]


def verify_with_anchor(entries, anchor):  # type: ignore[no-untyped-def]
    verifier = ChainVerifier(KEY, [anchor])
    for entry in entries:
        if not verifier.add(entry):
            break
    return verifier.report()


def _recompute(entries: list[AuditEntry]) -> list[AuditEntry]:
    out, prev = [], GENESIS
    for e in entries:
        e = replace(e, prev_hash=prev)
        e = replace(e, hash=entry_hash(e, KEY))
        out.append(e)
        prev = e.hash
    return out


def test_anchor_lines_are_read_back_from_every_form_they_are_kept_in():
    h = "ab" * 32
    assert parse_anchors(anchor_text(7, h), "x") == [Anchor(7, h, "x")]
    assert parse_anchors(f"7:{h}\n\n", "x") == [Anchor(7, h, "x")]
    export = f'{{"seq": 1, "hash": "{"cd" * 32}"}}\n{{"seq": 2, "hash": "{h}"}}\n'
    assert [a.seq for a in parse_anchors(export, "f")] == [1, 2]
    assert parse_anchors("yesterday's hash", "x") == []
    assert parse_anchors("audit head: seq 7, hash abc", "x") == []  # not a whole hash


def test_the_head_mac_binds_its_position():
    mac = head_mac(4, "a" * 64, KEY)
    assert head_mac_ok(4, "a" * 64, mac, KEY)
    assert not head_mac_ok(3, "a" * 64, mac, KEY) and not head_mac_ok(4, "a" * 64, None, KEY)
    assert not head_mac_ok(4, "a" * 64, mac, b"other")


def test_a_stored_request_verifies_only_as_stored_with_its_key():
    key = request_key(None, "signing-secret")
    assert key is not None and key != b"signing-secret"
    assert request_key("audit", "signing-secret") != key and request_key(None, None) is None
    body = {"command": "/rollback", "text": "api", "user_id": "U0STRANGER"}
    mac = request_mac(key, "slack.request", body)
    assert request_mac_ok(key, "slack.request", dict(body), mac)
    assert not request_mac_ok(key, "slack.request", {**body, "user_id": "U0OPS1"}, mac)
    assert not request_mac_ok(key, "other.kind", body, mac)
    assert not request_mac_ok(request_key("audit", None), "slack.request", body, mac)
    assert not request_mac_ok(None, "slack.request", body, mac)
    assert not request_mac_ok(key, "slack.request", body, None) and not request_mac_ok(key, "slack.request", [], mac)
