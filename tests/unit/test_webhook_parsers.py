"""Webhook bodies from each monitoring source, real samples first, turned into normalised Alerts.

Samples come from shared/refdata/webhooks (see its SOURCES.md); sources with no saved sample
get bodies written from their documentation. The fuzz section feeds every parser broken bodies
and checks that only WebhookBodyError ever comes out, and that whatever Alerts do come out are clean.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest

from app.core.alerts import SEVERITIES, Alert, WebhookBodyError, dedupe_key
from app.core.webhooks import SOURCES, UnknownWebhookSource, parse
from tests.refdata import REFDATA as REFDATA_ROOT
from tests.refdata import strip_jsonc

REFDATA = REFDATA_ROOT / "webhooks"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def sample(name: str) -> str:
    return (REFDATA / name).read_text(encoding="utf-8")


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def only(alerts: list[Alert]) -> Alert:
    assert len(alerts) == 1, alerts
    return alerts[0]


def reason_of(source: str, raw: bytes, content_type: str | None = JSON) -> str:
    with pytest.raises(WebhookBodyError) as caught:
        parse(source, raw, content_type)
    return caught.value.reason


# --- dispatch ---------------------------------------------------------------------------------------


def test_every_documented_source_has_a_parser():
    assert set(SOURCES) == {
        "alertmanager",
        "uptimerobot",
        "betterstack",
        "sentry",
        "railway",
        "vercel",
        "generic",
    }


def test_unknown_source_is_a_body_error_naming_the_known_ones():
    with pytest.raises(UnknownWebhookSource) as caught:
        parse("pagerduty", b"{}", JSON)
    assert "pagerduty" in caught.value.reason and "alertmanager" in caught.value.reason
    assert isinstance(caught.value, WebhookBodyError)


def test_source_name_is_case_insensitive():
    assert only(parse("Generic", body({"title": "x", "status": "firing"}), JSON)).source == "generic"


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_bodies_say_why(source, raw, expected):
    reason = reason_of(source, raw)
    assert expected in reason
    assert reason.startswith(f"{source}: ")


# --- alertmanager ---------------------------------------------------------------------------------

AM_VALUES: dict[str, Any] = {
    "groupKey": '{}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "pitcrew",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.internal:9093",
    "notification_reason": "new",
    "labels": {
        "alertname": "HighErrorRate",
        "severity": "critical",
        "service": "api",
        "job": "api-scrape",
        "instance": "https://api.example.com/health",
    },
    "annotations": {"summary": "5xx above 5% on api", "description": "Error ratio 7.2% for 5 minutes."},
    "startsAt": "2026-03-01T10:00:00.123456789Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=rate",
    "fingerprint": "6c0a4f8a9e8e2c1d",
}


def alertmanager_from_template() -> dict[str, Any]:
    """The v4 template from Alertmanager's docs, its `<type>` placeholders filled with plausible values."""
    text = strip_jsonc(sample("alertmanager_webhook_v4_docs_template.jsonc"))
    text = re.sub(r"^\s*\.\.\.\s*$", "", text, flags=re.M)

    def fill(match: re.Match[str]) -> str:
        return f'"{match.group(1)}": {json.dumps(AM_VALUES[match.group(1)])}'

    text = re.sub(r'"(\w+)":\s*"?<[^>]*>"?', fill, text)
    return json.loads(strip_jsonc(text))


def test_alertmanager_docs_template_gives_one_alert_per_entry():
    alert = only(parse("alertmanager", body(alertmanager_from_template()), JSON))
    assert alert == Alert(
        source="alertmanager",
        fingerprint="6c0a4f8a9e8e2c1d",
        status="firing",
        title="5xx above 5% on api",
        service="api",
        severity="SEV1",
        details="Error ratio 7.2% for 5 minutes.",
        link="http://prometheus.internal:9090/graph?g0.expr=rate",
        labels={
            "alertname": "HighErrorRate",
            "severity": "critical",
            "service": "api",
            "job": "api-scrape",
            "instance": "https://api.example.com/health",
        },
        started_at=datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC),
    )


def test_alertmanager_group_with_firing_and_resolved_entries():
    doc = alertmanager_from_template()
    first = doc["alerts"][0]
    resolved = {
        **first,
        "status": "resolved",
        "fingerprint": "aaaa",
        "labels": {"alertname": "DiskFull", "job": "node", "severity": "warning"},
        "annotations": {},
    }
    doc["alerts"].append(resolved)
    alerts = parse("alertmanager", body(doc), JSON)
    assert [(a.status, a.fingerprint) for a in alerts] == [
        ("firing", "6c0a4f8a9e8e2c1d"),
        ("resolved", "aaaa"),
    ]
    second = alerts[1]
    assert second.title == "DiskFull"  # no summary: the alert name
    assert second.service == "node"  # no service label: the job
    assert second.severity == "SEV3"


def test_alertmanager_entry_without_status_takes_the_groups():
    doc = {"status": "resolved", "alerts": [{"labels": {"alertname": "X"}, "fingerprint": "f"}]}
    assert only(parse("alertmanager", body(doc), JSON)).status == "resolved"


