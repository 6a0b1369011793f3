"""The status page's history: per component, one bar per day for the last 90 days.

A day's bar says how much of the day the component was up and how bad its worst incident was, the
way public status pages show it (a row of green bars, a red one on the day of the outage). Uptime
is computed from the durations of the component's public incidents: the time covered by at least
one of them (from its start to its resolution, or to now while open) is down time, whatever the
severity, and overlapping incidents count once. The day's colour is its worst severity. Days are
UTC days, like every time on the page; today counts up to now. Which incidents are public is
decided in `app.core.status_page`; this module is handed only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.core.incidents import SEVERITIES, IncidentView
from app.core.period_report import Span, time_covered
from app.core.status_page import PagePolicy, affected

HISTORY_DAYS = 90
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayBar:
    day: date
    uptime: float  # percent of the day (of its elapsed part, today) without an incident
    worst: str | None  # the worst severity of the day's incidents, None on a quiet day

    @property
    def label(self) -> str:
        """What the bar says to a screen reader or on hover: `2026-12-01: 97.92% uptime, SEV1`."""
        said = f"{self.day.isoformat()}: {format_uptime(self.uptime)} uptime"
        return f"{said}, worst incident {self.worst}" if self.worst else f"{said}, no incidents"


@dataclass(frozen=True)
class ComponentHistory:
    name: str
    days: tuple[DayBar, ...]
    uptime: float  # over the whole history


def format_uptime(percent: float) -> str:
    """`100%`, `99.95%`: two decimals, as status pages give them, without a trailing `.00`."""
    text = f"{percent:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def component_histories(
    policy: PagePolicy, public: Sequence[IncidentView], *, now: datetime, days: int = HISTORY_DAYS
) -> list[ComponentHistory]:
    """Each component of the page, in the catalog's order, with its `days` daily bars (oldest first)."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    histories = []
    for service, name in policy.components.items():
        theirs = [v for v in public if service in affected(v)]  # a depends_on outage marks each it took down
        spans = [Span(v.started_at, v.resolved_at) for v in theirs]
        bars = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            start = datetime.combine(day, time(), tzinfo=UTC)
            end = min(start + _DAY, now)
            bars.append(DayBar(day, _uptime(spans, start, end, now), _worst(theirs, start, start + _DAY, now)))
        since = datetime.combine(first, time(), tzinfo=UTC)
        histories.append(ComponentHistory(name, tuple(bars), _uptime(spans, since, now, now)))
    return histories


def _uptime(spans: Sequence[Span], start: datetime, end: datetime, now: datetime) -> float:
    if end <= start:
        return 100.0
    open_until_now = [Span(s.start, s.end or now) for s in spans]
    down = time_covered(open_until_now, start, end)
    return round(100.0 * (1 - down / (end - start)), 2)


def _worst(views: Sequence[IncidentView], start: datetime, end: datetime, now: datetime) -> str | None:
    """The worst severity among incidents in force at some moment of the whole day [start, end): one
    that opened this very second counts today, though it has cost no uptime yet."""
    severities = [v.severity for v in views if v.started_at < end and (v.resolved_at or now) > start]
    ranked = [s for s in SEVERITIES if s in severities]
    return ranked[0] if ranked else None
