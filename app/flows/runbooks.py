"""Runbooks in an incident's thread: offered when an alert opens the incident, started by a click
or `@pitcrew runbook <name>`, walked one step at a time, every outcome kept.

The shape of every click: read the run (the database is the only memory), check with the core's
step machine that the clicked step is the current one at the position the button was drawn at,
decide, then write back with a compare-and-set on the run's version (app/store/runbook_runs.py). Of
two clicks on one step, one writes and the other is told who was first; a check or an action is
first *claimed* that way, so that its probe or its proposal happens once. A restart of pitcrew
loses nothing: the next click, on any instance, reads the run where it was.

What a step does:
- check: runs the probe (app/flows/runbook_probes.py) and shows what it found;
- action: proposes the action through app/flows/actions.py, in the incident's thread, for the
  incident; the step then waits for the proposal's outcome, which `proposal_settled` receives
  from the actions flow (accepted: the run moves on; failed: the step stays, to run again or skip;
  cancelled or expired: the step is open again);
- say: waits for Done or Skip; choose: the answer's button leads on;
- notify: posts the filled-in template as a status update through the incidents flow (thread,
  updates channel, status page, timeline).
Each outcome goes on the incident's timeline (`runbook.step`) and in the audit trail; the
post-mortem draft lists the timeline's runbook steps.

Flows never import Slack: they post through `RunbookNotifier` (app/flows/runbook_views.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core import webhooks
from app.core.actions import ProposalStatus
from app.core.incidents import IncidentClosed, IncidentError, IncidentView
from app.core.runbooks import (
    ActionStep,
    CheckStep,
    ChooseStep,
    IncidentFields,
    InvalidOutcome,
    NotifyStep,
    Outcome,
    Runbook,
    RunbookSet,
    SayStep,
    StaleStep,
    Step,
    StepOutcome,
    UnknownRunbook,
    UnknownStep,
    advance,
    render,
    render_step,
    start,
    suggest,
)
from app.flows import incident_timeline, incident_views, incidents
from app.flows.action_ports import listen_to_outcomes
from app.flows.actions import ActionError, Proposal, Where, get_proposal, propose
from app.flows.runbook_files import RunbookFileError, builtin_dir, load_runbooks_async
from app.flows.runbook_probes import choose_target, run_check
from app.flows.runbook_views import (
    ClickDone,
    NotAnIncidentThread,
    Offer,
    OfferedRunbook,
    RunbookError,
    RunbookNotifier,
    RunEnded,
    RunProgress,
    RunStarted,
    StaleClick,
    StepBusy,
    StepCard,
    StepStatus,
    StepTaken,
    UnknownRun,
    runbook_notifier_for,
)
from app.store import incidents as incident_store
from app.store import runbook_runs as store
from app.store.db import transaction
from app.store.runbook_runs import RunActive, RunRecord

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.runbooks")

OFFER_LIMIT = 3
BUSY_STALE = timedelta(minutes=2)  # a claim older than this was left by an instance that stopped mid-step
OFFERED_EVENT = "runbook.offered"
AUDIT_TEXT_MAX = 250
OUTCOME_WORDS: Mapping[str, str] = {
    "done": "done", "skipped": "skipped", "ran": "ran", "chosen": "answered", "failed": "failed",
}

# ---- the runbooks in force ------------------------------------------------------------------------

_LOADED: dict[str | None, RunbookSet] = {}


async def runbooks_of(deps: Deps) -> RunbookSet:
    """The built-in runbooks with the team's (`runbooks_dir`) over them, read once per directory.

    They are configuration, read at the first use like pitcrew.yml at start; a restart reads them again.
    """
    key = deps.catalog.runbooks_dir
    found = _LOADED.get(key)
    if found is None:
        try:
            found = await load_runbooks_async(builtin_dir(), Path(key) if key else None)
        except RunbookFileError as err:
            more = len(err.problems) - 5
            shown = "; ".join(err.problems[:5]) + (f" (and {more} more)" if more > 0 else "")
            raise RunbookError(
                f"the runbooks cannot be loaded (`pitcrew runbooks validate` lists why): {shown}"
            ) from None
        _LOADED[key] = found
    return found


def fields_of(view: IncidentView) -> IncidentFields:
    return IncidentFields(incident=view.ref, service=view.service, severity=view.severity, title=view.title)


# ---- offering ----------------------------------------------------------------------------------


async def offer_runbooks(deps: Deps, incident: IncidentView, *, limit: int = OFFER_LIMIT) -> Offer | None:
    """The runbooks to offer for an incident: those pitcrew.yml names for its service first, then the
    ones whose `applies` match it, most specific first. None when nothing matches or it has no thread."""
    if not incident.channel or not incident.thread_ts:
        return None
    runbooks = await runbooks_of(deps)
    service = deps.catalog.services.get(incident.service or "")
    bound = list(service.runbooks) if service is not None else []
    found = suggest(
        runbooks, bound=bound, source=incident.source, service=incident.service, title=incident.title,
        labels=await _alert_labels(deps, incident), severity=incident.severity,
    )
    if not found:
        return None
    fields = fields_of(incident)
    offered = tuple(
        OfferedRunbook(r.name, render(r.title, fields), r.description, r.name in bound) for r in found[:limit]
    )
    return Offer(incident.id, incident.ref, incident.channel, incident.thread_ts, offered)


async def offer_in_thread(deps: Deps, incident_id: int, *, notifier: RunbookNotifier | None = None) -> Offer | None:
    """Offer the matching runbooks in the thread of an incident an alert opened, once.

    Called when the incident's root message has been posted (the `incident.announce` job); a job run
    again finds the offer on the timeline and posts nothing.
    """
    incident = await incident_views.load(deps, incident_id)
    if not incident.is_open or not incident.thread_ts:
        return None
    async with transaction(deps.sessions) as session:
        if await incident_store.count_events(session, incident_id, OFFERED_EVENT):
            return None
    offer = await offer_runbooks(deps, incident)
    if offer is None:
        return None
    await (notifier or runbook_notifier_for(deps)).post_offer(offer)
    names = ", ".join(r.name for r in offer.runbooks)
    await incident_timeline.record_event(deps, incident_id, kind=OFFERED_EVENT, text=f"Runbooks offered: {names}")
    return offer


async def incident_of_thread(deps: Deps, channel: str, thread_ts: str | None) -> IncidentView:
    """The incident whose thread this is; NotAnIncidentThread otherwise."""
    view = await incident_views.find_by_thread(deps, channel, thread_ts)
    if view is None:
        raise NotAnIncidentThread(
            "runbooks run in an incident's thread: reply in the thread of the incident's message in the alerts "
            "channel (`/incident` lists them)"
        )
    return view


async def _alert_labels(deps: Deps, incident: IncidentView) -> dict[str, str]:
    """The labels of the alert that opened the incident (Alertmanager's), read again from its stored body."""
    if not incident.source:
        return {}
    found = await store.first_alert(deps.sessions, incident.id)
    if found is None or not found.body:
        return {}
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        try:
            alerts = webhooks.parse(found.source, found.body.encode("utf-8"), content_type)
        except Exception:  # an old or odd body: match without labels rather than not offer at all
            continue
        for alert in alerts:
            if found.fingerprint is None or alert.fingerprint == found.fingerprint:
                return dict(alert.labels)
    return {}


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
    run = _Run(record, runbook, incident)
    await incident_timeline.record_event(
        deps, incident_id, kind="runbook.start", actor=by, text=f"Runbook started: {run.title} ({runbook.name})",
        data={"run_id": record.id, "runbook": runbook.name},
    )
    await _audit(deps, run, by, "runbook.start", {}, "started")
    card = await _post_current(deps, notifier, run)
    assert card is not None  # a new run always has a first step
    return RunStarted(record.id, runbook.name, run.title, incident.ref, card)


async def _resume(deps: Deps, notifier: RunbookNotifier, run_id: int) -> RunStarted:
    run = await _load(deps, run_id)
    busy = _busy(run.record, deps.clock())
    if busy is not None:
        raise busy
    card = await _post_current(deps, notifier, run)
    if card is None:
        raise RunbookError(f"{run.runbook.name} has just finished in {run.incident.ref}")
    return RunStarted(run.record.id, run.runbook.name, run.title, run.incident.ref, card, resumed=True)


# ---- clicks on a step ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
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

    def at(self, record: RunRecord) -> _Run:
        return _Run(record, self.runbook, self.incident)


async def _load(deps: Deps, run_id: int) -> _Run:
    record = await store.get(deps.sessions, run_id)
    if record is None:
        raise UnknownRun(run_id)
    try:
        runbook = (await runbooks_of(deps)).get(record.runbook)
    except UnknownRunbook:
        raise RunbookError(
            f"runbook {record.runbook} is no longer loaded (was it removed from runbooks_dir?)"
        ) from None
    return _Run(record, runbook, await incident_views.load(deps, record.incident_id))


def _expect_current(run: _Run, step_id: str, position: int | None) -> Step:
    """The clicked step, rendered, if it is the current one at the position its button was drawn at."""
    state = run.record.state
    if state.finished or state.current != step_id or (position is not None and position != state.position):
        raise _stale(run, run.record, step_id)
    try:
        return run.rendered(step_id)
    except UnknownStep as err:
        raise RunbookError(str(err)) from None


def _stale(run: _Run, record: RunRecord, step_id: str) -> StaleClick:
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


def _busy(record: RunRecord, now: datetime) -> StepBusy | None:
    """Why the current step cannot be clicked now: its proposal waits, or someone is running it."""
    if record.proposal_id:
        return StepBusy(
            "This step's action was proposed and waits for an operator: confirm or cancel it on the proposal "
            "in the thread (cancelling it lets you run the step again or skip it)."
        )
    if record.busy_step and record.busy_since and now - record.busy_since < BUSY_STALE:
        return StepBusy("{who} is running this step now; its result will show in the thread.", who=record.busy_by)
    return None


def _lost(run: _Run, record: RunRecord | None, step_id: str, now: datetime) -> RunbookError:
    """Why a compare-and-set found the run changed: someone is on the step, or it was handled."""
    if record is None:
        return UnknownRun(run.record.id)
    return _busy(record, now) or _stale(run, record, step_id)


async def update_posted_by(deps: Deps, run_id: int, step_id: str) -> str | None:
    """The ref of the incident whose status update running this step would post (a responder's word,
    app/core/responders.py), or None when the step posts none or cannot be found (run_step says why)."""
    try:
        run = await _load(deps, run_id)
        step = run.rendered(step_id)
    except (RunbookError, UnknownStep, IncidentError):
        return None
    return run.incident.ref if isinstance(step, NotifyStep) else None


async def run_step(
    deps: Deps, run_id: int, step_id: str, *, by: str, position: int | None = None, service: str | None = None,
    message_ts: str | None = None, notifier: RunbookNotifier | None = None,
) -> ClickDone:
    """The step's main button: run a check, propose an action, post an update.

    `position` is what the button carried (a click from an older message is refused), `service` the
    service chosen when the step asked which one, `message_ts` the message clicked (edited with the outcome).
    """
    notifier = notifier or runbook_notifier_for(deps)
    run = await _load(deps, run_id)
    step = _expect_current(run, step_id, position)
    if isinstance(step, SayStep | ChooseStep):
        raise InvalidOutcome("this step has no Run button: press Done or Skip" if isinstance(step, SayStep)
                             else "answer the question with one of its buttons")
    busy = _busy(run.record, deps.clock())
    if busy is not None:
        raise busy
    target = None
    if isinstance(step, CheckStep | ActionStep):
        target = _target(deps, run, step, service)
    claimed = await store.claim(deps.sessions, run_id, version=run.record.version, step_id=step_id, by=by,
                                now=deps.clock())
    if not claimed.won or claimed.record is None:
        raise _lost(run, claimed.record, step_id, deps.clock())
    run = run.at(claimed.record)
    ts = message_ts or run.record.message_ts
    await _show(notifier.update_step, _card(deps, run, step, status="running", actor=by), ts)
    try:
        match step:
            case CheckStep():
                assert target is not None
                result = await run_check(deps, step, target)
                outcome: Outcome = "ran" if result.ran else "failed"
                await _record_outcome(deps, notifier, run, step, outcome, by=by, summary=result.summary,
                                      detail=result.detail, ts=ts)
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


async def _let_go(deps: Deps, notifier: RunbookNotifier, run: _Run, step: Step, ts: str | None) -> None:
    """A step that broke half way (a bug, the database or Slack away) is freed at once, not after BUSY_STALE.

    Conditional on the claim's version: when the outcome was recorded before the failure, nothing changes.
    """
    try:
        moved = await store.release(deps.sessions, run.record.id, version=run.record.version, now=deps.clock())
        if moved.won and moved.record is not None:
            note = "Something went wrong while running this step. Run it again, or skip it."
            await _show(notifier.update_step, _card(deps, run.at(moved.record), step, status="open", note=note), ts)
    except Exception:
        log.exception("could not free step %s of run %s", step.id, run.record.id)


def _target(deps: Deps, run: _Run, step: CheckStep | ActionStep, chosen: str | None) -> str:
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
    deps: Deps, notifier: RunbookNotifier, run: _Run, step: NotifyStep, *, by: str, ts: str | None
) -> ClickDone:
    try:
        await incidents.post_update(deps, notifier.incidents, run.incident.id, step.template, by=by)
    except IncidentError as err:
        summary = str(err)
        await _record_outcome(deps, notifier, run, step, "failed", by=by, summary=summary, ts=ts)
        return ClickDone(f"{step.id} failed: {summary}"[:AUDIT_TEXT_MAX])
    await _record_outcome(deps, notifier, run, step, "ran", by=by, summary="posted", ts=ts)
    return ClickDone(f"{step.id} posted")


