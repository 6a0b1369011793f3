"""The period report's figures on known incidents, the period's words, and the weekly due times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from app.core.incident_args import IncidentUsageError, parse_incident_command
from app.core.period_report import (
    NO_SERVICE,
    BadPeriod,
    ReportIncident,
    Span,
    parse_period,
    period_report,
    spread,
    time_covered,
)
from app.core.report_schedule import WeeklySchedule, due_now

UNTIL = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def at(days_before: float, minutes: float = 0) -> datetime:
    return UNTIL - timedelta(days=days_before) + timedelta(minutes=minutes)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


INCIDENTS = [
    # service, severity, started, acked after, resolved after (minutes)
    ReportIncident("api", "SEV1", at(6), at(6, 3), at(6, 45)),
    ReportIncident("api", "SEV2", at(5), at(5, 7), at(5, 95)),
    ReportIncident("web", "SEV3", at(3), at(3, 30), at(3, 600)),
    ReportIncident(None, "SEV2", at(1), at(1, 1), None),
    ReportIncident("api", "SEV4", at(0.5), None, None),
    ReportIncident("api", "SEV1", at(9), at(9, 1), at(9, 2)),  # before the period: not counted
]


def test_counts_by_service_and_severity_busiest_service_first():
    report = period_report(INCIDENTS, until=UNTIL, days=7, zone=UTC)
    assert report.total == 5 and report.open_count == 2
    assert report.by_severity == {"SEV1": 1, "SEV2": 2, "SEV3": 1, "SEV4": 1}
    assert [(r.service, r.total) for r in report.services] == [("api", 3), (NO_SERVICE, 1), ("web", 1)]
    assert report.services[0].by_severity == {"SEV1": 1, "SEV2": 1, "SEV3": 0, "SEV4": 1}


def test_mtta_and_mttr_median_and_worst_exactly():
    report = period_report(INCIDENTS, until=UNTIL, days=7, zone=UTC)
    # acked after 3, 7, 30, 1 minutes: median of an even count is the mean of the middle two (3, 7).
    assert (report.mtta.count, report.mtta.median, report.mtta.worst) == (4, minutes(5), minutes(30))
    # resolved after 45, 95, 600 minutes.
    assert (report.mttr.count, report.mttr.median, report.mttr.worst) == (3, minutes(95), minutes(600))


def test_nothing_measured_is_none_not_zero():
    """30 days from 08:00 touch 31 calendar days: the chart shows each."""
    report = period_report([], until=UNTIL, days=30, zone=UTC)
    assert report.total == 0 and report.mtta == spread([]) and report.mtta.median is None
    assert len(report.per_day) == 31 and all(sum(d.by_severity.values()) == 0 for d in report.per_day)


def test_per_day_rows_cover_every_local_day_with_that_days_medians():
    report = period_report(INCIDENTS, until=UNTIL, days=7, zone=UTC)
    days = [d.day for d in report.per_day]
    assert days[0] == date(2026, 11, 30) and days[-1] == date(2026, 12, 7) and len(days) == 8
    row = next(d for d in report.per_day if d.day == date(2026, 12, 2))
    assert row.by_severity["SEV2"] == 1 and row.mtta == minutes(7) and row.mttr == minutes(95)
    quiet = next(d for d in report.per_day if d.day == date(2026, 12, 3))
    assert sum(quiet.by_severity.values()) == 0 and quiet.mtta is None


def test_days_are_counted_in_the_teams_zone():
    late = ReportIncident("api", "SEV3", datetime(2026, 12, 5, 23, 30, tzinfo=UTC), None, None)

    def busy_days(zone: tzinfo) -> list[date]:
        rows = period_report([late], until=UNTIL, days=7, zone=zone).per_day
        return [d.day for d in rows if d.by_severity["SEV3"]]

    [utc_day], [paris_day] = busy_days(UTC), busy_days(PARIS)
    assert (utc_day, paris_day) == (date(2026, 12, 5), date(2026, 12, 6))


def test_time_silenced_or_in_maintenance_is_clipped_to_the_period_and_overlaps_count_once():
    since = UNTIL - timedelta(days=7)
    spans = [
        Span(since - timedelta(hours=2), since + timedelta(hours=1)),  # 1 h inside
        Span(at(3), at(3, 60)),
        Span(at(3, 30), at(3, 90)),  # overlaps the previous: together 90 min
        Span(UNTIL - timedelta(minutes=10), None),  # still going: up to the period's end
        Span(UNTIL + timedelta(hours=1), UNTIL + timedelta(hours=2)),  # after: nothing
    ]
    assert time_covered(spans, since, UNTIL) == timedelta(hours=1, minutes=90 + 10)
    report = period_report([], until=UNTIL, days=7, zone=UTC, silences=spans, maintenance=spans[1:3])
    assert report.silenced == timedelta(hours=2, minutes=40) and report.maintenance == minutes(90)


@pytest.mark.parametrize(("words", "days"), [("", 7), ("7d", 7), ("30d", 30), ("30D", 30), (" 7d ", 7)])
def test_periods(words, days):
    assert parse_period(words) == days


@pytest.mark.parametrize("words", ["9x", "14d", "7", "d", "-7d", "7d 30d", "1000d"])
def test_other_periods_are_refused(words):
    with pytest.raises(BadPeriod, match="use `7d` or `30d`"):
        parse_period(words)


def test_the_incident_command_parses_report_and_refuses_a_bad_period_with_the_usage():
    assert parse_incident_command("report").days == 7
    assert parse_incident_command("report 30d").verb == "report"
    with pytest.raises(IncidentUsageError) as refused:
        parse_incident_command("report 9x")
    assert "`9x` is not a period" in str(refused.value) and "/incident report [7d|30d]" in str(refused.value)


def test_the_weekly_due_time_is_the_local_hour_summer_and_winter():
    schedule = WeeklySchedule(day="monday", hour=9, zone=PARIS)
    winter = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # a Saturday; CET is UTC+1
    assert schedule.next_due(winter) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)  # CEST is UTC+2
    assert schedule.next_due(summer) == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)
    due = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert schedule.last_due(due) == due and schedule.next_due(due) == due + timedelta(days=7)
    assert schedule.last_due(due - timedelta(seconds=1)) == due - timedelta(days=7)
    assert schedule.week_key(due) == "2026-12-07"


def test_a_due_time_is_posted_within_the_grace_only():
    schedule = WeeklySchedule(day="monday", hour=9, zone=PARIS)
    due = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert due_now(schedule, due + timedelta(minutes=5)) == due
    assert due_now(schedule, due - timedelta(minutes=5)) is None  # last week's, long past
    assert due_now(schedule, due + timedelta(hours=7)) is None  # missed: skipped, not posted on Monday night
