"""`pitcrew demo --script`: the demo's story, played by itself, checked after every step.

api crashes → UptimeRobot alerts → an incident thread opens with its runbook offered → the
responder acknowledges and sets the severity → runs the runbook: a status update, the health,
deployment and log checks, the metrics (memory climbed towards the limit before the crash: the chart of
the last hour is uploaded in the thread), "recent bad deploy" → a rollback is proposed → a non-operator cannot
confirm it, the operator does → Railway rolls back once → pitcrew verifies → UptimeRobot sees api
up → the runbook checks again and posts "resolved, monitoring" → resolve → the post-mortem draft →
the status page → debug logging for two minutes → a scheduled rotation of JWT_SECRET through the
secret-rotation runbook → the audit trail. A pitcrew without runbooks in threads plays the same story
with `@pitcrew health` and the health card's Roll back button instead.

Each step types lines into the console as a person would and then checks what reached the fake
Slack, the sandbox and the database, waiting (within a bound) for work that happens after the
line (jobs, verification, the monitor). The first step that does not behave ends the story with
one line saying which step and what was wrong, and the command exits 1: this is also a CI check.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from app.charts.period_chart import PNG_SIGNATURE
from app.console.session import ConsoleSession
from app.core.audit import ChainVerifier
from app.core.incidents import IncidentView
from app.demo.world import ALERTS_CHANNEL, DEMO_USER, UPDATES_CHANNEL, DemoSandbox
from app.deps import Deps
from app.flows import incident_views
from app.sandbox.railway.sample import SAMPLE_JWT_SECRET, SAMPLE_SECRET_VALUES
from app.sandbox.slack import BOT_USER_ID, FakeSlack, SlackMessage, buttons
from app.store import audit as audit_store

T = TypeVar("T")
WAIT_S = 20.0
NON_OPERATOR = "U0INTERN"


class StoryFailed(Exception):
    """A step did not behave; the message says what was expected and what was seen."""


def _always() -> bool:
    return True


def runbooks_in_threads() -> bool:
    """Whether this pitcrew offers runbooks in incident threads (its `@pitcrew runbook` verb says so)."""
    from app.slack.mentions import VERBS

    return "runbook" in VERBS


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[Story], Awaitable[None]]
    when: Callable[[], bool] = _always  # a step of a capability this build may not have yet


class Story:
    """The story's state between steps (the incident, its thread, the proposal) and the means to check."""

    def __init__(self, session: ConsoleSession, sandbox: DemoSandbox) -> None:
        self.session = session
        self.sandbox = sandbox
        self.incident: IncidentView | None = None
        self.root: SlackMessage | None = None
        self.health_card: SlackMessage | None = None
        self.runbook_offer: SlackMessage | None = None
        self.proposal: SlackMessage | None = None

    # -- means

    @property
    def deps(self) -> Deps:
        assert self.session.deps is not None, "the console has not started"
        return self.session.deps

    @property
    def slack(self) -> FakeSlack:
        return self.session.slack

    async def type(self, *lines: str) -> None:
        """Lines as a person types them (`click N` followed by its y/N answer), echoed in the transcript."""
        await self.session.run(list(lines))

    async def until(self, what: str, probe: Callable[[], Any], timeout_s: float = WAIT_S) -> Any:
        """Wait for `probe()` (sync or async) to return something truthy, printing messages as they come."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.session.flush_events()
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            if value:
                self.session.flush_events()
                return value
            if time.monotonic() > deadline:
                raise StoryFailed(f"{what}: not seen within {timeout_s:g} s")
            await asyncio.sleep(0.1)

    def mark(self) -> int:
        """A bookmark in the fake Slack's messages: what came after it is what the next lines caused."""
        return len(self.slack.messages)

    def since(self, mark: int, *, channel: str | None = None, thread: bool | None = None) -> list[SlackMessage]:
        """pitcrew's messages since `mark` (people's own mentions left out), in a channel / thread if asked."""
        found = [m for m in self.slack.messages[mark:] if not m.text.startswith(f"<@{BOT_USER_ID}>")]
        if channel is not None:
            found = [m for m in found if m.channel == channel]
        if thread is not None and self.root is not None:
            found = [m for m in found if (m.thread_ts == self.root.ts) == thread]
        return found

    async def view(self) -> IncidentView:
        assert self.incident is not None
        self.incident = await incident_views.load(self.deps, self.incident.id)
        return self.incident

    def number(self, message: SlackMessage) -> int:
        number = self.session.message_number(message)
        if number is None:
            raise StoryFailed(f"message {message.text[:60]!r} was never printed in the console")
        return number

    def button(self, message: SlackMessage, *, action_id: str | None = None, label: str | None = None) -> int:
        """The [N] of a button, found by its action_id or by its label as a person reads it."""
        for _block, element in buttons(message):
            text = (element.get("text") or {}).get("text", "")
            if (action_id is None or element.get("action_id") == action_id) and (label is None or text == label):
                number = self.session.button_number(message, str(element.get("action_id")), element.get("value"))
                if number is not None:
                    return number
        wanted = action_id or label
        raise StoryFailed(f"no button {wanted!r} on the console's message {message.text[:60]!r}")

    def rollback_calls(self) -> int:
        return sum(1 for call in self.sandbox.railway.calls if call.operation == "DeploymentRollback")


