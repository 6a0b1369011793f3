"""How long, as people type it in commands: `30s`, `15m`, `2h`, `1d`, `1w`, `1h30m`.

One reader for every command that takes a duration (`/logs --since`, `@pitcrew silence`,
`/incident maintenance`), so that `2h` means the same everywhere and every refusal reads alike.
Each caller brings its own limit and says what the duration is for in the message.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"(?:(\d+)([smhdw]))+")
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
EXAMPLES = "`30s`, `15m`, `2h`, `1d` (or `1h30m`)"


class BadDuration(ValueError):
    """Text that is no duration, or one outside the caller's limit; the message says which and why."""


def looks_like_duration(text: str) -> bool:
    """Whether `text` is written as a duration at all (a sign is not: `-5m` is refused by parse_duration)."""
    return bool(_DURATION.fullmatch(text.strip().lower()))


def parse_duration(text: str, *, limit: timedelta, what: str = "the duration") -> timedelta:
    """`text` as a timedelta, above zero and at most `limit`; BadDuration saying what was wrong."""
    shown = text.strip()[:40]
    words = text.strip().lower()
    if not _DURATION.fullmatch(words):
        raise BadDuration(f"`{shown}` is not a duration for {what}: use a number and a unit, {EXAMPLES}")
    seconds = sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in _DURATION_PART.findall(words))
    if seconds <= 0:
        raise BadDuration(f"`{shown}` is no time at all; give {what} as e.g. `30m`")
    if seconds > limit.total_seconds():
        raise BadDuration(f"`{shown}` is too long for {what}: the limit is {format_limit(limit)}")
    return timedelta(seconds=seconds)


def format_limit(limit: timedelta) -> str:
    """`7 days`, `24 hours`, `30 minutes`: a limit as a refusal states it."""
    seconds = int(limit.total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0 and seconds >= size and not (size == 86400 and seconds < 2 * 86400):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