async def _propose(
    deps: Deps, notifier: RunbookNotifier, run: _Run, step: ActionStep, target: str, *, by: str, ts: str | None
) -> ClickDone:
    """Propose the action in the incident's thread; the step then waits for the proposal's outcome."""
    where = Where(run.record.channel or run.incident.channel or "", run.record.thread_ts or run.incident.thread_ts)
    try:
        proposal = await propose(
            deps, step.action, target, dict(step.params), by=by, where=where, notifier=notifier.proposals,
            incident_id=run.incident.id,
        )
    except ActionError as err:
        await _record_outcome(deps, notifier, run, step, "failed", by=by, summary=err.reason, ts=ts)
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
    await _audit(deps, run, by, "runbook.propose", {"step": step.id, "proposal_id": proposal.id},
                 f"proposed: {proposal.description}")
    await _show(notifier.update_step, _card(deps, run, step, status="waiting", actor=by), ts)
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
    run = await _load(deps, run_id)
    step = _expect_current(run, step_id, position)
    if outcome == "skipped" and isinstance(step, ChooseStep):
        raise InvalidOutcome("a question cannot be skipped: answer it (it has an answer for every case)")
    if outcome == "done" and not isinstance(step, SayStep):
        raise InvalidOutcome("only an instruction is marked Done; run this step or skip it")
    busy = _busy(run.record, deps.clock())
    if busy is not None:
        raise busy
    entry = await _record_outcome(
        deps, notifier, run, step, outcome, by=by, summary=None, ts=message_ts or run.record.message_ts,
        choice_index=choice_index,
    )
    return ClickDone(f"{step.id} {entry.outcome}" + (f": {entry.choice}" if entry.choice else ""))


