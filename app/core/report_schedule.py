"""When the weekly report is due: a weekday and an hour in the team's time zone.

"Monday 09:00 Europe/Paris" is a local time, so it moves against UTC twice a year; the times here
are computed in the zone and returned in UTC. Each week's report has a key (the local date it is
due), which is what makes it post once: the first instance to claim the key posts, the others see
it taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A due time missed by more than this (every instance down over the weekend) is skipped, not posted late.
GRACE = timedelta(hours=6)


@dataclass(frozen=True)
class WeeklySchedule:
    day: str  # one of WEEKDAYS
    hour: int  # 0-23, local
    zone: ZoneInfo

    def occurrence(self, local_day: date) -> datetime:
        """The due time, in UTC, of the week whose due day is `local_day`."""
        return datetime.combine(local_day, time(self.hour), tzinfo=self.zone).astimezone(UTC)

    def last_due(self, now: datetime) -> datetime:
        """The latest due time at or before `now`."""
        today = now.astimezone(self.zone).date()
        back = (today.weekday() - WEEKDAYS.index(self.day)) % 7
        due = self.occurrence(today - timedelta(days=back))
        return due if due <= now else self.occurrence(today - timedelta(days=back + 7))

    def next_due(self, now: datetime) -> datetime:
        """The first due time after `now`."""
        return self.occurrence(self.last_due(now).astimezone(self.zone).date() + timedelta(days=7))

    def week_key(self, due: datetime) -> str:
        """`2026-12-07`: the local date of a due time, the week's report's name."""
        return due.astimezone(self.zone).date().isoformat()


def due_now(schedule: WeeklySchedule, now: datetime) -> datetime | None:
    """The due time to post for if one passed less than GRACE ago, else None (too early, or missed)."""
    due = schedule.last_due(now)
    return due if now - due < GRACE else None
