"""Monitoring tools' webhooks POSTed to the running app: incidents opened, joined, recovered; bad requests refused.

Each source is sent its real sample (or the body its documentation describes) over HTTP, and
the test looks at what reached the fake Slack and what the database kept.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from app.core.audit import verify
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import Incident, ReceivedAlert
from tests.e2e.incident_support import (
    alertmanager_body,
    betterstack_body,
    edits_of,
    generic_body,
    incident_catalog,
    pitcrew_for_incidents,
    railway_body,
    railway_legacy_body,
    roots,
    sentry_body,
    sentry_signature,
    text_of,
    thread,
    updates_posts,
    uptimerobot_body,
    vercel_body,
    vercel_signature,
    wait_until,
)
from tests.fixtures import SECRET, UPDATES

SENTRY_SECRET = "sentry-client-secret-1234"
VERCEL_SECRET = "vercel-webhook-secret-1234"


async def incidents_in(pitcrew: Any) -> list[Incident]:
    async with transaction(pitcrew.app.deps.sessions) as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def stored(pitcrew: Any) -> list[ReceivedAlert]:
    async with transaction(pitcrew.app.deps.sessions) as session:
        return list((await session.scalars(select(ReceivedAlert).order_by(ReceivedAlert.id))).all())


def effects(response: Any) -> list[str]:
    return [a["effect"] for a in response.json()["alerts"]]


async def open_root(pitcrew: Any, count: int = 1) -> Any:
    """The root messages once the announcement jobs have posted them (they run right after the 202)."""
    await pitcrew.run_jobs()
    await wait_until(lambda: len(roots(pitcrew.slack)) >= count)
    return roots(pitcrew.slack)


# --- each source opens, joins and recovers -----------------------------------------------------------


def _sentry_resolved() -> dict[str, Any]:
    return {
        "action": "resolved",
        "data": {
            "issue": {
                "id": "1117540176",
                "title": "ReferenceError: heck is not defined",
                "level": "error",
                "project": {"slug": "front-end"},
                "status": "resolved",
                "web_url": "https://sentry.io/organizations/test-org/issues/1117540176/",
            }
        },
    }


SOURCES: dict[str, tuple[Any, Any, str]] = {
    # source: (firing body, resolved body, words the root message shows)
    "alertmanager": (alertmanager_body(), alertmanager_body("resolved"), "5xx above 5% on api"),
    "uptimerobot": (uptimerobot_body("1"), uptimerobot_body("2"), "API health is down"),
    "betterstack": (
        betterstack_body(),
        betterstack_body("Resolved", resolved_at="2026-03-02T09:20:00Z"),
        "Production API",
    ),
    "railway": (railway_body(), railway_body("Deployment.success"), "deployment failed"),
    "railway-legacy": (railway_legacy_body("CRASHED"), railway_legacy_body("SUCCESS"), "crashed"),
    "sentry": (sentry_body(), _sentry_resolved(), "ReferenceError: heck is not defined"),
    "vercel": (vercel_body("deployment.error"), vercel_body("deployment.succeeded"), "web deployment failed"),
    "generic": (generic_body(), generic_body("resolved"), "Checkout failing"),
}


@pytest.mark.parametrize("name", list(SOURCES))
async def test_each_source_opens_joins_and_recovers_an_incident(db_url, fake_slack, name):
    firing, resolved, words = SOURCES[name]
    source = name.removesuffix("-legacy")
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        first = await pitcrew.webhook(source, firing)
        assert first.status_code == 202, first.text
        assert effects(first) == ["opened"]
        [root] = await open_root(pitcrew)
        assert words in root.text
        assert {"incident.ack", "incident.update", "incident.resolve"} <= {
            e["action_id"] for b in root.blocks if b["type"] == "actions" for e in b["elements"]
        }

        again = await pitcrew.webhook(source, firing)
        assert effects(again) == ["joined"]
        assert again.json()["alerts"][0]["incident"] == "INC-1"
        pitcrew.clock.advance(seconds=60)
        await pitcrew.run_jobs()
        [edit] = edits_of(fake_slack, root)
        assert "2 alerts" in edit.args["text"]
        assert len(roots(fake_slack)) == 1  # edited in place, not reposted

        for _ in range(2):  # a recovery sent twice is posted once
            recovered = await pitcrew.webhook(source, resolved)
            assert recovered.status_code == 202
        await pitcrew.run_jobs()
        notes = [m for m in thread(fake_slack, root) if "Recovered" in m.text]
        assert len(notes) == 1
        [incident] = await incidents_in(pitcrew)
        assert incident.state == "monitoring"
        assert len(await stored(pitcrew)) == 4  # every body kept
        webhooks = [e async for e in audit_store.entries(pitcrew.app.deps.sessions) if e.actor == f"webhook:{source}"]
        assert [e.outcome for e in webhooks] == ["opened INC-1", "joined INC-1", "recovered INC-1", "ignored INC-1"]


async def test_alertmanager_group_opens_one_incident_per_alert_and_resolves_each(db_url, fake_slack):
    """With correlation off (`correlate_minutes: 0`); with it, both alerts are api's and join one incident."""
    body = alertmanager_body()
    second = json.loads(json.dumps(body["alerts"][0]))
    second["fingerprint"] = "0000aaaa1111bbbb"
    second["annotations"]["summary"] = "p99 latency above 2 s on api"
    body["alerts"].append(second)
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=incident_catalog(correlate_minutes=0)) as pitcrew:
        response = await pitcrew.webhook("alertmanager", body)
        assert effects(response) == ["opened", "opened"]
        await open_root(pitcrew, 2)
        rows = await stored(pitcrew)
        assert len(rows) == 2 and rows[0].body and rows[1].body == "" and rows[1].body_id == rows[0].id
        assert {r.incident_id for r in rows} == {1, 2}


