"""Who is on call: rotations computed from pitcrew.yml, overrides laid over them, the hand-offs ahead.

Nothing about a shift is stored: a rotation's members take turns counted from its anchor date, so
every instance computes the same person at the same instant, and a restart changes nothing. Only
overrides (someone takes the shift for a while) live in the database; they are handed in here as
plain values. Daily and weekly shifts hand off at a local time of day in the rotation's zone, so a
09:00 Europe/Paris hand-off stays at 09:00 on both sides of a daylight-saving change (the shift
around the change lasts 23 or 25 hours); shifts of N hours are N real hours, counted from the first
hand-off. A working-hours restriction leaves the rotation with nobody outside those hours.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ONCALL_PREFIX = "oncall:"


@dataclass(frozen=True)
class Restriction:
    """On the `days` (0 = Monday) from `start` to `end`, local time; nobody outside."""

    days: frozenset[int]
    start: time
    end: time

    def covers(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True)
class Rotation:
    name: str
    members: tuple[str, ...]
    length: str | int  # "daily", "weekly" or hours
    handoff: time
    zone: ZoneInfo
    anchor: date
    restrict: Restriction | None = None

    def shift_start(self, index: int) -> datetime:
        """When shift `index` starts (0: the anchor's hand-off), in UTC."""
        if isinstance(self.length, int):
            return self._origin() + timedelta(hours=self.length * index)
        days = 1 if self.length == "daily" else 7
        local_day = self.anchor + timedelta(days=days * index)
        return datetime.combine(local_day, self.handoff, tzinfo=self.zone).astimezone(UTC)

    def shift_index(self, at: datetime) -> int:
        """The shift in progress at `at` (negative before the anchor: the turns run backwards too)."""
        if isinstance(self.length, int):
            return math.floor((at - self._origin()) / timedelta(hours=self.length))
        days = 1 if self.length == "daily" else 7
        index = (at.astimezone(self.zone).date() - self.anchor).days // days
        while at < self.shift_start(index):
            index -= 1
        while at >= self.shift_start(index + 1):
            index += 1
        return index

    def member(self, index: int) -> str:
        return self.members[index % len(self.members)]

    def _origin(self) -> datetime:
        return datetime.combine(self.anchor, self.handoff, tzinfo=self.zone).astimezone(UTC)


@dataclass(frozen=True)
class Override:
    """`user` holds `rotation`'s shift over [start, end), whoever the schedule says."""

    id: int
    rotation: str
    user: str
    start: datetime
    end: datetime
    by: str


@dataclass(frozen=True)
class OnCall:
    """Who `rotation` has on call at an instant (None: nobody, outside its working hours), and why."""

    rotation: str
    user: str | None
    scheduled: str | None  # whom the schedule names (the override replaces them)
    override: Override | None = None


@dataclass(frozen=True)
class Handoff:
    """At `at`, `rotation` passes from `before` to `after` (either None: nobody on call)."""

    rotation: str
    at: datetime
    before: str | None
    after: str | None


def on_call(rotation: Rotation, at: datetime, overrides: Iterable[Override] = ()) -> OnCall:
    """Who is on call for `rotation` at `at`: an override in force wins (someone took the shift on
    purpose, restricted hours or not), else the schedule's member within its working hours."""
    index = rotation.shift_index(at)
    scheduled: str | None = rotation.member(index)
    if rotation.restrict is not None and not rotation.restrict.covers(at.astimezone(rotation.zone)):
        scheduled = None
    for override in overrides:
        if override.rotation == rotation.name and override.start <= at < override.end:
            return OnCall(rotation.name, override.user, scheduled, override)
    return OnCall(rotation.name, scheduled, scheduled)


def handoffs(
    rotation: Rotation, since: datetime, until: datetime, overrides: Sequence[Override] = ()
) -> list[Handoff]:
    """Every change of who is on call in (since, until], in order: shift changes, the edges of the
    working hours and of overrides; a boundary where the same person stays on is no hand-off."""
    found: list[Handoff] = []
    for at in _boundaries(rotation, since, until, overrides):
        before = on_call(rotation, at - timedelta(microseconds=1), overrides).user
        after = on_call(rotation, at, overrides).user
        if before != after:
            found.append(Handoff(rotation.name, at, before, after))
    return found


def last_handoff(rotation: Rotation, now: datetime, overrides: Sequence[Override] = (), *,
                 within: timedelta = timedelta(days=8)) -> Handoff | None:
    """The latest hand-off at or before `now` (looking back `within`), or None."""
    past = handoffs(rotation, now - within, now, overrides)
    return past[-1] if past else None


def next_handoff(rotation: Rotation, now: datetime, overrides: Sequence[Override] = (), *,
                 within: timedelta = timedelta(days=60)) -> Handoff | None:
    """The first hand-off after `now` (looking ahead `within`), or None (one member, no hours)."""
    ahead = handoffs(rotation, now, now + within, overrides)
    return ahead[0] if ahead else None


def _boundaries(rotation: Rotation, since: datetime, until: datetime, overrides: Sequence[Override]) -> list[datetime]:
    points: set[datetime] = set()
    index = rotation.shift_index(since) + 1
    while (start := rotation.shift_start(index)) <= until:
        points.add(start)
        index += 1
    if rotation.restrict is not None:
        day = since.astimezone(rotation.zone).date() - timedelta(days=1)
        last = until.astimezone(rotation.zone).date() + timedelta(days=1)
        while day <= last:
            for moment in (rotation.restrict.start, rotation.restrict.end):
                points.add(_local(day, moment, rotation.zone))
            day += timedelta(days=1)
    for override in overrides:
        if override.rotation == rotation.name:
            points.update((override.start, override.end))
    return sorted(p for p in points if since < p <= until)


def _local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def oncall_rotation(who: str) -> str | None:
    """`oncall:primary` -> `primary`; a Slack id -> None."""
    return who.removeprefix(ONCALL_PREFIX) if who.startswith(ONCALL_PREFIX) else None


def overlapping(overrides: Iterable[Override], rotation: str, start: datetime, end: datetime) -> Override | None:
    """An override of `rotation` sharing a moment with [start, end), if any."""
    for override in overrides:
        if override.rotation == rotation and override.start < end and start < override.end:
            return override
    return None
