"""One outage, one incident: alerts from several tools for one service (or services linked by
`depends_on`) join one incident; split and merge; the bad inputs; two instances racing.

Webhooks are the real samples (shared/refdata/webhooks, and the bodies their docs describe) sent
signed over HTTP to the running app; commands and mentions are signed Slack requests; what people
see is read back from the fake Slack.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import select

from app.catalog import StatusPageConfig
from app.jobs.runner import JobRunner
from app.sandbox.slack import SlackMessage
from app.store.db import transaction
from app.store.models import Incident, IncidentAlert
from tests.e2e.incident_support import (
    START,
    betterstack_body,
    edits_of,
    generic_body,
    incident_catalog,
    pitcrew_for_incidents,
    railway_body,
    roots,
    sentry_body,
    text_of,
    thread,
    uptimerobot_body,
    wait_until,
)
from tests.fixtures import ALERTS, OPERATOR, SECRET, Clock, running_pitcrew

API = {"provider": "http", "health": {"url": "https://api.example.com/health"}}


def sentry_for_api() -> bytes:
    """Sentry's documented issue alert, tagged with the service (as a team's SDK setup does)."""
    doc = json.loads(sentry_body())
    doc["data"]["event"]["tags"].append(["service", "api"])
    return json.dumps(doc).encode()


def sentry_resolved() -> dict[str, Any]:
    return {
        "action": "resolved",
        "data": {"issue": {"id": "1117540176", "title": "ReferenceError: heck is not defined", "status": "resolved",
                           "project": {"slug": "front-end"}}},
    }


def railway_for_api(kind: str = "Deployment.crashed") -> dict[str, Any]:
    """Railway's November 2025 documented example, for the service named api."""
    doc = railway_body(kind)
    doc["resource"]["service"]["name"] = "api"
    return doc


FOUR_SOURCES: list[tuple[str, Any, Any]] = [
    # (source, firing body, recovery body)
    ("uptimerobot", uptimerobot_body("1"), uptimerobot_body("2")),
    ("sentry", sentry_for_api(), sentry_resolved()),
    ("railway", railway_for_api(), railway_for_api("Deployment.success")),
    ("betterstack", betterstack_body(), betterstack_body("Resolved", resolved_at="2026-03-02T09:20:00Z")),
]


async def incidents(pitcrew: Any) -> list[Incident]:
    async with transaction(pitcrew.app.deps.sessions) as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def joined(pitcrew: Any, incident_id: int) -> list[IncidentAlert]:
    async with transaction(pitcrew.app.deps.sessions) as session:
        query = select(IncidentAlert).where(IncidentAlert.incident_id == incident_id).order_by(IncidentAlert.id)
        return list((await session.scalars(query)).all())


def current(slack: Any, root: SlackMessage) -> str:
    """The root message as it reads now (edited in place)."""
    return text_of(slack.message(ALERTS, root.ts))


async def send(pitcrew: Any, source: str, body: Any) -> list[str]:
    response = await pitcrew.webhook(source, body)
    assert response.status_code == 202, response.text
    return [a["effect"] for a in response.json()["alerts"]]


async def open_outage(pitcrew: Any) -> SlackMessage:
    """The four-source outage of api: UptimeRobot, Sentry (three events), Railway and Better Stack."""
    for source, firing, _ in FOUR_SOURCES:
        await send(pitcrew, source, firing)
        if source == "sentry":
            await send(pitcrew, source, firing)
            await send(pitcrew, source, firing)
        await pitcrew.run_jobs()
    await wait_until(lambda: bool(roots(pitcrew.slack)))
    pitcrew.clock.advance(seconds=60)
    await pitcrew.run_jobs()
    [root] = roots(pitcrew.slack)
    return root


