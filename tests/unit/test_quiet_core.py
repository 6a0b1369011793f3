"""The pure rules of silences and maintenance windows: durations, the grammar, the limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.durations import BadDuration, format_limit, parse_duration
from app.core.incident_args import SilenceUsageError, parse_incident_command, parse_thread_verb
from app.core.maintenance import (
    MaintenanceUsage,
    WindowView,
    announcement,
    parse_maintenance,
    public_services,
)
from app.core.silences import SILENCE_LIMIT, SilenceUsage, parse_silence, silenced

NOW = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
SERVICES = {"api", "web", "db"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h30m", 5400), (" 2H ", 7200)],
)
def test_durations_read_as_people_type_them(text, expected):
    assert parse_duration(text, limit=timedelta(days=7)) == timedelta(seconds=expected)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2 hours", "is not a duration"),
        ("2", "is not a duration"),
        ("-5m", "is not a duration"),
        ("0m", "no time at all"),
        ("999d", "too long for a silence: the limit is 7 days"),
        ("", "is not a duration"),
    ],
)
def test_bad_durations_say_why(text, why):
    with pytest.raises(BadDuration, match=why):
        parse_duration(text, limit=timedelta(days=7), what="a silence")


def test_limits_are_stated_as_people_say_them():
    assert (format_limit(timedelta(hours=24)), format_limit(timedelta(days=7))) == ("24 hours", "7 days")


def test_a_silence_takes_a_duration_up_to_seven_days_and_an_optional_reason():
    assert parse_silence("2h waiting for the vendor").reason == "waiting for the vendor"
    assert parse_silence("7d").duration == SILENCE_LIMIT and parse_silence("7d").reason is None
    with pytest.raises(SilenceUsage, match="the limit is 7 days"):
        parse_silence("8d")
    with pytest.raises(SilenceUsage, match="needs a duration"):
        parse_silence("")


def test_a_silence_is_in_force_until_its_end_and_not_at_it():
    assert silenced(NOW + timedelta(seconds=1), NOW) and not silenced(NOW, NOW) and not silenced(None, NOW)


def test_silence_and_unsilence_are_thread_verbs_and_slash_verbs():
    cmd = parse_thread_verb(3, "silence 2h known issue")
    assert (cmd.verb, cmd.incident_id, cmd.duration, cmd.text) == ("silence", 3, timedelta(hours=2), "known issue")
    assert parse_incident_command("INC-3 unsilence").verb == "unsilence"
    with pytest.raises(SilenceUsageError) as err:
        parse_thread_verb(3, "silence 2 hours")
    assert "@pitcrew silence <duration> [reason]" in err.value.usage
    assert parse_incident_command("maintenance api 2h x").verb == "maintenance"


def test_a_window_now_names_known_services_a_duration_and_a_reason():
    cmd = parse_maintenance("api db 2h upgrading Postgres", services=SERVICES, now=NOW)
    assert cmd.window is not None
    assert (cmd.window.services, cmd.window.duration, cmd.window.reason, cmd.window.starts_at) == (
        ("api", "db"), timedelta(hours=2), "upgrading Postgres", None,
    )


@pytest.mark.parametrize(
    "text", ["api 30h at 2026-12-20T22:00Z moving region", "api at 2026-12-20T23:00+01:00 30h moving region"]
)
def test_a_planned_window_takes_at_before_or_after_the_duration_and_up_to_seven_days(text):
    cmd = parse_maintenance(text, services=SERVICES, now=NOW)
    assert cmd.window is not None and cmd.window.starts_at == datetime(2026, 12, 20, 22, 0, tzinfo=UTC)
    assert cmd.window.duration == timedelta(hours=30) and cmd.window.reason == "moving region"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("apii 2h x", "unknown service `apii` (known: api, db, web)"),
        ("api apii 2h x", "unknown service `apii`"),
        ("2h x", "needs at least one service"),
        ("api 2 hours x", "`2` is not a duration"),
        ("api -5m x", "`-5m` is not a duration"),
        ("api 25h x", "the limit is 24 hours; a window planned with `at` may last up to 7 days"),
        ("api 8d at 2026-12-20T22:00Z x", "the limit is 7 days"),
        ("api 2h at 2026-12-20T22:00 x", "has no time zone"),
        ("api 2h at 2020-01-01T00:00Z x", "is in the past"),
        ("api 2h at 2027-06-01T00:00Z x", "at most 90 days ahead"),
        ("api 2h at", "`at` needs a start time"),
        ("api 2h", "needs a reason"),
        ("list now", "takes nothing after it"),
        ("cancel", "needs the window's number"),
        ("cancel x", "is not a window's number"),
        ("", "needs the services"),
    ],
)
def test_bad_maintenance_commands_say_why(text, why):
    with pytest.raises(MaintenanceUsage) as err:
        parse_maintenance(text, services=SERVICES, now=NOW)
    assert why in err.value.reason
    assert "/incident maintenance <service ...> <duration> <reason>" in str(err.value)


def test_list_and_cancel():
    assert parse_maintenance("list", services=SERVICES, now=NOW).verb == "list"
    assert parse_maintenance("cancel MW-4", services=SERVICES, now=NOW).window_id == 4


def test_a_window_knows_its_state_and_says_what_the_status_page_shows():
    window = WindowView(1, ("api", "db"), "upgrade", "U0ANA", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    assert window.state(NOW) == "planned" and window.in_force(NOW + timedelta(hours=1))
    assert window.state(NOW + timedelta(hours=2)) == "ended"
    assert announcement(window) == "Scheduled maintenance: api, db, until 21:00 UTC"
    assert public_services(window, {"api": "API", "web": "Website"}) == ("API",)


def test_silence_spans_come_from_the_timeline_extended_lifted_or_expired():
    from app.core.silences import SilenceEvent, silence_spans

    h = timedelta(hours=1)
    events = [
        SilenceEvent(1, NOW, "silenced", NOW + 2 * h),
        SilenceEvent(1, NOW + h, "silenced", NOW + 3 * h),  # extended: keeps its start
        SilenceEvent(2, NOW, "silenced", NOW + h),
        SilenceEvent(2, NOW + 0.5 * h, "unsilenced"),  # lifted early
        SilenceEvent(3, NOW, "silenced", NOW + h),  # expired by itself
        SilenceEvent(4, NOW, "silenced", NOW + 9 * h),  # still going
    ]
    assert sorted(silence_spans(events, NOW + 4 * h), key=str) == sorted(
        [(NOW, NOW + 3 * h), (NOW, NOW + 0.5 * h), (NOW, NOW + h), (NOW, None)], key=str
    )