def expect(condition: object, message: str) -> None:
    if not condition:
        raise StoryFailed(message)


def _text(message: SlackMessage) -> str:
    """What a message says, its blocks included (the console prints both)."""
    parts = [message.text]
    for block in message.blocks:
        for key in ("text", "elements", "fields"):
            value = block.get(key)
            parts.append(str(value) if value else "")
    return "\n".join(parts)


# ---- the steps -----------------------------------------------------------------------------------


async def healthy_at_first(story: Story) -> None:
    mark = story.mark()
    await story.type("/health")
    cards = story.since(mark)
    expect(cards, "/health posted nothing")
    card = _text(cards[-1])
    expect(all(word in card for word in ("api", "worker", "web")), "the /health card does not list every service")
    expect("down" not in cards[-1].text.lower(), f"before the break, /health says: {cards[-1].text!r}")


async def who_is_on_call(story: Story) -> None:
    mark = story.mark()
    await story.type("/incident oncall")
    answers = story.since(mark)
    expect(answers, "/incident oncall answered nothing")
    board = _text(answers[-1])
    expect("primary" in board and "Hand-offs of the coming 14 days" in board,
           f"/incident oncall does not show the primary rotation: {board[:200]!r}")


async def api_breaks(story: Story) -> None:
    mark = story.mark()
    await story.type("demo break api")
    sent = story.sandbox.monitor.sent
    expect(sent and sent[-1].state == "down", "the sandbox UptimeRobot did not send a Down alert")
    expect(sent[-1].status_code == 202, f"pitcrew answered the alert with {sent[-1].status_code}: {sent[-1].answer}")

    async def opened() -> list[IncidentView]:
        return [v for v in await incident_views.list_open(story.deps) if v.service == "api" and v.thread_ts]

    found = await story.until("an open incident for api with its thread", opened)
    expect(len(found) == 1, f"one alert opened {len(found)} incidents")
    story.incident = found[0]
    root = story.slack.message(ALERTS_CHANNEL, found[0].thread_ts or "")
    expect(root is not None, f"no root message of {found[0].ref} in #{ALERTS_CHANNEL}")
    assert root is not None
    story.root = root
    story.button(root, action_id="incident.ack")
    await story.until(
        f"{found[0].ref} announced in #{UPDATES_CHANNEL}", lambda: story.since(mark, channel=UPDATES_CHANNEL)
    )
    # The thread opens with one note: the first responders paged, the runbooks offered (a job of
    # its own, after the root: roots first in a storm). Acknowledged before it, it would page nobody.
    await story.until(f"{found[0].ref}'s first note in its thread", lambda: story.since(mark, thread=True))
    # ... and the page leaves Slack: a PagerDuty trigger for the on-call person's phone.
    await story.until(
        f"{found[0].ref}'s page to PagerDuty",
        lambda: [e for e in story.sandbox.pagerduty.of_action("trigger") if found[0].ref in str(e.get("dedup_key"))],
    )


async def acknowledge_and_assess(story: Story) -> None:
    assert story.root is not None
    await story.type(f"thread {story.number(story.root)}", "@pitcrew ack", "@pitcrew sev SEV1")
    view = await story.view()
    expect(view.acknowledged_by == DEMO_USER, f"{view.ref} acknowledged by {view.acknowledged_by!r}")
    expect(view.severity == "SEV1", f"{view.ref} is {view.severity} after `@pitcrew sev SEV1`")


# -- the runbook (when this pitcrew offers runbooks in threads)