def test_alertmanager_without_fingerprint_derives_one_from_labels_stable_across_status():
    labels = {"alertname": "X", "instance": "a"}
    firing = only(parse("alertmanager", body({"alerts": [{"status": "firing", "labels": labels}]}), JSON))
    resolved = only(
        parse(
            "alertmanager",
            body({"alerts": [{"status": "resolved", "labels": dict(reversed(list(labels.items())))}]}),
            JSON,
        )
    )
    other = only(
        parse("alertmanager", body({"alerts": [{"status": "firing", "labels": {"alertname": "Y"}}]}), JSON)
    )
    assert dedupe_key(firing) == dedupe_key(resolved) != dedupe_key(other)


def test_alertmanager_minimal_entry_falls_back_sensibly():
    alert = only(
        parse("alertmanager", body({"externalURL": "http://am:9093", "alerts": [{"status": "firing"}]}), JSON)
    )
    assert alert.title == "Alertmanager alert"
    assert alert.link == "http://am:9093"
    assert alert.severity is None and alert.service is None and alert.started_at is None


def test_alertmanager_empty_group_is_no_alerts():
    assert parse("alertmanager", body({"status": "firing", "alerts": []}), JSON) == []


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"status": "firing"}, "alertmanager: `alerts` must be a list"),
        ({"alerts": {"a": 1}}, "alertmanager: `alerts` must be a list, got an object"),
        (
            {"alerts": [{"status": "firing"}, "x"]},
            "alertmanager: `alerts[1]` must be an object, got a string",
        ),
        ({"alerts": [{"status": "pending"}]}, "alertmanager: `alerts[0]`.status must be firing or resolved"),
        ({"alerts": [{}]}, "alertmanager: `alerts[0]`.status must be firing or resolved"),
    ],
)
def test_alertmanager_bad_bodies(doc, expected):
    assert reason_of("alertmanager", body(doc)).startswith(expected)


# --- uptimerobot ----------------------------------------------------------------------------------


def published_template(alert_type: str, friendly: str) -> dict[str, str]:
    """The commonly published POST value (SOURCES.md), as UptimeRobot fills it in."""
    return {
        "monitor_url": "https://api.example.com/health",
        "monitor_friendly_name": "API",
        "alert_type": alert_type,
        "alert_type_friendly_name": friendly,
        "alert_details": "Connection Timeout",
        "alert_friendly_duration": "2 minutes",
    }


def test_uptimerobot_published_template_down_then_up():
    down = only(parse("uptimerobot", body(published_template("1", "Down")), JSON))
    up = only(parse("uptimerobot", body(published_template("2", "Up")), JSON))
    assert (down.status, down.title, down.link) == ("firing", "API is down", "https://api.example.com/health")
    assert down.details == "Connection Timeout\nUp for 2 minutes before this alert."
    assert (up.status, up.title) == ("resolved", "API is up")
    assert up.details == "Connection Timeout\nDown for 2 minutes before this alert."
    assert dedupe_key(down) == dedupe_key(up)
    assert down.severity is None and down.service is None


@pytest.mark.parametrize(("given", "link"), [
    ("api.example.com", "https://api.example.com"),
    ("203.0.113.7", "https://203.0.113.7"),
    ("shop.example.com/health", "https://shop.example.com/health"),
    ("https://www.example.com/", "https://www.example.com/"),
])
def test_uptimerobot_monitor_url_without_a_scheme_keeps_its_link(given: str, link: str):
    fields = {"monitorID": "777", "monitorURL": given, "monitorFriendlyName": "API", "alertType": "1"}
    alert = only(parse("uptimerobot", body(fields), JSON))
    assert alert.link == link
    assert alert.labels["url"] == given  # as UptimeRobot sent it


def test_uptimerobot_form_encoded_with_monitor_id():
    raw = (
        b"monitorID=777&monitorURL=https%3A%2F%2Fexample.com%2F&monitorFriendlyName=Web&alertType=1"
        b"&alertTypeFriendlyName=Down&alertDetails=HTTP+500+-+Internal+Server+Error&alertDuration=3600"
        b"&alertDateTime=1767261600"
    )
    alert = only(parse("uptimerobot", raw, FORM))
    assert alert.fingerprint == "777"
    assert alert.title == "Web is down"
    assert alert.details == "HTTP 500 - Internal Server Error\nUp for 3600 s before this alert."
    assert alert.link == "https://example.com/"
    assert alert.labels == {"monitor_id": "777", "url": "https://example.com/", "alert_type": "Down"}
    assert alert.started_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def test_uptimerobot_form_is_recognised_without_content_type():
    alert = only(parse("uptimerobot", b"monitorId=9&alertType=2&monitorFriendlyName=Web", None))
    assert (alert.fingerprint, alert.status) == ("9", "resolved")


def test_uptimerobot_camel_case_json_with_numbers():
    alert = only(
        parse(
            "uptimerobot",
            body({"monitorId": 42, "monitorUrl": "https://x.example", "alertType": 1}),
            "application/json; charset=utf-8",
        )
    )
    assert (alert.fingerprint, alert.status, alert.title) == ("42", "firing", "https://x.example is down")


