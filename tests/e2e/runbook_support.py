"""What the runbook end-to-end tests share: pitcrew with a sandbox Railway and a sample `api` (the
`sandbox` fixture), an UptimeRobot alert that opens an incident, and helpers that find a runbook's step messages in the
thread and wait for what a click does (its work continues after Slack's ack)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import yaml

from app.catalog import Catalog, parse_catalog
from app.flows import incident_views
from app.flows.runbook_views import StepRef, parse_step_value
from app.sandbox.slack import FakeSlack, SlackMessage, buttons
from app.store import audit as audit_store
from tests.e2e.incident_support import roots, thread, uptimerobot_body
from tests.fixtures import ALERTS, OPERATOR, UPDATES, Pitcrew, Sandbox, pitcrew_with_jobs

RESPONDER = "U0RESP1"


def runbook_catalog(sandbox: Sandbox, *, runbooks_dir: str | None = None, **extra: Any) -> Catalog:
    """api on the sandbox Railway with its health on the sample service, bound to backend-down."""
    api = sandbox.railway_api(runbooks=["backend-down"])
    document: dict[str, Any] = {
        "slack": {"alerts_channel": ALERTS, "updates_channel": UPDATES, "operators": [OPERATOR]},
        "services": {"api": api, **extra},
    }
    if runbooks_dir is not None:
        document["runbooks_dir"] = runbooks_dir
    return parse_catalog(yaml.safe_dump(document))


def runbook_pitcrew(
    db_url: str, slack: FakeSlack, sandbox: Sandbox, *, catalog: Catalog | None = None
) -> AbstractAsyncContextManager[Pitcrew]:
    return pitcrew_with_jobs(
        db_url, catalog or runbook_catalog(sandbox), slack, clock=sandbox.clock, **sandbox.settings()
    )


async def api_goes_down(pitcrew: Pitcrew, sandbox: Sandbox) -> SlackMessage:
    """api crashes on Railway, its health fails, UptimeRobot alerts: the incident's root message."""
    sandbox.world.crash("api")
    sandbox.service.down()
    body = {**uptimerobot_body("1"), "monitor_url": f"{sandbox.service_url}/health", "monitor_friendly_name": "API"}
    answer = await pitcrew.webhook("uptimerobot", body, content_type="application/json")
    assert answer.status_code in (200, 202), answer.text
    await pitcrew.run_jobs()
    await until(lambda: roots(pitcrew.slack))
    [root] = roots(pitcrew.slack)
    return root


def step_ref(message: SlackMessage) -> StepRef | None:
    for _block, element in buttons(message):
        ref = parse_step_value(str(element.get("value", "")))
        if ref is not None:
            return ref
    return None


def offers(slack: FakeSlack, root: SlackMessage) -> list[SlackMessage]:
    return [
        m for m in thread(slack, root)
        if any(e.get("action_id") == "runbook.run" and parse_step_value(str(e.get("value"))) is None
               for _b, e in buttons(m))
    ]


async def step_message(slack: FakeSlack, root: SlackMessage, step_id: str, *, after: int = 0) -> SlackMessage:
    """The open step message of `step_id` in the thread (posted after message index `after`)."""
    def found() -> SlackMessage | None:
        for message in reversed(slack.messages[after:]):
            if message.thread_ts == root.ts and message.ephemeral_to is None:
                ref = step_ref(message)
                if ref is not None and ref.step_id == step_id:
                    return message
        return None

    await until(lambda: found() is not None, what=f"step {step_id} posted")
    message = found()
    assert message is not None
    return message


async def ended(message: SlackMessage, word: str) -> SlackMessage:
    """`message` once edited to show its outcome (`Ran`, `Done`, `Skipped`, `Answered`, `Failed`)."""
    await until(lambda: f"— {word}" in message.text and step_ref(message) is None, what=f"step ended: {word}")
    return message


async def until(predicate: Callable[[], object], *, what: str = "condition", timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not seen within {timeout_s:g} s: {what}")
        await asyncio.sleep(0.01)


async def timeline_texts(pitcrew: Pitcrew, incident_id: int, kind: str = "runbook.step") -> list[str]:
    report = await incident_views.timeline(pitcrew.app.deps, incident_id)
    return [e.text for e in report.entries if e.kind == kind]


async def audit_actions(pitcrew: Pitcrew) -> list[Any]:
    return [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