RUNBOOK_BUTTONS = ("runbook.run", "runbook.skip", "runbook.done")


def _runbook_buttons(message: SlackMessage) -> list[str]:
    return [
        str(e.get("action_id")) for _b, e in buttons(message)
        if str(e.get("action_id")) in RUNBOOK_BUTTONS or str(e.get("action_id")).startswith("runbook.choose.")
    ]


def _current_step(story: Story) -> SlackMessage | None:
    """The runbook step waiting in the thread: the newest message with runbook buttons (the offer aside)."""
    assert story.root is not None
    waiting = [
        m for m in story.slack.messages_in_thread(story.root.ts)
        if _runbook_buttons(m) and m is not story.runbook_offer
    ]
    return waiting[-1] if waiting else None


async def press(story: Story, label: str, *, what: str) -> SlackMessage:
    """Press `label` on the runbook's current step; the step's message once pitcrew has acted on it."""
    step = await story.until(f"the runbook step “{what}”", lambda: _current_step(story))
    expect(what.lower() in _text(step).lower(), f"the runbook's current step is not “{what}”: {step.text!r}")
    await story.type(f"click {story.button(step, label=label)}")
    await story.until(f"“{what}” handled after {label}", lambda: not _runbook_buttons(step))
    return step


async def runbook_offered_and_started(story: Story) -> None:
    """backend-down, named for api in pitcrew.yml, is offered in the thread; Run posts its first update."""
    assert story.root is not None
    root = story.root

    def offers() -> list[SlackMessage]:
        return [m for m in story.slack.messages_in_thread(root.ts) if "runbook.run" in _runbook_buttons(m)]

    offer = (await story.until("a runbook offered in the incident's thread", offers))[0]
    expect("backend-down" in _text(offer), f"the runbook offered is not backend-down: {offer.text!r}")
    story.runbook_offer = offer
    await story.type(f"click {story.button(offer, action_id='runbook.run')}")
    mark = story.mark()
    await press(story, "Post update", what="status update")
    await story.until(f"the runbook's update in #{UPDATES_CHANNEL}", lambda: story.since(mark, channel=UPDATES_CHANNEL))


async def runbook_checks(story: Story) -> None:
    health = await press(story, "Run check", what="Health of api")
    expect("down" in _text(health), f"the health check does not find api down: {health.text!r}")
    await press(story, "Run check", what="Deployment status of api")
    errors = await press(story, "Run check", what="Top errors in the logs of api")
    expect("listOrders" in _text(errors), "the top errors do not show the crash in listOrders")


async def runbook_charts_the_memory(story: Story) -> None:
    """The metrics step measures CPU and memory against their limits and uploads the last hour's chart in
    the thread: memory climbed towards api's 1 GB limit before the crash. The console writes the image to
    a file and says where."""
    assert story.root is not None
    root = story.root
    metrics = await press(story, "Run check", what="CPU and memory of api")
    said = _text(metrics)
    expect("CPU " in said and "vCPU" in said, f"the metrics step names no CPU figure: {said[:300]!r}")
    expect("memory " in said and "of 1.0 GB" in said, f"the metrics step names no memory figure: {said[:300]!r}")
    expect("peak " in said, f"the metrics step does not say how high memory climbed: {said[:300]!r}")

    def charts() -> list[SlackMessage]:
        uploaded = {
            file_id for file_id, upload in story.slack.uploads.items()
            if upload.get("filename") == "api-metrics.png" and upload.get("thread_ts") == root.ts
            and bytes(upload.get("content") or b"").startswith(PNG_SIGNATURE)
        }
        return [
            m for m in story.slack.messages_in_thread(root.ts)
            if any(b.get("type") == "file" and b.get("file_id") in uploaded for b in m.blocks)
        ]

    [chart] = await story.until("the metrics chart uploaded in the incident's thread", charts)
    story.number(chart)  # printed in the console: "[image: …, written to <file>]"
    described = next(
        str(u.get("alt_txt")) for u in story.slack.uploads.values() if u.get("filename") == "api-metrics.png"
    )
    expect("peak 9" in described.split("memory", 1)[-1],
           f"the chart does not show memory climbing towards the limit: {described!r}")


async def runbook_leads_to_a_rollback(story: Story) -> None:
    await press(story, "Recent bad deploy", what="What does it look like?")
    mark = story.mark()
    await press(story, "Roll back", what="Roll back api")
    story.proposal = _proposal_since(story, mark)


