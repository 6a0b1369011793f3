"""What a `@pitcrew <verb>` handler receives and answers with.

The mention listener, the incident verbs and the runbook verb all speak in these types; they live
here, below the three, so that none of them imports another to learn the shape of a mention.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mention:
    """A mention as the verbs see it: who, where (the thread's root when in one), and the words after the verb."""

    user: str
    channel: str
    ts: str
    thread_ts: str | None
    args: str

    @property
    def reply_ts(self) -> str:
        return self.thread_ts or self.ts


Reply = Callable[..., Awaitable[Any]]
"""Posts the answer where the mention was made: in the thread for all, or to the asker alone."""

Verb = Callable[[Mention, Any, Reply], Awaitable[str]]
"""A verb's handler; it returns the outcome the audit trail records."""
