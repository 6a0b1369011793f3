"""The status page's daily bars: uptime from incident durations, the day's worst severity."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from app.core.correlation import RelatedAlert
from app.core.incidents import IncidentView
from app.core.status_history import component_histories, format_uptime
from app.core.status_page import PagePolicy

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
POLICY = PagePolicy(components={"api": "Public API", "web": "Website"})


def incident(n: int, service: str, severity: str, start: datetime, minutes: float | None) -> IncidentView:
    resolved = start + timedelta(minutes=minutes) if minutes is not None else None
    return IncidentView(
        id=n, title="t", severity=severity, state="resolved" if resolved else "investigating",
        started_at=start, service=service, resolved_at=resolved,
    )


def day_of(histories, name: str, day: date):  # type: ignore[no-untyped-def]
    history = next(h for h in histories if h.name == name)
    return next(d for d in history.days if d.day == day)


def test_ninety_bars_per_component_in_the_catalogs_order_today_last():
    histories = component_histories(POLICY, [], now=NOW)
    assert [h.name for h in histories] == ["Public API", "Website"]
    assert [len(h.days) for h in histories] == [90, 90]
    assert histories[0].days[-1].day == date(2026, 12, 7) and histories[0].days[0].day == date(2026, 9, 9)
    assert histories[0].uptime == 100.0 and histories[0].days[0].label == "2026-09-09: 100% uptime, no incidents"


def test_overlapping_incidents_count_once_and_the_worst_severity_colours_the_day():
    day = datetime(2026, 12, 5, tzinfo=UTC)
    views = [
        incident(1, "api", "SEV3", day + timedelta(hours=1), 120),  # 01:00-03:00
        incident(2, "api", "SEV1", day + timedelta(hours=2), 60),  # 02:00-03:00, inside the first
        incident(3, "web", "SEV2", day + timedelta(hours=23), 120),  # crosses midnight: 1 h each day
    ]
    histories = component_histories(POLICY, views, now=NOW)
    api = day_of(histories, "Public API", date(2026, 12, 5))
    assert (api.uptime, api.worst) == (91.67, "SEV1")  # 2 h of 24
    assert api.label == "2026-12-05: 91.67% uptime, worst incident SEV1"
    assert day_of(histories, "Website", date(2026, 12, 5)).uptime == 95.83
    assert day_of(histories, "Website", date(2026, 12, 6)).worst == "SEV2"


def test_an_open_incident_is_down_until_now_and_today_counts_its_elapsed_part():
    views = [incident(1, "api", "SEV2", NOW - timedelta(hours=3), None)]  # 09:00 until now, 12:00
    today = day_of(component_histories(POLICY, views, now=NOW), "Public API", date(2026, 12, 7))
    assert (today.uptime, today.worst) == (75.0, "SEV2")  # 3 h of 12


def test_uptime_reads_as_status_pages_write_it():
    assert [format_uptime(p) for p in (100.0, 99.95, 99.5, 91.67)] == ["100%", "99.95%", "99.5%", "91.67%"]


def test_an_incident_that_opened_this_second_colours_today_before_it_costs_uptime():
    views = [incident(1, "api", "SEV1", NOW, None)]
    today = day_of(component_histories(POLICY, views, now=NOW), "Public API", date(2026, 12, 7))
    assert (today.uptime, today.worst) == (100.0, "SEV1")


def test_an_outage_across_linked_services_costs_each_component_it_took_down():
    """db (not a component) caused it, api and web went down with it: both bars show it."""
    day = datetime(2026, 12, 5, tzinfo=UTC)
    joined = tuple(
        RelatedAlert(key=f"generic:{s}", source="generic", service=s, title="down", status="recovered")
        for s in ("api", "web", "db")
    )
    view = replace(incident(1, "db", "SEV2", day + timedelta(hours=1), 60), related=joined)
    histories = component_histories(POLICY, [view], now=NOW)
    assert day_of(histories, "Public API", date(2026, 12, 5)).uptime == 95.83
    assert day_of(histories, "Website", date(2026, 12, 5)).uptime == 95.83