async def test_a_four_source_outage_is_one_incident_that_resolves_when_all_four_recover(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await open_outage(pitcrew)
        [incident] = await incidents(pitcrew)
        assert [a.source for a in await joined(pitcrew, incident.id)] == [
            "uptimerobot", "sentry", "railway", "betterstack"
        ]
        shown = current(fake_slack, root)
        assert "UptimeRobot: down · Sentry: 3 events · Railway: deployment crashed · Better Stack: down" in shown
        assert edits_of(fake_slack, root), "the alert list is edited in place"
        # One note per new source, none for the opener's or for the repeats of Sentry.
        joined_notes = [m.text for m in thread(fake_slack, root) if "alert joined INC-1" in m.text]
        assert len(joined_notes) == 3
        assert any("Sentry alert joined" in t for t in joined_notes)
        timeline = await command(pitcrew, "1 timeline")
        assert "Railway alert joined (api)" in timeline and "Better Stack alert joined (api)" in timeline

        for source, _, recovery in FOUR_SOURCES[:3]:
            assert await send(pitcrew, source, recovery) == ["ignored"]  # not the last: still firing
        await pitcrew.run_jobs()
        [still] = await incidents(pitcrew)
        assert still.state == "investigating" and still.recovered_at is None
        pitcrew.clock.advance(minutes=31)
        await pitcrew.run_jobs()
        assert (await incidents(pitcrew))[0].state == "investigating"  # no quiet period while one fires
        assert "Better Stack: down" in current(fake_slack, root)
        assert "UptimeRobot: recovered" in current(fake_slack, root)

        source, _, recovery = FOUR_SOURCES[3]
        assert await send(pitcrew, source, recovery) == ["recovered"]
        await pitcrew.run_jobs()
        assert (await incidents(pitcrew))[0].state == "monitoring"
        pitcrew.clock.advance(minutes=31)
        await pitcrew.run_jobs()
        [done] = await incidents(pitcrew)
        assert done.state == "resolved"
        assert len(roots(fake_slack)) == 1


CHAIN = {
    "db": {"provider": "http", "health": {"url": "https://db.example.com/health"}},
    "api": {**API, "depends_on": ["db"]},
    "web": {"provider": "http", "health": {"url": "https://www.example.com/"}, "depends_on": ["api"]},
}


async def test_a_depends_on_chain_makes_one_incident_naming_the_cause(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=incident_catalog(CHAIN)) as pitcrew:
        # The dependents' alerts arrive first, as they often do: the database's joins them anyway.
        for service in ("web", "api", "db"):
            body = generic_body(service=service, fingerprint=f"{service}-down", title=f"{service} is failing")
            assert await send(pitcrew, "generic", body) == (["opened"] if service == "web" else ["joined"])
        await pitcrew.run_jobs()
        pitcrew.clock.advance(seconds=60)
        await pitcrew.run_jobs()
        [incident] = await incidents(pitcrew)
        assert sorted(a.service for a in await joined(pitcrew, incident.id)) == ["api", "db", "web"]
        [root] = roots(fake_slack)
        assert "Suspected cause:* db is down; web and api alerts joined" in current(fake_slack, root)

        # An unrelated service keeps its own incident.
        other = incident_catalog({**CHAIN, "mail": {"provider": "http", "health": {"url": "https://mail.example.com/"}}})
        assert other.depends_on["mail"] == []


async def mention_answer(pitcrew: Any, root: SlackMessage, text: str, *, user: str = OPERATOR) -> str:
    """Mention pitcrew in the thread; what it answered (publicly or privately)."""
    before = len(pitcrew.slack.calls)
    await pitcrew.slack.mention(text, user=user, channel=root.channel, thread_ts=root.ts)
    await wait_until(
        lambda: any(c.method in ("chat.postMessage", "chat.postEphemeral") for c in pitcrew.slack.calls[before:])
    )
    await pitcrew.run_jobs()
    said = [c for c in pitcrew.slack.calls[before:] if c.method in ("chat.postMessage", "chat.postEphemeral")]
    return "\n".join(f"{c.method} {json.dumps(c.args)}" for c in said)


async def command(pitcrew: Any, text: str, *, user: str = OPERATOR) -> str:
    before = len(pitcrew.slack.calls_to("response_url"))
    response = await pitcrew.app.command("/incident", text, user=user)
    assert response.status_code == 200
    await wait_until(lambda: len(pitcrew.slack.calls_to("response_url")) > before)
    await pitcrew.run_jobs()
    return json.dumps(pitcrew.slack.calls_to("response_url")[before].args)


async def test_split_moves_one_source_out_and_its_next_alerts_follow(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await open_outage(pitcrew)
        buttons = [
            e["action_id"] for b in fake_slack.message(ALERTS, root.ts).blocks if b.get("block_id") == "incident.alerts"
            for e in b["elements"]
        ]
        assert buttons == ["incident.split.1", "incident.split.2", "incident.split.3", "incident.split.4"]

        said = await mention_answer(pitcrew, root, "split sentry")
        assert "split out into INC-2" in said
        first, second = await incidents(pitcrew)
        assert [a.source for a in await joined(pitcrew, first.id)] == ["uptimerobot", "railway", "betterstack"]
        assert [a.source for a in await joined(pitcrew, second.id)] == ["sentry"]
        assert second.state == "investigating" and second.service == "api"
        await wait_until(lambda: len(roots(fake_slack)) == 2)
        assert "Sentry: 3 events" in text_of(roots(fake_slack)[1])
        assert "Sentry" not in current(fake_slack, root).split("Alerts:")[1].split("\\n")[0]

        assert await send(pitcrew, "sentry", sentry_for_api()) == ["joined"]
        async with transaction(pitcrew.app.deps.sessions) as session:
            assert (await session.get(Incident, second.id)).occurrences >= 3  # type: ignore[union-attr]
        effects = await pitcrew.webhook("sentry", sentry_for_api())
        assert effects.json()["alerts"][0]["incident"] == "INC-2"


async def test_split_button_on_the_alert_list(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await open_outage(pitcrew)
        message = fake_slack.message(ALERTS, root.ts)
        [block] = [b for b in message.blocks if b.get("block_id") == "incident.alerts"]
        railway = next(e for e in block["elements"] if "Railway" in e["text"]["text"])
        await fake_slack.click(message, railway["action_id"], user=OPERATOR)
        await wait_until(lambda: len(roots(fake_slack)) == 2)
        await pitcrew.run_jobs()
        _, second = await incidents(pitcrew)
        assert [a.source for a in await joined(pitcrew, second.id)] == ["railway"]


async def test_merge_moves_the_alerts_and_resolves_the_merged_incident(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        assert await send(pitcrew, "uptimerobot", uptimerobot_body("1")) == ["opened"]
        web = generic_body(service="web", fingerprint="web-5xx", title="web 5xx")
        assert await send(pitcrew, "generic", web) == ["opened"]  # web has no depends_on: its own incident
        await pitcrew.run_jobs()
        await wait_until(lambda: len(roots(fake_slack)) == 2)

        said = await command(pitcrew, "1 merge 2")
        assert "Merged INC-2 into INC-1" in said
        first, second = await incidents(pitcrew)
        assert second.state == "resolved" and second.summary == "Merged into INC-1."
        assert [a.source for a in await joined(pitcrew, first.id)] == ["uptimerobot", "generic"]
        # The next web alert joins INC-1, where its alerts now are.
        response = await pitcrew.webhook("generic", web)
        assert response.json()["alerts"][0]["incident"] == "INC-1"
        pitcrew.clock.advance(seconds=60)
        await pitcrew.run_jobs()
        assert "Generic (web): web 5xx" in current(fake_slack, roots(fake_slack)[0])


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("1 merge 1", "cannot merge INC-1 into itself"),
        ("2 merge 1", "INC-2 is resolved: nothing can be merged into a resolved incident"),
        ("1 merge 2", "INC-2 is resolved already"),
        ("1 merge 9", "there is no incident INC-9"),
        ("1 merge", "`merge` needs the id of the incident"),
        ("1 split nagios", "no alert from `nagios` is joined to INC-1"),
    ],
)
async def test_bad_merges_and_splits_are_refused_privately_and_change_nothing(db_url, fake_slack, typed, reason):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await send(pitcrew, "uptimerobot", uptimerobot_body("1"))
        await send(pitcrew, "generic", generic_body(service="web", fingerprint="web-5xx", title="web 5xx"))
        await pitcrew.run_jobs()
        await command(pitcrew, "2 resolve fixed by hand")
        before = [(i.id, i.state, i.open_key) for i in await incidents(pitcrew)]
        alerts_before = await joined(pitcrew, 1)

        said = await command(pitcrew, typed)
        assert reason in said
        assert "Usage" in said or "usage" in said.lower()
        assert "in_channel" not in said
        assert [(i.id, i.state, i.open_key) for i in await incidents(pitcrew)] == before
        assert [a.id for a in await joined(pitcrew, 1)] == [a.id for a in alerts_before]


async def test_split_of_an_alert_that_is_not_joined_is_refused_in_the_thread(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await send(pitcrew, "uptimerobot", uptimerobot_body("1"))
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)
        said = await mention_answer(pitcrew, root, "split uptimerobot")
        assert "only source of INC-1" in said and "Usage: `@pitcrew split" in said
        assert said.startswith("chat.postEphemeral") and "chat.postMessage" not in said  # privately
        assert len(await incidents(pitcrew)) == 1


async def test_two_instances_receiving_two_sources_for_one_service_at_once_open_one_incident(db_url, fake_slack):
    if not db_url.startswith("postgresql"):
        pytest.skip("the race is between two instances on PostgreSQL")
    async with AsyncExitStack() as stack:
        clock = Clock(START)
        first, second = [
            await stack.enter_async_context(
                running_pitcrew(db_url, incident_catalog(), fake_slack, clock=clock, WEBHOOK_SECRET=SECRET)
            )
            for _ in range(2)
        ]

        async def post(instance: Any, n: int) -> int:
            body = generic_body(service="api", fingerprint=f"check-{n}", title=f"check {n} failing")
            response = await instance.http.post(
                "/webhooks/generic", params={"token": SECRET}, content=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
            )
            return response.status_code

        for round_ in range(5):  # several rounds, each a fresh race for a new incident
            statuses = await asyncio.gather(*(post(i, round_ * 10 + n) for n in range(10) for i in (first, second)))
            assert set(statuses) == {202}
            async with transaction(first.deps.sessions) as session:
                open_ = (await session.scalars(select(Incident).where(Incident.state != "resolved"))).all()
                assert len(open_) == 1, [(i.id, i.open_key) for i in open_]
                [incident] = open_
                assert incident.open_key == "service:api"
                query = select(IncidentAlert).where(IncidentAlert.incident_id == incident.id)
                assert len((await session.scalars(query)).all()) == 10
                incident.state, incident.open_key = "resolved", None
        await asyncio.gather(*(JobRunner(i.deps).run_due(limit=100) for i in (first, second)))
        await first.jobs_settled()


async def test_linked_services_alerting_at_once_on_two_instances_open_one_incident(db_url, fake_slack):
    if not db_url.startswith("postgresql"):
        pytest.skip("the race is between two instances on PostgreSQL")
    async with AsyncExitStack() as stack:
        clock = Clock(START)
        first, second = [
            await stack.enter_async_context(
                running_pitcrew(db_url, incident_catalog(CHAIN), fake_slack, clock=clock, WEBHOOK_SECRET=SECRET)
            )
            for _ in range(2)
        ]

        async def post(instance: Any, service: str, n: int) -> int:
            body = generic_body(service=service, fingerprint=f"{service}-{n}", title=f"{service} failing")
            response = await instance.http.post(
                "/webhooks/generic", params={"token": SECRET}, content=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
            )
            return response.status_code

        for round_ in range(4):
            sends = [post(i, s, round_) for s, i in (("db", first), ("api", second), ("web", first))]
            assert set(await asyncio.gather(*sends)) == {202}
            async with transaction(first.deps.sessions) as session:
                open_ = (await session.scalars(select(Incident).where(Incident.state != "resolved"))).all()
                assert len(open_) == 1, [(i.id, i.open_key) for i in open_]
                for incident in open_:
                    incident.state, incident.open_key = "resolved", None
        await asyncio.gather(*(JobRunner(i.deps).run_due(limit=100) for i in (first, second)))
        await first.jobs_settled()


async def test_an_alert_after_the_correlation_window_opens_a_new_incident(db_url, fake_slack):
    catalog = incident_catalog(correlate_minutes=10)
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        assert await send(pitcrew, "uptimerobot", uptimerobot_body("1")) == ["opened"]
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=9)
        assert await send(pitcrew, "betterstack", betterstack_body()) == ["joined"]  # within 10 minutes
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=11)  # nothing new meanwhile (no alert, no update)
        assert await send(pitcrew, "uptimerobot", uptimerobot_body("1")) == ["joined"]  # a repeat: always joins
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=11)
        effects = await send(pitcrew, "generic", generic_body(fingerprint="late", title="late alert"))
        assert effects == ["opened"]
        first, second = await incidents(pitcrew)
        assert first.state != "resolved" and first.open_key is None  # stale: its service key went to the new one
        assert second.open_key == "service:api"


