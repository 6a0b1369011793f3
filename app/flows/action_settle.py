"""Settle actions an instance left `running` when it died mid-call (kill -9, a crash, a lost machine).

The claim (proposed → running) and the provider's answer (running → accepted/failed) are two
transactions with the provider call between them; an instance that dies in between leaves the
proposal running for ever. The `actions.settle` job, one row any instance may run every minute,
finds proposals running longer than `SETTLE_AFTER`, asks the provider what happened where it can
(app/core/settlement.py), and ends each one as `_run` would have: accepted (with its verification)
or failed, its message edited, an `action.settle` audit entry, any secret value forgotten, and the
runbook step that waits on it released (`tell_outcome`). The move out of running is one conditional
UPDATE that also requires the proposal to be that old, so a live call that finishes meanwhile wins
or loses cleanly, and two instances never settle one proposal twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.catalog import UnknownService
from app.core.actions import ActionPolicy, ProposalStatus, verifies
from app.core.secrets import mask_values
from app.core.settlement import (
    SETTLE_AFTER,
    Settled,
    Settlement,
    railway_redeploy,
    railway_rollback,
    unknown,
    variable_set,
    vercel_production,
)
from app.core.verification import VerifyState
from app.flows import action_calls as calls
from app.flows.action_ports import ProposalNotifier, notifier_for, tell_outcome
from app.flows.action_runs import PITCREW, schedule_verification, show
from app.flows.action_views import Proposal, forget_secrets, spec_of, view
from app.jobs.runner import Again, handles
from app.providers.base import InvalidIdentifier, ProviderError
from app.store import jobs as job_store
from app.store import proposals as store
from app.store.db import transaction
from app.store.proposals import ProposalRecord

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.actions")

SETTLE_JOB = "actions.settle"
EVERY = timedelta(minutes=1)
BATCH = 20
HISTORY = 20


@handles(SETTLE_JOB)
async def settle_job(deps: Deps, job: Any) -> Again:
    """Settle what is stuck now, then look again in a minute."""
    await settle_stuck(deps, notifier=notifier_for(deps))
    return Again(deps.clock() + EVERY)


async def schedule_settling(deps: Deps) -> None:
    """Make sure the settle job is scheduled (once for all instances: its dedupe key is its name).
    Called when an instance starts its job runner; a failure is logged, never raised."""
    now = deps.clock()
    try:
        async with transaction(deps.sessions) as session:
            await job_store.enqueue(
                session, kind=SETTLE_JOB, payload={}, run_at=now + EVERY, now=now, dedupe_key=SETTLE_JOB
            )
    except Exception as err:
        log.warning("could not schedule the settling of interrupted actions (%s)", err)


async def settle_stuck(deps: Deps, *, notifier: ProposalNotifier) -> list[Proposal]:
    """Settle every proposal running since before `SETTLE_AFTER` ago; what each became."""
    cutoff = deps.clock() - SETTLE_AFTER
    settled: list[Proposal] = []
    for record in await store.running_since_before(deps.sessions, cutoff, limit=BATCH):
        try:
            found = await settle(deps, record, cutoff=cutoff, notifier=notifier)
        except Exception:  # one proposal's trouble must not keep the others running for ever
            log.exception("could not settle proposal %s", record.id)
            continue
        if found is not None:
            settled.append(found)
    return settled


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
    inputs = record.params.get("inputs", {})
    if settlement.outcome is Settled.DONE:
        status = ProposalStatus.ACCEPTED
        result["answer"] = settlement.answer
        if verifies(spec, inputs):
            policy = ActionPolicy.from_dict(record.params.get("policy"))
            deadline = now + timedelta(minutes=policy.verify_window_minutes)
            first = min(now + timedelta(seconds=policy.verify_interval_s), deadline)
            result["verification"] = VerifyState().to_dict()
            result["verify_until"] = deadline.isoformat()
            also = schedule_verification(record.id, first, now)
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
    inputs = record.params.get("inputs", {})
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
            case ("railway", "set_variable") if service.railway is not None:
                name = str(inputs.get("name"))
                values = await calls.railway(deps).service_variables(service.railway)
                wanted = inputs.get("value")
                return variable_set(name, wanted if isinstance(wanted, str) else None, values.get(name))
            case ("vercel", "rollback" | "promote"):
                target = await calls.deployment(deps, service, str(inputs.get("target_deployment_id")))
                return vercel_production(target)
    except (ProviderError, InvalidIdentifier, UnknownService, calls.CannotPropose) as err:
        return unknown(f"asking failed: {mask_values(str(err), deps.settings.secret_values())}")
    return unknown(f"{record.kind.replace('_', ' ')} leaves no trace pitcrew can read")
