"""`schedules:` in pitcrew.yml: a wrong schedule is refused at start with its key path and the reason;
the time zone a schedule defaults to; when what a check observed is a problem worth posting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from app.catalog import CatalogError, parse_catalog
from app.core.schedules import Limits, Observed, ScheduleRun, findings_of, is_problem

RAILWAY = {"project_id": "p", "environment_id": "e", "service_id": "s"}
SERVICES: dict[str, Any] = {
    "api": {"provider": "railway", "railway": RAILWAY, "health": {"url": "https://api.example.com/health"}},
    "web": {"provider": "vercel", "vercel": {"project_id": "prj_web"}},
    "db": {"provider": "postgres", "postgres": {"dsn_env": "DATABASE_URL"}, "railway": {**RAILWAY, "service_id": "d"}},
    "site": {"provider": "http", "health": {"url": "http://site.example.com/"}},
}


def catalog_with(*schedules: dict[str, Any], **more: Any) -> Any:
    document = {"slack": {"alerts_channel": "C0ALERTS"}, "services": SERVICES, "schedules": list(schedules), **more}
    return parse_catalog(yaml.safe_dump(document))


def problems_of(*schedules: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogError) as refused:
        catalog_with(*schedules)
    return refused.value.problems


TLS = {"name": "tls-morning", "check": "tls", "service": "api", "every": "day at 08:00"}


def test_the_four_seed_schedules_read():
    catalog = catalog_with(
        TLS,
        {"name": "backup-age", "check": "backup", "service": "db", "every": "day at 09:00", "max_age_hours": 26},
        {"name": "error-review", "check": "errors", "services": ["api", "web"], "every": "monday at 09:00",
         "post": "always"},
        {"name": "slow-queries", "check": "slow_queries", "service": "db", "every": "month on 1 at 09:00",
         "post": "always", "slow_ms": 500, "channel": "C0UPDATES"},
    )
    assert [s.name for s in catalog.schedules] == ["tls-morning", "backup-age", "error-review", "slow-queries"]
    review = catalog.schedule("error-review")
    assert review.targets == ["api", "web"] and review.post == "always" and review.limits == Limits()
    assert catalog.schedule("backup-age").limits.max_age_hours == 26
    assert catalog.schedule("tls-morning").post == "problems" and catalog.schedule("tls-morning").channel is None


@pytest.mark.parametrize(("schedule", "expected"), [
    ({**TLS, "check": "certs"}, "schedules.0.check: unknown check 'certs'; checks: tls, backup, health, errors,"),
    ({**TLS, "every": "dayly at 8"}, "schedules.0.every: 'dayly' is not a calendar: expected `hour`,"),
    ({**TLS, "every": "day at 8h"}, "schedules.0.every: '8h' is not a time of day: expected HH:MM"),
    ({**TLS, "every": "0 8 * *"}, "schedules.0.every: a cron expression has 5 fields"),
    ({**TLS, "service": "apii"}, "schedules.0.service: unknown service 'apii'; known services: api, db, site, web"),
    ({**TLS, "timezone": "Europe/Pariss"}, "schedules.0.timezone: unknown time zone 'Europe/Pariss'"),
    ({**TLS, "post": "sometimes"}, "schedules.0.post: Input should be 'problems' or 'always'"),
    ({**TLS, "channel": "#alerts"}, "schedules.0.channel: '#alerts' is not a Slack channel id (C...)"),
    ({**TLS, "name": "TLS Morning"}, "schedules.0.name: 'TLS Morning': a schedule's name is lowercase letters"),
    ({**TLS, "max_errors": 3}, "schedules.0: `max_errors` only applies to `check: errors`, not to tls"),
    ({k: v for k, v in TLS.items() if k != "service"}, "schedules.0: name the services to check with `service:`"),
    ({k: v for k, v in TLS.items() if k != "every"}, "schedules.0.every: required"),
    ({**TLS, "service": "site"}, "schedules.0.service: check tls cannot run on site: site has no https:// health"),
    ({**TLS, "check": "backup", "service": "api"},
     "schedules.0.service: check backup cannot run on api: api is not a Railway-hosted database"),
    ({**TLS, "check": "slow_queries", "services": ["db", "web"], "service": None},
     "schedules.0.services: check slow_queries cannot run on web: web is a vercel service, not a database"),
    ({**TLS, "check": "errors", "period": "10d"}, "schedules.0.period: `10d` is too long for `period`"),
])
def test_a_wrong_schedule_is_refused_with_its_key_path_and_reason(schedule, expected):
    schedule = {k: v for k, v in schedule.items() if v is not None}
    [problem] = problems_of(schedule)
    assert problem.startswith(expected), problem


def test_the_index_in_the_key_path_is_the_wrong_schedules():
    [problem] = problems_of(TLS, {**TLS, "name": "second"}, {**TLS, "name": "third", "every": "day at 8"})
    assert problem.startswith("schedules.2.every: '8' is not a time of day")
    [problem] = problems_of(TLS, dict(TLS))
    assert problem == "schedules.1.name: another schedule is named 'tls-morning'"


def test_the_time_zone_defaults_to_the_weekly_reports_then_the_rotations_then_utc():
    assert catalog_with(TLS).schedule_zone(catalog_with(TLS).schedules[0]).key == "UTC"
    rotations = {"rotations": {"primary": {"members": ["U0ANA"], "anchor": "2026-01-05", "timezone": "Asia/Tokyo"}}}
    with_oncall = catalog_with(TLS, oncall=rotations)
    assert with_oncall.schedule_zone(with_oncall.schedules[0]).key == "Asia/Tokyo"
    weekly = {"weekly": {"timezone": "Europe/Paris"}}
    both = catalog_with(TLS, oncall=rotations, reports=weekly)
    assert both.schedule_zone(both.schedules[0]).key == "Europe/Paris"
    own = catalog_with({**TLS, "timezone": "America/New_York"}, reports=weekly)
    assert own.schedule_calendar(own.schedules[0]).zone.key == "America/New_York"


@pytest.mark.parametrize(("check", "observed", "limits", "problem"), [
    ("backup", Observed(True, "newest backup 3 h ago", verdict="ok", measure=3), Limits(), False),
    ("backup", Observed(True, "no backup in the last 24 h", verdict="degraded", measure=30), Limits(), True),
    ("backup", Observed(False, "RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN is not set"), Limits(), True),
    ("tls", Observed(True, "fine", verdict="ok", measure=40), Limits(), False),
    ("tls", Observed(True, "expires in 12 days", verdict="degraded", measure=12), Limits(), True),
    ("tls", Observed(True, "fine", verdict="ok", measure=40), Limits(days=45), True),
    ("tls", Observed(True, "expires in 12 days", verdict="degraded", measure=12), Limits(days=10), False),
    ("tls", Observed(True, "certificate has expired", verdict="down"), Limits(days=10), True),
    ("errors", Observed(True, "no error", measure=0), Limits(), False),
    ("errors", Observed(True, "3 error lines", measure=3), Limits(), True),
    ("errors", Observed(True, "3 error lines", measure=3), Limits(max_errors=5), False),
    ("slow_queries", Observed(True, "slowest 250 ms", measure=250), Limits(), False),
    ("slow_queries", Observed(True, "slowest 4,200 ms", measure=4200), Limits(), True),
    ("health", Observed(True, "api is down", verdict="down"), Limits(), True),
    ("health", Observed(True, "api is ok", verdict="ok"), Limits(), False),
])
def test_what_is_a_problem(check, observed, limits, problem):
    assert is_problem(check, observed, limits) is problem


def test_a_run_posts_problems_first_and_only_when_there_are_some_unless_always():
    seen = [("api", Observed(True, "ok", verdict="ok")), ("web", Observed(True, "down", verdict="down"))]
    findings = findings_of("health", seen, Limits())
    assert [(f.service, f.problem) for f in findings] == [("web", True), ("api", False)]
    run = ScheduleRun("h", "health", "hour", "Tue", "problems", findings)
    assert run.to_post and [f.service for f in run.problems] == ["web"]
    quiet = ScheduleRun("h", "health", "hour", "Tue", "problems", findings_of("health", seen[:1], Limits()))
    assert not quiet.to_post
    assert ScheduleRun("h", "health", "hour", "Tue", "always", quiet.findings, timedelta(days=7)).to_post


def test_the_longest_name_and_offset_make_a_key_that_fits_its_column():
    from datetime import UTC, datetime

    from app.flows.schedules import occurrence_key
    from app.store.models import ReportRun

    longest = "x" * 28
    catalog = catalog_with({**TLS, "name": longest, "timezone": "America/St_Johns"})  # UTC-03:30
    key = occurrence_key(longest, catalog.schedule_calendar(catalog.schedules[0]), datetime(2026, 12, 8, tzinfo=UTC))
    assert key.endswith("2026-12-07T20:30-03:30") and len(key) <= ReportRun.__table__.c.key.type.length
    [problem] = problems_of({**TLS, "name": "x" * 29})
    assert problem.startswith("schedules.0.name:")