async def runbook_verifies_and_closes(story: Story) -> None:
    healthy = await press(story, "Run check", what="Verify api is healthy again")
    expect("api is ok" in _text(healthy), f"the runbook's health check does not find api ok: {healthy.text!r}")
    await press(story, "Yes, it is back", what="Is api healthy again?")
    mark = story.mark()
    await press(story, "Post update", what="Recovered, monitoring")
    await story.until("the runbook finished", lambda: [m for m in story.since(mark) if "finished" in m.text])


# -- the same without runbooks: mentions and the health card's button

async def health_in_the_thread(story: Story) -> None:
    mark = story.mark()
    await story.type("@pitcrew health api")
    replies = story.since(mark, thread=True)
    expect(replies, "`@pitcrew health api` answered nothing in the thread")
    card = replies[-1]
    expect("down" in card.text.lower() and "503" in _text(card), f"the card does not show api down: {card.text!r}")
    story.health_card = card
    story.button(card, label="Roll back api")


async def propose_rollback(story: Story) -> None:
    assert story.health_card is not None
    mark = story.mark()
    await story.type(f"click {story.button(story.health_card, label='Roll back api')}")
    story.proposal = _proposal_since(story, mark)


def _proposal_since(story: Story, mark: int) -> SlackMessage:
    proposals = [
        m for m in story.since(mark, thread=True) if any(e.get("action_id") == "action.confirm" for _b, e in buttons(m))
    ]
    expect(proposals, "no rollback was proposed in the thread")
    expect(story.rollback_calls() == 0, "a rollback reached Railway before anyone confirmed")
    return proposals[-1]


async def status_update(story: Story) -> None:
    mark = story.mark()
    await story.type("@pitcrew update Rolled back api to the deployment of 2 days ago; it answers again. Watching.")
    await story.until(
        f"the update posted in #{UPDATES_CHANNEL}", lambda: story.since(mark, channel=UPDATES_CHANNEL)
    )


# -- both ways

async def logs_in_the_thread(story: Story) -> None:
    mark = story.mark()
    await story.type("@pitcrew logs api")
    replies = story.since(mark, thread=True)
    expect(replies, "`@pitcrew logs api` answered nothing in the thread")
    expect(any("listOrders" in _text(m) for m in replies), "the logs in the thread do not show the crash")
    for secret in SAMPLE_SECRET_VALUES:
        password = secret.split(":")[2].split("@")[0]
        expect(password not in story.slack.all_text(), "a database password from the logs reached Slack")


def variables_readable() -> bool:
    """Whether this pitcrew reads variables from a thread (its `@pitcrew vars` verb says so)."""
    from app.slack.mentions import VERBS

    return "vars" in VERBS


async def variables_in_the_thread(story: Story) -> None:
    mark = story.mark()
    await story.type("@pitcrew vars api")
    replies = story.since(mark, thread=True)
    expect(replies, "`@pitcrew vars api` answered nothing in the thread")
    shown = "\n".join(_text(m) for m in replies)
    expect("postgresql://***@postgres.railway.internal:5432/app" in shown,
           "the variables in the thread do not show DATABASE_URL's host without its credentials")
    expect("Shared variables" in shown, "the variables in the thread are not grouped by where they come from")
    for secret in (*SAMPLE_SECRET_VALUES, SAMPLE_JWT_SECRET):
        expect(secret not in story.slack.all_text(), "a variable's value reached Slack")


async def non_operator_refused(story: Story) -> None:
    assert story.proposal is not None
    confirm = story.button(story.proposal, action_id="action.confirm")
    mark = story.mark()
    await story.type(f"as {NON_OPERATOR}", f"click {confirm}", "y", f"as {DEMO_USER}")
    refusals = [m for m in story.since(mark) if m.ephemeral_to == NON_OPERATOR]
    expect(refusals, f"{NON_OPERATOR} (not an operator) was not told why the click did nothing")
    expect(story.rollback_calls() == 0, f"{NON_OPERATOR}'s click reached Railway")


async def operator_confirms(story: Story) -> None:
    assert story.proposal is not None
    await story.type(f"click {story.button(story.proposal, action_id='action.confirm')}", "y")
    await story.until("Railway's rollback", lambda: story.rollback_calls() >= 1)
    expect(story.rollback_calls() == 1, f"{story.rollback_calls()} rollbacks reached Railway for one confirmation")


