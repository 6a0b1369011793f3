"""Maintenance windows: the `/incident maintenance ...` grammar, its limits, and the window as values.

The grammar (DESIGN.md: `maintenance <service ...> <duration> <reason>`), extended for planning:

    maintenance <service ...> <duration> [at <start>] <reason>
    maintenance <service ...> at <start> <duration> <reason>
    maintenance list
    maintenance cancel <n>

`<start>` is an ISO 8601 time with its zone (`2026-12-20T22:00Z`, `2026-12-20T23:00+01:00`), in
the future and at most PLAN_AHEAD_LIMIT ahead. A window that starts now lasts at most
WINDOW_LIMIT (24 h: a longer "maintenance" is an outage nobody is told about); a planned one at
most PLANNED_LIMIT, since it was announced ahead. The reason is required: it is what the
updates channel and the status page say.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.core.chat_text import plain_text
from app.core.durations import BadDuration, parse_duration

WINDOW_LIMIT = timedelta(hours=24)
PLANNED_LIMIT = timedelta(days=7)
PLAN_AHEAD_LIMIT = timedelta(days=90)
REASON_MAX = 300
USAGE = """\
Usage:
• `/incident maintenance <service ...> <duration> <reason>` — a window starting now, up to 24h: \
`/incident maintenance api db 2h upgrading Postgres`
• `/incident maintenance <service ...> <duration> at <start> <reason>` — planned ahead, up to 7d: \
`/incident maintenance api 2h at 2026-12-20T22:00Z moving region` (the start in ISO 8601 with its zone)
• `/incident maintenance list` — windows in force and planned
• `/incident maintenance cancel <n>` — cancel one (one in force ends now)
During a window, alerts for its services are recorded on the window's message and open no incident; \
an alert still firing when it ends opens its incident then."""


class MaintenanceUsage(ValueError):
    """Words that do not make a maintenance command; `reason` says which (empty for `help`)."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}\n{USAGE}" if reason else USAGE)


@dataclass(frozen=True)
class OpenWindow:
    services: tuple[str, ...]
    duration: timedelta
    reason: str
    starts_at: datetime | None = None  # None: now


@dataclass(frozen=True)
class MaintenanceCommand:
    """`verb` is open (with `window`), list, or cancel (with `window_id`)."""

    verb: str
    window: OpenWindow | None = None
    window_id: int | None = None


def parse_maintenance(text: str, *, services: Collection[str], now: datetime) -> MaintenanceCommand:
    """The words after `/incident maintenance`, checked against the catalog's `services` and `now`."""
    words = plain_text(text).split()
    if not words or words[0].lower() in ("help", "-h", "--help", "?"):
        raise MaintenanceUsage("" if words else "`maintenance` needs the services, a duration and a reason")
    head = words[0].lower()
    if head in ("list", "ls"):
        if len(words) > 1:
            raise MaintenanceUsage("`maintenance list` takes nothing after it")
        return MaintenanceCommand(verb="list")
    if head == "cancel":
        if len(words) != 2:
            raise MaintenanceUsage("`maintenance cancel` needs the window's number, e.g. `maintenance cancel 3`")
        return MaintenanceCommand(verb="cancel", window_id=_window_number(words[1]))
    return MaintenanceCommand(verb="open", window=_open(words, services, now))


def _window_number(word: str) -> int:
    digits = word.removeprefix("#").upper().removeprefix("MW-")
    if not digits.isdigit() or not 0 < int(digits) < 2**31:
        raise MaintenanceUsage(f"`{word[:40]}` is not a window's number (see `/incident maintenance list`)")
    return int(digits)