async def test_an_incident_opened_before_correlation_still_takes_its_repeats_and_recovery(db_url, fake_slack):
    """Upgrading with an incident open: it was opened per alert key (as correlation off does)."""
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=incident_catalog(correlate_minutes=0)) as before:
        assert await send(before, "uptimerobot", uptimerobot_body("1")) == ["opened"]
        await before.run_jobs()
    async with pitcrew_for_incidents(db_url, fake_slack) as after:
        assert await send(after, "uptimerobot", uptimerobot_body("1")) == ["joined"]
        assert await send(after, "betterstack", betterstack_body()) == ["joined"]
        assert [i.id for i in await incidents(after)] == [1]
        assert await send(after, "uptimerobot", uptimerobot_body("2")) == ["ignored"]  # Better Stack still fires
        assert await send(after, "betterstack", betterstack_body("Resolved")) == ["recovered"]
        assert (await incidents(after))[0].state == "monitoring"


async def test_only_responders_may_split_or_merge(db_url, fake_slack):
    catalog = incident_catalog()
    catalog = catalog.model_copy(update={"slack": catalog.slack.model_copy(update={"responders": ["U0ANA"]})})
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        root = await open_outage(pitcrew)
        await send(pitcrew, "generic", generic_body(service="web", fingerprint="web-5xx", title="web 5xx"))
        await pitcrew.run_jobs()
        said = await command(pitcrew, "1 merge 2", user="U0DEV")
        assert "Only responders may merge incidents into INC-1" in said
        said = await mention_answer(pitcrew, root, "split sentry", user="U0DEV")
        assert "Only responders may split alerts out of INC-1" in said
        assert [(i.id, i.state) for i in await incidents(pitcrew)] == [(1, "investigating"), (2, "investigating")]
        assert len(await joined(pitcrew, 1)) == 4
        said = await command(pitcrew, "1 merge 2", user="U0ANA")
        assert "Merged INC-2 into INC-1" in said


