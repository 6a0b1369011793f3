"""Silencing an incident: what `@pitcrew silence 2h [reason]` means, and whether one is in force.

While an incident is silenced its alerts are still stored and counted, but they page no one, post
nothing and do not reopen it; the silence ends by itself at `until` (a job), or when a responder
lifts it. The limit keeps a forgotten silence from hiding an outage for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.chat_text import plain_text
from app.core.durations import BadDuration, parse_duration

SILENCE_LIMIT = timedelta(days=7)
REASON_MAX = 300
USAGE = (
    "Usage, in the incident's thread: `@pitcrew silence <duration> [reason]` (e.g. `@pitcrew silence 2h "
    "waiting for the vendor`; up to 7d) · `@pitcrew unsilence` lifts it. "
    "Or `/incident <id> silence <duration> [reason]`, `/incident <id> unsilence`."
)


class SilenceUsage(ValueError):
    """Words that do not make a silence; the message says what was wrong, followed by the usage."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}\n{USAGE}")


@dataclass(frozen=True)
class SilenceRequest:
    duration: timedelta
    reason: str | None


def parse_silence(text: str) -> SilenceRequest:
    """`2h waiting for the vendor`: a duration up to SILENCE_LIMIT, then an optional reason."""
    first, _, rest = text.strip().partition(" ")
    if not first:
        raise SilenceUsage("`silence` needs a duration, e.g. `silence 2h`")
    try:
        duration = parse_duration(first, limit=SILENCE_LIMIT, what="a silence")
    except BadDuration as err:
        raise SilenceUsage(str(err)) from None
    reason = plain_text(rest.strip())[:REASON_MAX] or None
    return SilenceRequest(duration=duration, reason=reason)


def silenced(until: datetime | None, now: datetime) -> bool:
    """Whether a silence ending at `until` is in force at `now` (it ends at `until` itself)."""
    return until is not None and until > now


@dataclass(frozen=True)
class SilenceEvent:
    """A line of an incident's timeline about its silence: `silenced` (with its end) or `unsilenced`."""

    incident_id: int
    at: datetime
    kind: str
    until: datetime | None = None


def silence_spans(events: list[SilenceEvent], now: datetime) -> list[tuple[datetime, datetime | None]]:
    """(start, end) of each silence, from the timeline: a silence set again while in force extends it
    (it keeps its start); `unsilenced` ends it then; otherwise it ends at its `until` (None: not yet)."""
    spans: list[tuple[datetime, datetime | None]] = []
    open_: dict[int, tuple[datetime, datetime]] = {}
    for event in sorted(events, key=lambda e: (e.at, e.kind != "silenced")):
        current = open_.get(event.incident_id)
        if current is not None and current[1] <= event.at:  # it had expired by itself before this line
            spans.append(current)
            current = None
            del open_[event.incident_id]
        if event.kind == "silenced" and event.until is not None:
            open_[event.incident_id] = (current[0] if current else event.at, event.until)
        elif event.kind == "unsilenced" and current is not None:
            spans.append((current[0], event.at))
            del open_[event.incident_id]
    spans += [(start, until if until <= now else None) for start, until in open_.values()]
    return spans
