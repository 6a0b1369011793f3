"""The incident lifecycle driven as people drive it: signed slash commands, mentions in the thread,
button clicks and form submissions, with the app's clock moved for deadlines.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.audit import verify
from app.sandbox.slack import SlackMessage
from app.store import audit as audit_store
from tests.e2e.incident_support import (
    generic_body,
    pitcrew_for_incidents,
    roots,
    text_of,
    thread,
    updates_posts,
    wait_until,
)
from tests.fixtures import ALERTS, OPERATOR

DEV, LEAD = "U0DEV", "U0LEAD"


def responses(slack: Any) -> list[Any]:
    return slack.calls_to("response_url")


async def command(pitcrew: Any, text: str, *, user: str = OPERATOR) -> dict[str, Any]:
    """Type `/incident text`; the private answer it gets (every /incident answer goes to the response URL)."""
    before = len(responses(pitcrew.slack))
    response = await pitcrew.app.command("/incident", text, user=user)
    assert response.status_code == 200
    await wait_until(lambda: len(responses(pitcrew.slack)) > before)
    await pitcrew.run_jobs()
    return responses(pitcrew.slack)[before].args


async def form_opened(pitcrew: Any, before: int) -> dict[str, Any]:
    await wait_until(lambda: len(pitcrew.slack.calls_to("views.open")) > before)
    return pitcrew.slack.calls_to("views.open")[before].args["view"]


async def mention(pitcrew: Any, root: SlackMessage, text: str, *, user: str = DEV) -> None:
    before = len(pitcrew.slack.calls)
    await pitcrew.slack.mention(text, user=user, channel=root.channel, thread_ts=root.ts)
    await wait_until(lambda: any(c.method == "chat.postMessage" for c in pitcrew.slack.calls[before:]))
    await pitcrew.run_jobs()


def notes(pitcrew: Any, root: SlackMessage, words: str) -> list[SlackMessage]:
    return [m for m in thread(pitcrew.slack, root) if words in m.text]


async def declare(pitcrew: Any, text: str = "declare SEV2 API slow") -> SlackMessage:
    answer = await command(pitcrew, text)
    assert "Declared INC-" in answer["text"], answer
    await wait_until(lambda: bool(roots(pitcrew.slack)))
    return roots(pitcrew.slack)[-1]


async def test_lifecycle_from_declare_to_postmortem(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await declare(pitcrew)
        assert "INC-1" in root.text and "API slow" in root.text
        assert f"<@{OPERATOR}>" in text_of(root)  # declared by
        [opened] = updates_posts(fake_slack)
        assert "Affected:" in opened.args["text"] and "Next update: by 10:00 UTC" in opened.args["text"]

        listed = await command(pitcrew, "")
        assert "INC-1" in listed["text"] and "not acknowledged" in listed["text"]

        await mention(pitcrew, root, "ack")
        await wait_until(lambda: bool(notes(pitcrew, root, "acknowledged INC-1")))
        assert f"acknowledged by <@{DEV}>" in text_of(fake_slack.message(ALERTS, root.ts))
        assert not any(
            e.get("action_id") == "incident.ack"
            for b in fake_slack.message(ALERTS, root.ts).blocks
            for e in b.get("elements", [])
        )

        pitcrew.clock.advance(minutes=10)
        update = await command(pitcrew, "1 update Rolled back the 09:55 deploy, error rate falling")
        assert "Posted the update to INC-1" in update["text"]
        assert notes(pitcrew, root, "Rolled back the 09:55 deploy")
        assert "What we are doing: Rolled back the 09:55 deploy" in updates_posts(fake_slack)[-1].args["text"]

        await mention(pitcrew, root, "sev SEV1")
        await wait_until(lambda: bool(notes(pitcrew, root, "SEV2 → SEV1")))
        assert "severity raised to SEV1" in updates_posts(fake_slack)[-1].args["text"]

        assigned = await command(pitcrew, f"INC-1 assign commander <@{LEAD}|lead>")
        assert "commander" in assigned["text"]
        private = [c for c in fake_slack.calls_to("chat.postEphemeral") if c.args.get("user") == LEAD]
        assert (
            private and "commander of INC-1" in private[0].args["text"] and "status update" in private[0].args["text"]
        )

        await mention(pitcrew, root, "state identified Bad config in the 09:55 deploy")
        await wait_until(lambda: bool(notes(pitcrew, root, "investigating → identified")))

        before = len(fake_slack.calls_to("views.open"))
        asked = await pitcrew.app.command("/incident", "1 resolve", user=OPERATOR)
        assert asked.status_code == 200
        form = await form_opened(pitcrew, before)
        assert form["callback_id"] == "incident.resolve"
        submitted = await pitcrew.submit(
            form,
            {
                "summary": {
                    "summary": {"type": "plain_text_input", "value": ("Rolled back the 09:55 deploy; config fixed.")}
                }
            },
            user=OPERATOR,
        )
        assert submitted.status_code == 200
        await wait_until(lambda: bool(notes(pitcrew, root, "Resolved after")))
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(notes(pitcrew, root, "Post-mortem draft")))
        [draft] = notes(pitcrew, root, "Post-mortem draft")
        shown = text_of(draft)
        assert "# Post-mortem (draft): INC-1" in shown and "Rolled back the 09:55 deploy" in shown
        assert "resolved after" in updates_posts(fake_slack)[-1].args["text"]

        markdown = await command(pitcrew, "1 postmortem")
        for part in (
            "## Summary",
            "## Impact",
            "## Timeline (UTC)",
            "## Actions taken",
            "## Follow-ups",
            "incident.ack INC-1",
            "config fixed",
            "- [x] Cause identified",
        ):
            assert part in markdown["text"], part
        timeline = await command(pitcrew, "1 timeline")
        for kind in ("opened", "acknowledged", "update", "severity", "role", "state.identified", "resolved"):
            assert kind in timeline["text"], kind
        assert "No open incidents" in (await command(pitcrew, "list"))["text"]

        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        assert verify(entries).ok
        done = {(e.action, e.target) for e in entries}
        for action in (
            "incident.declare",
            "incident.ack",
            "incident.update",
            "incident.severity",
            "incident.assign",
            "incident.state",
            "incident.resolve",
        ):
            assert (action, "INC-1") in done, action


async def test_buttons_ack_update_and_resolve(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await pitcrew.webhook("generic", generic_body())
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)

        assert (await fake_slack.click(root, "incident.ack", user=DEV)).status_code == 200
        await wait_until(lambda: bool(notes(pitcrew, root, "acknowledged")))
        again = await fake_slack.click(root, "incident.update", user=LEAD)  # root was edited: ack is gone
        assert again.status_code == 200

        form = await form_opened(pitcrew, 0)
        assert form["callback_id"] == "incident.update" and form["private_metadata"] == "1"
        await pitcrew.submit(
            form,
            {
                "text": {"text": {"type": "plain_text_input", "value": "Failing over to the replica"}},
                "state": {"state": {"type": "static_select", "selected_option": {"value": "identified"}}},
            },
            user=LEAD,
        )
        await wait_until(lambda: bool(notes(pitcrew, root, "Failing over to the replica")))

        await fake_slack.click(fake_slack.message(ALERTS, root.ts), "incident.resolve", user=LEAD)
        form = await form_opened(pitcrew, 1)
        assert form["callback_id"] == "incident.resolve"
        empty = await pitcrew.submit(
            form, {"summary": {"summary": {"type": "plain_text_input", "value": None}}}, user=LEAD
        )
        assert empty.status_code == 200 and json.loads(empty.text)["response_action"] == "errors"
        await pitcrew.submit(
            form, {"summary": {"summary": {"type": "plain_text_input", "value": "Replica took over"}}}, user=LEAD
        )
        await wait_until(lambda: bool(notes(pitcrew, root, "Resolved after")))
        await pitcrew.run_jobs()
        final = fake_slack.message(ALERTS, root.ts)
        assert "resolved" in final.text and not [b for b in final.blocks if b["type"] == "actions"]


async def test_second_ack_click_is_told_who_was_first(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await declare(pitcrew)
        stale = SlackMessage(root.channel, root.ts, root.text, list(root.blocks))  # the root as first drawn
        await fake_slack.click(stale, "incident.ack", user=DEV)
        await wait_until(lambda: bool(notes(pitcrew, root, "acknowledged")))
        await fake_slack.click(stale, "incident.ack", user=LEAD)
        await wait_until(lambda: any("already" in c.args.get("text", "") for c in responses(fake_slack)))
        assert len(notes(pitcrew, root, "acknowledged INC-1")) == 1


async def test_declare_without_title_opens_the_form_and_the_form_declares(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        response = await pitcrew.app.command("/incident", "declare SEV3")
        assert response.status_code == 200
        form = await form_opened(pitcrew, 0)
        assert form["callback_id"] == "incident.declare"
        blocks = {b.get("block_id") for b in form["blocks"]}
        assert {"title", "severity", "service", "description"} <= blocks
        severity = next(b for b in form["blocks"] if b.get("block_id") == "severity")
        assert severity["element"]["initial_option"]["value"] == "SEV3"
        missing = await pitcrew.submit(form, {"title": {"title": {"type": "plain_text_input", "value": ""}}}, user=DEV)
        assert json.loads(missing.text)["response_action"] == "errors"
        values = {
            "title": {"title": {"type": "plain_text_input", "value": "Checkout <b>broken</b>"}},
            "severity": {"severity": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
            "service": {"service": {"type": "static_select", "selected_option": {"value": "web"}}},
            "description": {"description": {"type": "plain_text_input", "value": "Payments fail on submit"}},
        }
        assert (await pitcrew.submit(form, values, user=DEV)).status_code == 200
        await wait_until(lambda: bool(roots(fake_slack)))
        [root] = roots(fake_slack)
        shown = text_of(root)
        assert "SEV2" in shown and "web" in shown and "Payments fail on submit" in shown
        assert "Checkout &lt;b&gt;broken&lt;/b&gt;" in root.text


async def test_usage_and_errors_are_answered_privately(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        helped = await command(pitcrew, "help")
        assert helped["response_type"] == "ephemeral" and "/incident declare" in helped["text"]
        wrong = await command(pitcrew, "frobnicate")
        assert "neither `declare` nor an incident id" in wrong["text"]
        no_sev = await command(pitcrew, "declare API slow")
        assert "needs the severity first" in no_sev["text"]
        unknown = await command(pitcrew, "INC-99 ack")
        assert "no incident INC-99" in unknown["text"]
        bad_sev = await command(pitcrew, "1 sev SEV9")
        assert "not a severity" in bad_sev["text"]
        bad_user = await command(pitcrew, "1 assign commander @bob")
        assert "not a Slack user" in bad_user["text"]
        root = await declare(pitcrew)
        await command(pitcrew, "1 resolve All good")
        closed = await command(pitcrew, "1 update more")
        assert "resolved already" in closed["text"]
        assert all(r.args.get("response_type") == "ephemeral" for r in responses(fake_slack))
        # a mention outside any incident thread says where the verbs work
        await fake_slack.mention("ack", user=DEV, channel=ALERTS)
        await wait_until(
            lambda: any("inside an incident" in c.args.get("text", "") for c in fake_slack.calls_to("chat.postMessage"))
        )
        del root


async def test_escalation_and_reminders_fire_at_the_right_times(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await declare(pitcrew, "declare SEV1 Backend down")
        assert notes(pitcrew, root, "S0ONCALL")  # the 0-minute step, at once

        pitcrew.clock.advance(minutes=14, seconds=59)
        await pitcrew.run_jobs()
        assert not notes(pitcrew, root, "Not acknowledged")
        pitcrew.clock.advance(seconds=1)  # 15 min: SEV1's response time
        await pitcrew.run_jobs()
        [first] = notes(pitcrew, root, "Not acknowledged")
        assert "<@U0LEAD>" in first.text and "15 min" in first.text

        pitcrew.clock.advance(minutes=14, seconds=59)  # 09:29:59
        await pitcrew.run_jobs()
        assert not notes(pitcrew, root, "No status update")
        pitcrew.clock.advance(seconds=1)  # 09:30: no update for SEV1's 30 minutes
        await pitcrew.run_jobs()
        [reminder] = notes(pitcrew, root, "No status update")
        assert f"<@{OPERATOR}>" in reminder.text  # no commander yet: whoever declared it

        pitcrew.clock.advance(minutes=29)  # 09:59
        await pitcrew.run_jobs()
        assert len(notes(pitcrew, root, "Not acknowledged")) == 1
        pitcrew.clock.advance(minutes=1)  # 10:00: the SEV1-only step at 60 minutes
        await pitcrew.run_jobs()
        second = notes(pitcrew, root, "Not acknowledged")[1]
        assert "<@U0CTO>" in second.text
        assert len(notes(pitcrew, root, "No status update")) == 2  # 10:00 is 30 min after the first reminder

        await command(pitcrew, f"1 assign commander <@{LEAD}>")
        await mention(pitcrew, root, "ack")
        pitcrew.clock.advance(hours=3)
        await pitcrew.run_jobs()
        assert len(notes(pitcrew, root, "Not acknowledged")) == 2  # acknowledged: no more escalation
        later = notes(pitcrew, root, "No status update")[2:]
        assert later and all(f"<@{LEAD}>" in m.text for m in later)  # reminders go to the commander


async def test_an_update_moves_the_reminder_and_sev2_escalates_after_an_hour(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await declare(pitcrew, "declare SEV2 Uploads failing")
        pitcrew.clock.advance(minutes=40)
        await command(pitcrew, "1 update Investigating the storage bucket")  # 09:40
        pitcrew.clock.advance(minutes=19)  # 09:59
        await pitcrew.run_jobs()
        assert not notes(pitcrew, root, "Not acknowledged") and not notes(pitcrew, root, "No status update")
        pitcrew.clock.advance(minutes=1)  # 10:00: SEV2's response time (60 min)
        await pitcrew.run_jobs()
        assert notes(pitcrew, root, "Not acknowledged") and not notes(pitcrew, root, "No status update")
        pitcrew.clock.advance(minutes=40)  # 10:40: an hour after the update
        await pitcrew.run_jobs()
        assert notes(pitcrew, root, "No status update")


async def test_severity_change_brings_the_escalation_forward(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        root = await declare(pitcrew, "declare SEV4 Typo on the pricing page")
        pitcrew.clock.advance(minutes=5)
        await mention(pitcrew, root, "sev SEV1")
        pitcrew.clock.advance(minutes=10)  # 15 min after it started
        await pitcrew.run_jobs()
        assert notes(pitcrew, root, "Not acknowledged")