async def test_an_incident_declared_for_a_service_takes_its_alerts(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        said = await command(pitcrew, "declare SEV2 --service api Checkout broken for EU customers")
        assert "INC-1" in said
        [declared] = await incidents(pitcrew)
        assert (declared.service, declared.title, declared.open_key) == (
            "api", "Checkout broken for EU customers", "service:api"
        )
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)

        pitcrew.clock.advance(minutes=5)
        assert await send(pitcrew, "generic", generic_body(fingerprint="5xx", title="api 5xx")) == ["joined"]
        assert await send(pitcrew, "uptimerobot", uptimerobot_body("1")) == ["joined"]
        assert await send(pitcrew, "generic", generic_body(service="web", fingerprint="w", title="web")) == ["opened"]
        await pitcrew.run_jobs()
        pitcrew.clock.advance(seconds=60)
        await pitcrew.run_jobs()
        assert [a.source for a in await joined(pitcrew, 1)] == ["generic", "uptimerobot"]
        assert "Generic: api 5xx · UptimeRobot: down" in current(fake_slack, root)
        assert "Checkout broken for EU customers" in current(fake_slack, root)  # the person's title stays
        notes = [m.text for m in thread(fake_slack, root) if "alert joined INC-1" in m.text]
        assert len(notes) == 2

        # Its alerts recover: it goes to monitoring, but a person declared it: it waits for them.
        assert await send(pitcrew, "generic", generic_body(fingerprint="5xx", title="api 5xx",
                                                           status="resolved")) == ["ignored"]
        assert await send(pitcrew, "uptimerobot", uptimerobot_body("2")) == ["recovered"]
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=45)
        await pitcrew.run_jobs()
        first = (await incidents(pitcrew))[0]
        assert first.state == "monitoring" and first.recovered_at is not None
        assert any("declared by hand, so it does not resolve by itself" in m.text for m in thread(fake_slack, root))


