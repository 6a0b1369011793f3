"""A run of a runbook as the flows handle it, and recording a step's outcome.

`Run` is a stored run with its runbook and incident; `load_run` reads one back (the database is the
only memory). Before a click acts, `expect_current` checks with the core's step machine that the
clicked step is the current one at the position its button was drawn at, and `busy_reason` that no
proposal or other person holds it; `lost_race` says why a compare-and-set on the run's version
(app/store/runbook_runs.py) found it changed. `record_outcome` is the one way a step ends: it
advances the step machine, stores the new state with a compare-and-set, puts the outcome on the
incident's timeline (`runbook.step`) and in the audit trail, edits the step's message and posts the
next step or says the run ended. Every step kind ends through it; what each kind does when run is
app/flows/runbooks.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.core.incidents import IncidentView
from app.core.runbook_machine import StepOutcome, advance
from app.core.runbooks import (
    ActionStep,
    CheckStep,
    IncidentFields,
    Outcome,
    Runbook,
    Step,
    UnknownRunbook,
    UnknownStep,
    render,
    render_step,
)
from app.flows import incident_timeline, incident_views
from app.flows.runbook_offers import fields_of, runbooks_of
from app.flows.runbook_probes import choose_target
from app.flows.runbook_views import (
    RunbookError,
    RunbookNotifier,
    RunEnded,
    StaleClick,
    StepBusy,
    StepCard,
    StepStatus,
    UnknownRun,
)
from app.store import runbook_runs as store
from app.store.runbook_runs import RunRecord

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.runbooks")

BUSY_STALE = timedelta(minutes=2)  # a claim older than this was left by an instance that stopped mid-step
AUDIT_TEXT_MAX = 250
OUTCOME_WORDS: Mapping[str, str] = {
    "done": "done", "skipped": "skipped", "ran": "ran", "chosen": "answered", "failed": "failed",
}


@dataclass(frozen=True)
class Run:
    """A run with what it needs to be shown: its runbook and its incident."""

    record: RunRecord
    runbook: Runbook
    incident: IncidentView

    @property
    def fields(self) -> IncidentFields:
        return fields_of(self.incident)

    @property
    def title(self) -> str:
        return render(self.runbook.title, self.fields)

    @property
    def ref(self) -> str:
        return f"{self.incident.ref}/{self.runbook.name}"

    def rendered(self, step_id: str, record: RunRecord | None = None) -> Step:
        state = (record or self.record).state
        return render_step(self.runbook.step(step_id), self.fields, state.summaries())

    def at(self, record: RunRecord) -> Run:
        return Run(record, self.runbook, self.incident)


async def load_run(deps: Deps, run_id: int) -> Run:
    record = await store.get(deps.sessions, run_id)
    if record is None:
        raise UnknownRun(run_id)
    try:
        runbook = (await runbooks_of(deps)).get(record.runbook)
    except UnknownRunbook:
        raise RunbookError(
            f"runbook {record.runbook} is no longer loaded (was it removed from runbooks_dir?)"
        ) from None
    return Run(record, runbook, await incident_views.load(deps, record.incident_id))


def expect_current(run: Run, step_id: str, position: int | None) -> Step:
    """The clicked step, rendered, if it is the current one at the position its button was drawn at."""
    state = run.record.state
    if state.finished or state.current != step_id or (position is not None and position != state.position):
        raise stale_click(run, run.record, step_id)
    try:
        return run.rendered(step_id)
    except UnknownStep as err:
        raise RunbookError(str(err)) from None


def stale_click(run: Run, record: RunRecord, step_id: str) -> StaleClick:
    """Why a click on `step_id` does nothing: it was handled (by whom, how), or the run moved on."""
    state = record.state
    last = next((e for e in reversed(state.history) if e.step_id == step_id), None)
    handled = "This step was already handled"
    if last is not None:
        handled += f" ({OUTCOME_WORDS[last.outcome]}" + (" by {who})" if last.by else ")")
    if state.finished:
        where = "the runbook has finished"
    elif state.current is not None:
        where = f"the run is at “{run.at(record).rendered(state.current).title}”"
    else:
        where = "the run moved on"
    return StaleClick(f"{handled}; {where}. Nothing was done.", who=last.by if last is not None else None)


def busy_reason(record: RunRecord, now: datetime) -> StepBusy | None:
    """Why the current step cannot be clicked now: its proposal waits, or someone is running it."""
    if record.proposal_id:
        return StepBusy(
            "This step's action was proposed and waits for an operator: confirm or cancel it on the proposal "
            "in the thread (cancelling it lets you run the step again or skip it)."
        )
    if record.busy_step and record.busy_since and now - record.busy_since < BUSY_STALE:
        return StepBusy("{who} is running this step now; its result will show in the thread.", who=record.busy_by)
    return None


def lost_race(run: Run, record: RunRecord | None, step_id: str, now: datetime) -> RunbookError:
    """Why a compare-and-set found the run changed: someone is on the step, or it was handled."""
    if record is None:
        return UnknownRun(run.record.id)
    return busy_reason(record, now) or stale_click(run, record, step_id)


# ---- recording an outcome and moving on --------------------------------------------------------


async def record_outcome(
    deps: Deps, notifier: RunbookNotifier, run: Run, step: Step, outcome: Outcome, *, by: str | None,
    summary: str | None, ts: str | None, detail: tuple[str, ...] = (), choice_index: int | None = None,
) -> StepOutcome:
    """Advance the step machine and store it (compare-and-set), then show it: the step's message edited
    with its outcome, the timeline and the audit trail, and the next step posted (or the end said)."""
    record = run.record
    new = advance(
        run.runbook, record.state, step.id, outcome, choice_index=choice_index, summary=summary, by=by,
        expected_position=record.state.position,
    )
    moved = await store.record_state(deps.sessions, record.id, version=record.version, state=new, now=deps.clock())
    if not moved.won or moved.record is None:
        raise lost_race(run, moved.record, step.id, deps.clock())
    after = run.at(moved.record)
    entry = new.history[-1]
    await _note(deps, after, step, entry)  # recorded before it is shown: what people see is on the record
    if outcome == "failed":
        card = step_card(deps, after, after.rendered(step.id), status="open", detail=detail,
                     note=f"Failed: {entry.summary}. Run it again, or skip it.")
    else:
        card = step_card(deps, after, step, status="ended", outcome=entry, detail=detail,
                         number=record.state.position + 1)
    await show_card(notifier.update_step, card, ts)
    if new.finished:
        await _ended(deps, notifier, after)
    elif outcome != "failed":
        await post_current(deps, notifier, after)
    return entry


async def post_current(deps: Deps, notifier: RunbookNotifier, run: Run) -> StepCard | None:
    """Post the run's current step as a new message in the thread, and remember that message."""
    current = run.record.state.current
    if current is None:
        return None
    card = step_card(deps, run, run.rendered(current), status="open")
    ts = await notifier.post_step(card)
    await store.attach_message(deps.sessions, run.record.id, version=run.record.version, ts=ts, now=deps.clock())
    return card


