"""The pure rules of what may be published: masking an alert, public titles, visibility, components."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.catalog import CatalogError, parse_catalog
from app.core.alert_masking import mask_alert, mask_body
from app.core.alerts import make_alert
from app.core.correlation import RelatedAlert
from app.core.incident_args import IncidentUsageError, parse_incident_command
from app.core.incidents import IncidentView
from app.core.masking import Masker
from app.core.status_page import (
    ComponentStatus,
    component_statuses,
    declared_visibility,
    is_public,
    page_policy,
    public_title,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5R"


def view(**fields: object) -> IncidentView:
    base: dict[str, object] = {"id": 1, "title": "t", "severity": "SEV2", "state": "investigating", "started_at": NOW}
    return IncidentView(**{**base, **fields})  # type: ignore[arg-type]


def test_every_field_of_an_alert_is_masked_and_a_clean_alert_is_left_alone() -> None:
    masker = Masker(["known-value-123"])
    leaky = make_alert(
        source="generic",
        fingerprint=f"fp-{KEY}",
        status="firing",
        title="connect postgresql://app:S3cr3t@db:5432/prod failed",
        service="api",
        details="token=abcdef123456 and known-value-123",
        link=f"https://user:pw123456@grafana.example.com/d?api_key={KEY}",
        labels={"api_key": "plain-looking", "note": f"key {KEY}", "team": "core"},
    )
    masked = mask_alert(leaky, masker)
    assert masked.title == "connect postgresql://app:***@db:5432/prod failed"
    assert masked.details == "token=*** and ***"
    assert masked.fingerprint == "fp-***"
    assert masked.link == "https://user:***@grafana.example.com/d?api_key=***"
    assert masked.labels == {"api_key": "***", "note": "key ***", "team": "core"}
    clean = make_alert(source="generic", fingerprint="x", status="firing", title="API down", details="5xx")
    assert mask_alert(clean, masker) is clean


def test_a_body_is_masked_and_its_other_bytes_kept() -> None:
    body = b'{"t": "postgresql://a:S3cr3t@h/db"}\xff'
    assert mask_body(body, Masker()) == b'{"t": "postgresql://a:***@h/db"}\xff'
    assert mask_body(b'{"t": "fine"}', Masker()) == b'{"t": "fine"}'


def test_alert_born_incidents_get_a_neutral_title_and_people_written_ones_keep_theirs() -> None:
    policy = page_policy({"api": "Public API"}, ["api", "db"], "public")
    alert_born = view(title="pod api-7f9c OOMKilled", source="alertmanager", service="api")
    assert public_title(alert_born, policy) == "Service disruption: Public API"
    assert public_title(view(title="x", source="generic", service="db"), policy) == "Service disruption"
    assert public_title(view(title="Checkout is slow", declared_by="U1", service="api"), policy) == "Checkout is slow"
    unnamed = page_policy(None, ["api", "db"], "public")  # no components listed: every service, its own name
    assert public_title(alert_born, unnamed) == "Service disruption: api"


def test_an_incident_across_linked_services_names_and_marks_every_public_component() -> None:
    """db (internal) is the cause; the api and web its outage took down are what customers see."""
    policy = page_policy({"api": "Public API", "web": "Website"}, ["api", "db", "web"], "public")
    joined = tuple(
        RelatedAlert(key=f"generic:{s}", source="generic", service=s, title=f"{s} down", status="firing")
        for s in ("api", "web", "db")
    )
    incident = view(title="db is down", source="generic", service="db", related=joined, severity="SEV1")
    assert is_public(incident, policy)
    assert public_title(incident, policy) == "Service disruption: Public API, Website"
    assert component_statuses(policy, [incident]) == [
        ComponentStatus("Public API", "major_outage"), ComponentStatus("Website", "major_outage")
    ]
    assert not is_public(view(source="generic", service="db", related=joined[2:]), policy)


@pytest.mark.parametrize(
    ("fields", "default", "shown"),
    [
        ({"service": "api"}, "public", True),
        ({"service": "db"}, "public", False),  # not a component: internal
        ({}, "public", True),
        ({"service": "api"}, "private", False),
        ({"service": "db", "visibility": "public"}, "public", True),  # someone chose to
        ({"service": "api", "visibility": "private"}, "public", False),
    ],
)
def test_visibility(fields: dict[str, object], default: str, shown: bool) -> None:
    assert is_public(view(**fields), page_policy({"api": "API"}, ["api", "db"], default)) is shown


def test_security_incidents_are_declared_private() -> None:
    assert declared_visibility("security: leaked key") == "private"
    assert declared_visibility("[Security] odd logins") == "private"
    assert declared_visibility("Security scan is slow") is None
    assert declared_visibility("Checkout down") is None


def test_components_take_the_worst_open_incident() -> None:
    policy = page_policy({"api": "API", "web": "Web"}, ["api", "web"], "public")
    incidents = [view(service="api", severity="SEV3"), view(service="api", severity="SEV2"), view(service="db")]
    assert component_statuses(policy, incidents) == [
        ComponentStatus("API", "partial_outage"),
        ComponentStatus("Web", "operational"),
    ]


def test_the_visibility_verbs_parse() -> None:
    assert parse_incident_command("42 public").verb == "visibility"
    assert parse_incident_command("INC-42 private").text == "private"
    with pytest.raises(IncidentUsageError, match="takes nothing after it"):
        parse_incident_command("42 private please")


def test_status_page_keys_are_checked() -> None:
    base = "slack: {alerts_channel: C0A}\nservices: {api: {provider: http, health: {url: 'https://a.b'}}}\n"
    config = parse_catalog(base + "status_page: {components: [api]}\nretention_days: 7\n")
    assert config.status_page.components == {"api": "api"} and config.retention_days == 7
    with pytest.raises(CatalogError, match=r"status_page\.components: unknown service 'apx'; known services: api"):
        parse_catalog(base + "status_page: {components: {apx: Public}}\n")
    with pytest.raises(CatalogError, match=r"status_page\.default_visibility"):
        parse_catalog(base + "status_page: {default_visibility: secret}\n")
    with pytest.raises(CatalogError, match="retention_days"):
        parse_catalog(base + "retention_days: 0\n")