async def verified(story: Story) -> None:
    assert story.proposal is not None
    proposal = story.proposal
    await story.until(
        "the rollback verified (the proposal's message saying so)",
        lambda: "verified" in proposal.text.lower() or "failed" in proposal.text.lower(),
    )
    expect("verified" in proposal.text.lower(), f"verification did not pass: {proposal.text!r}")
    expect(story.sandbox.api.sync(), "the sandbox api is still down after the rollback")


async def recovered(story: Story) -> None:
    await story.until(
        "UptimeRobot's Up alert", lambda: story.sandbox.monitor.sent[-1].state == "up", timeout_s=10
    )

    async def monitoring() -> bool:
        return (await story.view()).state == "monitoring"

    await story.until("the incident moved to monitoring on recovery", monitoring)


async def resolve_and_postmortem(story: Story) -> None:
    mark = story.mark()
    await story.type(
        "@pitcrew resolve A bug in /orders crashed api; rolled back to 2c4e6a8b, verified healthy."
    )
    view = await story.view()
    expect(view.state == "resolved", f"{view.ref} is {view.state} after `@pitcrew resolve`")
    drafts = await story.until(
        "the post-mortem draft in the thread",
        lambda: [m for m in story.since(mark, thread=True) if "post-mortem" in m.text.lower()],
    )
    expect("roll" in _text(drafts[0]).lower(), "the post-mortem draft does not mention the rollback")
    for what in ("action.confirm", "action.verify"):
        expect(what in _text(drafts[0]), f"the post-mortem draft's actions taken do not list {what} of the rollback")
    if runbooks_in_threads():
        expect("Runbook steps" in _text(drafts[0]), "the post-mortem draft does not list the runbook's steps")
    await story.until(
        f"the resolution in #{UPDATES_CHANNEL}",
        lambda: [m for m in story.since(mark, channel=UPDATES_CHANNEL) if "resolved" in m.text.lower()],
    )
    await story.type("leave")


async def status_page(story: Story) -> None:
    assert story.incident is not None
    url = f"{story.sandbox.app_url}/status.json"
    response = await story.sandbox.http.get(url)
    expect(response.status_code == 200, f"GET {url} answered {response.status_code}")
    shown = [i for i in response.json().get("incidents", []) if i.get("id") == story.incident.ref]
    expect(shown, f"{story.incident.ref} is not on the status page")
    expect(shown[0]["state"] == "resolved", f"the status page shows {story.incident.ref} as {shown[0]['state']}")
    expect(len(shown[0]["updates"]) >= 2, "the status page shows fewer than 2 public updates")
    story.session.write(
        f"(demo) GET {url}: {shown[0]['id']} {shown[0]['state']}, {len(shown[0]['updates'])} public updates"
    )


async def audit_intact(story: Story) -> None:
    verifier = ChainVerifier(story.deps.settings.audit_key())
    actions: list[str] = []
    async for entry in audit_store.entries(story.deps.sessions):
        verifier.add(entry)
        actions.append(entry.action)
    report = verifier.report()
    expect(report.ok, f"the audit trail is broken at entry #{report.broken_seq}: {report.reason}")
    for wanted in ("action.run", "action.verify"):
        expect(wanted in actions, f"no {wanted!r} entry in the audit trail")
    story.session.write(f"(demo) pitcrew audit verify: audit trail intact: {report.checked} entries verified")