async def _ended(deps: Deps, notifier: RunbookNotifier, run: Run) -> None:
    history = run.record.state.history
    counts = ", ".join(
        f"{sum(1 for e in history if e.outcome == outcome)} {word}" for outcome, word in OUTCOME_WORDS.items()
        if any(e.outcome == outcome for e in history)
    )
    await incident_timeline.record_event(
        deps, run.incident.id, kind="runbook.finish", text=f"Runbook finished: {run.title} ({counts})",
        data={"run_id": run.record.id, "runbook": run.runbook.name},
    )
    await audit_run(deps, run, history[-1].by if history else None, "runbook.finish", {}, f"finished: {counts}")
    ended = RunEnded(run.record.id, run.runbook.name, run.title, run.incident.ref, run.record.channel or "",
                     run.record.thread_ts or "", history)
    try:
        await notifier.post_ended(ended)
    except Exception:
        log.exception("could not say that run %s ended", run.record.id)


def step_card(
    deps: Deps, run: Run, step: Step, *, status: StepStatus, outcome: StepOutcome | None = None,
    detail: tuple[str, ...] = (), note: str | None = None, actor: str | None = None, number: int | None = None,
) -> StepCard:
    record = run.record
    target, targets = (None, ())
    if isinstance(step, CheckStep | ActionStep):
        target, targets = choose_target(deps, step, run.incident.service)
    return StepCard(
        run_id=record.id, runbook=run.runbook.name, runbook_title=run.title, incident_ref=run.incident.ref,
        channel=record.channel or "", thread_ts=record.thread_ts or "", step=step,
        number=number if number is not None else record.state.position + 1, position=record.state.position,
        status=status, target=target, targets=targets, outcome=outcome, detail=detail, note=note, actor=actor,
    )


async def show_card(update: Callable[[StepCard, str], Awaitable[None]], card: StepCard, ts: str | None) -> None:
    """Edit a step's message; a chat failure never undoes or hides what was recorded."""
    if not ts:
        return
    try:
        await update(card, ts)
    except Exception:
        log.exception("could not edit the message of step %s of run %s", card.step.id, card.run_id)


async def _note(deps: Deps, run: Run, step: Step, entry: StepOutcome) -> None:
    """The outcome on the incident's timeline and in the audit trail."""
    said = OUTCOME_WORDS[entry.outcome]
    if entry.choice:
        said += f" “{entry.choice}”"
    elif entry.summary and entry.summary != said:
        said += f": {entry.summary}"
    await incident_timeline.record_event(
        deps, run.incident.id, kind="runbook.step", actor=entry.by, text=f"{run.title} › {step.title}: {said}",
        data={"run_id": run.record.id, "runbook": run.runbook.name, "step": entry.step_id, "outcome": entry.outcome},
    )
    await audit_run(deps, run, entry.by, "runbook.step",
                 {"step": entry.step_id, "outcome": entry.outcome, "summary": entry.summary[:AUDIT_TEXT_MAX]},
                 f"{entry.step_id}: {said}")


async def audit_run(deps: Deps, run: Run, actor: str | None, action: str, params: Mapping[str, Any], said: str) -> None:
    await deps.audit(
        actor=actor or "pitcrew", action=action, target=run.ref,
        params={"run_id": run.record.id, "runbook": run.runbook.name, **params}, outcome=said[:AUDIT_TEXT_MAX],
    )


