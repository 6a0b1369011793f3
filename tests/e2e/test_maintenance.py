"""Maintenance windows, through the real app: `/incident maintenance ...` opens, plans, lists and cancels
them; alerts for their services during a window are recorded on the window's message and open no
incident; the end is announced by a job, and an alert still firing then opens its incident.
Mistakes and strangers are answered privately and change nothing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import func, select

from app.flows import incident_views as flows
from app.jobs.runner import JobRunner
from app.store import audit as audit_store
from app.store.models import Incident, MaintenanceAlert, ReceivedAlert
from tests.e2e.incident_support import (
    START,
    Clock,
    generic_body,
    pitcrew_for_incidents,
    roots,
    text_of,
    updates_posts,
    wait_until,
)
from tests.fixtures import OPERATOR, SECRET, UPDATES, catalog_from, running_pitcrew

ANA, STRANGER = "U0ANA", "U0STRANGER"
SERVICES = {
    "api": {"provider": "http", "health": {"url": "https://api.example.com/health"}},
    "web": {"provider": "http", "health": {"url": "https://www.example.com/"}},
}


async def slash(pitcrew: Any, text: str, *, user: str = OPERATOR) -> dict[str, Any]:
    """Type `/incident text`; the private answer."""
    before = len(pitcrew.slack.calls_to("response_url"))
    response = await pitcrew.app.command("/incident", text, user=user)
    assert response.status_code == 200
    await wait_until(lambda: len(pitcrew.slack.calls_to("response_url")) > before)
    await pitcrew.run_jobs()
    return dict(pitcrew.slack.calls_to("response_url")[before].args)


async def alert(pitcrew: Any, **fields: Any) -> dict[str, Any]:
    response = await pitcrew.webhook("generic", generic_body(**fields))
    assert response.status_code in (200, 202), response.text
    [outcome] = response.json()["alerts"]
    return outcome


def window_message(pitcrew: Any) -> Any:
    [posted] = [m for m in pitcrew.slack.messages if m.channel == UPDATES and "MW-1" in text_of(m)][:1]
    return posted


async def test_a_window_swallows_alerts_and_hands_a_still_firing_one_over_at_its_end(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(SERVICES)) as pitcrew:
        answer = await slash(pitcrew, "maintenance api 1h upgrading Postgres <!channel>")
        assert answer["response_type"] == "ephemeral" and "Opened MW-1" in answer["text"]
        posted = window_message(pitcrew)
        assert "Scheduled maintenance: api*, until <!date^" in text_of(posted) and "10:00 UTC>" in text_of(posted)
        assert "<!channel>" not in text_of(posted)
        status = (await pitcrew.http.get("/status.json")).json()
        assert status["maintenance"] == [{
            "components": ["api"], "starts_at": "2026-03-02T09:00:00+00:00", "ends_at": "2026-03-02T10:00:00+00:00",
            "state": "in_progress",
        }]
        assert "Scheduled maintenance: api, until 10:00 UTC" in (await pitcrew.http.get("/status")).text

        for _ in range(5):
            assert (await alert(pitcrew))["effect"] == "maintenance"
        assert (await alert(pitcrew, fingerprint="disk", title="Disk full"))["effect"] == "maintenance"
        recovered = await alert(pitcrew, fingerprint="disk", title="Disk full", status="resolved")
        assert recovered["effect"] == "maintenance"
        assert (await alert(pitcrew, service="web", fingerprint="web-down", title="Web down"))["effect"] == "opened"
        pitcrew.clock.advance(seconds=15)
        await pitcrew.run_jobs()
        assert [r.text.split(":")[0] for r in roots(fake_slack)] == ["🔴 INC-1 SEV1 on web"]  # only web's
        edited = fake_slack.message(UPDATES, posted.ts)
        assert "Checkout failing (firing, fired 5 times" in text_of(edited) and "Disk full (resolved" in text_of(edited)

        pitcrew.clock.advance(minutes=59, seconds=44)
        await pitcrew.run_jobs()
        assert len(roots(fake_slack)) == 1
        pitcrew.clock.advance(seconds=1)  # 10:00: the window ends; the checkout alert still fires
        await pitcrew.run_jobs()
        over = [c for c in updates_posts(fake_slack) if "Maintenance over: api (MW-1)" in c.args["text"]]
        assert len(over) == 1 and "now incidents: INC-2" in over[0].args["text"]
        assert len(roots(fake_slack)) == 2 and "INC-2" in roots(fake_slack)[1].text
        view = await flows.load(pitcrew.app.deps, 2)
        assert view.title == "Checkout failing" and view.service == "api"
        assert (await alert(pitcrew))["effect"] == "joined"  # after the window, as usual
        assert "maintenance" not in (await pitcrew.http.get("/status.json")).json()

        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        assert [e.actor for e in entries if e.action == "maintenance.open"] == [OPERATOR]
        assert [e.target for e in entries if e.action == "maintenance.handover"] == ["MW-1"]


async def test_a_planned_window_starts_at_its_time_and_can_be_listed_and_cancelled(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(SERVICES)) as pitcrew:
        answer = await slash(pitcrew, "maintenance api web 30h at 2026-03-02T12:00Z moving region")
        assert "Planned MW-1" in answer["text"] and "announced in <#C0UPDATES> when it starts" in answer["text"]
        assert not [c for c in updates_posts(fake_slack) if "MW-1" in c.args["text"]]
        listed = await slash(pitcrew, "maintenance list")
        assert "MW-1) planned: api, web" in listed["text"]
        status = (await pitcrew.http.get("/status.json")).json()
        assert [w["state"] for w in status["maintenance"]] == ["scheduled"]

        assert (await alert(pitcrew))["effect"] == "opened"  # 09:00: not yet in force
        pitcrew.clock.advance(hours=3)
        await pitcrew.run_jobs()
        assert "Scheduled maintenance: api, web*" in text_of(window_message(pitcrew))
        assert (await alert(pitcrew, service="web", fingerprint="w", title="Web 502"))["effect"] == "maintenance"
        assert (await alert(pitcrew))["effect"] == "joined"  # INC-1 was open before the window

        answer = await slash(pitcrew, "maintenance cancel 1")
        assert "Cancelled MW-1" in answer["text"]
        cancelled = [c for c in updates_posts(fake_slack) if "Maintenance cancelled: api, web (MW-1)" in c.args["text"]]
        assert len(cancelled) == 1 and "now incidents: INC-2" in cancelled[0].args["text"]
        again = await slash(pitcrew, "maintenance cancel 1")
        assert again["response_type"] == "ephemeral" and "MW-1 is cancelled already" in again["text"]
        unknown = await slash(pitcrew, "maintenance cancel 7")
        assert "there is no maintenance window 7" in unknown["text"]
        assert "No maintenance window" in (await slash(pitcrew, "maintenance list"))["text"]
        pitcrew.clock.advance(hours=30)
        await pitcrew.run_jobs()  # the end job finds it cancelled: announced once
        assert len([c for c in updates_posts(fake_slack) if "(MW-1)" in c.args["text"]]) == 1


async def test_bad_maintenance_commands_are_answered_privately_and_open_nothing(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(SERVICES)) as pitcrew:
        for text, why in (
            ("maintenance apii 2h upgrade", "unknown service `apii` (known: api, web)"),
            ("maintenance api wbe 2h upgrade", "unknown service `wbe` (known: api, web)"),
            ("maintenance 2h upgrade", "needs at least one service before the duration"),
            ("maintenance api 2 hours upgrade", "`2` is not a duration"),
            ("maintenance api -5m upgrade", "`-5m` is not a duration"),
            ("maintenance api 999d upgrade", "`999d` is too long for a window starting now: the limit is 24 hours"),
            ("maintenance api 25h upgrade", "a window planned with `at` may last up to 7 days"),
            ("maintenance api 8d at 2026-03-03T00:00Z upgrade", "the limit is 7 days"),
            ("maintenance api 2h at 2026-03-01T00:00Z upgrade", "is in the past"),
            ("maintenance api 2h at tomorrow upgrade", "`tomorrow` is not a start time"),
            ("maintenance api 2h", "needs a reason"),
            ("maintenance cancel x", "`x` is not a window's number"),
        ):
            answer = await slash(pitcrew, text)
            assert answer["response_type"] == "ephemeral" and why in answer["text"], (text, answer["text"])
            assert "/incident maintenance &lt;service ...&gt; &lt;duration&gt; &lt;reason&gt;" in answer["text"]
        assert updates_posts(fake_slack) == []
        assert "No maintenance window" in (await slash(pitcrew, "maintenance list"))["text"]
        assert (await alert(pitcrew))["effect"] == "opened"


async def test_only_responders_may_open_list_or_cancel_windows(db_url, fake_slack):
    catalog = catalog_from(SERVICES, responders=[ANA])
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        for text in ("maintenance api 1h upgrade", "maintenance list", "maintenance cancel 1"):
            refused = await slash(pitcrew, text, user=STRANGER)
            assert refused["response_type"] == "ephemeral"
            assert "Only responders may open, list or cancel maintenance windows" in refused["text"]
        assert updates_posts(fake_slack) == []
        assert "Opened MW-1" in (await slash(pitcrew, "maintenance api 1h upgrade", user=ANA))["text"]


async def test_on_two_instances_the_end_races_arriving_alerts_and_loses_none(db_url, fake_slack):
    """Alerts arrive on both instances while both run the end job: the window ends once, one incident
    opens, and every alert is either on the window (held before the end) or on that incident."""
    catalog = catalog_from(SERVICES)
    clock = Clock(START)
    async with AsyncExitStack() as stack:
        first, second = [
            await stack.enter_async_context(
                running_pitcrew(db_url, catalog, fake_slack, clock=clock, WEBHOOK_SECRET=SECRET)
            )
            for _ in range(2)
        ]
        runners = [JobRunner(app.deps, worker=f"runner-{n}") for n, app in enumerate((first, second))]
        await first.command("/incident", "maintenance api 1h upgrade", user=OPERATOR)
        await wait_until(lambda: bool(fake_slack.calls_to("response_url")))
        for runner in runners:
            await runner.run_due(limit=10)
        held_before = 0
        for app in (first, second):
            response = await app.http.post("/webhooks/generic", params={"token": SECRET}, json=generic_body())
            assert response.json()["alerts"][0]["effect"] == "maintenance"
            held_before += 1
        clock.advance(hours=1)

        async def send(app: Any) -> str:
            response = await app.http.post("/webhooks/generic", params={"token": SECRET}, json=generic_body())
            return str(response.json()["alerts"][0]["effect"])

        results = await asyncio.gather(
            *[send(app) for _ in range(20) for app in (first, second)], *[r.run_due(limit=10) for r in runners]
        )
        for _ in range(5):
            for runner in runners:
                await runner.run_due(limit=50)
            await first.jobs_settled()
        effects = Counter(str(r) for r in results[:40])
        async with first.deps.sessions() as session:
            query = select(Incident).where(Incident.fingerprint == "generic:checkout-5xx")
            incidents = (await session.scalars(query)).all()
            held = await session.scalar(select(func.sum(MaintenanceAlert.count)))
            on_incident = await session.scalar(
                select(func.count()).select_from(ReceivedAlert).where(ReceivedAlert.incident_id.is_not(None))
            )
        assert len(incidents) == 1
        assert held == held_before + effects["maintenance"]
        assert on_incident == 1 + effects["opened"] + effects["joined"]  # the handover, and those after the end
        assert effects["maintenance"] + effects["opened"] + effects["joined"] == 40
        over = [c for c in fake_slack.calls_to("chat.postMessage") if "Maintenance over: api (MW-1)" in c.args["text"]]
        assert len(over) == 1


async def test_the_period_report_counts_the_time_silenced_and_in_maintenance(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(SERVICES)) as pitcrew:
        await alert(pitcrew, service="web", fingerprint="web-down", title="Web down")
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)))
        await slash(pitcrew, "1 silence 30m")
        await slash(pitcrew, "maintenance api 1h upgrade")
        pitcrew.clock.advance(hours=2)
        await pitcrew.run_jobs()
        await pitcrew.app.command("/incident", "report", user=OPERATOR)
        await wait_until(lambda: any("Incident report" in c.args.get("text", "") for c in fake_slack.calls_to(
            "chat.postMessage")))
        await pitcrew.run_jobs()
        [report] = [c for c in fake_slack.calls_to("chat.postMessage") if "Incident report" in c.args.get("text", "")]
        assert "Silenced: 30 min · In maintenance: 1 h" in text_of(report)


async def test_a_start_delayed_past_the_end_announces_nothing_and_the_end_once(db_url, fake_slack):
    """The start job can run late (Slack's pace, a busy instance): past the window's end it must not
    announce a window the end job calls over; the end is announced once."""
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(SERVICES)) as pitcrew:
        response = await pitcrew.app.command("/incident", "maintenance api 1h upgrade", user=OPERATOR)
        assert response.status_code == 200
        await wait_until(lambda: bool(pitcrew.slack.calls_to("response_url")))
        pitcrew.clock.advance(hours=2)  # nothing ran meanwhile: the start job is late
        await pitcrew.run_jobs()
        posts = [c.args["text"] for c in fake_slack.calls_to("chat.postMessage") if "MW-1" in c.args.get("text", "")]
        assert len(posts) == 1 and "Maintenance over: api (MW-1)" in posts[0], posts


CHAIN = {
    "db": {"provider": "http", "health": {"url": "https://db.example.com/health"}},
    "api": {"provider": "http", "health": {"url": "https://api.example.com/health"}, "depends_on": ["db"]},
}


async def test_a_recovery_during_a_window_reaches_the_open_incident_its_alert_belongs_to(db_url, fake_slack):
    """db's outage opened INC-1 and api's alert joined it (api depends on db); then a window for api
    opens. api's recovery during the window is INC-1's (it must recover before INC-1 can), while a
    new api alert is the maintenance's and opens nothing."""
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(CHAIN)) as pitcrew:
        assert (await alert(pitcrew, service="db", fingerprint="db-down", title="db down"))["effect"] == "opened"
        assert (await alert(pitcrew, fingerprint="api-down", title="api down"))["effect"] == "joined"
        await pitcrew.run_jobs()
        await slash(pitcrew, "maintenance api 1h restarting api")

        new = await alert(pitcrew, fingerprint="api-slow", title="api slow")
        assert new["effect"] == "maintenance" and new["incident"] is None
        recovered = await alert(pitcrew, fingerprint="api-down", title="api down", status="resolved")
        assert (recovered["effect"], recovered["incident"]) == ("ignored", "INC-1")  # db still fires
        again = await alert(pitcrew, fingerprint="api-down", title="api down")  # a repeat of INC-1's alert
        assert (again["effect"], again["incident"]) == ("joined", "INC-1")
        recovered = await alert(pitcrew, fingerprint="api-down", title="api down", status="resolved")
        assert recovered["effect"] == "ignored"
        done = await alert(pitcrew, service="db", fingerprint="db-down", title="db down", status="resolved")
        assert (done["effect"], done["incident"]) == ("recovered", "INC-1")
        assert (await flows.load(pitcrew.app.deps, 1)).state == "monitoring"
        pitcrew.clock.advance(minutes=31)
        await pitcrew.run_jobs()
        assert (await flows.load(pitcrew.app.deps, 1)).state == "resolved"
        async with pitcrew.app.deps.sessions() as session:
            held = (await session.scalars(select(MaintenanceAlert.key))).all()
        assert held == ["generic:api-slow"]  # only the maintenance's own alert is on the window
