"""Calendars written in words (`day at 08:00`, `monday at 09:00`, `month on 1 at 09:00`, `hour`) or as
a cron expression, and when they are due, in a time zone.

Every calendar is kept as a cron expression, whichever way it was written, and evaluated by cronsim
(a small cron evaluator without dependencies, the one Healthchecks.io runs its cron checks with), so
that the words and cron agree on the hard cases by construction: a local time that does not exist
on the day clocks go forward (02:30 in Europe/Paris on the last Sunday of March) runs at the first
minute that does (03:00), one that happens twice when they go back runs once, the first time; an
hourly calendar runs every real hour, both 02:00 of that night included. Times are computed in the
zone and returned in UTC.

Each occurrence has a key, its local due time with its UTC offset (`2026-10-25T02:00+01:00`),
unique even on the night clocks go back: the key is what a run claims, so that several instances
run each occurrence once. A due time missed for longer than its grace (every instance down) is
skipped, not run late: a morning check posted in the afternoon says nothing useful about the
morning, and a week of hourly checks posted at once is noise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

# A due time missed by more than this (every instance down over the weekend) is skipped, not run late;
# a calendar due more often than twice this is given half its period instead.
GRACE = timedelta(hours=6)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CRON_DAY = {day: (index + 1) % 7 for index, day in enumerate(WEEKDAYS)}  # cron counts Sunday as 0
_DAY_WORDS = {**{day: day for day in WEEKDAYS}, **{day[:3]: day for day in WEEKDAYS},
              "tues": "tuesday", "thur": "thursday", "thurs": "thursday"}
MAX_MONTH_DAY = 28  # every month has it; later days are `last`, not a day some months skip

EXAMPLES = "`hour`, `day at 08:00`, `monday at 09:00`, `weekday at 09:00`, `month on 1 at 09:00` or cron `0 8 * * *`"


class CalendarError(ValueError):
    """A calendar that does not parse; the message says why and what is expected."""


@dataclass(frozen=True)
class Calendar:
    """`text` as written (what lists show), `cron` what it means, evaluated in `zone`."""

    text: str
    cron: str
    zone: ZoneInfo

    def next_due(self, now: datetime) -> datetime:
        """The first due time after `now`, in UTC."""
        return next(CronSim(self.cron, now.astimezone(self.zone))).astimezone(UTC)

    def last_due(self, now: datetime) -> datetime:
        """The latest due time at or before `now`, in UTC.

        cronsim steps over its start in both directions, so the search starts a second later; a due
        time within that second but after `now` is stepped over once more."""
        earlier = CronSim(self.cron, (now + timedelta(seconds=1)).astimezone(self.zone), reverse=True)
        due = next(earlier).astimezone(UTC)
        return due if due <= now else next(earlier).astimezone(UTC)

    def is_occurrence(self, due: datetime) -> bool:
        """Whether `due` is one of this calendar's due times (a job made for another calendar, before
        pitcrew.yml changed, is not)."""
        return self.last_due(due) == due

    def grace(self, due: datetime) -> timedelta:
        """How late the occurrence at `due` may still run: GRACE, or half the time to the next one."""
        return min(GRACE, (self.next_due(due) - due) / 2)

    def due_now(self, now: datetime) -> datetime | None:
        """The due time to run for if one passed less than its grace ago, else None (early, or missed)."""
        due = self.last_due(now)
        return due if now - due < self.grace(due) else None

    def key(self, due: datetime) -> str:
        """`2026-12-08T08:00+01:00`: the occurrence's local due time with its offset."""
        return due.astimezone(self.zone).isoformat(timespec="minutes")

    def local(self, due: datetime) -> str:
        """`Tue 2026-12-08 08:00 CET`: a due time as the people of the zone read it."""
        return due.astimezone(self.zone).strftime("%a %Y-%m-%d %H:%M %Z")


