"""Posting the head of the audit trail somewhere outside the database: an anchor.

Whoever can write to the database and holds AUDIT_KEY can rewrite the whole trail and recompute
every MAC; the chain alone cannot show it. A head posted to Slack (and printed, for someone to keep)
can: `pitcrew audit verify` compares the chain with the last anchor, and an entry rewritten before
the anchor's seq no longer has the anchored hash. The anchor is recorded in the database too, and in
the trail itself, so that verify finds the last one without being told.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.core.audit import anchor_text
from app.deps import Deps
from app.store import audit as audit_store
from app.store.db import transaction

# Posts `text` in `channel`; returns the message's ts (None when the poster gives none).
Post = Callable[[str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class AnchorResult:
    seq: int
    hash: str
    channel: str
    posted: bool
    reason: str = ""  # why nothing was posted

    @property
    def text(self) -> str:
        return anchor_text(self.seq, self.hash)


async def post_anchor(deps: Deps, post: Post, *, channel: str, actor: str, only_if_new: bool = False) -> AnchorResult:
    """Post the current head to `channel` and record it; with `only_if_new`, not when nothing but the
    last anchor's own entry was appended since (the daily job posts nothing on a quiet day)."""
    head = await audit_store.head(deps.sessions)
    if head.seq == 0:
        return AnchorResult(0, head.hash, channel, False, "the audit trail is empty: nothing to anchor yet")
    if only_if_new:
        last = await audit_store.last_anchor(deps.sessions)
        if last is not None and head.seq <= last.seq + 1:
            return AnchorResult(head.seq, head.hash, channel, False, "nothing was recorded since the last anchor")
    ts = await post(channel, anchor_text(head.seq, head.hash))
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        await audit_store.record_anchor(
            session, audit_store.RecordedAnchor(now, head.seq, head.hash, channel, ts, actor)
        )
        await audit_store.append(
            session, at=now, actor=actor, action="audit.anchor", target=channel,
            params={"seq": head.seq, "hash": head.hash, "message_ts": ts}, outcome="posted",
        )
    return AnchorResult(head.seq, head.hash, channel, True)