def test_uptimerobot_monitor_id_is_the_fingerprint_whatever_the_name():
    a = only(
        parse("uptimerobot", body({"monitorID": "5", "monitorFriendlyName": "Old", "alertType": "1"}), JSON)
    )
    b = only(
        parse("uptimerobot", body({"monitorID": "5", "monitorFriendlyName": "New", "alertType": "2"}), JSON)
    )
    assert dedupe_key(a) == dedupe_key(b) == "uptimerobot:5"


def test_uptimerobot_unfilled_placeholders_count_as_absent():
    doc = {
        "monitorID": "*monitorID*",
        "monitorURL": "https://api.example.com",
        "alertType": "1",
        "alertDetails": "*alertDetails*",
    }
    alert = only(parse("uptimerobot", body(doc), JSON))
    assert alert.fingerprint != "*monitorID*" and "monitor_id" not in alert.labels
    assert alert.details == ""


def test_uptimerobot_friendly_type_alone_is_enough():
    alert = only(parse("uptimerobot", body({"monitorID": "1", "alertTypeFriendlyName": "Down"}), JSON))
    assert alert.status == "firing"


def test_uptimerobot_ssl_expiry_is_its_own_alert():
    alert = only(
        parse("uptimerobot", body({"monitorID": "1", "monitorFriendlyName": "Web", "alertType": "3"}), JSON)
    )
    assert (alert.fingerprint, alert.status, alert.title) == (
        "1:ssl",
        "firing",
        "Web: SSL certificate expires soon",
    )


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        (body({"monitorID": "1"}), JSON, "uptimerobot: `alertType` is required"),
        (body({"monitorID": "1", "alertType": "9"}), JSON, "uptimerobot: `alertType` is required"),
        (body({"alertType": "1", "alertDetails": "x"}), JSON, "uptimerobot: cannot tell which monitor"),
        (
            b"--b\r\nContent-Disposition: form-data",
            "multipart/form-data; boundary=b",
            "uptimerobot: multipart",
        ),
        (b"alertDetails=only", FORM, "uptimerobot: `alertType` is required"),
    ],
)
def test_uptimerobot_bad_bodies(raw, content_type, expected):
    assert reason_of("uptimerobot", raw, content_type).startswith(expected)


# --- betterstack ----------------------------------------------------------------------------------


def betterstack_incident(**attributes: Any) -> dict[str, Any]:
    """The JSON:API incident object Better Stack's incident webhook carries (GET /api/v3/incidents/{id})."""
    base = {
        "name": "Production API",
        "url": "https://api.example.com/health",
        "http_method": "get",
        "cause": "Status 503",
        "incident_group_id": None,
        "started_at": "2026-04-18T14:00:00.000Z",
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "status": "Started",
        "team_name": "Platform",
        "response_content": "Service Unavailable",
        "regions": ["us", "eu"],
    }
    base.update(attributes)
    return {
        "data": {
            "id": "123456789",
            "type": "incident",
            "attributes": base,
            "relationships": {"monitor": {"data": {"id": "2345", "type": "monitor"}}},
        }
    }


def test_betterstack_started_fires():
    alert = only(parse("betterstack", body(betterstack_incident()), JSON))
    assert alert == Alert(
        source="betterstack",
        fingerprint="123456789",
        status="firing",
        title="Production API",
        service=None,
        severity=None,
        details="Status 503\nService Unavailable",
        link="https://api.example.com/health",
        labels={
            "incident_id": "123456789",
            "monitor_id": "2345",
            "team": "Platform",
            "url": "https://api.example.com/health",
            "http_method": "get",
            "regions": "us, eu",
            "state": "started",
        },
        started_at=datetime(2026, 4, 18, 14, 0, tzinfo=UTC),
    )


def test_betterstack_acknowledged_stays_firing_and_records_who():
    doc = betterstack_incident(
        status="Acknowledged", acknowledged_at="2026-04-18T14:05:00Z", acknowledged_by="ana@example.com"
    )
    alert = only(parse("betterstack", body(doc), JSON))
    assert alert.status == "firing"
    assert alert.labels["acknowledged_by"] == "ana@example.com"


def test_betterstack_resolved_has_the_same_dedupe_key():
    started = only(parse("betterstack", body(betterstack_incident()), JSON))
    resolved = only(
        parse(
            "betterstack",
            body(betterstack_incident(status="Resolved", resolved_at="2026-04-18T14:15:00Z")),
            JSON,
        )
    )
    assert resolved.status == "resolved"
    assert dedupe_key(started) == dedupe_key(resolved) == "betterstack:123456789"


def test_betterstack_resolved_at_alone_means_resolved():
    doc = betterstack_incident(status=None, resolved_at="2026-04-18T14:15:00Z")
    assert only(parse("betterstack", body(doc), JSON)).status == "resolved"


def test_betterstack_without_id_derives_a_stable_fingerprint():
    a, b = betterstack_incident(), betterstack_incident(status="Resolved")
    del a["data"]["id"], b["data"]["id"]
    fa, fb = (only(parse("betterstack", body(d), JSON)) for d in (a, b))
    assert fa.fingerprint and dedupe_key(fa) == dedupe_key(fb)


@pytest.mark.parametrize("doc", [{}, {"data": None}, {"data": {"attributes": []}}, {"data": [1]}])
def test_betterstack_bad_bodies(doc):
    assert reason_of("betterstack", body(doc)).startswith("betterstack: `data.attributes` must be an object")


