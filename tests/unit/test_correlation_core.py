"""The correlation rules on plain values: the dependency graph and its mistakes, which services an
alert may join, the suspected cause, and the words of the alert list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.catalog import CatalogError, parse_catalog
from app.core.correlation import (
    RelatedAlert,
    alert_list,
    cause_of,
    cause_title,
    component,
    dependency_problems,
    find_split,
    fresh,
    related_services,
    split_choices,
    suspected_cause,
)

GRAPH = {"db": [], "api": ["db"], "web": ["api"], "worker": ["db"], "mail": []}


def alert(source: str, service: str | None, title: str = "t", status: str = "firing", events: int = 1) -> RelatedAlert:
    return RelatedAlert(key=f"{source}:{title}", source=source, service=service, title=title, status=status,
                        events=events)


def test_an_alert_may_join_its_service_then_its_dependencies_then_its_dependents():
    assert related_services(GRAPH, "api") == ["api", "db", "web"]
    assert related_services(GRAPH, "web") == ["web", "api", "db"]
    assert related_services(GRAPH, "db") == ["db", "api", "worker", "web"]
    assert related_services(GRAPH, "mail") == ["mail"]


def test_the_group_locked_when_opening_is_every_linked_service():
    assert component(GRAPH, "web") == ("api", "db", "web", "worker")
    assert component(GRAPH, "mail") == ("mail",)


def test_the_suspected_cause_is_the_service_every_other_depends_on():
    alerts = [alert("generic", "web"), alert("uptimerobot", "api"), alert("generic", "db")]
    assert suspected_cause(GRAPH, alerts) == "db is down; web and api alerts joined"
    assert suspected_cause(GRAPH, [alert("a", "api"), alert("b", "api")]) is None  # one service: no cause line
    assert suspected_cause(GRAPH, [alert("a", "web"), alert("b", "worker")]) is None  # siblings: no single root


def test_a_declared_incidents_own_service_counts_towards_the_cause():
    assert suspected_cause(GRAPH, [alert("generic", "db")], "api") == "db is down; api alerts joined"
    # retitled after its cause already: the cause leads, the others follow in joining order
    joined = [alert("generic", "api"), alert("generic", "web"), alert("generic", "db")]
    assert suspected_cause(GRAPH, joined, "db") == "db is down; api and web alerts joined"


def test_the_cause_names_the_title():
    assert cause_of(GRAPH, ["api", "db", "web"]) == "db"
    assert cause_of(GRAPH, ["web", "api"]) == "api"
    assert cause_of(GRAPH, ["api"]) is None and cause_of(GRAPH, ["web", "worker"]) is None
    assert cause_title("db") == "db is down"


def test_the_alert_list_says_each_sources_state():
    alerts = [
        alert("uptimerobot", "api", "API health is down"),
        alert("sentry", "api", "ReferenceError", events=212),
        alert("railway", "api", "api crashed in production"),
        alert("betterstack", "api", "Production API", status="recovered"),
    ]
    assert alert_list(alerts) == (
        "UptimeRobot: down · Sentry: 212 events · Railway: deployment crashed · Better Stack: recovered"
    )


def test_split_finds_alerts_by_source_or_its_shown_name():
    alerts = [alert("betterstack", "api"), alert("sentry", "api")]
    assert find_split(alerts, "Better Stack") == [alerts[0]]
    assert find_split(alerts, "SENTRY") == [alerts[1]]
    assert find_split(alerts, "nagios") == []


def test_an_outage_over_several_services_names_each_alerts_service():
    alerts = [alert("uptimerobot", "db"), alert("uptimerobot", "api"), alert("sentry", "api", events=3)]
    assert alert_list(alerts) == "UptimeRobot (db): down · UptimeRobot (api): down · Sentry (api): 3 events"
    assert find_split(alerts, "uptimerobot:api") == [alerts[1]]
    assert find_split(alerts, "api") == alerts[1:]
    assert find_split(alerts, "UptimeRobot") == alerts[:2]
    assert find_split(alerts, "sentry:db") == []
    assert split_choices(alerts) == [
        ("uptimerobot:db", "UptimeRobot (db)"), ("uptimerobot:api", "UptimeRobot (api)"), ("sentry:api", "Sentry (api)")
    ]
    assert split_choices(alerts[1:]) == [("uptimerobot", "UptimeRobot"), ("sentry", "Sentry")]
    assert split_choices(alerts[:1]) == []


def test_an_incident_takes_related_alerts_within_the_window_of_its_last_activity():
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert fresh(now - timedelta(minutes=10), now, timedelta(minutes=10))
    assert not fresh(now - timedelta(minutes=10, seconds=1), now, timedelta(minutes=10))


@pytest.mark.parametrize(
    ("graph", "problem"),
    [
        ({"api": ["dbb"], "db": []}, "services.api.depends_on: unknown service 'dbb'; known services: api, db"),
        ({"api": ["api"]}, "services.api.depends_on: a service cannot depend on itself"),
        ({"api": ["db"], "db": ["web"], "web": ["api"]}, "services.api.depends_on: a dependency cycle: "
                                                           "api → db → web → api"),
    ],
)
def test_dependency_mistakes_name_the_key_path(graph, problem):
    assert dependency_problems(graph) == [problem]


def _catalog(services: str) -> str:
    return f"slack:\n  alerts_channel: C0ALERTS\nservices:\n{services}"


def test_the_catalog_is_refused_at_load_with_the_key_path_of_a_wrong_depends_on():
    with pytest.raises(CatalogError) as caught:
        parse_catalog(_catalog(
            "  api:\n    provider: http\n    health: {url: 'https://api.example.com/health'}\n    depends_on: [db]\n"
        ))
    assert caught.value.problems == ["services.api.depends_on: unknown service 'db'; known services: api"]
    with pytest.raises(CatalogError) as cycle:
        parse_catalog(_catalog(
            "  api:\n    provider: http\n    health: {url: 'https://a.example.com/'}\n    depends_on: [db]\n"
            "  db:\n    provider: http\n    health: {url: 'https://d.example.com/'}\n    depends_on: [api]\n"
        ))
    assert cycle.value.problems == ["services.api.depends_on: a dependency cycle: api → db → api"]


def test_the_catalog_reads_depends_on_and_correlate_minutes():
    catalog = parse_catalog(_catalog(
        "  api:\n    provider: http\n    health: {url: 'https://a.example.com/'}\n    depends_on: [db]\n"
        "  db:\n    provider: http\n    health: {url: 'https://d.example.com/'}\n"
    ) + "incidents:\n  correlate_minutes: 5\n")
    assert catalog.depends_on == {"api": ["db"], "db": []}
    assert catalog.incidents.correlate_minutes == 5
    assert parse_catalog(_catalog("  db:\n    provider: http\n    health: {url: 'https://d.example.com/'}\n")
                         ).incidents.correlate_minutes == 10