async def test_an_incident_declared_for_a_service_with_a_fresh_incident_leaves_it_the_alerts(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        assert await send(pitcrew, "uptimerobot", uptimerobot_body("1")) == ["opened"]
        await command(pitcrew, "declare SEV3 --service=api Slow checkout")
        first, second = await incidents(pitcrew)
        assert first.open_key == "service:api" and second.open_key is None and second.service == "api"
        assert await send(pitcrew, "betterstack", betterstack_body()) == ["joined"]
        assert [a.source for a in await joined(pitcrew, 1)] == ["uptimerobot", "betterstack"]

        pitcrew.clock.advance(minutes=30)  # INC-1 is stale now: a new declaration takes the service
        await command(pitcrew, "declare SEV3 --service api Still slow")
        third = (await incidents(pitcrew))[2]
        assert third.open_key == "service:api"
        assert (await incidents(pitcrew))[0].open_key is None


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("declare SEV2 --service apii Checkout broken", "unknown service `apii` (known: api, web)"),
        ("declare SEV2 --service", "`--service` needs a service's name"),
        ("declare SEV2 --service api", "`declare` needs a title after the service"),
        ("declare SEV2 --service api --service web Broken", "`--service` names one service"),
    ],
)
async def test_a_declaration_naming_a_wrong_service_is_refused_with_the_usage(db_url, fake_slack, typed, reason):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        said = await command(pitcrew, typed)
        assert reason in said and "/incident declare &lt;SEV1|SEV2|SEV3|SEV4&gt; [--service" in said
        assert "in_channel" not in said
        assert await incidents(pitcrew) == []
        assert roots(fake_slack) == []


