"""Rotations computed (app/core/oncall.py) and read from pitcrew.yml (app/catalog.py): hand-offs at
local time across daylight-saving changes, working hours, overrides, and the load-time refusals."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.catalog import CatalogError, parse_catalog
from app.core.oncall import Override, Restriction, Rotation, handoffs, next_handoff, on_call, overlapping
from app.flows.oncall import to_rotation

PARIS = ZoneInfo("Europe/Paris")


def daily(members: tuple[str, ...] = ("UA", "UB", "UC"), **kw: object) -> Rotation:
    return Rotation("primary", members, "daily", time(9), PARIS, date(2026, 3, 1), **kw)  # type: ignore[arg-type]


def local(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize("month, change_day", [(3, 29), (10, 25)])
def test_daily_handoff_stays_at_nine_local_across_daylight_saving(month: int, change_day: int) -> None:
    rotation = daily()
    since = datetime(2026, month, change_day - 2, tzinfo=PARIS).astimezone(UTC)
    found = handoffs(rotation, since, since + timedelta(days=4))
    assert [h.at.astimezone(PARIS).time() for h in found] == [time(9)] * 4
    utc_hours = {h.at.hour for h in found}
    assert len(utc_hours) == 2  # 08:00 UTC in winter, 07:00 UTC in summer: the change is crossed
    # The shift around the change lasts 23 h (March) or 25 h (October) in real time.
    lengths = {(b.at - a.at) for a, b in itertools.pairwise(found)}
    assert timedelta(hours=23 if month == 3 else 25) in lengths
    # Who is on call just before and at 09:00 local on the day of the change.
    before = on_call(rotation, local(2026, month, change_day, 8, 59)).user
    after = on_call(rotation, local(2026, month, change_day, 9, 0)).user
    assert before != after


def test_turns_follow_the_anchor() -> None:
    rotation = daily()
    assert on_call(rotation, local(2026, 3, 1, 9)).user == "UA"
    assert on_call(rotation, local(2026, 3, 2, 8, 59)).user == "UA"
    assert on_call(rotation, local(2026, 3, 2, 9)).user == "UB"
    assert on_call(rotation, local(2026, 3, 4, 10)).user == "UA"
    assert on_call(rotation, local(2026, 2, 28, 10)).user == "UC"  # before the anchor, backwards


def test_weekly_and_hours() -> None:
    weekly = Rotation("p", ("UA", "UB"), "weekly", time(10), PARIS, date(2026, 10, 19))
    assert on_call(weekly, local(2026, 10, 26, 9, 59)).user == "UA"
    assert on_call(weekly, local(2026, 10, 26, 10)).user == "UB"  # a week later, after the change, at 10:00
    twelve = Rotation("p", ("UA", "UB"), 12, time(8), UTC, date(2026, 1, 1))  # type: ignore[arg-type]
    at = datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert [on_call(twelve, at + timedelta(hours=h)).user for h in (0, 11, 12, 24)] == ["UA", "UA", "UB", "UA"]


def test_working_hours_restriction() -> None:
    rotation = daily(restrict=Restriction(frozenset(range(5)), time(9), time(18)))
    assert on_call(rotation, local(2026, 12, 7, 10)).user is not None  # a Monday
    assert on_call(rotation, local(2026, 12, 7, 18)).user is None
    assert on_call(rotation, local(2026, 12, 7, 8, 59)).user is None
    assert on_call(rotation, local(2026, 12, 12, 12)).user is None  # Saturday
    found = handoffs(rotation, local(2026, 12, 7, 0), local(2026, 12, 8, 0))
    assert [(h.at.astimezone(PARIS).hour, h.after is None) for h in found] == [(9, False), (18, True)]


def test_override_wins_and_overlap_is_found() -> None:
    rotation = daily()
    start = local(2026, 3, 3, 12)
    override = Override(1, "primary", "UB", start, start + timedelta(hours=4), "UC")
    assert on_call(rotation, start, [override]).user == "UB"
    assert on_call(rotation, start, [override]).scheduled == "UC"  # 3 March is UC's turn
    assert on_call(rotation, start + timedelta(hours=4), [override]).user == "UC"
    nxt = next_handoff(rotation, start - timedelta(minutes=1), [override])
    assert nxt is not None and nxt.at == start and (nxt.before, nxt.after) == ("UC", "UB")
    assert overlapping([override], "primary", start + timedelta(hours=3), start + timedelta(hours=5)) == override
    assert overlapping([override], "primary", start + timedelta(hours=4), start + timedelta(hours=5)) is None
    assert overlapping([override], "secondary", start, start + timedelta(hours=1)) is None


BASE = """
slack:
  alerts_channel: C0ALERTS
  escalation:
    - {after_minutes: 0, notify: [oncall:primary]}
oncall:
  slack_group: S0ONCALL
  rotations:
    primary:
      members: [U0ANA, U0BOB]
      length: daily
      handoff: "09:00"
      timezone: Europe/Paris
      anchor: 2026-03-01
      restrict: {days: [mon..fri], from: "09:00", to: "18:00"}
"""


def test_catalog_reads_rotations() -> None:
    catalog = parse_catalog(BASE)
    assert catalog.oncall is not None
    config = catalog.oncall.rotations["primary"]
    rotation = to_rotation("primary", config)
    assert rotation.restrict is not None and rotation.restrict.days == frozenset(range(5))
    assert rotation.zone.key == "Europe/Paris" and rotation.handoff == time(9)


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("members: [U0ANA, U0BOB]", "members: []", "oncall.rotations.primary.members:"),
        ("timezone: Europe/Paris", "timezone: Mars/Olympus", "oncall.rotations.primary.timezone: unknown time zone"),
        ('handoff: "09:00"', 'handoff: "9am"', "oncall.rotations.primary.handoff: '9am' is not a time of day"),
        ("length: daily", "length: fortnightly", "oncall.rotations.primary.length:"),
        ("[mon..fri]", "[mon..fry]", "oncall.rotations.primary.restrict.days:"),
        ("oncall:primary]", "oncall:tertiary]", "slack.escalation.0.notify: 'oncall:tertiary' names no rotation"),
    ],
)
def test_catalog_refuses_bad_rotations(old: str, new: str, expected: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(BASE.replace(old, new))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
