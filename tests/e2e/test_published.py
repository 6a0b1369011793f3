"""What is published must be safe to publish: alerts are masked before they are stored or shown, and
the status page says only what may be said (its switch, name, components and token; neutral titles
for alert-born incidents; public and private incidents)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from app.catalog import parse_catalog
from app.store.db import transaction
from app.store.models import AuditEvent, Incident, IncidentEvent, ReceivedAlert
from tests.e2e.incident_support import (
    ESCALATION,
    alertmanager_body,
    generic_body,
    pitcrew_for_incidents,
    roots,
    text_of,
    thread,
    updates_posts,
    wait_until,
)
from tests.fixtures import ALERTS, OPERATOR, SECRET, UPDATES

DB_PASSWORD = "S3cr3tPgPass"
STRIPE_KEY = "sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5R"
LEAKY_TITLE = f"could not connect to postgresql://app:{DB_PASSWORD}@db.internal:5432/prod (api key {STRIPE_KEY})"
BEARER = "eyZtb2tlbi1mb3ItdGhlLWFwaQ9x7"
STATUS_TOKEN = "status-page-token-0123456789"


def catalog(**status_page: Any):  # type: ignore[no-untyped-def]
    """api and web over HTTP, the database as a postgres service, and the given `status_page:` block."""
    document = {
        "slack": {"alerts_channel": ALERTS, "updates_channel": UPDATES, "operators": [OPERATOR],
                  "escalation": ESCALATION},
        "services": {
            "api": {"provider": "http", "health": {"url": "https://api.example.com/health"}},
            "web": {"provider": "http", "health": {"url": "https://www.example.com/"}},
            "db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}},
        },
    }
    if status_page:
        document["status_page"] = status_page
    return parse_catalog(json.dumps(document))


async def command(pitcrew: Any, text: str, *, user: str = OPERATOR) -> str:
    """Type `/incident text`; the text of the private answer."""
    before = len(pitcrew.slack.calls_to("response_url"))
    response = await pitcrew.app.command("/incident", text, user=user)
    assert response.status_code == 200
    await wait_until(lambda: len(pitcrew.slack.calls_to("response_url")) > before)
    await pitcrew.run_jobs()
    return str(pitcrew.slack.calls_to("response_url")[before].args.get("text", ""))


async def alert(pitcrew: Any, source: str = "generic", body: Any = None, **fields: Any) -> None:
    response = await pitcrew.webhook(source, body if body is not None else generic_body(**fields))
    assert response.status_code == 202, response.text
    await pitcrew.run_jobs()


async def page(pitcrew: Any, **params: str) -> tuple[dict[str, Any], str]:
    doc = await pitcrew.http.get("/status.json", params=params)
    html = await pitcrew.http.get("/status", params=params)
    assert doc.status_code == 200 and html.status_code == 200, (doc.text, html.text)
    return doc.json(), html.text


async def everything_stored(pitcrew: Any) -> str:
    """Every row of the tables an alert's text may reach, as one text to search."""
    async with transaction(pitcrew.app.deps.sessions) as session:
        rows: list[Any] = []
        for model in (ReceivedAlert, Incident, IncidentEvent, AuditEvent):
            rows += [
                {c.name: getattr(r, c.name) for c in model.__table__.columns}
                for r in (await session.scalars(select(model))).all()
            ]
    return json.dumps(rows, default=str)


def everything_slack_saw(pitcrew: Any) -> str:
    return "\n".join(text_of(call) for call in pitcrew.slack.calls)


# --- masking at ingestion --------------------------------------------------------------------------