def _open(words: Sequence[str], services: Collection[str], now: datetime) -> OpenWindow:
    i = 0
    while i < len(words) and words[i] in services:
        i += 1
    named = list(words[:i])
    # Words before the first thing that reads as a duration or `at` are services the catalog lacks.
    j = i
    while j < len(words) and words[j].lower() != "at" and not _duration_attempt(words[j]):
        j += 1
    if j < len(words) and j > i:
        _unknown(words[i:j], services)
    if not named:
        if i < len(words) and not _duration_attempt(words[i]) and words[i].lower() != "at":
            _unknown(words[i : i + 1], services)
        raise MaintenanceUsage("`maintenance` needs at least one service before the duration")
    starts_at: datetime | None = None
    duration_word: str | None = None
    for _ in range(2):
        if i < len(words) and words[i].lower() == "at" and starts_at is None:
            if i + 1 >= len(words):
                raise MaintenanceUsage("`at` needs a start time, e.g. `at 2026-12-20T22:00Z`")
            starts_at = _start(words[i + 1], now)
            i += 2
        elif i < len(words) and duration_word is None:
            duration_word = words[i]
            i += 1
    if duration_word is None:
        raise MaintenanceUsage("`maintenance` needs a duration after the services, e.g. `2h`")
    limit = PLANNED_LIMIT if starts_at is not None else WINDOW_LIMIT
    what = "a planned window" if starts_at is not None else "a window starting now"
    try:
        duration = parse_duration(duration_word, limit=limit, what=what)
    except BadDuration as err:
        hint = "; a window planned with `at` may last up to 7 days" if starts_at is None and "limit" in str(err) else ""
        raise MaintenanceUsage(f"{err}{hint}") from None
    reason = " ".join(words[i:]).strip()[:REASON_MAX]
    if not reason:
        raise MaintenanceUsage("`maintenance` needs a reason after the duration: it is what the announcement says")
    return OpenWindow(services=tuple(dict.fromkeys(named)), duration=duration, reason=reason, starts_at=starts_at)


def _duration_attempt(word: str) -> bool:
    """A word meant as a duration: it starts with a digit or a sign (`2h`, `2`, `-5m`, `999d`)."""
    return word[:1].isdigit() or word[:1] in "+-"


def _unknown(words: Sequence[str], services: Collection[str]) -> None:
    known = ", ".join(sorted(services)) or "none in pitcrew.yml"
    shown = ", ".join(f"`{w[:40]}`" for w in words[:5])
    raise MaintenanceUsage(
        f"unknown service{'s' if len(words) > 1 else ''} {shown} (known: {known}); the duration follows the services"
    )


def _start(word: str, now: datetime) -> datetime:
    text = word.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise MaintenanceUsage(
            f"`{text[:40]}` is not a start time: write it in ISO 8601 with its zone, e.g. `2026-12-20T22:00Z`"
        ) from None
    if moment.tzinfo is None:
        raise MaintenanceUsage(f"`{text[:40]}` has no time zone: add `Z` for UTC (`2026-12-20T22:00Z`) or `+01:00`")
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise MaintenanceUsage(f"`{text[:40]}` is in the past; leave out `at` to start now")
    if moment - now > PLAN_AHEAD_LIMIT:
        raise MaintenanceUsage(f"`{text[:40]}` is too far ahead: plan at most 90 days ahead")
    return moment


@dataclass(frozen=True)
class HeldAlert:
    """An alert a window held: one line per alert (dedupe key), with how often it came and its last state."""

    key: str
    source: str
    title: str
    status: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class WindowView:
    """A maintenance window as plain values: what flows return and renderers show."""

    id: int
    services: tuple[str, ...]
    reason: str
    created_by: str
    starts_at: datetime
    ends_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    channel: str | None = None
    message_ts: str | None = None
    alerts: tuple[HeldAlert, ...] = field(default_factory=tuple)

    @property
    def ref(self) -> str:
        return f"MW-{self.id}"

    def state(self, now: datetime) -> str:
        """planned, active, ended or cancelled."""
        if self.cancelled_at is not None:
            return "cancelled"
        if self.ended_at is not None or now >= self.ends_at:
            return "ended"
        return "active" if now >= self.starts_at else "planned"

    def in_force(self, now: datetime) -> bool:
        return self.state(now) == "active"


def announcement(window: WindowView) -> str:
    """`Scheduled maintenance: api, db, until 14:30 UTC`: the status page's line (and the message's)."""
    return f"Scheduled maintenance: {', '.join(window.services)}, until {window.ends_at:%H:%M} UTC"


class MaintenanceError(Exception):
    """A window that cannot be changed as asked (unknown, over or cancelled already); the message says which."""


def public_services(window: WindowView, components: dict[str, str]) -> tuple[str, ...]:
    """The window's services under their status page names; a service the page does not show is left out."""
    return tuple(dict.fromkeys(components[s] for s in window.services if s in components))
