"""What the runbook flows hand to the edges: result objects, the errors they raise, and the one
protocol through which they post (Slack implements it in app/slack/runbook_notifier.py).

A step's message is drawn from a `StepCard` alone, so any instance can draw it again later (after a
restart, when a proposal it made is confirmed) from what the database holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from app.core.metrics import MetricsChart
from app.core.runbook_machine import StepOutcome
from app.core.runbooks import RUNBOOK_NAME, Step

if TYPE_CHECKING:
    from app.deps import Deps
    from app.flows.action_ports import ProposalNotifier
    from app.flows.incident_notifier import IncidentNotifier


# ---- errors: each says what happened, for the person who clicked ------------------------------


class RunbookError(Exception):
    """Nothing was done; `reason` says why, fit to show to the person who asked.

    A reason that names a person says `{who}` where the person goes, and `who` is their Slack id:
    each edge writes them its own way (a mention in Slack, the id on the console).
    """

    def __init__(self, reason: str, *, who: str | None = None) -> None:
        self.reason = reason
        self.who = who
        super().__init__(reason)

    def __str__(self) -> str:
        return self.reason.replace("{who}", self.who or "someone")


class ValueNeeded(RunbookError):
    """A `set_variable` step without `value:`: the value must be typed in a form before it is proposed.
    `service` is the step's target, `name` the variable; the edge offers the form and submits the
    value back to `run_step` (`extra`)."""

    def __init__(self, service: str, name: str, fixed: tuple[str, ...] = ()) -> None:
        self.service = service
        self.name = name
        self.fixed = fixed  # what the step itself says (redeploy, revert_after): the form does not ask it
        super().__init__(f"{name} on {service} needs its value: type it in the form")


class UnknownRun(RunbookError):
    def __init__(self, run_id: object) -> None:
        super().__init__(f"runbook run {str(run_id)[:20]} is not known here")


class StepBusy(RunbookError):
    """Someone is running the step now, or its action waits for an operator: a second click does nothing."""


class StaleClick(RunbookError):
    """A click on a step that is not the current one any more (two people at once, an old message)."""


class NotAnIncidentThread(RunbookError):
    """Runbooks run in an incident's thread: they fill in its service, post on its timeline."""


# ---- what the edges show -----------------------------------------------------------------------


@dataclass(frozen=True)
class OfferedRunbook:
    name: str
    title: str
    description: str
    bound: bool  # named for the incident's service in pitcrew.yml (`runbooks:`), not only matched


@dataclass(frozen=True)
class Offer:
    """The runbooks suggested for an incident, to be offered in its thread with a Run button each."""

    incident_id: int
    incident_ref: str
    channel: str
    thread_ts: str
    runbooks: tuple[OfferedRunbook, ...]


StepStatus = Literal["open", "running", "waiting", "ended"]


@dataclass(frozen=True)
class StepCard:
    """One step as its message shows it.

    `step` has its templates filled. `status`: open (its buttons act), running (a check or an
    update under way), waiting (its action was proposed; an operator must confirm it), ended (its
    outcome is `outcome`). `targets` are the services to choose from when the step's service is not
    known (one Run button per service); `target` the service it works on when it is. `detail` holds
    what a check found, line by line; `note` a sentence about the last attempt (a failure, a
    cancelled proposal), shown while the step is still open.
    """

    run_id: int
    runbook: str
    runbook_title: str
    incident_ref: str
    channel: str
    thread_ts: str
    step: Step
    number: int
    position: int
    status: StepStatus
    target: str | None = None
    targets: tuple[str, ...] = ()
    outcome: StepOutcome | None = None
    detail: tuple[str, ...] = ()
    note: str | None = None
    actor: str | None = None  # who is running it (running), or who proposed it (waiting)

    def button_value(self, service: str | None = None) -> str:
        return step_value(self.run_id, self.step.id, self.position, service)