# --- sentry ---------------------------------------------------------------------------------------


def test_sentry_issue_alert_docs_sample():
    alert = only(parse("sentry", sample("sentry_issue_alert_event_alert_docs_example.json").encode(), JSON))
    assert (alert.source, alert.fingerprint, alert.status) == ("sentry", "issue-1117540176", "firing")
    assert alert.title == "ReferenceError: heck is not defined"
    assert alert.service == "front-end"  # the project slug, from the event's API URL
    assert alert.severity == "SEV2"  # level: error
    assert (
        alert.link
        == "https://sentry.io/organizations/test-org/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"
    )
    assert (
        alert.details
        == "heck is not defined\nCulprit: ?(<anonymous>)\nAlert rule: Very Important Alert Rule!"
    )
    assert alert.started_at == datetime(2019, 8, 19, 21, 6, 17, 677000, tzinfo=UTC)
    assert alert.labels["rule"] == "Very Important Alert Rule!"
    assert alert.labels["severity"] == "error"
    assert alert.labels["browser"] == "Chrome 75.0.3770"
    assert "user" not in alert.labels  # an IP address: personal data we have no use for


def test_sentry_issue_alert_level_maps_to_severity():
    doc = json.loads(sample("sentry_issue_alert_event_alert_docs_example.json"))
    doc["data"]["event"]["level"] = "fatal"
    assert only(parse("sentry", body(doc), JSON)).severity == "SEV1"
    doc["data"]["event"]["level"] = "warning"
    assert only(parse("sentry", body(doc), JSON)).severity == "SEV3"


def sentry_metric_alert(action: str) -> dict[str, Any]:
    """The metric alert payload from Sentry's integration-platform docs."""
    return {
        "action": action,
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "description_text": "1000 events in the last 10 minutes\\nFilter: level:error",
            "description_title": f"{action.capitalize()}: Too many errors",
            "metric_alert": {
                "alert_rule": {
                    "aggregate": "count()",
                    "dataset": "events",
                    "environment": None,
                    "id": "7",
                    "name": "Too many errors",
                    "organization_id": "5",
                    "projects": ["bar"],
                    "query": "level:error",
                    "time_window": 10,
                    "triggers": [],
                },
                "date_closed": None,
                "date_started": "2020-09-13T12:26:40.000000Z",
                "id": "4",
                "identifier": "1",
                "projects": ["bar"],
                "status": 2,
                "title": "Sacred Marmot",
            },
            "web_url": "https://sentry.io/organizations/baz/alerts/1/",
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }


def test_sentry_metric_alert_critical_warning_resolved():
    critical, warning, resolved = (
        only(parse("sentry", body(sentry_metric_alert(a)), JSON)) for a in ("critical", "warning", "resolved")
    )
    assert (critical.status, critical.severity) == ("firing", "SEV1")
    assert (warning.status, warning.severity) == ("firing", "SEV3")
    assert (resolved.status, resolved.severity) == ("resolved", None)
    assert dedupe_key(critical) == dedupe_key(warning) == dedupe_key(resolved) == "sentry:metric-4"
    assert critical.title == "Too many errors"
    assert critical.service == "bar"
    assert critical.details == "1000 events in the last 10 minutes\nFilter: level:error"
    assert critical.link == "https://sentry.io/organizations/baz/alerts/1/"
    assert critical.started_at == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)


def test_sentry_metric_alert_with_unknown_action_is_refused():
    reason = reason_of("sentry", body(sentry_metric_alert("exploded")))
    assert reason == "sentry: a metric alert's `action` must be critical, warning or resolved"


def sentry_issue(action: str) -> dict[str, Any]:
    return {
        "action": action,
        "data": {
            "issue": {
                "id": "1117540176",
                "title": "ReferenceError: heck is not defined",
                "level": "error",
                "culprit": "?(x)",
                "shortId": "FRONT-END-1",
                "project": {"slug": "front-end"},
                "status": "unresolved",
                "web_url": "https://sentry.io/organizations/test-org/issues/1117540176/",
                "firstSeen": "2019-08-19T21:06:17.677000Z",
            }
        },
    }


def test_sentry_issue_resolved_closes_what_the_issue_alert_opened():
    opened = only(parse("sentry", sample("sentry_issue_alert_event_alert_docs_example.json").encode(), JSON))
    resolved = only(parse("sentry", body(sentry_issue("resolved")), JSON))
    created = only(parse("sentry", body(sentry_issue("created")), JSON))
    assert resolved.status == "resolved" and created.status == "firing"
    assert dedupe_key(opened) == dedupe_key(resolved) == dedupe_key(created) == "sentry:issue-1117540176"
    assert resolved.service == "front-end"


@pytest.mark.parametrize("action", ["assigned", "archived", "ignored"])
def test_sentry_issue_changes_that_are_not_alerts(action):
    assert parse("sentry", body(sentry_issue(action)), JSON) == []


def test_sentry_legacy_plugin_webhook():
    doc = {
        "id": "541485531",
        "project": "alerta5",
        "project_slug": "alerta5",
        "level": "error",
        "message": "This is an example Python exception",
        "culprit": "raven.scripts.runner in main",
        "url": "https://sentry.io/alertaio/alerta5/issues/541485531/",
    }
    alert = only(parse("sentry", body(doc), JSON))
    assert (alert.fingerprint, alert.title, alert.severity) == (
        "issue-541485531",
        "This is an example Python exception",
        "SEV2",
    )


