"""One log line as any provider gives it, so core/logs can filter, redact and group it without asking whose.

Levels are folded into one small vocabulary (`debug`, `info`, `warning`, `error`) because Railway says `err`
or `error`, Vercel says `warning`, and `/logs --level error` must mean the same thing on both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_LEVELS = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "information": "info",
    "notice": "info",
    "log": "info",
    "warn": "warning",
    "warning": "warning",
    "err": "error",
    "error": "error",
    "fatal": "error",
    "critical": "error",
    "crit": "error",
    "alert": "error",
    "emerg": "error",
    "panic": "error",
}


@dataclass(frozen=True)
class LogLine:
    """A line of a deployment's, build's or environment's log.

    `attributes` holds what the provider parsed out of a structured line (Railway) or said about the
    request (Vercel), as strings, so a renderer can show `requestId` without knowing the provider.
    """

    timestamp: datetime | None
    level: str | None
    message: str
    attributes: dict[str, Any] = field(default_factory=dict)


def normalise_level(value: object) -> str | None:
    """The level in our vocabulary; an unknown word is kept, lower-cased, rather than guessed at."""
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip().lower()
    return _LEVELS.get(word, word)


def parse_timestamp(value: object) -> datetime | None:
    """RFC 3339 text (Railway, nanoseconds and all) or epoch milliseconds (Vercel) as an aware UTC datetime.

    None for anything else: one unreadable timestamp must not cost the user the whole log.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None