def header_of(slack: Any, root: SlackMessage) -> str:
    message = slack.message(ALERTS, root.ts)
    return next(b["text"]["text"] for b in message.blocks if b.get("type") == "header")


async def test_the_incident_is_retitled_after_the_cause_once_it_is_known(db_url, fake_slack):
    catalog = incident_catalog(CHAIN)
    catalog = catalog.model_copy(update={"status_page": StatusPageConfig(components={"db": "Database", "api": "API"})})
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        api = generic_body(service="api", fingerprint="api-down", title="api is failing")
        assert await send(pitcrew, "generic", api) == ["opened"]
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)
        assert "api is failing" in header_of(fake_slack, root)
        [shown] = (await pitcrew.http.get("/status.json")).json()["incidents"]
        assert shown["title"] == "Service disruption: API"

        pitcrew.clock.advance(seconds=30)
        web = generic_body(service="web", fingerprint="web-down", title="web is failing")
        assert await send(pitcrew, "generic", web) == ["joined"]  # web depends on api: api stays the cause
        pitcrew.clock.advance(seconds=30)
        await pitcrew.run_jobs()
        db = generic_body(service="db", fingerprint="db-down", title="too many connections")
        assert await send(pitcrew, "generic", db) == ["joined"]
        for _ in range(3):
            pitcrew.clock.advance(seconds=30)
            await pitcrew.run_jobs()

        [incident] = await incidents(pitcrew)
        assert (incident.title, incident.service) == ("db is down", "db")
        assert "db is down" in header_of(fake_slack, root) and "api is failing" not in header_of(fake_slack, root)
        now = current(fake_slack, root)
        assert "Suspected cause:* db is down; api and web alerts joined" in now
        assert len(roots(fake_slack)) == 1  # edited in place, never posted again
        timeline = json.loads(await command(pitcrew, "1 timeline"))["text"]
        assert timeline.count("Retitled after the suspected cause") == 1
        assert "Retitled after the suspected cause: db is down (was: api is failing)" in timeline
        [shown] = (await pitcrew.http.get("/status.json")).json()["incidents"]
        assert shown["title"] == "Service disruption: Database, API"

        # A repeat of db's alert changes nothing more.
        assert await send(pitcrew, "generic", db) == ["joined"]
        pitcrew.clock.advance(seconds=30)
        await pitcrew.run_jobs()
        assert json.loads(await command(pitcrew, "1 timeline"))["text"].count("Retitled") == 1