async def test_a_secret_in_an_alert_reaches_no_page_no_channel_and_no_table(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        await alert(
            pitcrew,
            title=LEAKY_TITLE,
            description=f"retrying with Authorization: Bearer {BEARER}; password={DB_PASSWORD}x",
            url=f"https://grafana.example.com/d/db?api_key={STRIPE_KEY}",
            fingerprint=f"db-{STRIPE_KEY}",
        )
        await wait_until(lambda: bool(roots(fake_slack)) and bool(updates_posts(fake_slack)))
        [root] = roots(fake_slack)
        # Engineers still read what failed, less the secret.
        assert "postgresql://app:***@db.internal:5432/prod (api key ***)" in root.text
        assert updates_posts(fake_slack), "the managers' channel was told"

        doc, html = await page(pitcrew)
        seen = {
            "status.json": json.dumps(doc),
            "status": html,
            "slack": everything_slack_saw(pitcrew),
            "database": await everything_stored(pitcrew),
        }
        for where, text in seen.items():
            for secret in (DB_PASSWORD, STRIPE_KEY, BEARER, "51HqLm2Qw8"):
                assert secret not in text, f"{secret} reached {where}"
        # The raw body is kept for inspection, masked the same way.
        async with transaction(pitcrew.app.deps.sessions) as session:
            [stored] = (await session.scalars(select(ReceivedAlert))).all()
        assert "postgresql://app:***@db.internal:5432/prod" in stored.body
        assert json.loads(stored.body)["status"] == "firing"  # still the JSON that was sent
        # And the status page shows a neutral title, not the alert's.
        assert doc["incidents"][0]["title"] == "Service disruption: api"
        assert "could not connect" not in html and "db.internal" not in json.dumps(doc)


async def test_the_repeat_and_the_recovery_of_a_masked_alert_find_its_incident(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        for _ in range(2):
            await alert(pitcrew, title=LEAKY_TITLE, fingerprint=f"db-{STRIPE_KEY}")
        response = await pitcrew.webhook("generic", generic_body("resolved", title=LEAKY_TITLE,
                                                                 fingerprint=f"db-{STRIPE_KEY}"))
        assert [a["effect"] for a in response.json()["alerts"]] == ["recovered"]
        assert STRIPE_KEY not in response.text
        async with transaction(pitcrew.app.deps.sessions) as session:
            assert len((await session.scalars(select(Incident))).all()) == 1


async def test_pitcrews_own_secrets_and_the_watched_databases_password_are_masked_by_value(db_url, fake_slack):
    """Neither value has a secret's shape where it appears; they are known, so they are masked anyway."""
    dsn = f"postgresql://app:{DB_PASSWORD}@db.internal:5432/prod"
    async with pitcrew_for_incidents(
        db_url, fake_slack, catalog=catalog(), env={"APP_DATABASE_URL": dsn}
    ) as pitcrew:
        body = alertmanager_body(instance=f"db.internal ({SECRET})")
        body["alerts"][0]["annotations"] = {
            "summary": f"login failed for app, tried {DB_PASSWORD}",
            "description": f"the webhook was called with {SECRET}",
        }
        await alert(pitcrew, "alertmanager", body)
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)
        assert "login failed for app, tried ***" in root.text
        for where, text in (("slack", everything_slack_saw(pitcrew)), ("database", await everything_stored(pitcrew))):
            assert DB_PASSWORD not in text, where
            assert SECRET not in text, where


async def test_an_unreadable_body_is_kept_masked(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        response = await pitcrew.webhook("generic", f'{{"title": "{LEAKY_TITLE}", "status": "maybe"}}')
        assert response.status_code == 400
        stored = await everything_stored(pitcrew)
        assert "postgresql://app:***@db.internal" in stored
        assert DB_PASSWORD not in stored and STRIPE_KEY not in stored


# --- the status page: switch, name, components, token ------------------------------------------------


async def test_a_disabled_status_page_is_not_there_nor_linked(db_url, fake_slack):
    async with pitcrew_for_incidents(
        db_url, fake_slack, catalog=catalog(enabled=False), PUBLIC_URL="https://pitcrew.example.com"
    ) as pitcrew:
        await alert(pitcrew)
        for path in ("/status", "/status.json"):
            response = await pitcrew.http.get(path)
            assert response.status_code == 404, path
            assert "Checkout" not in response.text
        await wait_until(lambda: bool(updates_posts(fake_slack)))
        assert "pitcrew.example.com/status" not in everything_slack_saw(pitcrew)


async def test_an_enabled_status_page_is_linked_from_the_updates(db_url, fake_slack):
    async with pitcrew_for_incidents(
        db_url, fake_slack, catalog=catalog(), PUBLIC_URL="https://pitcrew.example.com"
    ) as pitcrew:
        await alert(pitcrew)
        await wait_until(lambda: bool(updates_posts(fake_slack)))
        assert "https://pitcrew.example.com/status" in text_of(updates_posts(fake_slack)[0])


async def test_the_page_has_its_name_and_components_and_hides_internal_services(db_url, fake_slack):
    config = {"name": "Acme status", "components": {"api": "Public API", "web": "Website"}}
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog(**config)) as pitcrew:
        doc, html = await page(pitcrew)
        history = doc.pop("history")
        assert doc == {
            "incidents": [],
            "name": "Acme status",
            "components": [{"name": "Public API", "status": "operational"},
                           {"name": "Website", "status": "operational"}],
        }
        assert [(h["name"], h["uptime"]) for h in history] == [("Public API", 100.0), ("Website", 100.0)]
        assert "<h1>Acme status</h1>" in html and "<title>Acme status</title>" in html

        await alert(pitcrew, title="5xx on /v1/orders from pod api-7f9c", service="api", fingerprint="api-5xx")
        await alert(pitcrew, title="replication lag 40s on db-replica-2", service="db", fingerprint="db-lag",
                    severity="warning")
        doc, html = await page(pitcrew)
        assert [(i["id"], i["title"]) for i in doc["incidents"]] == [("INC-1", "Service disruption: Public API")]
        assert doc["components"] == [{"name": "Public API", "status": "major_outage"},
                                     {"name": "Website", "status": "operational"}]
        # The history too: components only (no `db`), today's bar coloured by the public incident.
        assert [(h["name"], h["days"][-1]["severity"]) for h in doc["history"]] == [
            ("Public API", "SEV1"), ("Website", None)
        ]
        assert "Major outage" in html and "Public API" in html
        for internal in ("pod api-7f9c", "replication", "db-replica", "INC-2", "/v1/orders"):
            assert internal not in html and internal not in json.dumps(doc), internal


async def test_a_page_for_the_company_only_wants_the_token(db_url, fake_slack):
    async with pitcrew_for_incidents(
        db_url, fake_slack, catalog=catalog(require_token=True), STATUS_PAGE_TOKEN=STATUS_TOKEN
    ) as pitcrew:
        await command(pitcrew, "declare SEV2 Checkout is slow")
        for path in ("/status", "/status.json"):
            for params, headers in (({}, {}), ({"token": "wrong"}, {}), ({}, {"authorization": "Bearer wrong"})):
                response = await pitcrew.http.get(path, params=params, headers=headers)
                assert response.status_code == 401, (path, params, headers)
                assert "Checkout" not in response.text
        doc, html = await page(pitcrew, token=STATUS_TOKEN)
        assert doc["incidents"][0]["title"] == "Checkout is slow"
        assert f'href="status.json?token={STATUS_TOKEN}"' in html  # the page's own link keeps working
        bearer = await pitcrew.http.get("/status.json", headers={"authorization": f"Bearer {STATUS_TOKEN}"})
        assert bearer.status_code == 200 and bearer.json()["incidents"]
        assert bearer.headers["cache-control"].startswith("private")  # no shared cache keeps a copy


async def test_a_page_that_requires_a_token_none_was_set_for_opens_to_nobody(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog(require_token=True)) as pitcrew:
        response = await pitcrew.http.get("/status.json", params={"token": ""})
        assert response.status_code == 401 and "STATUS_PAGE_TOKEN is not set" in response.json()["error"]


# --- what is public ----------------------------------------------------------------------------------


async def test_people_written_titles_and_updates_are_shown_as_written(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        await alert(pitcrew, title="HTTP 503 from upstream 10.0.3.7:8080", service="api")
        await command(pitcrew, "1 update Some customers cannot check out; we are rolling back")
        await command(pitcrew, "declare SEV3 Search results are slow")
        doc, _ = await page(pitcrew)
        by_id = {i["id"]: i for i in doc["incidents"]}
        assert by_id["INC-1"]["title"] == "Service disruption: api"
        assert [u["text"] for u in by_id["INC-1"]["updates"]] == [
            "Investigating.", "Some customers cannot check out; we are rolling back",
        ]
        assert by_id["INC-2"]["title"] == "Search results are slow"


async def test_an_incident_is_taken_off_the_page_and_put_back(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        await command(pitcrew, "declare SEV2 Checkout is slow")
        said = await command(pitcrew, "1 private")
        assert "INC-1 is kept off the status page." in said
        assert (await page(pitcrew))[0]["incidents"] == []
        [root] = roots(fake_slack)
        assert any("Taken off the status page" in m.text for m in thread(fake_slack, root))
        assert "already" in await command(pitcrew, "INC-1 private")
        await command(pitcrew, "1 public")
        assert [i["id"] for i in (await page(pitcrew))[0]["incidents"]] == ["INC-1"]
        usage = await command(pitcrew, "1 public now")
        assert "`public` takes nothing after it" in usage
        async with transaction(pitcrew.app.deps.sessions) as session:
            actions = (await session.scalars(select(AuditEvent.action))).all()
        assert actions.count("incident.visibility") == 3


async def test_security_incidents_and_internal_services_are_private_until_made_public(db_url, fake_slack):
    async with pitcrew_for_incidents(
        db_url, fake_slack, catalog=catalog(components={"api": "Public API"})
    ) as pitcrew:
        await command(pitcrew, "declare SEV1 security: API key leaked in a public repo")
        await alert(pitcrew, title="connections at 97% of max", service="db", fingerprint="db-conn")
        assert (await page(pitcrew))[0]["incidents"] == []
        await command(pitcrew, "2 public")
        [shown] = (await page(pitcrew))[0]["incidents"]
        assert (shown["id"], shown["title"]) == ("INC-2", "Service disruption")  # db has no public name
        # In the thread, the same verb as a mention.
        security_root = next(r for r in roots(fake_slack) if "INC-1" in r.text)
        await fake_slack.mention("public", user=OPERATOR, channel=security_root.channel, thread_ts=security_root.ts)
        await wait_until(lambda: any("Shown on the status page" in m.text for m in thread(fake_slack, security_root)))
        titles = [i["title"] for i in (await page(pitcrew))[0]["incidents"]]
        assert "security: API key leaked in a public repo" in titles


async def test_a_private_default_publishes_only_what_someone_chose_to(db_url, fake_slack):
    async with pitcrew_for_incidents(
        db_url, fake_slack, catalog=catalog(default_visibility="private")
    ) as pitcrew:
        await command(pitcrew, "declare SEV2 Checkout is slow")
        await alert(pitcrew, service="api")
        assert (await page(pitcrew))[0]["incidents"] == []
        await command(pitcrew, "2 public")
        assert [i["title"] for i in (await page(pitcrew))[0]["incidents"]] == ["Service disruption: api"]


async def test_a_stored_slack_request_keeps_no_secret_once_it_has_run(db_url, fake_slack):
    from app.slack.deferral import SLACK_REQUEST_JOB
    from app.store.models import Job

    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        await command(pitcrew, "declare SEV2 Checkout is slow")
        await command(pitcrew, f"1 update Rotated the key; the old one was {STRIPE_KEY}, password={DB_PASSWORD}")
        [root] = roots(fake_slack)
        assert any(STRIPE_KEY in m.text for m in thread(fake_slack, root)), "the command ran as typed"
        await pitcrew.wait_for_running_jobs()
        async with transaction(pitcrew.app.deps.sessions) as session:
            stored = (await session.scalars(select(Job).where(Job.kind == SLACK_REQUEST_JOB).order_by(Job.id))).all()
        texts = [job.payload["body"]["text"] for job in stored]
        assert texts == ["declare SEV2 Checkout is slow", "1 update Rotated the key; the old one was ***, password=***"]