@pytest.mark.parametrize("doc", [{}, {"action": "triggered", "data": {}}, {"data": {"event": "x"}}])
def test_sentry_bad_bodies(doc):
    assert reason_of("sentry", body(doc)).startswith("sentry: expected an issue alert (`data.event`)")


def sentry_error() -> dict[str, Any]:
    """An `error` webhook as Sentry's docs show it (Sentry-Hook-Resource: error, action `created`): the
    error event under `data.error`, shaped as `data.event` of an issue alert (the docs' sample's event)."""
    doc = json.loads(sample("sentry_issue_alert_event_alert_docs_example.json"))
    return {
        "action": "created",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {"error": doc["data"]["event"]},
        "installation": {"uuid": "eac5a0ae-60ec-418f-9318-46dc5e7e52ec"},
    }


def test_sentry_error_resource_is_read_as_an_event():
    alert = only(parse("sentry", body(sentry_error()), JSON))
    opened = only(parse("sentry", sample("sentry_issue_alert_event_alert_docs_example.json").encode(), JSON))
    assert (alert.fingerprint, alert.status, alert.title) == (
        "issue-1117540176", "firing", "ReferenceError: heck is not defined"
    )
    assert dedupe_key(alert) == dedupe_key(opened)  # the issue alert and its errors meet in one incident
    assert alert.service == "front-end" and alert.severity == opened.severity