async def test_a_title_a_person_wrote_is_kept_when_the_cause_is_known(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=incident_catalog(CHAIN)) as pitcrew:
        await command(pitcrew, "declare SEV2 --service api Checkout broken")
        db = generic_body(service="db", fingerprint="db-down", title="too many connections")
        assert await send(pitcrew, "generic", db) == ["joined"]
        pitcrew.clock.advance(seconds=30)
        await pitcrew.run_jobs()
        [incident] = await incidents(pitcrew)
        assert (incident.title, incident.service) == ("Checkout broken", "api")
        [root] = roots(fake_slack)
        assert "Suspected cause:* db is down; api alerts joined" in current(fake_slack, root)
        assert "Retitled" not in await command(pitcrew, "1 timeline")


@pytest.mark.parametrize(
    ("typed", "reason", "usage"),
    [
        ("merge 1", "cannot merge INC-1 into itself", "Usage: `/incident &lt;id&gt; merge"),
        ("merge 2", "INC-2 is resolved already", "Usage: `/incident &lt;id&gt; merge"),
        ("merge", "`merge` needs the id of the incident", "/incident declare"),
        ("split nagios", "no alert from `nagios` is joined to INC-1", "Usage: `@pitcrew split"),
        ("silence -5m", "`-5m` is not a duration", "@pitcrew silence &lt;duration&gt; [reason]"),
        ("silence 999d", "the limit is 7 days", "@pitcrew silence &lt;duration&gt; [reason]"),
        ("silence 2 hours", "`2` is not a duration", "@pitcrew silence &lt;duration&gt; [reason]"),
    ],
)
async def test_bad_words_in_the_thread_are_answered_privately_with_the_usage_and_change_nothing(
    db_url, fake_slack, typed, reason, usage
):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await open_outage(pitcrew)
        await send(pitcrew, "generic", generic_body(service="web", fingerprint="web-5xx", title="web 5xx"))
        await pitcrew.run_jobs()
        await command(pitcrew, "2 resolve fixed by hand")
        before = [(i.id, i.state, i.open_key, i.title, i.silenced_until) for i in await incidents(pitcrew)]
        alerts_before = [(a.id, a.incident_id, a.status) for a in await joined(pitcrew, 1)]
        posts_before = len(fake_slack.calls_to("chat.postMessage"))

        said = await mention_answer(pitcrew, root, typed)
        assert said.startswith("chat.postEphemeral") and "chat.postMessage" not in said, said
        assert reason in said and usage in said, said
        assert [(i.id, i.state, i.open_key, i.title, i.silenced_until) for i in await incidents(pitcrew)] == before
        assert [(a.id, a.incident_id, a.status) for a in await joined(pitcrew, 1)] == alerts_before
        assert len(fake_slack.calls_to("chat.postMessage")) == posts_before


