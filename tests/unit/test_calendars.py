"""Calendars in words and cron: what each means, due times across daylight-saving changes and month
ends, the key of each occurrence, and the grace after which a missed one is skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.core.calendars import GRACE, CalendarError, parse_calendar

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("words", "cron"), [
    ("hour", "0 * * * *"),
    ("hour at :15", "15 * * * *"),
    ("day at 08:00", "0 8 * * *"),
    ("every day at 8:05", "5 8 * * *"),
    ("Monday at 09:00", "0 9 * * 1"),
    ("mon, thu at 09:30", "30 9 * * 1,4"),
    ("sundays at 07:00", "0 7 * * 0"),
    ("weekday at 09:00", "0 9 * * 1-5"),
    ("month on 1 at 09:00", "0 9 1 * *"),
    ("month on the 15th at 10:00", "0 10 15 * *"),
    ("month on last at 18:00", "0 18 L * *"),
    ("0 8 * * 1-5", "0 8 * * 1-5"),
    ("*/15 * * * *", "*/15 * * * *"),
])
def test_words_and_cron_mean_one_cron_expression(words, cron):
    assert parse_calendar(words, PARIS).cron == cron


@pytest.mark.parametrize(("words", "reason"), [
    ("", "empty"),
    ("day", "`day` needs a time of day: `day at 09:00`"),
    ("day at 25:00", "'25:00' is not a time of day"),
    ("tomorrow", "'tomorrow' is not a calendar: expected `hour`, `day at 08:00`"),
    ("month on 31 at 09:00", "day 31 is not in every month: use `month on last`"),
    ("month at 09:00", "a monthly calendar names its day"),
    ("hour at :75", "':75' is not a minute of the hour"),
    ("0 8 * *", "a cron expression has 5 fields (minute hour day month weekday), not 4"),
    ("0 8 * * * *", "a cron expression has 5 fields"),
    ("61 * * * *", "not a cron expression (bad minute)"),
    ("0 0 30 2 *", "not a cron expression (bad day-of-month)"),
])
def test_what_is_not_a_calendar_says_why(words, reason):
    with pytest.raises(CalendarError) as refused:
        parse_calendar(words, PARIS)
    assert reason in str(refused.value)


def test_a_daily_time_stays_local_across_both_daylight_saving_changes():
    morning = parse_calendar("day at 08:00", PARIS)
    before_spring = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert morning.next_due(before_spring) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert morning.last_due(before_spring) == datetime(2026, 3, 28, 7, 0, tzinfo=UTC)  # 08:00 CET
    autumn = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert morning.next_due(autumn) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # back to CET


def test_a_time_that_does_not_exist_runs_at_the_first_minute_that_does_and_a_repeated_one_once():
    night = parse_calendar("day at 02:30", PARIS)
    spring = night.next_due(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert spring == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST: 02:30 was skipped by the clocks
    autumn = night.next_due(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert autumn == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    assert night.next_due(autumn) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)  # not the second one


def test_hourly_runs_every_real_hour_and_the_repeated_hour_has_its_own_key():
    hourly = parse_calendar("hour", PARIS)
    start = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST, the night clocks go back
    dues = []
    for _ in range(4):
        start = hourly.next_due(start)
        dues.append(start)
    assert [d - dues[0] for d in dues] == [timedelta(hours=h) for h in range(4)]
    keys = [hourly.key(d) for d in dues]
    assert keys == ["2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00",
                    "2026-10-25T04:00+01:00"]
    assert len(set(keys)) == 4


def test_month_ends_and_month_days():
    last = parse_calendar("month on last at 09:00", PARIS)
    due = datetime(2026, 1, 15, tzinfo=UTC)
    seen = []
    for _ in range(3):
        due = last.next_due(due)
        seen.append(due.astimezone(PARIS).date().isoformat())
    assert seen == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert last.next_due(datetime(2028, 2, 1, tzinfo=UTC)).astimezone(PARIS).day == 29  # a leap year
    first = parse_calendar("month on 1 at 09:00", PARIS)
    assert first.next_due(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(2027, 1, 1, 8, 0, tzinfo=UTC)


def test_last_due_includes_now_and_is_occurrence_knows_its_own_times():
    weekly = parse_calendar("monday at 09:00", PARIS)
    due = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert weekly.last_due(due) == due
    assert weekly.last_due(due - timedelta(seconds=1)) == due - timedelta(days=7)
    assert weekly.next_due(due) == due + timedelta(days=7)
    assert weekly.is_occurrence(due) and not weekly.is_occurrence(due + timedelta(hours=1))
    assert weekly.key(due) == "2026-12-07T09:00+01:00"
    assert weekly.local(due) == "Mon 2026-12-07 09:00 CET"


def test_a_missed_due_time_is_skipped_after_its_grace_half_the_period_for_frequent_ones():
    daily = parse_calendar("day at 08:00", PARIS)
    due = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
    assert daily.grace(due) == GRACE
    assert daily.due_now(due + timedelta(minutes=5)) == due
    assert daily.due_now(due + GRACE - timedelta(seconds=1)) == due
    assert daily.due_now(due + GRACE) is None  # skipped, not posted in the afternoon
    hourly = parse_calendar("hour", PARIS)
    assert hourly.grace(due) == timedelta(minutes=30)
    assert hourly.due_now(due + timedelta(minutes=29)) == due
    assert hourly.due_now(due + timedelta(minutes=31)) is None