# Bodies of Sentry's integration-platform resources that say nothing broke: {action, installation,
# data, actor} as Sentry's AppPlatformEvent builds every one (docs: integration-platform/webhooks).
SENTRY_NOT_ALERTS = {
    "installation": {
        "action": "created",
        "actor": {"id": 1, "name": "Meredith Heller", "type": "user"},
        "data": {"installation": {"app": {"uuid": "64bf2cf4", "slug": "pitcrew"}, "status": "installed",
                                  "uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}},
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    },
    "comment": {
        "action": "created",
        "data": {"comment": "adding a comment", "project_slug": "sentry", "comment_id": 1234, "issue_id": 100,
                 "timestamp": "2022-03-02T21:51:44.118160Z"},
        "installation": {"uuid": "eac5a0ae-60ec-418f-9318-46dc5e7e52ec"},
        "actor": {"type": "user", "id": 1, "name": "colleen"},
    },
    "a resource pitcrew does not know": {
        "action": "created",
        "data": {"seer_fix": {"id": 7}},
        "installation": {"uuid": "eac5a0ae-60ec-418f-9318-46dc5e7e52ec"},
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
    },
}


@pytest.mark.parametrize("resource", list(SENTRY_NOT_ALERTS))
def test_sentry_resources_that_are_not_alerts_are_read_as_nothing(resource):
    assert parse("sentry", body(SENTRY_NOT_ALERTS[resource]), JSON) == []


def test_sentry_issue_without_id_is_refused():
    doc = sentry_issue("created")
    del doc["data"]["issue"]["id"]
    assert reason_of("sentry", body(doc)) == "sentry: `data.issue.id` is required"


# --- railway --------------------------------------------------------------------------------------


def test_railway_november_2025_docs_sample():
    alert = only(parse("railway", sample("railway_webhook_2025-11_docs_example.strict.json").encode(), JSON))
    # The docs pair `Deployment.failed` with details.status SUCCESS: the event type wins.
    assert alert.status == "firing"
    assert alert.fingerprint == "<service id>:<environment id>"
    assert alert.title == "<service name> deployment failed in <environment name>"
    assert alert.service == "<service name>"
    assert alert.severity == "SEV3"  # severity WARNING
    assert alert.details == "...\nCommit ... by ...\nBranch ..."
    assert alert.link == (
        "https://railway.com/project/%3Cproject%20id%3E/service/%3Cservice%20id%3E"
        "?environmentId=%3Cenvironment%20id%3E"
    )
    assert alert.started_at == datetime(2025, 11, 21, 23, 48, 42, 311000, tzinfo=UTC)
    assert alert.labels["deployment_id"] == "<deployment id>"
    assert alert.labels["event"] == "Deployment.failed"


def test_railway_verbatim_docs_text_with_its_trailing_comma_is_refused_clearly():
    raw = sample("railway_webhook_2025-11_docs_example.jsonc").encode()
    assert reason_of("railway", raw).startswith("railway: not JSON: ")
    strict = only(parse("railway", strip_jsonc(raw.decode()).encode(), JSON))
    assert strict.fingerprint == "<service id>:<environment id>"


def railway_event(kind: str, status: str = "SUCCESS", ephemeral: bool = False) -> dict[str, Any]:
    return {
        "type": kind,
        "details": {
            "id": "d1",
            "source": "GitHub",
            "status": status,
            "branch": "main",
            "commitHash": "abc123",
            "commitAuthor": "ana",
            "commitMessage": "Fix checkout",
        },
        "resource": {
            "workspace": {"id": "w1", "name": "acme"},
            "project": {"id": "p1", "name": "shop"},
            "environment": {"id": "e1", "name": "production", "isEphemeral": ephemeral},
            "service": {"id": "s1", "name": "api"},
            "deployment": {"id": "dep1"},
        },
        "severity": "INFO",
        "timestamp": "2026-01-05T08:00:00.000Z",
    }


def test_railway_crash_then_success_share_a_dedupe_key():
    crashed = only(parse("railway", body(railway_event("Deployment.crashed", "CRASHED")), JSON))
    fixed = only(parse("railway", body(railway_event("Deployment.success")), JSON))
    assert (crashed.status, crashed.title) == ("firing", "api crashed in production")
    assert (fixed.status, fixed.title) == ("resolved", "api deployed successfully in production")
    assert dedupe_key(crashed) == dedupe_key(fixed) == "railway:s1:e1"
    assert fixed.started_at is None


def test_railway_other_environment_is_another_alert():
    prod = only(parse("railway", body(railway_event("Deployment.failed")), JSON))
    other = railway_event("Deployment.failed", ephemeral=True)
    other["resource"]["environment"] = {"id": "e2", "name": "pr-12", "isEphemeral": True}
    pr = only(parse("railway", body(other), JSON))
    assert dedupe_key(prod) != dedupe_key(pr)
    assert pr.labels["ephemeral"] == "true" and "ephemeral" not in prod.labels


@pytest.mark.parametrize(
    "kind", ["Deployment.building", "Deployment.deploying", "Deployment.removed", "Deployment.queued"]
)
def test_railway_progress_is_not_an_alert(kind):
    assert parse("railway", body(railway_event(kind)), JSON) == []


def test_railway_monitor_alerts_fire_and_resolve_best_effort():
    fired = only(parse("railway", body(railway_event("Monitor.triggered")), JSON))
    cleared = only(parse("railway", body(railway_event("Monitor.resolved")), JSON))
    deploy = only(parse("railway", body(railway_event("Deployment.failed")), JSON))
    assert (fired.status, cleared.status) == ("firing", "resolved")
    assert dedupe_key(fired) == dedupe_key(cleared) != dedupe_key(deploy)


def test_railway_legacy_docs_sample_without_a_status_is_not_an_alert():
    raw = sample("railway_webhook_legacy_pre2025-11_docs_example.json").encode()
    assert parse("railway", raw, JSON) == []


def test_railway_legacy_failed_then_success():
    doc = json.loads(sample("railway_webhook_legacy_pre2025-11_docs_example.json"))
    doc["service"] = {"id": "svc-9", "name": "worker"}
    failed = only(parse("railway", body({**doc, "status": "FAILED"}), JSON))
    ok = only(parse("railway", body({**doc, "status": "SUCCESS"}), JSON))
    assert (failed.status, failed.title) == ("firing", "worker deployment failed in [environment name]")
    assert failed.details == "Deployed by ..."
    assert ok.status == "resolved"
    assert dedupe_key(failed) == dedupe_key(ok) == "railway:svc-9:[environment ID]"
    assert failed.started_at == datetime(2025, 2, 1, tzinfo=UTC)


def test_railway_legacy_without_service_keys_on_project_and_environment():
    doc = json.loads(sample("railway_webhook_legacy_pre2025-11_docs_example.json"))
    alert = only(parse("railway", body({**doc, "status": "CRASHED"}), JSON))
    assert alert.fingerprint == "project-[project ID]:[environment ID]"
    assert alert.title == "[project name] crashed in [environment name]"


@pytest.mark.parametrize("doc", [{}, {"type": 3}, {"type": ""}, {"type": None, "resource": {}}])
def test_railway_bad_bodies(doc):
    assert reason_of("railway", body(doc)).startswith(
        "railway: `type` must be a string such as `Deployment.failed`"
    )


# --- vercel ---------------------------------------------------------------------------------------


def vercel_event(kind: str, target: str | None = "production") -> dict[str, Any]:
    """A deployment event with the fields Vercel's Webhooks API reference lists."""
    return {
        "id": "evt_1",
        "type": kind,
        "createdAt": 1767261600000,
        "region": "iad1",
        "payload": {
            "team": {"id": "team_1"},
            "user": {"id": "user_1"},
            "deployment": {
                "id": "dpl_1",
                "name": "web",
                "url": "web-abc123.vercel.app",
                "meta": {
                    "githubCommitMessage": "Bump deps",
                    "githubCommitSha": "0123456789abcdef",
                    "githubCommitAuthorName": "ana",
                    "githubCommitRef": "main",
                },
            },
            "links": {
                "deployment": "https://vercel.com/acme/web/dpl_1",
                "project": "https://vercel.com/acme/web",
            },
            "target": target,
            "project": {"id": "prj_1"},
            "plan": "pro",
            "regions": ["iad1"],
        },
    }


def test_vercel_error_then_succeeded():
    failed = only(parse("vercel", body(vercel_event("deployment.error")), JSON))
    ok = only(parse("vercel", body(vercel_event("deployment.succeeded")), JSON))
    assert failed == Alert(
        source="vercel",
        fingerprint="prj_1:production",
        status="firing",
        title="web deployment failed (production)",
        service="web",
        severity=None,
        details="Bump deps\nCommit 0123456789ab by ana\nDeployment https://web-abc123.vercel.app",
        link="https://vercel.com/acme/web/dpl_1",
        labels={
            "event": "deployment.error",
            "project_id": "prj_1",
            "target": "production",
            "deployment_id": "dpl_1",
            "deployment_url": "https://web-abc123.vercel.app",
            "branch": "main",
            "team_id": "team_1",
        },
        started_at=datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
    )
    assert (ok.status, ok.title) == ("resolved", "web deployed (production)")
    assert dedupe_key(failed) == dedupe_key(ok) == "vercel:prj_1:production"


def test_vercel_preview_is_kept_apart_from_production():
    preview = only(parse("vercel", body(vercel_event("deployment.error", target=None)), JSON))
    prod = only(parse("vercel", body(vercel_event("deployment.error")), JSON))
    assert preview.fingerprint == "prj_1:preview" and dedupe_key(preview) != dedupe_key(prod)


def test_vercel_ready_resolves_too():
    assert only(parse("vercel", body(vercel_event("deployment.ready")), JSON)).status == "resolved"


@pytest.mark.parametrize(
    "kind", ["deployment.created", "deployment.canceled", "deployment.promoted", "project.created"]
)
def test_vercel_events_that_are_not_alerts(kind):
    assert parse("vercel", body(vercel_event(kind)), JSON) == []


def test_vercel_legacy_hyphenated_event_and_flat_fields():
    doc = {
        "type": "deployment-error",
        "createdAt": 1767261600000,
        "payload": {
            "deploymentId": "dpl_2",
            "name": "web",
            "url": "web-x.vercel.app",
            "projectId": "prj_2",
            "target": "production",
        },
    }
    alert = only(parse("vercel", body(doc), JSON))
    assert (alert.fingerprint, alert.status, alert.link) == (
        "prj_2:production",
        "firing",
        "https://web-x.vercel.app",
    )


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({}, "vercel: `type` must be a string such as `deployment.error`, got null"),
        (
            {"type": ["deployment.error"]},
            "vercel: `type` must be a string such as `deployment.error`, got a list",
        ),
        ({"type": "deployment.error"}, "vercel: `payload` must be an object, got null"),
        (
            {"type": "deployment.error", "payload": {"target": "production"}},
            "vercel: `payload.project.id` is required",
        ),
    ],
)
def test_vercel_bad_bodies(doc, expected):
    assert reason_of("vercel", body(doc)).startswith(expected)


