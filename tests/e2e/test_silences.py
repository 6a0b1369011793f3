"""Silencing an incident, through the real app: `@pitcrew silence 2h [reason]`, the Silence button and
its form, `/incident <id> silence`, `@pitcrew unsilence`, and the expiry job.

While silenced, repeats of the incident's alert are stored and counted but reach nobody: no post,
no root edit, no page, no reopening; the root says who silenced it until when (a Slack date token).
A bad duration or a stranger changes nothing and is told privately.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.flows import incident_views as flows
from app.store import audit as audit_store
from app.store.models import IncidentAlert, ReceivedAlert
from tests.e2e.incident_support import (
    generic_body,
    pitcrew_for_incidents,
    roots,
    text_of,
    wait_until,
)
from tests.fixtures import ALERTS, OPERATOR, catalog_from

ANA = "U0ANA"
STRANGER = "U0STRANGER"


def slack_calls(pitcrew: Any) -> int:
    """Every call pitcrew made to Slack that someone would see (posts, edits, private notes)."""
    slack = pitcrew.slack
    return sum(len(slack.calls_to(m)) for m in ("chat.postMessage", "chat.update", "chat.postEphemeral"))


async def opened(pitcrew: Any) -> Any:
    response = await pitcrew.webhook("generic", generic_body())
    assert response.status_code in (200, 202), response.text
    await pitcrew.run_jobs()
    await wait_until(lambda: bool(roots(pitcrew.slack)))
    pitcrew.clock.advance(seconds=30)
    return roots(pitcrew.slack)[0]


async def mention(pitcrew: Any, text: str, root: Any, *, user: str = ANA) -> None:
    before = slack_calls(pitcrew)
    response = await pitcrew.slack.mention(text, user=user, channel=ALERTS, thread_ts=root.ts)
    assert response.status_code == 200
    await wait_until(lambda: slack_calls(pitcrew) > before)
    await pitcrew.run_jobs()


def ephemerals(pitcrew: Any, user: str) -> list[Any]:
    return [c for c in pitcrew.slack.calls_to("chat.postEphemeral") if c.args.get("user") == user]


async def stored_alerts(pitcrew: Any, incident_id: int) -> int:
    async with pitcrew.app.deps.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(ReceivedAlert).where(ReceivedAlert.incident_id == incident_id)
            )
        )


async def test_a_silenced_incident_stays_quiet_through_100_repeats_and_counts_them(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await opened(pitcrew)
        await mention(pitcrew, "silence 2h waiting for the <!here> vendor", root)
        until = pitcrew.clock() + timedelta(hours=2)
        shown = text_of(fake_slack.message(ALERTS, root.ts))
        assert f"by <@{ANA}> until <!date^{int(until.timestamp())}^{{time}}|11:00 UTC>" in shown
        assert "vendor" in shown and "<!here>" not in shown
        view = await flows.load(pitcrew.app.deps, 1)
        assert view.silenced_by == ANA and view.silenced_until == until

        # Recovered, then firing again: without the silence this would reopen it (and post).
        await pitcrew.webhook("generic", generic_body(status="resolved"))
        await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=1)
        await pitcrew.run_jobs()  # the recovery's note
        pitcrew.clock.advance(minutes=1)
        await pitcrew.run_jobs()  # the root edit it asked for, within the edit budget
        quiet_from = slack_calls(pitcrew)
        for n in range(100):
            response = await pitcrew.webhook("generic", generic_body())
            [outcome] = response.json()["alerts"]
            assert (outcome["effect"], outcome["incident"]) == ("silenced", "INC-1")
            if n % 10 == 0:
                pitcrew.clock.advance(seconds=20)
                await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=30)  # escalation and reminder fall due meanwhile: nobody is paged
        await pitcrew.run_jobs()
        assert slack_calls(pitcrew) == quiet_from
        view = await flows.load(pitcrew.app.deps, 1)
        # not reopened, nothing new opened, and not resolved behind the silence while it fires
        assert view.state == "monitoring" and view.recovered_at is None and len(roots(fake_slack)) == 1
        assert await stored_alerts(pitcrew, 1) == 102  # the first, the recovery, and the 100 repeats

        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        assert any(e.action == "incident.silence" and e.actor == ANA for e in entries)
        assert sum("silenced INC-1" in e.outcome for e in entries) == 100


async def test_the_silence_ends_by_itself_at_its_time_and_alerts_page_again(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await opened(pitcrew)
        await mention(pitcrew, "silence 30m", root)
        for _ in range(3):
            await pitcrew.webhook("generic", generic_body())
        pitcrew.clock.advance(minutes=29)
        await pitcrew.run_jobs()
        assert "Silenced" in text_of(fake_slack.message(ALERTS, root.ts))
        pitcrew.clock.advance(minutes=1)
        await pitcrew.run_jobs()
        view = await flows.load(pitcrew.app.deps, 1)
        assert view.silenced_until is None and view.occurrences == 4  # counted: the first and the three held
        assert "Silenced" not in text_of(fake_slack.message(ALERTS, root.ts))
        notes = [m for m in fake_slack.messages if m.thread_ts == root.ts and "silence is over" in m.text]
        assert len(notes) == 1 and "3 while silenced" in notes[0].text
        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        assert [e.actor for e in entries if e.action == "incident.silence expired"] == ["pitcrew"]

        response = await pitcrew.webhook("generic", generic_body())
        assert response.json()["alerts"][0]["effect"] == "joined"


async def test_unsilence_lifts_it_at_once_and_the_expiry_job_then_does_nothing(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await opened(pitcrew)
        await mention(pitcrew, "silence 1h", root)
        await pitcrew.webhook("generic", generic_body())
        # another alert for the same service would join this incident (correlation): it is held too
        other = await pitcrew.webhook("generic", generic_body(fingerprint="api-latency", title="API slow"))
        assert [(o["effect"], o["incident"]) for o in other.json()["alerts"]] == [("silenced", "INC-1")]
        await mention(pitcrew, "unsilence", root)
        view = await flows.load(pitcrew.app.deps, 1)
        assert view.silenced_until is None
        said = [m.text for m in fake_slack.messages if m.thread_ts == root.ts]
        assert any("no longer silenced (2 alerts arrived while silenced)" in t for t in said)
        assert (await pitcrew.webhook("generic", generic_body())).json()["alerts"][0]["effect"] == "joined"

        pitcrew.clock.advance(hours=1)
        await pitcrew.run_jobs()
        assert not [m for m in fake_slack.messages if "silence is over" in m.text]

        await mention(pitcrew, "unsilence", root)  # nothing to lift: said privately
        assert "INC-1 is not silenced" in ephemerals(pitcrew, ANA)[-1].args["text"]
        await mention(pitcrew, "silence 2 hours", root)
        assert "`2` is not a duration" in ephemerals(pitcrew, ANA)[-1].args["text"]
        assert (await flows.load(pitcrew.app.deps, 1)).silenced_until is None


async def test_the_silence_button_opens_a_form_whose_submission_silences(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await opened(pitcrew)
        await fake_slack.click(fake_slack.message(ALERTS, root.ts), "incident.silence", user=ANA)
        await wait_until(lambda: bool(fake_slack.calls_to("views.open")))
        form = fake_slack.calls_to("views.open")[0].args["view"]
        assert form["callback_id"] == "incident.silence" and form["private_metadata"] == "1"
        response = await pitcrew.submit(
            form,
            {
                "duration": {"duration": {"type": "static_select", "selected_option": {"value": "4h"}}},
                "reason": {"reason": {"type": "plain_text_input", "value": "known issue, fix deploying"}},
            },
            user=ANA,
        )
        assert response.status_code == 200
        await wait_until(lambda: "Silenced" in text_of(fake_slack.message(ALERTS, root.ts)))
        view = await flows.load(pitcrew.app.deps, 1)
        assert view.silenced_until == pitcrew.clock() + timedelta(hours=4)
        assert view.silence_reason == "known issue, fix deploying"


async def test_bad_durations_are_refused_privately_and_change_nothing(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await opened(pitcrew)
        for text, why in (
            ("1 silence 2 hours", "`2` is not a duration"),
            ("1 silence -5m", "`-5m` is not a duration"),
            ("1 silence 999d", "`999d` is too long for a silence: the limit is 7 days"),
            ("1 silence 8d", "the limit is 7 days"),
            ("1 silence", "`silence` needs a duration"),
            ("1 unsilence now", "`unsilence` takes nothing after it"),
        ):
            before = len(fake_slack.calls_to("response_url"))
            await pitcrew.app.command("/incident", text, user=OPERATOR)
            await wait_until(lambda before=before: len(fake_slack.calls_to("response_url")) > before)
            answer = fake_slack.calls_to("response_url")[before].args
            assert answer["response_type"] == "ephemeral" and why in answer["text"], (text, answer["text"])
            assert "@pitcrew silence &lt;duration&gt; [reason]" in answer["text"]
        view = await flows.load(pitcrew.app.deps, 1)
        assert view.silenced_until is None


async def test_only_responders_may_silence(db_url, fake_slack):
    catalog = catalog_from(
        {"api": {"provider": "http", "health": {"url": "https://api.example.com/health"}}}, responders=[ANA]
    )
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        root = await opened(pitcrew)
        await mention(pitcrew, "silence 2h", root, user=STRANGER)
        [refused] = ephemerals(pitcrew, STRANGER)
        assert "Only responders may silence INC-1" in refused.args["text"]
        await fake_slack.click(fake_slack.message(ALERTS, root.ts), "incident.silence", user=STRANGER)
        await wait_until(lambda: len(fake_slack.calls_to("response_url")) >= 1)
        assert fake_slack.calls_to("views.open") == []
        view = await flows.load(pitcrew.app.deps, 1)
        assert view.silenced_until is None
        await mention(pitcrew, "silence 2h", root, user=ANA)
        assert (await flows.load(pitcrew.app.deps, 1)).silenced_by == ANA





CHAIN = {
    "db": {"provider": "http", "health": {"url": "https://db.example.com/health"}},
    "api": {"provider": "http", "health": {"url": "https://api.example.com/health"}, "depends_on": ["db"]},
    "web": {"provider": "http", "health": {"url": "https://www.example.com/"}, "depends_on": ["api"]},
}


async def joined_services(pitcrew: Any, incident_id: int) -> list[tuple[str, str]]:
    async with pitcrew.app.deps.sessions() as session:
        rows = await session.execute(
            select(IncidentAlert.service, IncidentAlert.status)
            .where(IncidentAlert.incident_id == incident_id)
            .order_by(IncidentAlert.id)
        )
        return [(r.service, r.status) for r in rows]


async def test_a_silence_holds_the_alerts_that_join_through_depends_on_and_they_count_towards_recovery(
    db_url, fake_slack
):
    """web depends on api, api on db: while api's incident is silenced, web's and db's alerts, which
    would join it through `depends_on`, are recorded on it and counted, and say nothing; they are
    its alerts all the same, so it recovers only once they have recovered too."""
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(CHAIN)) as pitcrew:
        root = await opened(pitcrew)
        await mention(pitcrew, "silence 2h", root)
        pitcrew.clock.advance(minutes=1)
        await pitcrew.run_jobs()
        quiet_from = slack_calls(pitcrew)

        for _ in range(50):
            for service in ("web", "db"):
                body = generic_body(service=service, fingerprint=f"{service}-down", title=f"{service} is failing")
                [outcome] = (await pitcrew.webhook("generic", body)).json()["alerts"]
                assert (outcome["effect"], outcome["incident"]) == ("silenced", "INC-1"), service
            pitcrew.clock.advance(seconds=10)
            await pitcrew.run_jobs()
        pitcrew.clock.advance(minutes=30)  # escalation and reminders fall due: nobody is paged
        await pitcrew.run_jobs()
        assert slack_calls(pitcrew) == quiet_from
        assert len(roots(fake_slack)) == 1
        assert await stored_alerts(pitcrew, 1) == 101
        assert await joined_services(pitcrew, 1) == [("api", "firing"), ("web", "firing"), ("db", "firing")]

        # api recovers; web and db still fire: the incident does not recover behind the silence.
        await pitcrew.webhook("generic", generic_body(status="resolved"))
        await pitcrew.run_jobs()
        assert (await flows.load(pitcrew.app.deps, 1)).recovered_at is None
        for service in ("web", "db"):
            body = generic_body(service=service, fingerprint=f"{service}-down", title=f"{service} is failing",
                                status="resolved")
            await pitcrew.webhook("generic", body)
        await pitcrew.run_jobs()
        view = await flows.load(pitcrew.app.deps, 1)
        assert view.state == "monitoring" and view.recovered_at is not None

        await mention(pitcrew, "unsilence", root)
        shown = text_of(fake_slack.message(ALERTS, root.ts))
        assert "Generic (web): recovered" in shown and "Generic (db): recovered" in shown


async def test_while_one_incident_is_silenced_an_unlinked_services_alert_opens_its_own(db_url, fake_slack):
    services = {**CHAIN, "mail": {"provider": "http", "health": {"url": "https://mail.example.com/"}}}
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog_from(services)) as pitcrew:
        root = await opened(pitcrew)
        await mention(pitcrew, "silence 2h", root)
        body = generic_body(service="mail", fingerprint="smtp", title="SMTP refused")
        [outcome] = (await pitcrew.webhook("generic", body)).json()["alerts"]
        assert (outcome["effect"], outcome["incident"]) == ("opened", "INC-2")
        await pitcrew.run_jobs()
        await wait_until(lambda: len(roots(fake_slack)) == 2)
