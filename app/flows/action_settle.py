"""Settle actions an instance left `running` when it died mid-call (kill -9, a crash, a lost machine).

The claim (proposed → running) and the provider's answer (running → accepted/failed) are two
transactions with the provider call between them; an instance that dies in between leaves the
proposal running for ever. So the claim commits, with it, an `actions.settle` job due once any
provider call is long over (`SETTLE_AFTER`: the provider timeout plus a margin), and the normal end
deletes that job with the answer. If the job does run, the proposal's instance died: the job asks
the provider what happened where it can (app/core/settlement.py), and ends the proposal as `_run`
would have: accepted (with its verification) or failed ("unknown: check the provider" when the
provider keeps no trace), its message edited, an `action.settle` audit entry, any secret value
forgotten, and the runbook step that waits on it released (`tell_outcome`). Each instance, when it
starts, also schedules the job for any proposal running without one (left by an older version).
The move out of running is one conditional UPDATE that also requires the proposal to be that old,
so a call that finishes meanwhile, or another instance, never has it settled twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.catalog import UnknownService
from app.core.actions import ProposalStatus
from app.core.secrets import mask_values
from app.core.settlement import (
    SETTLE_AFTER,
    Settled,
    Settlement,
    is_stuck,
    railway_redeploy,
    railway_rollback,
    shared_variable_set,
    unknown,
    variable_set,
    vercel_production,
)
from app.flows import action_calls as calls
from app.flows.action_ports import ProposalNotifier, notifier_for, tell_outcome
from app.flows.action_runs import PITCREW, SETTLE_JOB, settle_key, show, start_verification
from app.flows.action_views import Proposal, forget_secrets, spec_of, view
from app.flows.secret_inputs import open_inputs
from app.jobs.runner import Again, handles
from app.providers.base import InvalidIdentifier, ProviderError
from app.store import jobs as job_store
from app.store import proposals as store
from app.store.db import transaction
from app.store.jobs import ClaimedJob
from app.store.proposals import ProposalRecord

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.actions")

BATCH = 200
HISTORY = 20
RETRY = timedelta(minutes=1)


@handles(SETTLE_JOB)
async def settle_job(deps: Deps, job: ClaimedJob) -> Again | None:
    """One proposal's settling: nothing if it ended, later if it is not that old yet, else settle it."""
    record = await store.get(deps.sessions, str(job.payload.get("proposal_id")))
    if record is None or record.status != ProposalStatus.RUNNING:
        return None
    now = deps.clock()
    if not is_stuck(record.updated_at, now):
        return Again(record.updated_at + SETTLE_AFTER)
    try:
        await settle(deps, record, cutoff=now - SETTLE_AFTER, notifier=notifier_for(deps))
    except Exception:  # the database or the chat away: look again in a minute rather than give up
        log.exception("could not settle proposal %s; trying again", record.id)
        return Again(now + RETRY)
    return None


async def schedule_settling_of_running(deps: Deps) -> None:
    """At an instance's start: a settle job for every running proposal that has none (dedupe keys make
    this a no-op for those that have one). A failure is logged, never raised: the instance serves."""
    now = deps.clock()
    try:
        running = await store.running_since_before(deps.sessions, now, limit=BATCH)
        if not running:
            return
        async with transaction(deps.sessions) as session:
            for record in running:
                await job_store.enqueue(
                    session, kind=SETTLE_JOB, payload={"proposal_id": record.id},
                    run_at=max(record.updated_at + SETTLE_AFTER, now), now=now, dedupe_key=settle_key(record.id),
                )
    except Exception as err:
        log.warning("could not schedule the settling of interrupted actions (%s)", err)


async def settle(
    deps: Deps, record: ProposalRecord, *, cutoff: datetime, notifier: ProposalNotifier
) -> Proposal | None:
    """Ask the provider, then end the proposal accordingly (unless someone else settled it first)."""
    spec = spec_of(record)
    settlement = await ask_provider(deps, record)
    now = deps.clock()
    result: dict[str, Any] = {
        "request": calls.request(spec, record),
        "finished_at": now.isoformat(),
        "settled": {"outcome": settlement.outcome.value, "evidence": settlement.evidence, "at": now.isoformat()},
    }
    if record.result.get("approvals"):
        result["approvals"] = record.result["approvals"]
    also = None
    if settlement.outcome is Settled.DONE:
        status = ProposalStatus.ACCEPTED
        result["answer"] = settlement.answer
        also = start_verification(record, spec, result, now)
    else:
        status = ProposalStatus.FAILED
        uncertain = settlement.outcome is Settled.UNKNOWN
        result["failure"] = {"call": spec.call, "reason": settlement.evidence, "uncertain": uncertain}
    moved = await store.settle(
        deps.sessions, record.id, cutoff=cutoff, status=status, result=result, now=now,
        params=forget_secrets(spec, record), also=also,
    )
    if not moved.won or moved.record is None:
        return None
    await deps.audit(
        actor=PITCREW, action="action.settle", target=record.id,
        params={
            **result["request"], "confirmed_by": record.confirmed_by, "running_since": record.updated_at.isoformat()
        },
        outcome=f"{settlement.outcome.value.replace('_', ' ')}: {settlement.evidence}"[:300],
    )
    shown = view(moved.record, now)
    await show(notifier.update_proposal, shown)
    await tell_outcome(deps, shown)
    return shown


async def ask_provider(deps: Deps, record: ProposalRecord) -> Settlement:
    """What the provider shows now about this action; unknown when it keeps no trace, or cannot be asked."""
    inputs = open_inputs(deps, spec_of(record), record.id, record.params.get("inputs", {}))
    plan = record.params.get("plan", {})
    before = (plan.get("current") or {}).get("id")
    started = record.updated_at
    try:
        service = deps.catalog.service(record.service)
        match (service.provider, record.kind):
            case ("railway", "rollback"):
                history = await calls.history(deps, service, HISTORY)
                target = str(inputs.get("target_deployment_id"))
                return railway_rollback(history, target=target, before=before, started=started)
            case ("railway", "redeploy"):
                history = await calls.history(deps, service, HISTORY)
                return railway_redeploy(history, before=before, started=started)
            case ("railway", "set_variable") if service.railway is not None and inputs.get("shared"):
                shared = str(inputs["shared"])
                held = (await calls.railway(deps).shared_variables(service.railway)).get(shared)
                wanted = inputs.get("value")
                history = await calls.history(deps, service, HISTORY)
                return shared_variable_set(
                    shared, record.service, variable_set(shared, wanted if isinstance(wanted, str) else None, held),
                    railway_redeploy(history, before=before, started=started),
                )
            case ("railway", "set_variable") if service.railway is not None:
                name = str(inputs.get("name"))
                values = await calls.railway(deps).service_variables(service.railway)
                wanted = inputs.get("value")
                if name in values and values[name] is None:
                    return unknown(f"{name} is sealed on Railway: its value cannot be read back to compare")
                return variable_set(name, wanted if isinstance(wanted, str) else None, values.get(name))
            case ("vercel", "rollback" | "promote"):
                target = await calls.deployment(deps, service, str(inputs.get("target_deployment_id")))
                return vercel_production(target)
    except (ProviderError, InvalidIdentifier, UnknownService, calls.CannotPropose) as err:
        return unknown(f"asking failed: {mask_values(str(err), deps.settings.secret_values())}")
    return unknown(f"{record.kind.replace('_', ' ')} leaves no trace pitcrew can read")
