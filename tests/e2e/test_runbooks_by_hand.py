"""Runbooks started by hand (`@pitcrew runbook <name>`), a team's own runbooks from `runbooks_dir`,
a step that asks which service, text from an alert escaped, and an offer matched on an alert's labels."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.flows import incident_views
from app.sandbox.slack import FakeSlack, SlackMessage, buttons, find_button
from tests.e2e.incident_support import alertmanager_body, roots, thread
from tests.e2e.runbook_support import (
    RESPONDER,
    ended,
    offers,
    runbook_catalog,
    runbook_pitcrew,
    step_message,
    step_ref,
    until,
)
from tests.fixtures import ALERTS, OPERATOR, Sandbox

TEAM_RUNBOOK = """\
name: payments-down
title: Payments down ({service})
applies:
  labels: {alertname: "Payments*"}
steps:
  - id: health
    check: health
  - id: pool
    check: db_connections
  - id: look
    say: "Incident {incident}: {title}. Health: {steps.health.summary}"
"""


def replies(slack: FakeSlack, root: SlackMessage, after: int) -> list[SlackMessage]:
    return [m for m in slack.messages[after:] if m.thread_ts == root.ts and not m.text.startswith("<@U0PITCREW>")]


async def declared(pitcrew, title: str) -> SlackMessage:  # type: ignore[no-untyped-def]
    """Declare an incident and wait until its thread is known (the root is posted before it is stored)."""
    await pitcrew.app.command("/incident", f"declare SEV2 {title}", user=OPERATOR)
    await until(lambda: roots(pitcrew.slack), what="the declared incident's root")
    root = roots(pitcrew.slack)[-1]
    for _ in range(500):
        if await incident_views.find_by_thread(pitcrew.app.deps, root.channel, root.ts) is not None:
            return root
        await asyncio.sleep(0.01)
    raise AssertionError("the declared incident's thread was never stored")


async def test_runbook_by_name_in_a_thread_lists_starts_and_finds_a_run_again(db_url, fake_slack, sandbox: Sandbox):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        await fake_slack.mention("runbook backend-down", user=RESPONDER, channel=ALERTS)
        await until(lambda: any("incident's thread" in m.text for m in fake_slack.messages), what="outside a thread")

        root = await declared(pitcrew, "Checkout is slow")
        mark = len(fake_slack.messages)
        await fake_slack.mention("runbook", user=RESPONDER, channel=ALERTS, thread_ts=root.ts)
        await until(lambda: replies(fake_slack, root, mark), what="the list")
        listed = replies(fake_slack, root, mark)[-1]
        assert "`incident-checklist`" in str(listed.blocks) and "`backend-down`" in str(listed.blocks)

        mark = len(fake_slack.messages)
        await fake_slack.mention("runbook backend-dwn", user=RESPONDER, channel=ALERTS, thread_ts=root.ts)
        await until(lambda: replies(fake_slack, root, mark), what="an unknown name")
        assert "unknown runbook 'backend-dwn'; known runbooks: auth-failing, backend-down" in \
            replies(fake_slack, root, mark)[-1].text

        await fake_slack.mention("runbook incident-checklist", user=RESPONDER, channel=ALERTS, thread_ts=root.ts)
        first = await step_message(fake_slack, root, "confirm")
        assert "Incident checklist" in first.text and find_button(first, "runbook.done")

        # Asked again (the thread has grown long): the current step is posted again; either message works once.
        mark = len(fake_slack.messages)
        await fake_slack.mention("runbook incident-checklist", user=RESPONDER, channel=ALERTS, thread_ts=root.ts)
        again = await step_message(fake_slack, root, "confirm", after=mark)
        assert again.ts != first.ts
        await fake_slack.click(again, "runbook.done", user=RESPONDER)
        await ended(again, "Done")
        severity = await step_message(fake_slack, root, "severity")
        assert "Now: SEV2." in str(severity.blocks)
        mark = len(fake_slack.messages)
        await fake_slack.click(first, "runbook.done", user=OPERATOR)
        await until(lambda: any(m.ephemeral_to == OPERATOR for m in fake_slack.messages[mark:]), what="stale told")
        [incident] = await incident_views.list_open(pitcrew.app.deps)
        report = await incident_views.timeline(pitcrew.app.deps, incident.id)
        assert [e.text for e in report.entries if e.kind == "runbook.step"] == [
            "Incident checklist › Confirm the incident is real: the alert, user reports, or the health checks…: done"
        ]


async def test_a_team_runbook_asks_which_service_and_escapes_what_an_alert_wrote(
    db_url, fake_slack, sandbox: Sandbox, tmp_path: Path
):
    (tmp_path / "payments-down.yml").write_text(TEAM_RUNBOOK, encoding="utf-8")
    site = {"provider": "http", "health": {"url": f"{sandbox.service_url}/health"}}
    catalog = runbook_catalog(sandbox, runbooks_dir=str(tmp_path), site=site)
    async with runbook_pitcrew(db_url, fake_slack, sandbox, catalog=catalog) as pitcrew:
        # as Slack delivers what was typed: a channel-wide ping as a control sequence, the rest escaped
        root = await declared(pitcrew, "<!channel> checkout &lt;b&gt;fails&lt;/b&gt;")
        await fake_slack.mention("runbook payments-down", user=RESPONDER, channel=ALERTS, thread_ts=root.ts)

        # No service on the incident: the health check asks which one, a Run button for each.
        health = await step_message(fake_slack, root, "health")
        assert "Payments down ((no service))" in health.text
        assert [e["text"]["text"] for _b, e in buttons(health)] == ["Run check on api", "Run check on site", "Skip"]
        await fake_slack.click(health, "runbook.run", user=RESPONDER, value=_value_for(health, "site"))
        await ended(health, "Ran")
        assert "site is ok" in str(health.blocks)

        # No database in pitcrew.yml: the database check cannot run; the clicker is told, and skips it.
        pool = await step_message(fake_slack, root, "pool")
        mark = len(fake_slack.messages)
        await fake_slack.click(pool, "runbook.run", user=RESPONDER)
        await until(lambda: any(m.ephemeral_to == RESPONDER for m in fake_slack.messages[mark:]), what="told")
        assert "no service in pitcrew.yml can" in fake_slack.messages[-1].text
        await fake_slack.click(pool, "runbook.skip", user=RESPONDER)
        await ended(pool, "Skipped")

        look = await step_message(fake_slack, root, "look")
        shown = str(look.blocks)
        assert "@channel checkout &lt;b&gt;fails&lt;/b&gt;" in shown and "Health: site is ok" in shown
        runbook_calls = [c for c in fake_slack.calls if "Payments down" in str(c.args)]
        assert runbook_calls and all("<!channel>" not in str(c.args) for c in runbook_calls)


async def test_an_alerts_labels_choose_a_team_runbook_to_offer(db_url, fake_slack, sandbox: Sandbox, tmp_path: Path):
    (tmp_path / "payments-down.yml").write_text(TEAM_RUNBOOK, encoding="utf-8")
    catalog = runbook_catalog(sandbox, runbooks_dir=str(tmp_path))
    async with runbook_pitcrew(db_url, fake_slack, sandbox, catalog=catalog) as pitcrew:
        body = alertmanager_body(alertname="PaymentsWebhookFailing")
        assert (await pitcrew.webhook("alertmanager", body)).status_code in (200, 202)
        await pitcrew.run_jobs()
        await until(lambda: roots(fake_slack), what="the incident")
        root = roots(fake_slack)[0]
        await until(lambda: offers(fake_slack, root), what="the offer")
        [offer] = offers(fake_slack, root)
        offered = [str(e.get("value")) for _b, e in buttons(offer)]
        assert offered[0] == "backend-down"  # named for api in pitcrew.yml: first
        assert "payments-down" in offered  # matched on the alert's alertname label
        await fake_slack.click(offer, "runbook.run", user=RESPONDER, value="payments-down")
        health = await step_message(fake_slack, root, "health")
        assert "Payments down (api)" in health.text and step_ref(health) is not None
        assert len([m for m in thread(fake_slack, root) if step_ref(m) is not None]) == 1


def _value_for(message: SlackMessage, service: str) -> str:
    for _block, element in buttons(message):
        ref = step_ref(SlackMessage(channel="", ts="", text="", blocks=[{"type": "actions", "elements": [element]}]))
        if ref is not None and ref.service == service:
            return str(element["value"])
    raise AssertionError(f"no Run button for {service}")