async def _post_alert(instance: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await instance.http.post(
        "/webhooks/generic", params={"token": SECRET}, content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 202, response.text
    return response.json()["alerts"][0]


async def test_on_two_instances_a_silenced_incident_takes_its_linked_alerts_once_and_quietly(db_url, fake_slack):
    if not db_url.startswith("postgresql"):
        pytest.skip("the race is between two instances on PostgreSQL")
    async with AsyncExitStack() as stack:
        clock = Clock(START)
        first, second = [
            await stack.enter_async_context(
                running_pitcrew(db_url, incident_catalog(CHAIN), fake_slack, clock=clock, WEBHOOK_SECRET=SECRET)
            )
            for _ in range(2)
        ]
        opened = await _post_alert(first, generic_body(service="api", fingerprint="api-down", title="api down"))
        assert opened["effect"] == "opened"
        await first.command("/incident", "1 silence 2h", user=OPERATOR)
        await wait_until(lambda: bool(fake_slack.calls_to("response_url")))
        async with transaction(first.deps.sessions) as session:
            assert (await session.get(Incident, 1)).silenced_until is not None  # type: ignore[union-attr]

        bodies = [
            generic_body(service=service, fingerprint=f"{service}-{n}", title=f"{service} failing")
            for service in ("web", "db")
            for n in range(3)
        ]
        outcomes = await asyncio.gather(*(_post_alert(i, b) for b in bodies for i in (first, second) for _ in range(2)))
        assert {(o["effect"], o["incident"]) for o in outcomes} == {("silenced", "INC-1")}
        async with transaction(first.deps.sessions) as session:
            assert len((await session.scalars(select(Incident))).all()) == 1
            keys = (await session.scalars(select(IncidentAlert.alert_key).where(IncidentAlert.incident_id == 1))).all()
        assert sorted(keys) == sorted(["generic:api-down", *(f"generic:{b['fingerprint']}" for b in bodies)])
        await asyncio.gather(*(JobRunner(i.deps).run_due(limit=100) for i in (first, second)))
        await first.jobs_settled()


async def test_on_two_instances_a_declaration_racing_alerts_leaves_one_incident_taking_them(db_url, fake_slack):
    if not db_url.startswith("postgresql"):
        pytest.skip("the race is between two instances on PostgreSQL")
    async with AsyncExitStack() as stack:
        clock = Clock(START)
        first, second = [
            await stack.enter_async_context(
                running_pitcrew(db_url, incident_catalog(), fake_slack, clock=clock, WEBHOOK_SECRET=SECRET)
            )
            for _ in range(2)
        ]
        for round_ in range(4):
            before = len(fake_slack.calls_to("response_url"))
            alerts = [
                _post_alert(second if n % 2 else first, generic_body(fingerprint=f"r{round_}-{n}", title="api 5xx"))
                for n in range(8)
            ]
            declared = first.command("/incident", f"declare SEV2 --service api Checkout broken {round_}")
            results = await asyncio.gather(declared, *alerts)
            await wait_until(lambda before=before: len(fake_slack.calls_to("response_url")) > before)
            async with transaction(first.deps.sessions) as session:
                open_ = (await session.scalars(select(Incident).where(Incident.state != "resolved"))).all()
                holders = [i for i in open_ if i.open_key == "service:api"]
                assert len(holders) == 1 and len(open_) in (1, 2), [(i.id, i.open_key) for i in open_]
                incident_ids = {r["incident"] for r in results[1:]}
                assert incident_ids == {f"INC-{holders[0].id}"}
                for incident in open_:
                    incident.state, incident.open_key = "resolved", None
        await asyncio.gather(*(JobRunner(i.deps).run_due(limit=100) for i in (first, second)))
        await first.jobs_settled()
