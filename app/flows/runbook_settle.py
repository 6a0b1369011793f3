"""What a settled proposal does to the action step that made it.

An action step proposes its action through app/flows/actions.py and then waits; the actions flow
tells every listener (app/flows/action_ports.py) when a proposal ends, and `proposal_settled`,
registered at import, moves the run: accepted or verified, the step ran and the run moves on;
failed, the step stays, to run again or skip; cancelled or expired, the step is open again. A
proposal no run waits for is ignored. app/flows/runbooks.py imports this module, so whoever can
start a runbook has the listener registered.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.core.actions import ProposalStatus
from app.core.incidents import IncidentError
from app.core.runbooks import Step
from app.flows import incident_timeline
from app.flows.action_ports import listen_to_outcomes
from app.flows.actions import Proposal
from app.flows.runbook_outcomes import (
    Run,
    audit_run,
    load_run,
    record_outcome,
    show_card,
    step_card,
)
from app.flows.runbook_views import (
    RunbookError,
    RunbookNotifier,
    runbook_notifier_for,
)
from app.store import runbook_runs as store

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.runbooks")


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
        run = await load_run(deps, record.id)
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
            await record_outcome(deps, notifier, run, step, "ran", by=who, summary=f"{proposal.description}: accepted",
                                  ts=ts)
        elif proposal.status is ProposalStatus.FAILED:
            failure = proposal.failure
            reason = f"{failure.call} failed: {failure.reason}" if failure else f"{proposal.description} failed"
            await record_outcome(deps, notifier, run, step, "failed", by=proposal.confirmed_by, summary=reason, ts=ts)
        else:
            await _reopen(deps, notifier, run, step, proposal, ts)
    except RunbookError as err:  # another instance took this outcome first
        log.info("run %s: proposal %s outcome already taken: %s", record.id, proposal.id, err)


async def _reopen(
    deps: Deps, notifier: RunbookNotifier, run: Run, step: Step, proposal: Proposal, ts: str | None
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
    await audit_run(deps, run, who, "runbook.step", {"step": step.id, "proposal_id": proposal.id}, f"proposal {what}")
    await show_card(notifier.update_step, step_card(deps, run, step, status="open",
                                            note=f"The proposal was {what}. Run it again, or skip it."), ts)


listen_to_outcomes(proposal_settled)