# --- generic --------------------------------------------------------------------------------------


def test_generic_full_body():
    doc = {
        "title": "Queue backed up",
        "service": "worker",
        "severity": "high",
        "status": "firing",
        "fingerprint": "queue-1",
        "url": "https://grafana.example.com/d/q",
        "description": "12k jobs waiting",
    }
    assert only(parse("generic", body(doc), JSON)) == Alert(
        source="generic",
        fingerprint="queue-1",
        status="firing",
        title="Queue backed up",
        service="worker",
        severity="SEV2",
        details="12k jobs waiting",
        link="https://grafana.example.com/d/q",
        labels={"severity": "high", "url": "https://grafana.example.com/d/q"},
        started_at=None,
    )


def test_generic_minimal_body_and_derived_fingerprint_stable_across_status():
    firing = only(
        parse("generic", body({"title": "Cron missed", "status": "firing", "service": "jobs"}), JSON)
    )
    resolved = only(
        parse("generic", body({"title": "Cron missed", "status": "RESOLVED", "service": "jobs"}), JSON)
    )
    assert (firing.status, resolved.status) == ("firing", "resolved")
    assert firing.severity is None and firing.link is None and firing.details == ""
    assert dedupe_key(firing) == dedupe_key(resolved)


def test_generic_unknown_severity_is_kept_for_the_teams_mapping():
    alert = only(parse("generic", body({"title": "x", "status": "firing", "severity": "page-now"}), JSON))
    assert alert.severity is None and alert.labels["severity"] == "page-now"


def test_generic_numeric_fingerprint_is_accepted():
    assert (
        only(parse("generic", body({"title": "x", "status": "firing", "fingerprint": 12}), JSON)).fingerprint
        == "12"
    )


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"status": "firing"}, "generic: `title` is required and must be a non-empty string"),
        ({"title": "  ", "status": "firing"}, "generic: `title` is required and must be a non-empty string"),
        ({"title": 5, "status": "firing"}, "generic: `title` is required and must be a non-empty string"),
        ({"title": "x"}, "generic: `status` is required (firing or resolved)"),
        ({"title": "x", "status": "ok"}, "generic: `status` is required (firing or resolved)"),
        (
            {"title": "x", "status": "firing", "service": ["api"]},
            "generic: `service` must be a string, got a list",
        ),
        ({"title": "x", "status": "firing", "url": 1}, "generic: `url` must be a string, got a number"),
        (
            {"title": "x", "status": "firing", "severity": {}},
            "generic: `severity` must be a string, got an object",
        ),
    ],
)
def test_generic_bad_bodies(doc, expected):
    assert reason_of("generic", body(doc)) == expected


# --- fuzz: only WebhookBodyError, and clean alerts ------------------------------------------------

