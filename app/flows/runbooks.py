"""Walking a runbook in an incident's thread: starting it, and every click on its steps.

Started by a click on an offer (app/flows/runbook_offers.py) or `@pitcrew runbook <name>`, a run is
walked one step at a time. The shape of every click: read the run (the database is the only memory),
check that the clicked step is the current one at the position the button was drawn at, decide,
then write back with a compare-and-set on the run's version (app/flows/runbook_outcomes.py). Of two
clicks on one step, one writes and the other is told who was first; a check or an action is first
*claimed* that way, so that its probe or its proposal happens once. A restart of pitcrew loses
nothing: the next click, on any instance, reads the run where it was.

What a step does when its main button is pressed is the `match` of `run_step`, one case per step
kind: this is where a new kind of step is executed (declared in app/core/runbooks.py, read from
YAML in app/core/runbook_steps.py). Today:
- check: runs the probe (a new probe is a case of `run_check` in app/flows/runbook_probes.py) and
  shows what it found;
- action: proposes the action through app/flows/actions.py, in the incident's thread, for the
  incident; the step then waits for the proposal's outcome (app/flows/runbook_settle.py);
- notify: posts the filled-in template as a status update through the incidents flow (thread,
  updates channel, status page, timeline);
- say: waits for Done or Skip; choose: the answer's button leads on (`mark_done`, `skip_step`,
  `choose`).
Each outcome goes on the incident's timeline (`runbook.step`) and in the audit trail; the
post-mortem draft lists the timeline's runbook steps. `progress` is every run of an incident.

Flows never import Slack: they post through `RunbookNotifier` (app/flows/runbook_views.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.core.actions import ProposalStatus
from app.core.incidents import IncidentClosed, IncidentError
from app.core.metrics import MetricsChart
from app.core.runbook_machine import InvalidOutcome, StaleStep, start
from app.core.runbooks import (
    ActionStep,
    CheckStep,
    ChooseStep,
    NotifyStep,
    Outcome,
    Runbook,
    RunbookSet,
    SayStep,
    Step,
    UnknownRunbook,
    UnknownStep,
    render,
)
from app.flows import incident_timeline, incident_views, incidents
from app.flows.actions import ActionError, Asked, Where, get_proposal, propose
from app.flows.runbook_offers import fields_of, runbooks_of
from app.flows.runbook_outcomes import (
    AUDIT_TEXT_MAX,
    Run,
    audit_run,
    busy_reason,
    expect_current,
    load_run,
    lost_race,
    post_current,
    record_outcome,
    show_card,
    step_card,
)
from app.flows.runbook_probes import choose_target, run_check
from app.flows.runbook_settle import proposal_settled
from app.flows.runbook_views import (
    ClickDone,
    RunbookError,
    RunbookNotifier,
    RunProgress,
    RunStarted,
    StaleClick,
    StepBusy,
    StepStatus,
    StepTaken,
    UnknownRun,
    ValueNeeded,
    runbook_notifier_for,
)
from app.store import runbook_runs as store
from app.store.runbook_runs import RunActive, RunRecord

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.runbooks")
_ASKED = ("value", "redeploy", "revert_after", "targets")  # what a form may add to a value-less set_variable


# ---- starting ------------------------------------------------------------------------------------


async def start_runbook(
    deps: Deps, incident_id: int, name: str, *, by: str, notifier: RunbookNotifier | None = None,
    resume: bool = False,
) -> RunStarted:
    """Start `name` in the incident's thread and post its first step.

    When the runbook is running already in this incident: with `resume`, its current step is posted
    again at the bottom of the thread (how `@pitcrew runbook <name>` finds a run back in a long thread);
    without, RunbookError says so (a second click on an offer's Run). Raises UnknownRunbook (naming
    the known ones), IncidentClosed, RunbookError (no thread yet).
    """
    notifier = notifier or runbook_notifier_for(deps)
    runbook = (await runbooks_of(deps)).get(name.strip().lower())
    incident = await incident_views.load(deps, incident_id)
    if not incident.is_open:
        raise IncidentClosed(incident_id, f"start runbook {runbook.name}")
    if not incident.channel or not incident.thread_ts:
        raise RunbookError(f"{incident.ref} has no thread yet; try again in a moment")
    try:
        record = await store.create(
            deps.sessions, incident_id=incident_id, runbook=runbook.name, state=start(runbook),
            channel=incident.channel, thread_ts=incident.thread_ts, started_by=by, now=deps.clock(),
        )
    except RunActive as err:
        if resume and err.existing is not None:
            return await _resume(deps, notifier, err.existing.id)
        at = ""
        if err.existing is not None and err.existing.state.current:
            current = runbook.step(err.existing.state.current)
            at = f": it is at “{render(current.title, fields_of(incident), err.existing.state.summaries())}”"
        raise RunbookError(f"{runbook.name} is already running in {incident.ref}{at} (see the thread)") from None
    run = Run(record, runbook, incident)
    await incident_timeline.record_event(
        deps, incident_id, kind="runbook.start", actor=by, text=f"Runbook started: {run.title} ({runbook.name})",
        data={"run_id": record.id, "runbook": runbook.name},
    )
    await audit_run(deps, run, by, "runbook.start", {}, "started")
    card = await post_current(deps, notifier, run)
    assert card is not None  # a new run always has a first step
    return RunStarted(record.id, runbook.name, run.title, incident.ref, card)


async def _resume(deps: Deps, notifier: RunbookNotifier, run_id: int) -> RunStarted:
    run = await load_run(deps, run_id)
    busy = busy_reason(run.record, deps.clock())
    if busy is not None:
        raise busy
    card = await post_current(deps, notifier, run)
    if card is None:
        raise RunbookError(f"{run.runbook.name} has just finished in {run.incident.ref}")
    return RunStarted(run.record.id, run.runbook.name, run.title, run.incident.ref, card, resumed=True)


async def update_posted_by(deps: Deps, run_id: int, step_id: str) -> str | None:
    """The ref of the incident whose status update running this step would post (a responder's word,
    app/core/responders.py), or None when the step posts none or cannot be found (run_step says why)."""
    try:
        run = await load_run(deps, run_id)
        step = run.rendered(step_id)
    except (RunbookError, UnknownStep, IncidentError):
        return None
    return run.incident.ref if isinstance(step, NotifyStep) else None


async def variables_read_by(deps: Deps, run_id: int, step_id: str) -> str | None:
    """The ref of the incident whose runbook step this is when running it reads a service's variables
    (`check: variables`: responders only, as `@pitcrew vars`), else None."""
    try:
        run = await load_run(deps, run_id)
        step = run.rendered(step_id)
    except (RunbookError, UnknownStep, IncidentError):
        return None
    return run.incident.ref if isinstance(step, CheckStep) and step.probe == "variables" else None


async def run_step(
    deps: Deps, run_id: int, step_id: str, *, by: str, position: int | None = None, service: str | None = None,
    message_ts: str | None = None, notifier: RunbookNotifier | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ClickDone:
    """The step's main button: run a check, propose an action, post an update.

    `position` is what the button carried (a click from an older message is refused), `service` the
    service chosen when the step asked which one, `message_ts` the message clicked (edited with the outcome).
    `extra`: what a form added to a `set_variable` step written without `value:` (the value, redeploy,
    revert_after, targets); without it such a step raises ValueNeeded and nothing is claimed.
    """
    notifier = notifier or runbook_notifier_for(deps)
    run = await load_run(deps, run_id)
    step = expect_current(run, step_id, position)
    if isinstance(step, SayStep | ChooseStep):
        raise InvalidOutcome("this step has no Run button: press Done or Skip" if isinstance(step, SayStep)
                             else "answer the question with one of its buttons")
    busy = busy_reason(run.record, deps.clock())
    if busy is not None:
        raise busy
    target = None
    if isinstance(step, CheckStep | ActionStep):
        target = _target(deps, run, step, service)
    if isinstance(step, ActionStep) and step.action == "set_variable" and "value" not in step.params:
        asked = {k: v for k, v in (extra or {}).items() if k in _ASKED and v is not None}
        if "value" not in asked:
            fixed = tuple(k for k in ("redeploy", "revert_after") if k in step.params)
            raise ValueNeeded(str(target), str(step.params.get("name")), fixed)
        step = replace(step, params={**asked, **step.params})  # what the runbook says wins over the form
    claimed = await store.claim(deps.sessions, run_id, version=run.record.version, step_id=step_id, by=by,
                                now=deps.clock())
    if not claimed.won or claimed.record is None:
        raise lost_race(run, claimed.record, step_id, deps.clock())
    run = run.at(claimed.record)
    ts = message_ts or run.record.message_ts
    await show_card(notifier.update_step, step_card(deps, run, step, status="running", actor=by), ts)
    try:
        match step:
            case CheckStep():
                assert target is not None
                result = await run_check(deps, step, target)
                outcome: Outcome = "ran" if result.ran else "failed"
                detail = result.detail
                if result.chart is not None:
                    detail = (*detail, await _post_chart(notifier, run, result.chart))
                await record_outcome(deps, notifier, run, step, outcome, by=by, summary=result.summary,
                                      detail=detail, ts=ts)
                return ClickDone(f"{step.id} {outcome}: {result.summary}"[:AUDIT_TEXT_MAX])
            case NotifyStep():
                return await _post_update(deps, notifier, run, step, by=by, ts=ts)
            case ActionStep():
                assert target is not None
                return await _propose(deps, notifier, run, step, target, by=by, ts=ts)
        raise InvalidOutcome(f"a {step.kind} step cannot be run")
    except Exception:
        await _let_go(deps, notifier, run, step, ts)
        raise


async def _post_chart(notifier: RunbookNotifier, run: Run, chart: MetricsChart) -> str:
    """Upload the check's chart in the thread; a refused upload costs the chart, never the check's result."""
    try:
        await notifier.post_chart(run.record.channel or "", run.record.thread_ts or "", chart)
    except Exception as err:
        log.warning("chart of %s not uploaded: %s", chart.service, type(err).__name__)
        return f"📈 chart not uploaded: {type(err).__name__}"
    return f"📈 chart of the last hour: {chart.filename}, in this thread"


async def _let_go(deps: Deps, notifier: RunbookNotifier, run: Run, step: Step, ts: str | None) -> None:
    """A step that broke half way (a bug, the database or Slack away) is freed at once, not after BUSY_STALE.

    Conditional on the claim's version: when the outcome was recorded before the failure, nothing changes.
    """
    try:
        moved = await store.release(deps.sessions, run.record.id, version=run.record.version, now=deps.clock())
        if moved.won and moved.record is not None:
            note = "Something went wrong while running this step. Run it again, or skip it."
            card = step_card(deps, run.at(moved.record), step, status="open", note=note)
            await show_card(notifier.update_step, card, ts)
    except Exception:
        log.exception("could not free step %s of run %s", step.id, run.record.id)


def _target(deps: Deps, run: Run, step: CheckStep | ActionStep, chosen: str | None) -> str:
    target, choices = choose_target(deps, step, run.incident.service)
    if target is not None:
        if chosen is not None and chosen != target:
            raise RunbookError(f"this step works on {target}, not {chosen}")
        return target
    if chosen is not None and chosen in choices:
        return chosen
    if not choices:
        raise RunbookError(
            f"no service in pitcrew.yml can {step.title[:1].lower() + step.title[1:]}: name one with `service:` "
            "in the runbook"
        )
    raise RunbookError(f"which service? press the button of one of: {', '.join(choices)}")


async def _post_update(
    deps: Deps, notifier: RunbookNotifier, run: Run, step: NotifyStep, *, by: str, ts: str | None
) -> ClickDone:
    try:
        await incidents.post_update(deps, notifier.incidents, run.incident.id, step.template, by=by)
    except IncidentError as err:
        summary = str(err)
        await record_outcome(deps, notifier, run, step, "failed", by=by, summary=summary, ts=ts)
        return ClickDone(f"{step.id} failed: {summary}"[:AUDIT_TEXT_MAX])
    await record_outcome(deps, notifier, run, step, "ran", by=by, summary="posted", ts=ts)
    return ClickDone(f"{step.id} posted")


async def _propose(
    deps: Deps, notifier: RunbookNotifier, run: Run, step: ActionStep, target: str, *, by: str, ts: str | None
) -> ClickDone:
    """Propose the action in the incident's thread; the step then waits for the proposal's outcome."""
    where = Where(run.record.channel or run.incident.channel or "", run.record.thread_ts or run.incident.thread_ts)
    try:
        asked = Asked(by, where, notifier.proposals, run.incident.id)
        proposal = await propose(deps, step.action, target, dict(step.params), asked=asked)
    except ActionError as err:
        await record_outcome(deps, notifier, run, step, "failed", by=by, summary=err.reason, ts=ts)
        return ClickDone(f"{step.id} not proposed: {err.reason}"[:AUDIT_TEXT_MAX])
    moved = await store.wait_for_proposal(
        deps.sessions, run.record.id, version=run.record.version, proposal_id=proposal.id, now=deps.clock()
    )
    if not moved.won or moved.record is None:  # only after a claim went stale: the proposal stands alone
        log.warning("run %s moved while proposing %s; the proposal is not tied to it", run.record.id, proposal.id)
        return ClickDone(f"{step.id} proposed {proposal.id} (not tied to the run)")
    run = run.at(moved.record)
    await incident_timeline.record_event(
        deps, run.incident.id, kind="runbook.step", actor=by,
        text=f"{run.title} › {step.title}: proposed ({proposal.description}); waiting for an operator",
        data={"run_id": run.record.id, "step": step.id, "proposal_id": proposal.id},
    )
    await audit_run(deps, run, by, "runbook.propose", {"step": step.id, "proposal_id": proposal.id},
                 f"proposed: {proposal.description}")
    await show_card(notifier.update_step, step_card(deps, run, step, status="waiting", actor=by), ts)
    settled = await get_proposal(deps, proposal.id)  # confirmed before the run knew of it: act on it now
    if settled is not None and settled.status not in (ProposalStatus.PROPOSED, ProposalStatus.RUNNING):
        await proposal_settled(deps, settled)
    return ClickDone(f"{step.id} proposed: {proposal.description}"[:AUDIT_TEXT_MAX])


async def skip_step(
    deps: Deps, run_id: int, step_id: str, *, by: str, position: int | None = None, message_ts: str | None = None,
    notifier: RunbookNotifier | None = None,
) -> ClickDone:
    """Skip the current step (a question cannot be skipped: its answers are the ways on)."""
    return await _decide(deps, run_id, step_id, "skipped", by=by, position=position, message_ts=message_ts,
                         notifier=notifier)


async def mark_done(
    deps: Deps, run_id: int, step_id: str, *, by: str, position: int | None = None, message_ts: str | None = None,
    notifier: RunbookNotifier | None = None,
) -> ClickDone:
    """A person did what a `say` step asked."""
    return await _decide(deps, run_id, step_id, "done", by=by, position=position, message_ts=message_ts,
                         notifier=notifier)


async def choose(
    deps: Deps, run_id: int, step_id: str, index: int, *, by: str, position: int | None = None,
    message_ts: str | None = None, notifier: RunbookNotifier | None = None,
) -> ClickDone:
    """Answer a question step with its `index`-th answer (1-based, as `runbook.choose.N` numbers them)."""
    return await _decide(deps, run_id, step_id, "chosen", by=by, position=position, message_ts=message_ts,
                         notifier=notifier, choice_index=index)


async def _decide(
    deps: Deps, run_id: int, step_id: str, outcome: Outcome, *, by: str, position: int | None,
    message_ts: str | None, notifier: RunbookNotifier | None, choice_index: int | None = None,
) -> ClickDone:
    """Done, Skip or an answer: no work to do first, so one compare-and-set records it."""
    notifier = notifier or runbook_notifier_for(deps)
    run = await load_run(deps, run_id)
    step = expect_current(run, step_id, position)
    if outcome == "skipped" and isinstance(step, ChooseStep):
        raise InvalidOutcome("a question cannot be skipped: answer it (it has an answer for every case)")
    if outcome == "done" and not isinstance(step, SayStep):
        raise InvalidOutcome("only an instruction is marked Done; run this step or skip it")
    busy = busy_reason(run.record, deps.clock())
    if busy is not None:
        raise busy
    entry = await record_outcome(
        deps, notifier, run, step, outcome, by=by, summary=None, ts=message_ts or run.record.message_ts,
        choice_index=choice_index,
    )
    return ClickDone(f"{step.id} {entry.outcome}" + (f": {entry.choice}" if entry.choice else ""))


# ---- progress ---------------------------------------------------------------------------------------


async def progress(deps: Deps, incident_id: int) -> list[RunProgress]:
    """Every run of the incident, oldest first: the steps taken, and where it stands."""
    records = await store.for_incident(deps.sessions, incident_id)
    if not records:
        return []
    incident = await incident_views.load(deps, incident_id)
    fields = fields_of(incident)
    try:
        loaded: RunbookSet | None = await runbooks_of(deps)
    except RunbookError:
        loaded = None
    found: list[RunProgress] = []
    for record in records:
        runbook = loaded.runbooks.get(record.runbook) if loaded is not None else None

        def title_of(step_id: str, runbook: Runbook | None = runbook, record: RunRecord = record) -> str:
            if runbook is None:
                return step_id
            try:
                return render(runbook.step(step_id).title, fields, record.state.summaries())
            except UnknownStep:
                return step_id

        state = record.state
        status: StepStatus | None = None
        if state.current is not None:
            status = "waiting" if record.proposal_id else ("running" if record.busy_step else "open")
        found.append(RunProgress(
            run_id=record.id, runbook=record.runbook,
            title=render(runbook.title, fields) if runbook is not None else record.runbook,
            started_by=record.started_by, started_at=record.created_at, finished_at=record.finished_at,
            current=title_of(state.current) if state.current else None, current_status=status,
            steps=tuple(StepTaken(e.step_id, title_of(e.step_id), e.outcome, e.summary, e.by) for e in state.history),
        ))
    return found


__all__ = [
    "ClickDone",
    "InvalidOutcome",
    "RunProgress",
    "RunStarted",
    "RunbookError",
    "StaleClick",
    "StaleStep",
    "StepBusy",
    "UnknownRun",
    "UnknownRunbook",
    "choose",
    "mark_done",
    "progress",
    "run_step",
    "skip_step",
    "start_runbook",
    "update_posted_by",
]