# ---- recording an outcome and moving on --------------------------------------------------------


async def _record_outcome(
    deps: Deps, notifier: RunbookNotifier, run: _Run, step: Step, outcome: Outcome, *, by: str | None,
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
        raise _lost(run, moved.record, step.id, deps.clock())
    after = run.at(moved.record)
    entry = new.history[-1]
    await _note(deps, after, step, entry)  # recorded before it is shown: what people see is on the record
    if outcome == "failed":
        card = _card(deps, after, after.rendered(step.id), status="open", detail=detail,
                     note=f"Failed: {entry.summary}. Run it again, or skip it.")
    else:
        card = _card(deps, after, step, status="ended", outcome=entry, detail=detail, number=record.state.position + 1)
    await _show(notifier.update_step, card, ts)
    if new.finished:
        await _ended(deps, notifier, after)
    elif outcome != "failed":
        await _post_current(deps, notifier, after)
    return entry


async def _post_current(deps: Deps, notifier: RunbookNotifier, run: _Run) -> StepCard | None:
    """Post the run's current step as a new message in the thread, and remember that message."""
    current = run.record.state.current
    if current is None:
        return None
    card = _card(deps, run, run.rendered(current), status="open")
    ts = await notifier.post_step(card)
    await store.attach_message(deps.sessions, run.record.id, version=run.record.version, ts=ts, now=deps.clock())
    return card


async def _ended(deps: Deps, notifier: RunbookNotifier, run: _Run) -> None:
    history = run.record.state.history
    counts = ", ".join(
        f"{sum(1 for e in history if e.outcome == outcome)} {word}" for outcome, word in OUTCOME_WORDS.items()
        if any(e.outcome == outcome for e in history)
    )
    await incident_timeline.record_event(
        deps, run.incident.id, kind="runbook.finish", text=f"Runbook finished: {run.title} ({counts})",
        data={"run_id": run.record.id, "runbook": run.runbook.name},
    )
    await _audit(deps, run, history[-1].by if history else None, "runbook.finish", {}, f"finished: {counts}")
    ended = RunEnded(run.record.id, run.runbook.name, run.title, run.incident.ref, run.record.channel or "",
                     run.record.thread_ts or "", history)
    try:
        await notifier.post_ended(ended)
    except Exception:
        log.exception("could not say that run %s ended", run.record.id)


def _card(
    deps: Deps, run: _Run, step: Step, *, status: StepStatus, outcome: StepOutcome | None = None,
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


async def _show(update: Callable[[StepCard, str], Awaitable[None]], card: StepCard, ts: str | None) -> None:
    """Edit a step's message; a chat failure never undoes or hides what was recorded."""
    if not ts:
        return
    try:
        await update(card, ts)
    except Exception:
        log.exception("could not edit the message of step %s of run %s", card.step.id, card.run_id)


async def _note(deps: Deps, run: _Run, step: Step, entry: StepOutcome) -> None:
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
    await _audit(deps, run, entry.by, "runbook.step",
                 {"step": entry.step_id, "outcome": entry.outcome, "summary": entry.summary[:AUDIT_TEXT_MAX]},
                 f"{entry.step_id}: {said}")


async def _audit(deps: Deps, run: _Run, actor: str | None, action: str, params: Mapping[str, Any], said: str) -> None:
    await deps.audit(
        actor=actor or "pitcrew", action=action, target=run.ref,
        params={"run_id": run.record.id, "runbook": run.runbook.name, **params}, outcome=said[:AUDIT_TEXT_MAX],
    )


# ---- a proposal made by an action step comes to an end -------------------------------------------


async def proposal_settled(deps: Deps, proposal: Proposal) -> None:
    """The actions flow's outcome of a proposal an action step made: move the run accordingly.

    Accepted (or verified): the step ran, the run moves on. Failed: the step stays, to run again or
    skip. Cancelled or expired: the step is open again. A proposal no run waits for is ignored.
    """
    if proposal.status in (ProposalStatus.PROPOSED, ProposalStatus.RUNNING):
        return
    record = await store.by_proposal(deps.sessions, proposal.id)
    if record is None:
        return
    try:
        notifier = runbook_notifier_for(deps)
        run = await _load(deps, record.id)
    except (RunbookError, IncidentError) as err:
        log.warning("proposal %s ended but its run %s cannot move: %s", proposal.id, record.id, err)
        return
    current = run.record.state.current
    if current is None or run.record.proposal_id != proposal.id:
        return
    step = run.rendered(current)
    ts = run.record.message_ts
    try:
        if proposal.status in (ProposalStatus.ACCEPTED, ProposalStatus.VERIFIED):
            who = proposal.confirmed_by
            await _record_outcome(deps, notifier, run, step, "ran", by=who, summary=f"{proposal.description}: accepted",
                                  ts=ts)
        elif proposal.status is ProposalStatus.FAILED:
            failure = proposal.failure
            reason = f"{failure.call} failed: {failure.reason}" if failure else f"{proposal.description} failed"
            await _record_outcome(deps, notifier, run, step, "failed", by=proposal.confirmed_by, summary=reason, ts=ts)
        else:
            await _reopen(deps, notifier, run, step, proposal, ts)
    except RunbookError as err:  # another instance took this outcome first
        log.info("run %s: proposal %s outcome already taken: %s", record.id, proposal.id, err)


async def _reopen(
    deps: Deps, notifier: RunbookNotifier, run: _Run, step: Step, proposal: Proposal, ts: str | None
) -> None:
    moved = await store.release(deps.sessions, run.record.id, version=run.record.version, now=deps.clock())
    if not moved.won or moved.record is None:
        return
    run = run.at(moved.record)
    if proposal.status is ProposalStatus.CANCELLED:
        what, who = f"cancelled by {proposal.cancelled_by or 'someone'}", proposal.cancelled_by
    else:
        what, who = "expired without a confirmation", None
    await incident_timeline.record_event(
        deps, run.incident.id, kind="runbook.step", actor=who, text=f"{run.title} › {step.title}: proposal {what}",
        data={"run_id": run.record.id, "step": step.id, "proposal_id": proposal.id},
    )
    await _audit(deps, run, who, "runbook.step", {"step": step.id, "proposal_id": proposal.id}, f"proposal {what}")
    await _show(notifier.update_step, _card(deps, run, step, status="open",
                                            note=f"The proposal was {what}. Run it again, or skip it."), ts)


listen_to_outcomes(proposal_settled)


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
    "OFFER_LIMIT",
    "ClickDone",
    "InvalidOutcome",
    "NotAnIncidentThread",
    "Offer",
    "RunProgress",
    "RunStarted",
    "RunbookError",
    "StaleClick",
    "StaleStep",
    "StepBusy",
    "UnknownRun",
    "UnknownRunbook",
    "choose",
    "incident_of_thread",
    "mark_done",
    "offer_in_thread",
    "offer_runbooks",
    "progress",
    "proposal_settled",
    "run_step",
    "runbooks_of",
    "skip_step",
    "start_runbook",
]