def parse_calendar(text: str, zone: ZoneInfo) -> Calendar:
    """The calendar `text` describes, or CalendarError saying why it is not one.

    Words: `hour` (`hour at :15`), `day at 08:00`, `weekday at 09:00` (Monday to Friday), one or more
    days (`monday at 09:00`, `mon, thu at 09:00`), `month on 1 at 09:00` (1 to 28, or `last`); an
    optional leading `every`. Otherwise five cron fields, minute to day of week (`0 8 * * *`).
    """
    if not isinstance(text, str) or not text.strip():
        raise CalendarError(f"empty: expected {EXAMPLES}")
    written = " ".join(text.split())
    words = written.lower().removeprefix("every ").strip()
    fields = words.split(" ")
    if re.match(r"[0-9*]", fields[0]):  # a cron expression: its minute field comes first
        return Calendar(written, _cron(words.upper()), zone)
    return Calendar(written, _words(words), zone)


def _cron(expression: str) -> str:
    fields = expression.split(" ")
    if len(fields) != 5:
        raise CalendarError(f"a cron expression has 5 fields (minute hour day month weekday), not {len(fields)}")
    try:
        CronSim(expression, datetime(2026, 1, 1, tzinfo=UTC))
    except CronSimError as err:
        raise CalendarError(f"not a cron expression ({str(err).lower()}): e.g. `0 8 * * *` for 08:00 daily") from None
    return expression


def _words(words: str) -> str:
    head, at, when = (part.strip() for part in words.partition(" at "))
    if head in ("hour", "hourly"):
        minute = _minute(when) if at else 0
        return f"{minute} * * * *"
    if head.startswith("month"):
        day = _month_day(head)
        hour, minute = _time(when, head) if at else _missing_time("month on 1")
        return f"{minute} {hour} {day} * *"
    if head in ("day", "daily"):
        hour, minute = _time(when, head) if at else _missing_time("day")
        return f"{minute} {hour} * * *"
    if head in ("weekday", "weekdays"):
        hour, minute = _time(when, head) if at else _missing_time("weekday")
        return f"{minute} {hour} * * 1-5"
    days = _days(head)
    hour, minute = _time(when, head) if at else _missing_time(head)
    return f"{minute} {hour} * * {','.join(str(_CRON_DAY[d]) for d in days)}"


def _missing_time(head: str) -> tuple[int, int]:
    raise CalendarError(f"`{head}` needs a time of day: `{head} at 09:00`")


def _time(text: str, head: str) -> tuple[int, int]:
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text)
    if match is None:
        raise CalendarError(f"{text!r} is not a time of day: expected HH:MM from 00:00 to 23:59 (`{head} at 09:00`)")
    return int(match.group(1)), int(match.group(2))


def _minute(text: str) -> int:
    match = re.fullmatch(r":?([0-5]?[0-9])", text)
    if match is None:
        raise CalendarError(f"{text!r} is not a minute of the hour: expected `hour at :15` (:00 to :59)")
    return int(match.group(1))


def _month_day(head: str) -> str:
    match = re.fullmatch(r"month(?:ly)?(?: on(?: the)? (\S+))?", head)
    if match is None or match.group(1) is None:
        raise CalendarError("a monthly calendar names its day: `month on 1 at 09:00` (1 to 28, or `last`)")
    if match.group(1) == "last":
        return "L"
    day = re.sub(r"(st|nd|rd|th)$", "", match.group(1))
    if not day.isdigit() or not 1 <= int(day) <= 31:
        raise CalendarError(f"{match.group(1)!r} is not a day of the month: 1 to 28, or `last`")
    if int(day) > MAX_MONTH_DAY:
        raise CalendarError(
            f"day {int(day)} is not in every month: use `month on last` for the month's last day, or a day from 1 to 28"
        )
    return str(int(day))


def _days(head: str) -> list[str]:
    parts = [p for p in re.split(r"\s*(?:,|\band\b)\s*|\s+", head) if p]
    days: list[str] = []
    for part in parts:
        day = _DAY_WORDS.get(part.removesuffix("s") if part.endswith("days") else part)
        if day is None:
            raise CalendarError(f"{head!r} is not a calendar: expected {EXAMPLES}")
        days.append(day)
    return list(dict.fromkeys(days))
