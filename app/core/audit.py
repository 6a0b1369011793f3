"""The audit trail's hash chain: each entry's hash covers its content and the previous hash.

Changing, deleting or reordering any stored row changes a hash that a later row depends on,
so `verify` names the first row that no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


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


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 of a canonical JSON of everything in the entry except its own hash."""
    canonical = json.dumps(
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
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


class ChainVerifier:
    """Checks entries one at a time, so a trail of any length is verified in constant memory."""

    def __init__(self) -> None:
        self._previous_hash = GENESIS
        self._expected_seq = 1
        self._checked = 0
        self._broken: tuple[int, str] | None = None

    def add(self, entry: AuditEntry) -> bool:
        """Check the next entry; False once the chain is broken (later entries are not looked at)."""
        if self._broken is not None:
            return False
        if entry.seq != self._expected_seq:
            self._broken = (entry.seq, f"expected entry #{self._expected_seq}, found #{entry.seq} (rows missing)")
        elif entry.prev_hash != self._previous_hash:
            self._broken = (entry.seq, "its link to the previous entry does not match")
        elif entry_hash(entry) != entry.hash:
            self._broken = (entry.seq, "its content does not match its hash (the row was changed)")
        else:
            self._previous_hash = entry.hash
            self._expected_seq += 1
            self._checked += 1
            return True
        return False

    def report(self) -> ChainReport:
        if self._broken is None:
            return ChainReport(self._checked)
        return ChainReport(self._checked, *self._broken)


def verify(entries: Iterable[AuditEntry]) -> ChainReport:
    """Walk the chain in order and stop at the first entry whose link or hash does not hold."""
    verifier = ChainVerifier()
    for entry in entries:
        if not verifier.add(entry):
            break
    return verifier.report()
