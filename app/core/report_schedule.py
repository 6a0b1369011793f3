"""When the weekly report is due: a weekday and an hour in the team's time zone.

"Monday 09:00 Europe/Paris" is a local time, so it moves against UTC twice a year; it is one of the
calendars of app/core/calendars.py (`monday at 09:00`), which computes its times in the zone and
returns them in UTC, as it does for the scheduled checks. Each week's report has a key (the local
date it is due), which is what makes it post once: the first instance to claim the key posts, the
others see it taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from app.core.calendars import GRACE, WEEKDAYS, Calendar, parse_calendar

__all__ = ["GRACE", "WEEKDAYS", "WeeklySchedule", "due_now"]


@dataclass(frozen=True)
class WeeklySchedule:
    day: str  # one of WEEKDAYS
    hour: int  # 0-23, local
    zone: ZoneInfo

    @cached_property
    def calendar(self) -> Calendar:
        return parse_calendar(f"{self.day} at {self.hour:02d}:00", self.zone)

    def last_due(self, now: datetime) -> datetime:
        """The latest due time at or before `now`."""
        return self.calendar.last_due(now)

    def next_due(self, now: datetime) -> datetime:
        """The first due time after `now`."""
        return self.calendar.next_due(now)

    def week_key(self, due: datetime) -> str:
        """`2026-12-07`: the local date of a due time, the week's report's name."""
        return due.astimezone(self.zone).date().isoformat()


def due_now(schedule: WeeklySchedule, now: datetime) -> datetime | None:
    """The due time to post for if one passed less than GRACE ago, else None (too early, or missed)."""
    return schedule.calendar.due_now(now)