NASTY: list[Any] = [
    None,
    0,
    -1,
    1e308,
    True,
    "",
    "x" * 200_000,
    [],
    {},
    [None],
    {"a": None},
    "\x00\u202e\x1b",
    "\ud800",
    "*monitorID*",
    "javascript:alert(1)",
    10**30,
    [[[[]]]],
    {"id": {"id": None}},
]


def valid_bodies() -> dict[str, list[dict[str, Any]]]:
    return {
        "alertmanager": [
            {"status": "firing", "externalURL": "http://am", "alerts": [AM_VALUES | {"status": "firing"}]}
        ],
        "uptimerobot": [published_template("1", "Down"), {"monitorID": "1", "alertType": "3"}],
        "betterstack": [betterstack_incident()],
        "sentry": [
            sentry_metric_alert("critical"),
            sentry_issue("created"),
            {
                "action": "triggered",
                "data": {
                    "event": {
                        "issue_id": "1",
                        "title": "t",
                        "level": "error",
                        "tags": [["a", "b"]],
                        "datetime": "2020-01-01",
                    },
                    "triggered_rule": "r",
                },
            },
        ],
        "railway": [
            railway_event("Deployment.failed"),
            {
                "type": "DEPLOY",
                "status": "FAILED",
                "project": {"id": "p"},
                "environment": {"id": "e"},
                "service": {"id": "s"},
                "deployment": {"id": "d", "creator": {"name": "n"}},
            },
        ],
        "vercel": [vercel_event("deployment.error")],
        "generic": [
            {
                "title": "t",
                "status": "firing",
                "service": "s",
                "severity": "high",
                "fingerprint": "f",
                "url": "https://x.example",
                "description": "d",
            }
        ],
    }


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += paths(value, (*prefix, i))
    return found


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(doc))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


def assert_clean(alert: Alert) -> None:
    assert alert.status in ("firing", "resolved")
    assert alert.fingerprint and len(alert.fingerprint) <= 200 + len("sha256:")
    assert 0 < len(alert.title) <= 300 and len(alert.details) <= 3000
    assert alert.severity is None or alert.severity in SEVERITIES
    assert alert.link is None or alert.link.startswith(("http://", "https://"))
    for text in (
        alert.title,
        alert.details,
        alert.fingerprint,
        alert.service or "",
        *alert.labels,
        *alert.labels.values(),
    ):
        text.encode("utf-8")  # no lone surrogates
        assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text)
    assert "\n" not in alert.title
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.labels.items())
    assert alert.started_at is None or alert.started_at.tzinfo is not None
    dedupe_key(alert)


def parse_safely(source: str, raw: bytes, content_type: str | None) -> None:
    try:
        alerts = parse(source, raw, content_type)
    except WebhookBodyError as err:
        assert err.reason.startswith(f"{source}: ") and len(err.reason) < 500
        return
    assert isinstance(alerts, list)
    for alert in alerts:
        assert alert.source == source
        assert_clean(alert)


@pytest.mark.parametrize("source", SOURCES)
def test_fuzz_every_field_replaced_by_something_nasty(source):
    for doc in valid_bodies()[source]:
        for alert in parse(source, body(doc), JSON):  # the unmutated body is valid and clean
            assert_clean(alert)
        for path in paths(doc):
            for value in NASTY:
                raw = json.dumps(replaced(doc, path, value)).encode("utf-8", "surrogatepass")
                parse_safely(source, raw, JSON)


@pytest.mark.parametrize("source", SOURCES)
def test_fuzz_random_bytes_and_truncations(source):
    rng = random.Random(f"pitcrew-{source}")
    valid = body(valid_bodies()[source][0])
    for _ in range(300):
        parse_safely(source, rng.randbytes(rng.randint(0, 64)), rng.choice([JSON, FORM, None, "text/plain"]))
    for cut in range(0, len(valid), max(1, len(valid) // 50)):
        parse_safely(source, valid[:cut], JSON)
    for _ in range(200):
        mutated = bytearray(valid)
        for _ in range(rng.randint(1, 5)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        parse_safely(source, bytes(mutated), rng.choice([JSON, FORM, None]))


def test_fuzz_huge_strings_are_capped():
    huge = "é" * 500_000
    alert = only(
        parse(
            "generic",
            body(
                {"title": huge, "status": "firing", "description": huge, "service": huge, "fingerprint": huge}
            ),
            JSON,
        )
    )
    assert_clean(alert)
    assert len(alert.title) == 300 and len(alert.details) == 3000 and len(alert.service or "") <= 100


@pytest.mark.parametrize(
    ("kind", "status", "expected"),
    [
        ("Deployment.oom_killed", "CRASHED", "firing"),  # an event word pitcrew does not know
        ("Deployment.status_changed", "FAILED", "firing"),
        ("Deployment.redeployed", "SUCCESS", "resolved"),
        ("Deployment", "CRASHED", "firing"),  # no event word at all
    ],
)
def test_railway_unknown_event_word_falls_back_to_details_status(kind, status, expected):
    alert = only(parse("railway", body(railway_event(kind, status)), JSON))
    assert alert.status == expected
    assert alert.labels["event"] == kind


def test_railway_a_progress_event_stays_progress_whatever_the_status():
    assert parse("railway", body(railway_event("Deployment.removed", "SUCCESS")), JSON) == []
