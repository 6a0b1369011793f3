"""The backend-down runbook walked end to end over real HTTP: an UptimeRobot alert opens an incident,
the runbook is offered in its thread, and every kind of step is pressed as Slack would send it:
a status update, checks (health, deployment, log errors), an instruction, a question, a restart
that an operator confirms (Railway gets exactly one), the check that it came back, the resolution
update. pitcrew is stopped and started again on the same database in the middle, and the walk goes
on from the messages already in Slack."""

from __future__ import annotations

from app.flows import incident_views
from app.flows.postmortem import postmortem
from app.sandbox.slack import find_button
from tests.e2e.actions_support import posted_proposal, wait_status
from tests.e2e.incident_support import thread, updates_posts
from tests.e2e.runbook_support import (
    RESPONDER,
    api_goes_down,
    audit_actions,
    ended,
    offers,
    runbook_pitcrew,
    step_message,
    timeline_texts,
    until,
)
from tests.fixtures import OPERATOR, Sandbox


async def test_alert_to_resolution_through_the_backend_down_runbook_across_a_restart(
    db_url, fake_slack, sandbox: Sandbox
):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await api_goes_down(pitcrew, sandbox)
        [incident] = await incident_views.list_open(pitcrew.app.deps)
        assert incident.service == "api" and incident.source == "uptimerobot"

        # The runbook pitcrew.yml names for api is offered in the thread, once.
        await until(lambda: offers(fake_slack, root), what="the offer")
        [offer] = offers(fake_slack, root)
        assert "Backend down" in offer.text and find_button(offer, "runbook.run", "backend-down")
        await pitcrew.run_jobs()  # the announce job again: nothing more is offered
        assert len(offers(fake_slack, root)) == 1

        await fake_slack.click(offer, "runbook.run", user=RESPONDER, value="backend-down")

        # notify: the seeds' "🔴 Backend down, investigating" to the updates channel and the status page.
        announce = await step_message(fake_slack, root, "announce")
        before = len(updates_posts(fake_slack))
        await fake_slack.click(announce, "runbook.run", user=RESPONDER)
        await ended(announce, "Ran")
        await until(lambda: len(updates_posts(fake_slack)) > before, what="the update in the updates channel")
        assert "Backend down (api): service disruption, investigating. INC-" in str(updates_posts(fake_slack)[-1].args)

        # check: health of api (down), its deployment (crashed), the errors of the last 30 minutes.
        health = await step_message(fake_slack, root, "health")
        await fake_slack.click(health, "runbook.run", user=RESPONDER)
        await ended(health, "Ran")
        assert "api is down" in str(health.blocks)
        status = await step_message(fake_slack, root, "status")
        await fake_slack.click(status, "runbook.run", user=RESPONDER)
        await ended(status, "Ran")
        assert "CRASHED" in str(status.blocks)
        logs = await step_message(fake_slack, root, "logs")
        await fake_slack.click(logs, "runbook.run", user=RESPONDER)
        await ended(logs, "Ran")
        assert "ECONNREFUSED" in str(logs.blocks)

        # check: the metrics, measured (CPU and memory against their limits), with the last hour's chart.
        metrics = await step_message(fake_slack, root, "metrics")
        await fake_slack.click(metrics, "runbook.run", user=RESPONDER)
        await ended(metrics, "Ran")
        assert "memory 400 MB of 8.0 GB (5%)" in str(metrics.blocks)
        assert "chart of the last hour: api-metrics.png" in str(metrics.blocks)

        # choose: "Service crashed" leads to the restart.
        cause = await step_message(fake_slack, root, "cause")
        assert [e["text"]["text"] for _b, e in _buttons(cause)][:2] == ["Service crashed", "Out of memory (OOM)"]
        await fake_slack.click(cause, "runbook.choose.1", user=RESPONDER)
        await ended(cause, "Answered")

        # action: pressing Restart proposes it in the thread, for the incident; nothing runs yet.
        restart = await step_message(fake_slack, root, "restart")
        await fake_slack.click(restart, "runbook.run", user=RESPONDER)
        proposal = await posted_proposal(fake_slack)
        assert proposal.thread_ts == root.ts
        await until(lambda: "waiting for an operator" in restart.text, what="the step waiting")
        assert sandbox.mutations("DeploymentRestart") == []

    # pitcrew stops with the restart proposed and unconfirmed; a new one starts on the same database.
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        sandbox.service.ok()  # the restart brings api back (the sample service stands in for it)
        await fake_slack.click(proposal, "action.confirm", user=OPERATOR)
        assert (await wait_status(pitcrew.app, _proposal_id(proposal), "accepted", "failed")).status == "accepted"
        await ended(restart, "Ran")
        assert len(sandbox.mutations("DeploymentRestart")) == 1

        # The run moved on by itself: the check that api is healthy again.
        verify = await step_message(fake_slack, root, "verify")
        await fake_slack.click(verify, "runbook.run", user=RESPONDER)
        await ended(verify, "Ran")
        assert "api is ok" in str(verify.blocks)
        recovered = await step_message(fake_slack, root, "recovered")
        assert "api is ok" in recovered.text or "api is ok" in str(recovered.blocks)
        await fake_slack.click(recovered, "runbook.choose.1", user=RESPONDER)
        await ended(recovered, "Answered")

        resolved = await step_message(fake_slack, root, "resolved")
        before = len(updates_posts(fake_slack))
        await fake_slack.click(resolved, "runbook.run", user=RESPONDER)
        await ended(resolved, "Ran")
        await until(lambda: len(updates_posts(fake_slack)) > before, what="the resolution update")
        assert "Recovered, monitoring before we resolve. api is back up." in str(updates_posts(fake_slack)[-1].args)
        await until(lambda: any("finished after" in m.text for m in thread(fake_slack, root)), what="the run's end")

        await fake_slack.mention("resolve Restarted api; it answers again.", user=OPERATOR, channel=root.channel,
                                 thread_ts=root.ts)
        await until(lambda: any("Resolved after" in m.text for m in thread(fake_slack, root)), what="resolved")

        # Everything is on the timeline, in the audit trail and in the post-mortem draft.
        texts = await timeline_texts(pitcrew, incident.id)
        walked = [
            "Post a status update: ran: posted",
            "Health of api: ran: api is down (railway deployment down; GET http://127.0.0.1:",
            "Deployment status of api: ran: down: latest deployment ",
            "Top errors in the logs of api, last 30 minutes: ran: 2 error lines in the last 30 minutes; most frequent",
            "CPU and memory of api over the last hour: ran: ok: CPU 3% of 8 vCPU · memory 400 MB of 8.0 GB",
            "What does it look like?: answered “Service crashed”",
            "Restart api: proposed (Restart api (deployment ",
            "Restart api: ran: Restart api (deployment ",
            "Verify api is healthy again: ran: api is ok",
            "Is api healthy again? (api is ok): answered “Yes, it is back”",
            "Post a status update: ran: posted",
        ]
        assert len(texts) == len(walked)
        for text, expected in zip(texts, walked, strict=True):
            assert text.startswith(f"Backend down › {expected}"), (text, expected)
        assert await timeline_texts(pitcrew, incident.id, kind="action") == []  # the runbook's lines tell its restart
        actions = [e.action for e in await audit_actions(pitcrew)]
        assert actions.count("runbook.step") >= 10 and "runbook.start" in actions and "runbook.finish" in actions
        assert "action.run" in actions
        draft = await postmortem(pitcrew.app.deps, incident.id)
        assert "## Runbook steps" in draft and "Restart api: ran" in draft
        taken = draft.split("## Actions taken")[1].split("\n## ")[0]
        for what in ("action.propose", "action.confirm", "action.run"):  # the proposal's whole story, told
            assert f"{what} Restart api (deployment " in taken, (what, taken)
        assert _proposal_id(proposal) not in draft  # what was proposed, never a 32-hex id
        for done in ("Logs consulted", "Cause identified", "Fix applied", "Service verified"):  # the runbook did
            assert f"- [x] {done}" in draft, (done, draft.split("## Checklist")[1])
        assert f"@{OPERATOR}: action.confirm" in taken  # people as Slack ids a Slack edge shows as mentions

        # /incident <id> shows the run's progress.
        await pitcrew.app.command("/incident", str(incident.id), user=OPERATOR)
        def answers() -> list[str]:
            return [str(c.args) for c in fake_slack.calls_to("response_url") if "Runbook Backend down" in str(c.args)]

        await until(answers, what="/incident")
        shown = answers()[-1]
        assert "finished" in shown and "Restart api" in shown


def _buttons(message):  # type: ignore[no-untyped-def]
    from app.sandbox.slack import buttons

    return buttons(message)


def _proposal_id(message) -> str:  # type: ignore[no-untyped-def]
    from tests.e2e.actions_support import proposal_id

    return proposal_id(message)
