from dataclasses import replace
from datetime import UTC, datetime

from app.core.audit import GENESIS, AuditEntry, entry_hash, verify


def _chain(n: int) -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry = AuditEntry(seq, datetime(2026, 1, 1, tzinfo=UTC), "U1", "click", "INC-1", {"k": seq}, "ok", prev)
        entry = replace(entry, hash=entry_hash(entry))
        entries.append(entry)
        prev = entry.hash
    return entries


def test_intact_chain_verifies():
    report = verify(_chain(5))
    assert report.ok and report.checked == 5


def test_empty_chain_verifies():
    assert verify([]).ok


def test_hash_depends_on_every_field():
    base = _chain(1)[0]
    for change in (
        {"actor": "U2"},
        {"action": "x"},
        {"target": None},
        {"params": {"k": 2}},
        {"outcome": "no"},
        {"prev_hash": "1" * 64},
        {"at": datetime(2026, 1, 2, tzinfo=UTC)},
        {"seq": 2},
    ):
        assert entry_hash(replace(base, **change)) != base.hash, change


def test_reordered_rows_are_found():
    entries = _chain(4)
    report = verify([entries[0], entries[2], entries[1], entries[3]])
    assert report.broken_seq == 3


def test_rewritten_tail_with_recomputed_hash_breaks_the_next_link():
    entries = _chain(4)
    forged = replace(entries[1], outcome="refused")
    forged = replace(forged, hash=entry_hash(forged))
    report = verify([entries[0], forged, entries[2], entries[3]])
    assert report.broken_seq == 3
    assert "link" in (report.reason or "")
