"""Who may speak for the team: declare, update, ack, change and resolve incidents, by every path
(slash commands, their deferred replay, mentions in the thread, buttons, forms), with and without
`slack.responders`. A refusal is private, names who may, is audited, and changes nothing: no
incident, no thread note, nothing in the updates channel, no status-page update.
"""

from __future__ import annotations

from typing import Any

from app.catalog import Catalog
from app.flows import incident_views
from app.sandbox.slack import SlackMessage
from app.store import audit as audit_store
from tests.e2e.incident_support import (
    ESCALATION,
    generic_body,
    pitcrew_for_incidents,
    roots,
    text_of,
    thread,
    updates_posts,
    wait_until,
)
from tests.fixtures import ALERTS, OPERATOR, catalog_from

STRANGER = "U0STRANGER"  # a workspace member, nobody's responder
DM = "D0STRANGER"  # the stranger's direct message with pitcrew
ELSEWHERE = "C0RANDOM"  # another channel (a Slack Connect channel, say)
ANA, BOB, DEV = "U0ANA", "U0BOB", "U0DEV"
SERVICES = {"api": {"provider": "http", "health": {"url": "https://api.example.com/health"}}}


def catalog(**slack: Any) -> Catalog:
    return catalog_from(SERVICES, escalation=ESCALATION, **slack)


def responses(pitcrew: Any) -> list[Any]:
    return pitcrew.slack.calls_to("response_url")


async def slash(pitcrew: Any, text: str, *, user: str, channel: str = ALERTS) -> dict[str, Any]:
    """Type `/incident text` in `channel`; the answer that came to the response URL."""
    before = len(responses(pitcrew))
    response = await pitcrew.slack.slash("/incident", text, user=user, channel=channel)
    assert response.status_code == 200
    await wait_until(lambda: len(responses(pitcrew)) > before)
    await pitcrew.run_jobs()
    return dict(responses(pitcrew)[before].args)


def ephemerals(pitcrew: Any, user: str) -> list[Any]:
    return [c for c in pitcrew.slack.calls_to("chat.postEphemeral") if c.args.get("user") == user]


async def audited(pitcrew: Any, actor: str) -> list[Any]:
    return [e async for e in audit_store.entries(pitcrew.app.deps.sessions) if e.actor == actor]


async def declared_by_operator(pitcrew: Any) -> SlackMessage:
    answer = await slash(pitcrew, "declare SEV2 API slow", user=OPERATOR)
    assert "Declared INC-1" in answer["text"], answer
    await wait_until(lambda: bool(roots(pitcrew.slack)))
    return roots(pitcrew.slack)[-1]


async def test_a_stranger_in_a_dm_or_another_channel_cannot_speak_for_the_team(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        phishing = "declare SEV1 Reset your password at <https://evil.example/login|sso.example.com>"
        refused = await slash(pitcrew, phishing, user=STRANGER, channel=DM)
        assert refused["response_type"] == "ephemeral"
        assert refused["text"].startswith("Only responders may declare an incident: anyone acting in <#C0ALERTS>")
        assert "anyone who is an operator" in refused["text"] and "slack.responders" in refused["text"]
        assert roots(fake_slack) == [] and updates_posts(fake_slack) == []
        assert await incident_views.list_open(pitcrew.app.deps) == []

        root = await declared_by_operator(pitcrew)
        posted_before = len(updates_posts(fake_slack))
        thread_before = len(thread(fake_slack, root))
        for channel in (DM, ELSEWHERE):
            for text, verb in (
                ("1 update All fixed, nothing to see: https://evil.example", "post updates to INC-1"),
                ("1 ack", "acknowledge INC-1"),
                ("1 sev SEV4", "change the severity of INC-1"),
                ("1 state monitoring", "change the state of INC-1"),
                ("1 resolve Fixed", "resolve INC-1"),
                ("1 resolve", "resolve INC-1"),  # would open the form: refused before it
            ):
                answer = await slash(pitcrew, text, user=STRANGER, channel=channel)
                assert answer["response_type"] == "ephemeral"
                assert answer["text"].startswith(f"Only responders may {verb}:"), (text, answer["text"])
        assert fake_slack.calls_to("views.open") == []

        view = await incident_views.load(pitcrew.app.deps, 1)
        assert (view.state, view.severity, view.acknowledged_by) == ("investigating", "SEV2", None)
        assert len(updates_posts(fake_slack)) == posted_before
        assert len(thread(fake_slack, root)) == thread_before
        status = (await pitcrew.http.get("/status.json")).json()
        [shown] = status["incidents"]
        assert shown["state"] == "investigating" and [u["text"] for u in shown["updates"]] == ["Investigating."]

        entries = await audited(pitcrew, STRANGER)
        assert len(entries) == 13 and all(e.outcome.startswith("refused: only responders may") for e in entries)
        assert {e.target for e in entries} == {DM, ELSEWHERE}


async def test_without_responders_the_alerts_channel_and_incident_threads_speak(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog()) as pitcrew:
        answer = await slash(pitcrew, "declare SEV3 Checkout slow", user=DEV, channel=ALERTS)
        assert "Declared INC-1" in answer["text"]
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)

        await fake_slack.mention("ack", user=STRANGER, channel=ALERTS, thread_ts=root.ts)  # in the thread: as today
        await wait_until(lambda: f"acknowledged by <@{STRANGER}>" in text_of(fake_slack.message(ALERTS, root.ts)))
        await fake_slack.click(fake_slack.message(ALERTS, root.ts), "incident.update", user=BOB)
        await wait_until(lambda: bool(fake_slack.calls_to("views.open")))
        assert ephemerals(pitcrew, STRANGER) == [] and ephemerals(pitcrew, BOB) == []