async def debug_logging_for_two_minutes(story: Story) -> None:
    """`@pitcrew set api LOG_LEVEL`: the form takes the value and "revert after 2m"; an operator
    confirms; Railway sets it (and redeploys); the reminder then proposes `info` back."""
    if story.root is not None:
        await story.type("leave")
    mark = story.mark()
    await story.type("@pitcrew set api LOG_LEVEL")
    notes = await story.until(
        "the private button that opens the form",
        lambda: [m for m in story.since(mark) if any(e.get("action_id") == "variables.open_form"
                                                     for _b, e in buttons(m))],
    )
    mark = story.mark()
    await story.type(f"click {story.button(notes[-1], action_id='variables.open_form')}", "debug", "", "2m")
    proposals = await story.until(
        "the proposal to set LOG_LEVEL",
        lambda: [m for m in story.since(mark) if any(e.get("action_id") == "action.confirm" for _b, e in buttons(m))],
    )
    expect("fingerprint" in _text(proposals[-1]), "the proposal card shows no fingerprint")
    expect("debug" not in _text(proposals[-1]).replace("debug logging", ""), "the value reached the channel")
    await story.type(f"click {story.button(proposals[-1], action_id='action.confirm')}", "y")
    api = story.sandbox.railway.world.service("api")
    await story.until("LOG_LEVEL=debug on Railway", lambda: api.variables.get("LOG_LEVEL") == "debug")
    # The reminder is a job due in 2 minutes; the demo does not wait for them: it makes the job due now.
    await story.until("the revert reminder scheduled", lambda: _revert_job_due_now(story))
    story.session.write("(demo) 2 minutes later, as far as the reminder is concerned:")
    mark = story.mark()
    reverts = await story.until(
        "the revert reminder's proposal",
        lambda: [m for m in story.since(mark) if any(e.get("action_id") == "action.confirm" for _b, e in buttons(m))
                 and "LOG_LEVEL" in m.text],
    )
    await story.type(f"click {story.button(reverts[-1], action_id='action.confirm')}", "y")
    await story.until("LOG_LEVEL=info again on Railway", lambda: api.variables.get("LOG_LEVEL") == "info")
    # its verification watches api's next deployment: let it end before anything else redeploys api
    await story.until("the revert verified", lambda: "verified" in reverts[-1].text.lower())


def _jwt_secrets(story: Story) -> tuple[str, str]:
    """JWT_SECRET as the sandboxes hold it: Railway's shared one (api and worker reference it) and web's
    production entry on Vercel. Read by the script to compare fingerprints; never printed."""
    world = story.sandbox.railway.world
    api = world.service("api")
    shared = world.shared[(api.project_id, api.environment_id)]["JWT_SECRET"]
    return shared, story.sandbox.vercel.world.project("web").env["JWT_SECRET"]


async def rotate_jwt_secret(story: Story) -> None:
    """A scheduled rotation (seeds/001: every 90 days): an incident for it, the secret-rotation runbook,
    `@pitcrew rotate JWT_SECRET`. pitcrew makes the new value, sets the shared JWT_SECRET api and worker
    reference and redeploys api, then worker, then sets web's on Vercel and redeploys it (web depends on
    api): one confirmation each, by the operator, each verified before the next. Then the runbook's
    health check and its notify step (users may need to sign in again)."""
    from app.flows.variable_plans import fingerprint_of

    await story.type("leave")
    before = [fingerprint_of(story.deps, value) for value in _jwt_secrets(story)]
    old = _jwt_secrets(story)
    await story.type("/incident declare SEV4 Scheduled rotation of JWT_SECRET")

    async def declared() -> list[IncidentView]:
        return [v for v in await incident_views.list_open(story.deps) if "JWT_SECRET" in v.title and v.thread_ts]

    [incident] = await story.until("the rotation's incident with its thread", declared)
    root = story.slack.message(ALERTS_CHANNEL, incident.thread_ts or "")
    expect(root is not None, f"no root message of {incident.ref} in #{ALERTS_CHANNEL}")
    assert root is not None
    story.root, story.runbook_offer = root, None
    await story.type(f"thread {story.number(root)}", "@pitcrew runbook secret-rotation")
    await story.until("the secret-rotation runbook's first step", lambda: _current_step(story))
    await story.type("@pitcrew rotate JWT_SECRET")
    handled: set[str] = set()
    for service in ("api", "worker", "web"):
        proposals = await story.until(
            f"the rotation's proposal for {service}",
            lambda: [m for m in story.slack.messages_in_thread(root.ts) if m.ts not in handled
                     and any(e.get("action_id") == "action.confirm" for _b, e in buttons(m))],
        )
        card = proposals[0]
        handled.add(card.ts)
        expect(f" {service}" in card.text, f"the rotation proposed {card.text!r} where {service} was next")
        await story.type(f"click {story.button(card, action_id='action.confirm')}", "y")
        await story.until(
            f"{service} redeployed with the new JWT_SECRET and verified",
            lambda card=card: "verified" in card.text.lower() or "failed" in card.text.lower(),
        )
        expect("verified" in card.text.lower(), f"the rotation's change on {service} did not verify: {card.text!r}")
    await story.until(
        "the rotation's closing note", lambda: [m for m in story.since(0, thread=True) if "sign in again" in m.text]
    )
    await press(story, "Done", what="@pitcrew rotate")
    await press(story, "Run check on api", what="after the rotation")
    mark = story.mark()
    await press(story, "Post update", what="sign in again")
    await story.until("the runbook finished", lambda: [m for m in story.since(mark) if "finished" in m.text])
    after = [fingerprint_of(story.deps, value) for value in _jwt_secrets(story)]
    expect(after[0] == after[1], "api's (shared) JWT_SECRET and web's differ after the rotation")
    expect(None not in before + after and after[0] != before[0],
           "the fingerprint of JWT_SECRET did not change: nothing was rotated")
    world = story.sandbox.railway.world
    for service in ("api", "worker"):
        expect(world.current(service).variables.get("JWT_SECRET") == _jwt_secrets(story)[0],  # type: ignore[union-attr]
               f"{service}'s deployment serving now was not given the new JWT_SECRET")
    transcript = getattr(story.session.screen.out, "getvalue", lambda: "")()
    for value in (*old, *_jwt_secrets(story)):
        expect(value not in story.slack.all_text() and value not in transcript, "a JWT_SECRET reached the chat")
    story.session.write(f"(demo) JWT_SECRET's fingerprint: {before[0]} before, {after[0]} after; its value never shown")
    await story.type("leave")


