"""The managers' view of a period (`/incident report [7d|30d]` and the weekly post): the figures.

Plain values in (the incidents that started in the period, the spans spent silenced or in
maintenance), one `PeriodReport` out; Slack, the console and the chart renderer present it. The
figures are those incident reviews use: how many incidents, by service and by severity; the time to
acknowledge (MTTA: from the start to the first acknowledgement) and to resolve (MTTR: from the
start to the resolution), each as its median and its worst, since a mean hides the one bad night a
manager needs to see; and per day, the incidents by severity and that day's median MTTA/MTTR for
the chart. Days are counted in the team's time zone (the weekly post's), so a Monday is a Monday.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from statistics import median

from app.core.incidents import SEVERITIES

PERIOD_DAYS = (7, 30)
DEFAULT_DAYS = 7
NO_SERVICE = "(no service)"
_PERIOD = re.compile(r"^([0-9]{1,3})d$", re.IGNORECASE)


class BadPeriod(ValueError):
    """A period other than 7d or 30d; the message says which were expected."""


def parse_period(text: str | None) -> int:
    """`7d` or `30d` (nothing: 7 days) → days; anything else raises BadPeriod."""
    word = (text or "").strip()
    if not word:
        return DEFAULT_DAYS
    match = _PERIOD.match(word)
    if match is None or int(match.group(1)) not in PERIOD_DAYS:
        raise BadPeriod(f"`{word[:20]}` is not a period I report on: use `7d` or `30d`")
    return int(match.group(1))


@dataclass(frozen=True)
class ReportIncident:
    """What the report needs of one incident, and nothing else (no title, no people)."""

    service: str | None
    severity: str
    started_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class Span:
    """A stretch of time: a silence, a maintenance window. `end` None: still going at the period's end."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Spread:
    """Median and worst of a set of durations; None when nothing was measured."""

    count: int
    median: timedelta | None
    worst: timedelta | None


@dataclass(frozen=True)
class ServiceRow:
    service: str
    by_severity: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


@dataclass(frozen=True)
class DayRow:
    """One day of the chart: incidents started that day by severity, and that day's medians."""

    day: date
    by_severity: dict[str, int]
    mtta: timedelta | None
    mttr: timedelta | None


@dataclass(frozen=True)
class PeriodReport:
    days: int
    since: datetime
    until: datetime
    total: int
    by_severity: dict[str, int]
    services: tuple[ServiceRow, ...]
    mtta: Spread
    mttr: Spread
    open_count: int
    silenced: timedelta
    maintenance: timedelta
    per_day: tuple[DayRow, ...]


def spread(durations: Iterable[timedelta]) -> Spread:
    """Median (the mean of the two middle ones for an even count) and worst, to the second."""
    seconds = sorted(max(d.total_seconds(), 0.0) for d in durations)
    if not seconds:
        return Spread(0, None, None)
    return Spread(len(seconds), timedelta(seconds=median(seconds)), timedelta(seconds=seconds[-1]))


def time_covered(spans: Iterable[Span], since: datetime, until: datetime) -> timedelta:
    """How long at least one span was in force within [since, until): overlaps count once."""
    clipped = sorted(
        (max(s.start, since), min(s.end or until, until)) for s in spans if s.start < until and (s.end or until) > since
    )
    total = timedelta(0)
    current: tuple[datetime, datetime] | None = None
    for start, end in clipped:
        if end <= start:
            continue
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            total += current[1] - current[0]
        current = (start, end)
    if current is not None:
        total += current[1] - current[0]
    return total


def _zero() -> dict[str, int]:
    return dict.fromkeys(SEVERITIES, 0)


def _severity(word: str) -> str:
    return word if word in SEVERITIES else SEVERITIES[-1]


def period_report(
    incidents: Sequence[ReportIncident],
    *,
    until: datetime,
    days: int,
    zone: tzinfo,
    silences: Sequence[Span] = (),
    maintenance: Sequence[Span] = (),
) -> PeriodReport:
    """The report of the `days` days before `until`, on the incidents that started in them."""
    since = until - timedelta(days=days)
    inside = [i for i in incidents if since <= i.started_at < until]
    by_severity = _zero()
    by_service: dict[str, dict[str, int]] = {}
    for incident in inside:
        severity = _severity(incident.severity)
        by_severity[severity] += 1
        by_service.setdefault(incident.service or NO_SERVICE, _zero())[severity] += 1
    services = tuple(
        sorted((ServiceRow(name, counts) for name, counts in by_service.items()), key=lambda r: (-r.total, r.service))
    )
    return PeriodReport(
        days=days,
        since=since,
        until=until,
        total=len(inside),
        by_severity=by_severity,
        services=services,
        mtta=spread(_to_ack(inside)),
        mttr=spread(_to_resolve(inside)),
        open_count=sum(1 for i in inside if i.resolved_at is None),
        silenced=time_covered(silences, since, until),
        maintenance=time_covered(maintenance, since, until),
        per_day=_per_day(inside, since, until, zone),
    )


def _to_ack(incidents: Iterable[ReportIncident]) -> list[timedelta]:
    return [i.acknowledged_at - i.started_at for i in incidents if i.acknowledged_at is not None]


def _to_resolve(incidents: Iterable[ReportIncident]) -> list[timedelta]:
    return [i.resolved_at - i.started_at for i in incidents if i.resolved_at is not None]


def _per_day(incidents: Sequence[ReportIncident], since: datetime, until: datetime, zone: tzinfo) -> tuple[DayRow, ...]:
    """Every local day the period touches, in order, empty days included (the chart shows quiet days)."""
    first, last = since.astimezone(zone).date(), (until - timedelta(microseconds=1)).astimezone(zone).date()
    grouped: dict[date, list[ReportIncident]] = {}
    for incident in incidents:
        grouped.setdefault(incident.started_at.astimezone(zone).date(), []).append(incident)
    rows = []
    day = first
    while day <= last:
        those = grouped.get(day, [])
        counts = _zero()
        for incident in those:
            counts[_severity(incident.severity)] += 1
        rows.append(DayRow(day, counts, spread(_to_ack(those)).median, spread(_to_resolve(those)).median))
        day += timedelta(days=1)
    return tuple(rows)