async def test_with_responders_only_they_and_operators_may(db_url, fake_slack):
    fake_slack.usergroups["S0ONCALL"] = [BOB]
    responders = catalog(responders=[ANA, "S0ONCALL"])
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=responders) as pitcrew:
        refused = await slash(pitcrew, "declare SEV2 API slow", user=DEV, channel=ALERTS)  # the alerts channel: no more
        assert refused["text"].startswith(
            "Only responders may declare an incident: <@U0ANA>, the <!subteam^S0ONCALL> group, "
            "or anyone who is an operator. Ask one of them, or an admin to add you to slack.responders"
        )
        assert roots(fake_slack) == []

        answer = await slash(pitcrew, "declare SEV2 API slow", user=ANA, channel=DM)  # listed: from anywhere
        assert "Declared INC-1" in answer["text"]
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)

        # a mention in the thread by someone not listed: told privately in the thread, nothing changed
        await fake_slack.mention("resolve It was the cache", user=DEV, channel=ALERTS, thread_ts=root.ts)
        await wait_until(lambda: bool(ephemerals(pitcrew, DEV)))
        [told] = ephemerals(pitcrew, DEV)
        assert told.args["thread_ts"] == root.ts and told.args["text"].startswith("Only responders may resolve INC-1:")
        assert (await incident_views.load(pitcrew.app.deps, 1)).is_open

        # buttons: ack and update refused to DEV (no form opened), ack allowed to the group's member
        await fake_slack.click(root, "incident.ack", user=DEV)
        await fake_slack.click(root, "incident.update", user=DEV)
        await wait_until(lambda: len([r for r in responses(pitcrew) if "Only responders" in r.args["text"]]) == 3)
        assert fake_slack.calls_to("views.open") == []
        assert (await incident_views.load(pitcrew.app.deps, 1)).acknowledged_by is None
        await fake_slack.click(root, "incident.ack", user=BOB)
        await wait_until(lambda: f"acknowledged by <@{BOB}>" in text_of(fake_slack.message(ALERTS, root.ts)))

        # a mention by the group's member, and an operator's update from a DM
        await fake_slack.mention("sev SEV1", user=BOB, channel=ALERTS, thread_ts=root.ts)
        await wait_until(lambda: any("SEV2 → SEV1" in m.text for m in thread(fake_slack, root)))
        update = await slash(pitcrew, "1 update Cache flushed", user=OPERATOR, channel=DM)
        assert "Posted the update to INC-1" in update["text"]

        entries = await audited(pitcrew, DEV)
        assert ["refused: only responders may" in e.outcome for e in entries] == [True] * 4
        assert {e.action for e in entries} == {
            "command /incident", "mention resolve", "click incident.ack", "click incident.update"
        }


async def test_forms_are_checked_when_submitted(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog(responders=[ANA])) as pitcrew:
        # Slack lets only the person a form was opened for submit it; a form that was opened for a
        # responder and is submitted by someone who no longer is one must still be refused.
        await fake_slack.slash("/incident", "declare SEV3", user=ANA, channel=ALERTS)
        await wait_until(lambda: len(fake_slack.calls_to("views.open")) == 1)
        form = fake_slack.calls_to("views.open")[0].args["view"]
        values = {
            "title": {"title": {"type": "plain_text_input", "value": "Fake outage"}},
            "severity": {"severity": {"type": "static_select", "selected_option": {"value": "SEV1"}}},
        }
        assert (await pitcrew.submit(form, values, user=DEV)).status_code == 200
        await wait_until(lambda: bool(ephemerals(pitcrew, DEV)))
        assert ephemerals(pitcrew, DEV)[0].args["text"].startswith("Only responders may declare an incident: <@U0ANA>")
        assert roots(fake_slack) == [] and await incident_views.list_open(pitcrew.app.deps) == []

        await pitcrew.submit(form, values, user=ANA)
        await wait_until(lambda: bool(roots(fake_slack)))
        await pitcrew.run_jobs()
        await fake_slack.slash("/incident", "1 resolve", user=ANA, channel=ALERTS)
        await wait_until(lambda: len(fake_slack.calls_to("views.open")) == 2)
        resolve = fake_slack.calls_to("views.open")[1].args["view"]
        summary = {"summary": {"summary": {"type": "plain_text_input", "value": "Nothing happened"}}}
        await pitcrew.submit(resolve, summary, user=DEV)
        await wait_until(lambda: len(ephemerals(pitcrew, DEV)) == 2)
        assert ephemerals(pitcrew, DEV)[1].args["text"].startswith("Only responders may resolve INC-1:")
        assert (await incident_views.load(pitcrew.app.deps, 1)).is_open
        entries = await audited(pitcrew, DEV)
        assert [(e.action, e.outcome.split(":")[0]) for e in entries] == [
            ("form incident.declare", "refused"), ("form incident.resolve", "refused")
        ]


async def test_an_alert_opened_incident_is_refused_to_strangers_too(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog(responders=[])) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)
        await fake_slack.mention("ack", user=DEV, channel=ALERTS, thread_ts=root.ts)
        await wait_until(lambda: bool(ephemerals(pitcrew, DEV)))
        assert ephemerals(pitcrew, DEV)[0].args["text"].startswith(
            "Only responders may acknowledge INC-1: anyone who is an operator."
        )
        await fake_slack.mention("ack", user=OPERATOR, channel=ALERTS, thread_ts=root.ts)
        await wait_until(lambda: f"acknowledged by <@{OPERATOR}>" in text_of(fake_slack.message(ALERTS, root.ts)))
