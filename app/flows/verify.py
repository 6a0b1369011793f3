"""Post-action verification: the `verify_action` job watches a service after a rollback, restart or redeploy.

The job is one row of the jobs table that reschedules itself every interval (`Again`), so it
survives restarts and any instance may take the next look; `FOR UPDATE SKIP LOCKED` makes sure only
one does. Each look reads the deployment the action brought (the new one after a rollback or a
redeploy, the same one after a restart, production's after a Vercel rollback or promote) and the
service's health checks, and hands both to `app.core.verification.judge`. The proposal's message
is edited when the phase changes (deploying, starting, watching, then verified or failed), and a
failure is also posted in its thread, where the people who pressed the button are looking.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from app.catalog import Service, UnknownService
from app.core.actions import ActionPolicy, ProposalStatus
from app.core.health import CheckResult, ServiceHealth, Verdict
from app.core.verification import Observation, Phase, VerifyState, judge, next_look
from app.flows import action_calls as calls
from app.flows.action_ports import ProposalNotifier, notifier_for, tell_verified
from app.flows.action_runs import PITCREW, VERIFY_JOB, show
from app.flows.action_views import view
from app.flows.deploy_watch_start import after_verified
from app.flows.health import check_health
from app.jobs.runner import Again, handles
from app.providers.base import InvalidIdentifier, ProviderError
from app.providers.rate_limits import RateLimited
from app.store import proposals as store
from app.store.jobs import ClaimedJob
from app.store.proposals import ProposalRecord

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.verify")


@handles(VERIFY_JOB)
async def verify_job(deps: Deps, job: ClaimedJob) -> Again | None:
    return await verify_once(deps, str(job.payload.get("proposal_id")), notifier=notifier_for(deps))


async def verify_once(deps: Deps, proposal_id: str, *, notifier: ProposalNotifier) -> Again | None:
    """Take one look; when to look again, or None when verification is over (or nothing is left to verify)."""
    record = await store.get(deps.sessions, proposal_id)
    if record is None or record.status != ProposalStatus.ACCEPTED or "verify_until" not in record.result:
        return None
    deadline = datetime.fromisoformat(record.result["verify_until"])
    policy = ActionPolicy.from_dict(record.params.get("policy"))
    state = VerifyState.from_dict(record.result.get("verification"))
    try:
        seen = await observe(deps, record)
    except RateLimited as err:
        # Looking again before the provider's window resets would only spend the next window too:
        # the job sleeps until then (the deadline is judged on the next look, as ever).
        log.warning("verification of proposal %s waits for %s", proposal_id, err.reason)
        return Again(max(err.until, next_look(deps.clock(), deadline, policy.verify_interval_s)))
    now = deps.clock()
    step = judge(state, seen, now=now, deadline=deadline)
    result = {**record.result, "verification": step.state.to_dict()}

    if not step.done:
        moved = await store.record_result(
            deps.sessions, proposal_id, status=ProposalStatus.ACCEPTED, result=result, now=now
        )
        if moved.won and moved.record is not None and step.changed:
            await show(notifier.update_proposal, view(moved.record, now))
        return Again(next_look(now, deadline, policy.verify_interval_s)) if moved.won else None

    status = ProposalStatus.VERIFIED if step.state.phase is Phase.VERIFIED else ProposalStatus.FAILED
    # Verified: the service is watched from now on, as after any deploy (committed with the verdict).
    watch = after_verified(deps, record, step.state.deployment_id, now) if status == ProposalStatus.VERIFIED else None
    moved = await store.finish(
        deps.sessions, proposal_id, from_status=ProposalStatus.ACCEPTED, status=status, result=result, now=now,
        also=watch,
    )
    if not moved.won or moved.record is None:
        return None
    if watch is not None:
        deps.job_signal.notify()  # its first look (and message) now, not at the next poll
    await deps.audit(
        actor=PITCREW,
        action="action.verify",
        target=proposal_id,
        params={
            "kind": record.kind, "service": record.service, "looks": step.state.checks,
            "deployment_id": step.state.deployment_id,
        },
        outcome=f"{status}: {step.state.last}",
    )
    proposal = view(moved.record, now)
    await show(notifier.update_proposal, proposal)
    if step.alert:
        try:
            await notifier.post_in_thread(proposal, step.alert)
        except Exception:
            log.exception("could not post the verification failure of proposal %s", proposal_id)
    await tell_verified(deps, proposal)
    return None


async def observe(deps: Deps, record: ProposalRecord) -> Observation:
    """The deployment the action brought and the service's health checks, as one observation."""
    try:
        service = deps.catalog.service(record.service)
    except UnknownService:
        return Observation(None, None, Verdict.DOWN, (f"{record.service} is no longer in pitcrew.yml",))
    report = await check_health(deps, [record.service], metrics=False)
    health = report.services[0]
    problems = [describe_check(c) for c in health.checks if c.verdict is not Verdict.OK]
    try:
        deployment_id, status = await _deployment_seen(deps, service, record, health)
    except RateLimited:
        raise
    except (ProviderError, InvalidIdentifier) as err:
        deployment_id, status = None, None
        problems.append(str(err))
    return Observation(deployment_id, status, health.verdict, tuple(problems))


async def _deployment_seen(
    deps: Deps, service: Service, record: ProposalRecord, health: ServiceHealth
) -> tuple[str | None, str | None]:
    """(id, status) of the deployment this action is about, or (None, None) while it is not visible yet."""
    inputs = record.params.get("inputs", {})
    plan = record.params.get("plan", {})
    answer = record.result.get("answer", {})
    if service.provider == "vercel" and service.vercel is not None:
        # Vercel serves the target once the project's production points at it (a promoted preview
        # too, which the production list would not show).
        # A redeploy or a variable change: the new build Vercel named in its answer.
        wanted = inputs.get("target_deployment_id") or answer.get("new_deployment_id")
        if not wanted:
            return None, None
        target = await calls.vercel(deps).deployment(service.vercel, str(wanted))
        return (target.id, target.status) if target.is_current else (None, None)
    if service.provider not in ("railway", "postgres") or service.railway is None:
        return None, None  # a Railway-hosted PostgreSQL restarts as a Railway service does
    known = inputs.get("deployment_id") if record.kind == "restart" else answer.get("new_deployment_id")
    if known:
        found = await calls.railway(deps).deployment(service.railway, str(known))
        return found.id, found.status
    # A rollback or a variable change starts a deployment Railway does not name in its answer:
    # it is the newest one, once that is no longer the deployment that served before the action.
    before = (plan.get("current") or {}).get("id")
    latest = health.deployment
    if latest is None:
        # The health probe could not see it (its failure is among the problems already): ask once more,
        # so that a rate limit comes out as RateLimited and the job waits instead of judging.
        latest = (await calls.railway(deps).latest_deployment(service.railway)).deployment
    if latest is None or latest.id == before:
        return None, None
    return latest.id, latest.status


def describe_check(check: CheckResult) -> str:
    said = " · ".join(check.evidence)
    if check.evidence and check.evidence[0].startswith(check.name + " "):
        return said
    return f"{check.name}: {said}" if said else check.name