async def _revert_job_due_now(story: Story) -> bool:
    from sqlalchemy import update

    from app.flows.variable_changes import REVERT_JOB
    from app.store.models import Job

    async with story.deps.sessions() as session, session.begin():
        moved = await session.execute(
            update(Job).where(Job.kind == REVERT_JOB, Job.status == "pending").values(run_at=story.deps.clock())
        )
    if moved.rowcount:
        story.deps.job_signal.notify()
    return bool(moved.rowcount)


async def deploy_watched(story: Story) -> None:
    """`demo deploy api`: Railway's webhook says the deploy succeeded, pitcrew's post-deploy watch posts its
    message; the deployment crashes, the watch's next look sees it regress, names the incident in the
    message (edited in place) and proposes the rollback in the incident's thread; the operator confirms,
    and the rollback's own deploy is watched in turn, to its healthy end."""
    if story.root is not None:
        await story.type("leave")
    world = story.sandbox.railway.world
    # The variable change's verification ends first (it would see the bad deploy as its own failure),
    # and Railway has told pitcrew of the deploys so far.
    await story.until("the actions so far verified", lambda: _no_action_under_way(story))
    await story.until("Railway's webhooks so far delivered", lambda: not world.webhook_outbox)
    mark = story.mark()
    await story.type("demo deploy api")
    bad = world.current("api")
    expect(bad is not None and bad.status == "CRASHED", "`demo deploy api` did not ship a deployment that crashes")
    assert bad is not None
    name = f"deploy {bad.id[:8]} of api"

    def watch_message() -> SlackMessage | None:
        found = [m for m in story.since(mark, channel=ALERTS_CHANNEL) if m.thread_ts is None and name in m.text]
        return found[0] if found else None

    watch = await story.until("the post-deploy watch's message in #" + ALERTS_CHANNEL, watch_message)
    await story.until("the watch seeing the deploy regress", lambda: watch.text.startswith("🔴"))
    expect("CRASHED" in watch.text and "incident INC-" in watch.text,
           f"the watch's message does not say why and which incident: {watch.text!r}")
    ref = watch.text.rsplit("incident ", 1)[1].split()[0]
    incident = next((v for v in await incident_views.list_open(story.deps) if v.ref == ref), None)
    expect(incident is not None and incident.thread_ts, f"{ref}, named by the watch, is not open with a thread")
    assert incident is not None
    expect(len([m for m in story.since(mark, channel=ALERTS_CHANNEL) if name in m.text and m.thread_ts is None]) == 1,
           "the watch posted more than one message (it should edit its one message in place)")

    def offered() -> list[SlackMessage]:
        return [m for m in story.slack.messages_in_thread(incident.thread_ts or "")
                if "Roll back api" in m.text and any(e.get("action_id") == "action.confirm" for _b, e in buttons(m))]

    proposal = (await story.until(f"the rollback proposed in {ref}'s thread", offered))[-1]
    rollbacks = story.rollback_calls()
    mark = story.mark()
    await story.type(f"click {story.button(proposal, action_id='action.confirm')}", "y")
    await story.until("Railway's rollback", lambda: story.rollback_calls() > rollbacks)
    rolled = world.current("api")
    assert rolled is not None
    expect(rolled.rollback_target not in (None, bad.id), "the rollback went back to the deployment that regressed")
    await story.until(
        "the rollback's deploy watched in turn",
        lambda: [m for m in story.since(mark, channel=ALERTS_CHANNEL) if f"deploy {rolled.id[:8]} of api" in m.text],
    )
    expect(watch.text.startswith("🔴"), f"the regressed watch's message changed: {watch.text!r}")
    followed = next(m for m in story.since(mark, channel=ALERTS_CHANNEL) if f"deploy {rolled.id[:8]} of api" in m.text)
    await story.until("the rollback's watch ending healthy", lambda: followed.text.startswith("✅"), timeout_s=40)