@dataclass(frozen=True)
class RunEnded:
    """A run reached its end: the note posted in the thread."""

    run_id: int
    runbook: str
    runbook_title: str
    incident_ref: str
    channel: str
    thread_ts: str
    history: tuple[StepOutcome, ...]


@dataclass(frozen=True)
class StepTaken:
    step_id: str
    title: str
    outcome: str
    summary: str
    by: str | None


@dataclass(frozen=True)
class RunProgress:
    """Where one run stands, for `/incident <id>`."""

    run_id: int
    runbook: str
    title: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    current: str | None  # the current step's title
    current_status: StepStatus | None
    steps: tuple[StepTaken, ...]


@dataclass(frozen=True)
class RunStarted:
    run_id: int
    runbook: str
    title: str
    incident_ref: str
    first: StepCard  # the step posted: the first one, or where a resumed run stands
    resumed: bool = False


@dataclass(frozen=True)
class ClickDone:
    """What a click did, in a few words for the audit trail (the thread shows the rest to everyone)."""

    what: str


# ---- where the flows post ----------------------------------------------------------------------


class RunbookNotifier(Protocol):
    """How runbook steps reach people: one message per step in the incident's thread, edited in place.

    `proposals` and `incidents` are the notifiers of the actions and incident flows, which an action
    step (a proposal) and a notify step (a status update) go through.
    """

    @property
    def proposals(self) -> ProposalNotifier: ...

    @property
    def incidents(self) -> IncidentNotifier: ...

    async def post_offer(self, offer: Offer) -> str:
        """Post the offer in the incident's thread; its message ts."""
        ...

    async def post_step(self, card: StepCard) -> str:
        """Post the step in its thread (`card.channel`, `card.thread_ts`); its message ts."""
        ...

    async def update_step(self, card: StepCard, ts: str) -> None:
        """Edit the step's message `ts` to show the card as it is now."""
        ...

    async def post_ended(self, ended: RunEnded) -> None:
        """Say in the thread that the run is over, and what was done."""
        ...

    async def post_chart(self, channel: str, thread_ts: str, chart: MetricsChart) -> None:
        """Upload a check's chart (`check: metrics`) in the thread; raises when the chat refused it."""
        ...


NotifierFactory = Callable[["Deps"], RunbookNotifier]
_factory: NotifierFactory | None = None


def use_runbook_notifier(factory: NotifierFactory) -> None:
    """How work outside a click (a proposal confirmed, an alert's job) reaches the chat; the edge sets it."""
    global _factory
    _factory = factory


def runbook_notifier_for(deps: Deps) -> RunbookNotifier:
    if _factory is None:
        raise RunbookError("no chat is connected to post runbook steps in")
    return _factory(deps)


# ---- button values ----------------------------------------------------------------------------

_STEP_VALUE = re.compile(r"^(\d{1,18})/([a-z0-9][a-z0-9_-]{0,62})/(\d{1,6})(?:/([a-z0-9][a-z0-9_-]{0,62}))?$")


@dataclass(frozen=True)
class StepRef:
    """What a step's button carries: the run, the step, the run's position when it was drawn, a service."""

    run_id: int
    step_id: str
    position: int
    service: str | None = None


def step_value(run_id: int, step_id: str, position: int, service: str | None = None) -> str:
    return f"{run_id}/{step_id}/{position}" + (f"/{service}" if service else "")


def parse_step_value(value: str) -> StepRef | None:
    """The StepRef of a step button's value; None for anything else (an offer's runbook name, a forgery)."""
    match = _STEP_VALUE.match(value or "")
    if match is None:
        return None
    run_id, step_id, position, service = match.groups()
    return StepRef(int(run_id), step_id, int(position), service)


def is_runbook_name(value: str) -> bool:
    """An offer's Run button carries the runbook's name (no `/`, unlike a step's)."""
    return bool(RUNBOOK_NAME.match(value or ""))