async def test_new_incident_root_names_service_severity_link_and_first_responders(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("alertmanager", alertmanager_body())
        [root] = await open_root(pitcrew)
        shown = text_of(root)
        assert "SEV1" in shown and "api" in shown and "prometheus.internal:9090" in shown
        assert "Error ratio 7.2% for 5 minutes." in shown
        await wait_until(lambda: any("S0ONCALL" in m.text for m in thread(fake_slack, root)))
        await wait_until(lambda: bool(updates_posts(fake_slack)))
        [update] = updates_posts(fake_slack)
        said = update.args["text"]
        assert "INC-1" in said and "Affected: api" in said and "Next update: by 09:30 UTC" in said


async def test_uptimerobot_alert_is_matched_to_the_catalog_service_by_its_url(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("uptimerobot", uptimerobot_body("1"))
        [incident] = await incidents_in(pitcrew)
        assert incident.service == "api"  # https://api.example.com/health is api's health check


async def test_severity_mapping_from_pitcrew_yml_applies(db_url, fake_slack):
    from tests.e2e.incident_support import incident_catalog

    catalog = incident_catalog(severity_map={"critical": "SEV2"})
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        [incident] = await incidents_in(pitcrew)
        assert incident.severity == "SEV2"


async def test_root_message_edits_are_spaced_by_the_interval(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        [root] = await open_root(pitcrew)
        for _ in range(25):  # an alert every 2 s for 50 s
            pitcrew.clock.advance(seconds=2)
            await pitcrew.webhook("generic", generic_body())
            await pitcrew.run_jobs()
        pitcrew.clock.advance(seconds=30)
        await pitcrew.run_jobs()
        edits = edits_of(fake_slack, root)
        assert 2 <= len(edits) <= 4  # 25 joins over 50 s with a 20 s interval: two or three edits, not 25
        assert "26 alerts" in edits[-1].args["text"]


async def test_alert_that_fires_again_in_the_quiet_period_reopens_the_same_incident(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        [root] = await open_root(pitcrew)
        await pitcrew.webhook("generic", generic_body("resolved"))
        pitcrew.clock.advance(minutes=10)
        again = await pitcrew.webhook("generic", generic_body())
        assert effects(again) == ["reopened"]
        await pitcrew.run_jobs()
        assert any("Fired again" in m.text for m in thread(fake_slack, root))
        pitcrew.clock.advance(minutes=40)  # past the quiet period of the first recovery
        await pitcrew.run_jobs()
        incidents = await incidents_in(pitcrew)
        assert len(incidents) == 1 and incidents[0].state == "investigating"


async def test_quiet_period_resolves_by_itself_then_a_new_alert_opens_a_new_incident(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        [root] = await open_root(pitcrew)
        await pitcrew.webhook("generic", generic_body("resolved"))
        pitcrew.clock.advance(minutes=29)
        await pitcrew.run_jobs()
        assert (await incidents_in(pitcrew))[0].state == "monitoring"
        pitcrew.clock.advance(minutes=1, seconds=1)
        await pitcrew.run_jobs()
        [incident] = await incidents_in(pitcrew)
        assert incident.state == "resolved" and incident.open_key is None
        assert any("Resolved after" in m.text for m in thread(fake_slack, root))
        assert any("resolved after" in c.args["text"] for c in updates_posts(fake_slack))
        later = await pitcrew.webhook("generic", generic_body())
        assert effects(later) == ["opened"] and later.json()["alerts"][0]["incident"] == "INC-2"


async def test_quiet_period_may_be_a_fraction_of_a_minute(db_url, fake_slack):
    from tests.e2e.incident_support import incident_catalog

    catalog = incident_catalog(quiet_minutes=0.5)
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        [root] = await open_root(pitcrew)
        await pitcrew.webhook("generic", generic_body("resolved"))
        await pitcrew.run_jobs()
        assert any("resolves by itself after 30 s of quiet" in m.text for m in thread(fake_slack, root))
        pitcrew.clock.advance(seconds=29)
        await pitcrew.run_jobs()
        assert (await incidents_in(pitcrew))[0].state == "monitoring"
        pitcrew.clock.advance(seconds=2)
        await pitcrew.run_jobs()
        assert (await incidents_in(pitcrew))[0].state == "resolved"


async def test_keep_open_stops_the_automatic_resolution(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        [root] = await open_root(pitcrew)
        await fake_slack.mention("keep", user="U0OPS1", channel=root.channel, thread_ts=root.ts)
        await wait_until(lambda: any("Kept open" in m.text for m in thread(fake_slack, root)))
        await pitcrew.webhook("generic", generic_body("resolved"))
        pitcrew.clock.advance(hours=2)
        await pitcrew.run_jobs()
        assert (await incidents_in(pitcrew))[0].state == "monitoring"


async def test_alert_titles_are_escaped_in_slack(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("generic", generic_body(title="<!channel> <https://evil.example|click> & co"))
        [root] = await open_root(pitcrew)
        everything = fake_slack.all_text()
        assert "<!channel>" not in everything and "<https://evil.example|click>" not in everything
        assert "&lt;!channel&gt;" in root.text


# --- requests refused ----------------------------------------------------------------------------------


async def test_unknown_source_is_404(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        response = await pitcrew.webhook("opsgenie", generic_body())  # pagerduty has its own route now
        assert response.status_code == 404
        assert "known sources" in response.json()["error"]


async def test_wrong_or_missing_secret_is_401_and_nothing_is_stored(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        missing = await pitcrew.webhook("generic", generic_body(), token=None)
        wrong = await pitcrew.webhook("generic", generic_body(), token="not-the-secret")
        assert (missing.status_code, wrong.status_code) == (401, 401)
        assert "not authorized" in wrong.json()["error"]
        bearer = await pitcrew.webhook(
            "generic", generic_body(), token=None, headers={"Authorization": f"Bearer {SECRET}"}
        )
        assert bearer.status_code == 202
        assert len(await stored(pitcrew)) == 1


async def test_without_webhook_secret_configured_webhooks_are_refused_with_how_to_fix(db_url, fake_slack, caplog):
    async with pitcrew_for_incidents(db_url, fake_slack, WEBHOOK_SECRET=None) as pitcrew:
        response = await pitcrew.webhook("generic", generic_body(), token="anything")
        assert response.status_code == 401
        assert "WEBHOOK_SECRET is not set" in caplog.text  # the how-to-fix is for the log, not the sender


async def test_sentry_signature_is_verified_when_its_secret_is_set(db_url, fake_slack, caplog):
    body = sentry_body()
    async with pitcrew_for_incidents(db_url, fake_slack, SENTRY_CLIENT_SECRET=SENTRY_SECRET) as pitcrew:
        bad = await pitcrew.webhook("sentry", body, token=SECRET, headers={"Sentry-Hook-Signature": "0" * 64})
        assert bad.status_code == 401 and "Sentry-Hook-Signature" in caplog.text
        good = await pitcrew.webhook(
            "sentry", body, token=None, headers={"Sentry-Hook-Signature": sentry_signature(body, SENTRY_SECRET)}
        )
        assert good.status_code == 202 and effects(good) == ["opened"]


async def test_sentry_resources_that_are_not_alerts_get_2xx_and_open_nothing(db_url, fake_slack):
    """Sentry sends every resource an integration subscribes to (installation, comment, ...) to the one
    webhook URL, told apart by `Sentry-Hook-Resource`; answering them 400 would count as failures."""
    from tests.unit.test_webhook_parsers import SENTRY_NOT_ALERTS, sentry_error

    async with pitcrew_for_incidents(db_url, fake_slack, SENTRY_CLIENT_SECRET=SENTRY_SECRET) as pitcrew:
        for resource, doc in [("installation", SENTRY_NOT_ALERTS["installation"]),
                              ("comment", SENTRY_NOT_ALERTS["comment"]),
                              ("seer", SENTRY_NOT_ALERTS["a resource pitcrew does not know"])]:
            raw = json.dumps(doc).encode()
            headers = {"Sentry-Hook-Resource": resource, "Sentry-Hook-Signature": sentry_signature(raw, SENTRY_SECRET)}
            response = await pitcrew.webhook("sentry", raw, token=None, headers=headers)
            assert response.status_code == 202, (resource, response.text)
            assert response.json()["alerts"] == []
        assert await incidents_in(pitcrew) == []

        raw = json.dumps(sentry_error()).encode()
        headers = {"Sentry-Hook-Resource": "error", "Sentry-Hook-Signature": sentry_signature(raw, SENTRY_SECRET)}
        error = await pitcrew.webhook("sentry", raw, token=None, headers=headers)
        assert error.status_code == 202 and effects(error) == ["opened"]
        [incident] = await incidents_in(pitcrew)
        assert "ReferenceError: heck is not defined" in incident.title


async def test_vercel_signature_is_verified_when_its_secret_is_set(db_url, fake_slack):
    body = json.dumps(vercel_body()).encode()
    async with pitcrew_for_incidents(db_url, fake_slack, VERCEL_WEBHOOK_SECRET=VERCEL_SECRET) as pitcrew:
        bad = await pitcrew.webhook("vercel", body, token=SECRET, headers={"x-vercel-signature": "0" * 40})
        assert bad.status_code == 401
        good = await pitcrew.webhook(
            "vercel", body, token=None, headers={"x-vercel-signature": vercel_signature(body, VERCEL_SECRET)}
        )
        assert good.status_code == 202


async def test_body_over_one_mebibyte_is_413_even_without_content_length(db_url, fake_slack):
    big = b'{"title": "' + b"x" * (1024 * 1024) + b'", "status": "firing"}'

    async def chunks() -> Any:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        declared = await pitcrew.webhook("generic", big)
        assert declared.status_code == 413
        streamed = await pitcrew.http.post(
            "/webhooks/generic",
            params={"token": SECRET},
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert streamed.status_code == 413
        assert await stored(pitcrew) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", "not JSON"),
        (b'{"title": "\xc3\x28"}', "not UTF-8"),
        (b'{"status": "firing"}', "`title` is required"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
async def test_unreadable_body_is_400_with_the_reason_and_kept(db_url, fake_slack, raw, expected):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        response = await pitcrew.webhook("generic", raw)
        assert response.status_code == 400
        assert expected in response.json()["error"]
        [row] = await stored(pitcrew)
        assert row.error and expected in row.error
        if b"\xc3" in raw:
            assert "base64" in row.error
        else:
            assert row.body == raw.decode()
        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        assert any(e.action == "webhook generic" and e.outcome.startswith("rejected") for e in entries)
        assert verify(entries).ok
        assert await incidents_in(pitcrew) == []


def _preview(body: dict[str, Any]) -> dict[str, Any]:
    body["payload"]["target"] = None  # Vercel sends `target: null` for a preview deployment
    return body


async def test_a_failed_preview_build_opens_no_incident_by_default(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        preview = await pitcrew.webhook("vercel", _preview(vercel_body("deployment.error")))
        assert preview.status_code == 202 and preview.json()["alerts"] == []
        assert await incidents_in(pitcrew) == []
        assert len(await stored(pitcrew)) == 1  # the body is kept all the same

        production = await pitcrew.webhook("vercel", vercel_body("deployment.error"))
        assert effects(production) == ["opened"]


async def test_a_service_may_alert_on_preview_builds_too(db_url, fake_slack):
    from tests.e2e.incident_support import incident_catalog

    catalog = incident_catalog({
        "web": {"provider": "vercel", "vercel": {"project_id": "prj_1", "alert_targets": ["production", "preview"]}},
    })
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        preview = await pitcrew.webhook("vercel", _preview(vercel_body("deployment.error")))
        assert effects(preview) == ["opened"]


async def test_readable_body_that_is_no_alert_is_kept_and_answered_2xx(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        response = await pitcrew.webhook("vercel", vercel_body("deployment.created"))
        assert response.status_code == 202 and response.json()["alerts"] == []
        [row] = await stored(pitcrew)
        assert row.fingerprint is None and row.error is None


async def test_no_body_ever_gets_a_500(db_url, fake_slack):
    nasty = [b"", b"null", b"{}", b'{"title": 1, "status": []}', b'{"alerts": "x"}', b"\x00" * 10, b"{" * 5000]
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        for source in ("alertmanager", "uptimerobot", "betterstack", "sentry", "railway", "vercel", "generic"):
            for raw in nasty:
                response = await pitcrew.webhook(source, raw)
                assert response.status_code in (202, 400), (source, raw[:20], response.status_code)


async def test_status_update_channel_is_optional(db_url, fake_slack):
    from tests.fixtures import catalog_from

    catalog = catalog_from({}, updates_channel=None)
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        await open_root(pitcrew)
        assert not [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == UPDATES]


async def test_slack_rate_limiting_delays_the_root_message_but_loses_nothing(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        fake_slack.rate_limit(times=2, retry_after=1)  # Slack answers 429 with Retry-After twice
        response = await pitcrew.webhook("generic", generic_body())
        assert response.status_code == 202  # the alert is stored whatever Slack does
        [root] = await open_root(pitcrew)
        assert "Checkout failing" in root.text
        posted = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == root.channel]
        assert len([c for c in posted if not c.args.get("thread_ts")]) == 3  # two refused, then posted once
        assert len(roots(fake_slack)) == 1


async def test_database_away_is_503_so_the_sender_retries_never_500(fake_slack):
    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"
    async with pitcrew_for_incidents(unreachable, fake_slack) as pitcrew:
        response = await pitcrew.webhook("generic", generic_body())
        assert response.status_code == 503
        assert "retry" in response.json()["error"]
        assert "postgres@" not in response.text  # no connection details in the answer