async def _no_action_under_way(story: Story) -> bool:
    """No proposal is running or waiting for its verification."""
    from sqlalchemy import func, select

    from app.store.models import ProposedAction

    async with story.deps.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(ProposedAction).where(ProposedAction.status.in_(("running", "accepted")))
        )
    return count == 0


def _without_runbooks() -> bool:
    return not runbooks_in_threads()


STEPS: Sequence[Step] = (
    Step("everything is healthy at first", healthy_at_first),
    Step("who is on call: now, next, and two weeks of hand-offs", who_is_on_call),
    Step("api crashes; UptimeRobot alerts; an incident thread opens and pages PagerDuty", api_breaks),
    Step("acknowledge and set the severity from the thread", acknowledge_and_assess),
    Step("the backend-down runbook is offered; Run posts its first update", runbook_offered_and_started,
         runbooks_in_threads),
    Step("the runbook's checks: health, deployment, top errors", runbook_checks, runbooks_in_threads),
    Step("the runbook's metrics: CPU, memory, and the memory curve charted in the thread",
         runbook_charts_the_memory, runbooks_in_threads),
    Step("check api's health from the thread", health_in_the_thread, _without_runbooks),
    Step("read api's logs from the thread, secrets masked", logs_in_the_thread),
    Step("list api's variables from the thread, values never shown", variables_in_the_thread, variables_readable),
    Step("the runbook: a recent bad deploy, so it proposes a rollback", runbook_leads_to_a_rollback,
         runbooks_in_threads),
    Step("propose a rollback from the health card", propose_rollback, _without_runbooks),
    Step("someone who is not an operator cannot confirm it", non_operator_refused),
    Step("the operator confirms; Railway rolls back once", operator_confirms),
    Step("pitcrew verifies the rollback", verified),
    Step("UptimeRobot sees api up; the incident is monitoring", recovered),
    Step("the runbook checks health again and posts “Recovered, monitoring”", runbook_verifies_and_closes,
         runbooks_in_threads),
    Step("post a status update for stakeholders", status_update, _without_runbooks),
    Step("resolve; the post-mortem draft follows", resolve_and_postmortem),
    Step("the status page shows the incident", status_page),
    Step("debug logging on api for 2 minutes; the reminder proposes it back", debug_logging_for_two_minutes),
    Step("rotate JWT_SECRET: shared by api and worker, copied on web; backend first, each verified",
         rotate_jwt_secret, runbooks_in_threads),
    Step("a bad deploy of api: the post-deploy watch sees it regress and proposes the rollback", deploy_watched),
    Step("the audit trail is intact", audit_intact),
)


def story_steps() -> list[Step]:
    """The steps this build of pitcrew can play (a capability not built yet is left out, not failed)."""
    return [step for step in STEPS if step.when()]


async def play_story(session: ConsoleSession, sandbox: DemoSandbox) -> int:
    """Play every step; 0 when all behaved, 1 (after saying which step and why) when one did not."""
    story = Story(session, sandbox)
    started = time.monotonic()
    steps = story_steps()
    await session.run([])  # the console's greeting, before the first step
    for index, step in enumerate(steps, start=1):
        session.write(f"\n# {index}/{len(steps)} {step.title}")
        try:
            await step.run(story)
        except StoryFailed as failure:
            session.write(f"\ndemo script FAILED at step {index} ({step.title}): {failure}")
            return 1
        except Exception as err:  # a bug in the story or in pitcrew: one line, not a traceback
            session.write(f"\ndemo script FAILED at step {index} ({step.title}): {type(err).__name__}: {err}")
            return 1
    session.write(f"\ndemo script: all {len(steps)} steps behaved in {time.monotonic() - started:.0f} s")
    return 0
