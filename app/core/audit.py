"""The audit trail's hash chain: each entry's hash covers its content and the previous hash.

Changing, deleting or reordering any stored row changes a hash that a later row depends on,
so `verify` names the first row that no longer matches.

A plain SHA-256 chain only proves that nobody changed a row *without recomputing the chain*:
anyone who can write to the database can rewrite a row and every hash after it. So entries
written while `AUDIT_KEY` is set are chained with HMAC-SHA256 under that key (`scheme`
"hmac-sha256"): without the key, nobody can produce a hash that verifies. Entries written before
the key was set keep their SHA-256 (`scheme` "sha256") and stay verifiable; once a keyed entry
appears, an unkeyed one after it is a break (a rewrite by someone without the key, or pitcrew
running without it). The key is a value handed in: this module reads no environment.

Anchors are heads (seq, hash) kept outside the database (posted to Slack, printed, exported): an
entry rewritten before an anchor's seq no longer matches the anchored hash, even by someone who
holds the key and recomputed everything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
SHA256 = "sha256"
HMAC_SHA256 = "hmac-sha256"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str | None
    params: dict[str, Any]
    outcome: str
    prev_hash: str
    hash: str = ""
    scheme: str = SHA256


def _canonical(entry: AuditEntry) -> bytes:
    return json.dumps(
        {
            "seq": entry.seq,
            "at": entry.at.isoformat(timespec="microseconds"),
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "params": entry.params,
            "outcome": entry.outcome,
            "prev": entry.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    ).encode()


def entry_hash(entry: AuditEntry, key: bytes | None = None) -> str:
    """SHA-256 of a canonical JSON of everything in the entry except its own hash; with `key`,
    HMAC-SHA256 of the same bytes under that key (what an entry of scheme "hmac-sha256" holds)."""
    canonical = _canonical(entry)
    if key is None:
        return hashlib.sha256(canonical).hexdigest()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def scheme_for(key: bytes | None) -> str:
    return SHA256 if key is None else HMAC_SHA256


def head_mac(seq: int, head_hash: str, key: bytes) -> str:
    """The MAC of the head row: without the key, nobody can move the head back (cut the chain's
    tail) and have it verify."""
    return hmac.new(key, f"audit head:{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


def head_mac_ok(seq: int, head_hash: str, mac: str | None, key: bytes) -> bool:
    return mac is not None and hmac.compare_digest(head_mac(seq, head_hash, key), mac)


@dataclass(frozen=True)
class Anchor:
    """A head recorded outside the chain: entry `seq` had hash `hash`. `source` says where it was kept."""

    seq: int
    hash: str
    source: str = "anchor"

    def text(self) -> str:
        return anchor_text(self.seq, self.hash)


def anchor_text(seq: int, head_hash: str) -> str:
    """The line posted and printed for an anchor; `parse_anchor` reads it back."""
    return f"audit head: seq {seq}, hash {head_hash}"


def parse_anchors(text: str, source: str) -> list[Anchor]:
    """Every anchor in `text`: "audit head: seq N, hash H" lines (as posted to Slack), `N:H`, or the
    JSON lines of `pitcrew audit export` (its last line is the head at the time)."""
    found: list[Anchor] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict) and isinstance(record.get("seq"), int) and isinstance(record.get("hash"), str):
                found.append(Anchor(record["seq"], record["hash"], source))
                continue
        match = re.search(r"seq\s+(\d+),?\s+hash\s+([0-9a-f]{64})", line) or re.fullmatch(
            r"(\d+):([0-9a-f]{64})", line
        )
        if match:
            found.append(Anchor(int(match.group(1)), match.group(2), source))
    return found


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_seq: int | None = None
    reason: str | None = None
    keyed: int = 0  # entries whose MAC was checked with the key
    unkeyed: int = 0  # entries chained with plain SHA-256 (before AUDIT_KEY was set, or without one)
    unchecked: int = 0  # keyed entries seen without the key: their links hold, their content is unproven
    anchors_matched: tuple[Anchor, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


class ChainVerifier:
    """Checks entries one at a time, so a trail of any length is verified in constant memory.

    With `key`, keyed entries are checked against it; without, their links are followed but their
    content cannot be proven (`unchecked`). Each of `anchors` must match the entry of its seq.
    """

    def __init__(self, key: bytes | None = None, anchors: Sequence[Anchor] = ()) -> None:
        self._key = key
        self._anchors: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            self._anchors.setdefault(anchor.seq, []).append(anchor)
        self._previous_hash = GENESIS
        self._expected_seq = 1
        self._checked = 0
        self._keyed = self._unkeyed = self._unchecked = 0
        self._matched: list[Anchor] = []
        self._broken: tuple[int, str] | None = None

    @property
    def last_hash(self) -> str:
        """The hash of the last entry that verified (GENESIS before any)."""
        return self._previous_hash

    def add(self, entry: AuditEntry) -> bool:
        """Check the next entry; False once the chain is broken (later entries are not looked at)."""
        if self._broken is not None:
            return False
        problem = self._problem(entry)
        if problem is not None:
            self._broken = (entry.seq, problem)
            return False
        for anchor in self._anchors.get(entry.seq, ()):
            if anchor.hash != entry.hash:
                self._broken = (
                    entry.seq,
                    f"its hash differs from the one anchored in {anchor.source} "
                    f"(the trail was rewritten up to here, and rechained)",
                )
                return False
            self._matched.append(anchor)
        self._previous_hash = entry.hash
        self._expected_seq += 1
        self._checked += 1
        return True

    def _problem(self, entry: AuditEntry) -> str | None:
        if entry.seq != self._expected_seq:
            return f"expected entry #{self._expected_seq}, found #{entry.seq} (rows missing)"
        if entry.prev_hash != self._previous_hash:
            return "its link to the previous entry does not match"
        if entry.scheme == HMAC_SHA256:
            if self._key is None:
                self._unchecked += 1
                return None
            if not hmac.compare_digest(entry_hash(entry, self._key), entry.hash):
                return "its content does not match its MAC (the row was changed, or written with another AUDIT_KEY)"
            self._keyed += 1
            return None
        if entry.scheme != SHA256:
            return f"unknown hash scheme {entry.scheme!r}"
        if self._key is not None and (self._keyed or self._unchecked):
            return (
                "it is chained without AUDIT_KEY after entries chained with it (rewritten by someone "
                "without the key, or pitcrew ran without AUDIT_KEY)"
            )
        if entry_hash(entry) != entry.hash:
            return "its content does not match its hash (the row was changed)"
        self._unkeyed += 1
        return None

    def missing_anchors(self) -> list[Anchor]:
        """Anchors beyond the entries seen: the chain was cut before them."""
        return [a for seq, anchors in sorted(self._anchors.items()) if seq >= self._expected_seq for a in anchors]

    def report(self) -> ChainReport:
        broken_seq, reason = self._broken if self._broken is not None else (None, None)
        return ChainReport(
            self._checked, broken_seq, reason, keyed=self._keyed, unkeyed=self._unkeyed,
            unchecked=self._unchecked, anchors_matched=tuple(self._matched),
        )


def verify(entries: Iterable[AuditEntry], key: bytes | None = None) -> ChainReport:
    """Walk the chain in order and stop at the first entry whose link or hash does not hold."""
    verifier = ChainVerifier(key)
    for entry in entries:
        if not verifier.add(entry):
            break
    return verifier.report()
