"""Clicks on a proposal: confirm (guard, claim, run once, report), cancel, and expiry.

Confirming is where "exactly once" is decided: `store.proposals.claim` moves the proposal from
proposed to running in one conditional UPDATE, and only the click that gets the row back calls the
provider. Every other click (a double click, a second operator, another instance, a retried
request) reads who holds it and says so, privately; nothing reaches the provider twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import UnknownService
from app.core.actions import (
    ActionNotAvailable,
    ActionPolicy,
    ActionSpec,
    InvalidActionParams,
    ProposalStatus,
    is_expired,
    verifies,
    why_not_open,
)
from app.core.guard import (
    Decision,
    Operators,
    approvals_needed,
    cancel_decision,
    confirm_decision,
    counted_approvers,
)
from app.core.secrets import mask_values
from app.core.settlement import SETTLE_AFTER
from app.core.verification import VerifyState
from app.flows import action_calls as calls
from app.flows.action_ports import GroupMembers, ProposalNotifier, tell_outcome
from app.flows.action_views import ClickResult, Failure, Outcome, Proposal, forget_secrets, spec_of, view
from app.flows.memberships import read_groups
from app.flows.secret_inputs import open_inputs
from app.providers.base import InvalidIdentifier, ProviderError
from app.store import jobs as job_store
from app.store import proposals as store
from app.store.proposals import ProposalRecord

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.actions")

VERIFY_JOB = "verify_action"
SETTLE_JOB = "actions.settle"
PITCREW = "pitcrew"  # the actor of what pitcrew does by itself (expiry, verification)
_UNCERTAIN = ("no answer within", "timed out")
_PROPOSAL_ID = re.compile(r"^[0-9a-f]{32}$")


async def find(deps: Deps, proposal_id: str) -> ProposalRecord | None:
    """The proposal a button names; anything that is not one of our ids (a forged click) is not looked up."""
    if not isinstance(proposal_id, str) or not _PROPOSAL_ID.match(proposal_id):
        return None
    return await store.get(deps.sessions, proposal_id)


async def confirm(
    deps: Deps, proposal_id: str, *, by: str, members: GroupMembers, notifier: ProposalNotifier
) -> Outcome:
    """Run the proposal if `by` may, and if this is the one click that claims it; else say why not."""
    record = await find(deps, proposal_id)
    if record is None:
        return await _unknown(deps, "action.confirm", by, proposal_id)
    spec = spec_of(record)
    policy = ActionPolicy.from_dict(record.params.get("policy"))
    implied = _implied_approvers(record) if policy.second_approver else {}
    operators, groups = await _operators(deps, [by, *implied], members)
    decision = confirm_decision(
        by, operators, groups, proposed_by=record.proposed_by, second_approver=policy.second_approver
    )
    if not decision.allowed:
        return await _refused(deps, "action.confirm", record, by, decision)
    if policy.second_approver:
        counted = counted_approvers(implied, operators, groups)
        return await _approve(deps, spec, record, by, decision, counted, notifier)
    now = deps.clock()
    moved = await store.claim(deps.sessions, proposal_id, by=by, now=now, also=schedule_settling(proposal_id, now))
    if not moved.won or moved.record is None:
        return await _not_open(deps, "action.confirm", moved.record or record, by, notifier)
    await _audit(deps, by, "action.confirm", record, f"allowed ({decision.reason}): running")
    await show(notifier.update_proposal, view(moved.record, now))
    return await _run(deps, spec, moved.record, by, notifier)


def _implied_approvers(record: ProposalRecord) -> dict[str, str]:
    """Whose approval the proposal already carries, if they are operators: earlier approvers of the
    proposal it renews, and its proposer."""
    implied = {u: "earlier" for u in record.params.get("approved_before", []) if isinstance(u, str) and u}
    implied.setdefault(record.proposed_by, "proposer")
    return implied


async def _approve(
    deps: Deps,
    spec: ActionSpec,
    record: ProposalRecord,
    by: str,
    decision: Decision,
    counted: Mapping[str, str],
    notifier: ProposalNotifier,
) -> Outcome:
    """Four eyes: record `by`'s approval atomically; the approval that makes two distinct operators runs it."""
    now = deps.clock()
    needed = approvals_needed(True)
    approval = await store.approve(
        deps.sessions, record.id, by=by, counted=counted, needed=needed, now=now,
        also=schedule_settling(record.id, now),
    )
    if not approval.open or approval.record is None:
        return await _not_open(deps, "action.confirm", approval.record or record, by, notifier)
    who = ", ".join(approval.approvals)
    if approval.won:
        await _audit(deps, by, "action.confirm", record, f"allowed ({decision.reason}; approved by {who}): running")
        await show(notifier.update_proposal, view(approval.record, now))
        return await _run(deps, spec, approval.record, by, notifier)
    current = view(approval.record, now)
    if not approval.added:
        reason = "you already approved it; it runs once another operator approves too"
        await _audit(deps, by, "action.confirm", record, f"not done: already approved by {by}")
        return Outcome(ClickResult.NOT_OPEN, current, reason)
    await _audit(
        deps, by, "action.confirm", record,
        f"approved ({decision.reason}): {len(approval.approvals)} of {needed} operators ({who})",
    )
    await show(notifier.update_proposal, current)
    return Outcome(
        ClickResult.APPROVED, current, "your approval is recorded; it runs once a second operator approves too"
    )


async def cancel(
    deps: Deps, proposal_id: str, *, by: str, members: GroupMembers, notifier: ProposalNotifier
) -> Outcome:
    """Withdraw an open proposal: its proposer or an operator may."""
    record = await find(deps, proposal_id)
    if record is None:
        return await _unknown(deps, "action.cancel", by, proposal_id)
    if by == record.proposed_by:
        operators, groups = Operators.of([]), {}
    else:
        operators, groups = await _operators(deps, by, members)
    decision = cancel_decision(by, operators, groups, proposed_by=record.proposed_by)
    if not decision.allowed:
        return await _refused(deps, "action.cancel", record, by, decision)
    now = deps.clock()
    forgotten = forget_secrets(spec_of(record), record)
    moved = await store.cancel(deps.sessions, proposal_id, by=by, now=now, params=forgotten)
    if not moved.won or moved.record is None:
        return await _not_open(deps, "action.cancel", moved.record or record, by, notifier)
    await _audit(deps, by, "action.cancel", record, f"cancelled ({decision.reason})")
    cancelled = view(moved.record, now)
    await show(notifier.update_proposal, cancelled)
    await tell_outcome(deps, cancelled)
    return Outcome(ClickResult.CANCELLED, cancelled, "cancelled")


async def expire(deps: Deps, proposal_id: str, *, notifier: ProposalNotifier) -> Proposal | None:
    """Mark a proposal whose time ran out unconfirmed as expired, and say so on its message."""
    record = await find(deps, proposal_id)
    if record is None:
        return None
    now = deps.clock()
    moved = await store.expire(deps.sessions, proposal_id, now=now, params=forget_secrets(spec_of(record), record))
    if not moved.won or moved.record is None:
        return None
    await _audit(deps, PITCREW, "action.expire", record, "expired without confirmation")
    expired = view(moved.record, now)
    await show(notifier.update_proposal, expired)
    await tell_outcome(deps, expired)
    return expired


async def show(update: Callable[[Proposal], Awaitable[None]], proposal: Proposal) -> None:
    """Edit the message, but never let a chat failure stop the action or lose its record."""
    try:
        await update(proposal)
    except Exception:
        log.exception("could not update the message of proposal %s", proposal.id)


async def _run(deps: Deps, spec: ActionSpec, record: ProposalRecord, by: str, notifier: ProposalNotifier) -> Outcome:
    """The provider call, once; then accepted (with its verification scheduled) or failed, shown and audited."""
    request = calls.request(spec, record)
    inputs = open_inputs(deps, spec, record.id, record.params.get("inputs", {}))
    secrets = [*deps.secret_values(), *(str(inputs[k]) for k in spec.secret if inputs.get(k))]
    failure: Failure | None = None
    answer: dict[str, Any] = {}
    try:
        answer = await calls.execute(deps, spec, record)
    except ProviderError as err:
        failure = Failure(err.call, mask_values(err.reason, secrets), err.reason.startswith(_UNCERTAIN))
    except (InvalidIdentifier, InvalidActionParams, ActionNotAvailable, UnknownService, calls.CannotPropose) as err:
        failure = Failure(spec.call, mask_values(str(err), secrets))
    except Exception as err:  # a bug must still end the proposal, never leave it "running"
        log.exception("action %s (%s) failed unexpectedly", record.id, spec.call)
        failure = Failure(spec.call, f"unexpected {type(err).__name__}", uncertain=True)

    now = deps.clock()
    result: dict[str, Any] = {"request": request, "finished_at": now.isoformat()}
    verification: Also | None = None
    if record.result.get("approvals"):
        result["approvals"] = record.result["approvals"]  # who approved stays on the card and in the row
    if failure is not None:
        result["failure"] = {"call": failure.call, "reason": failure.reason, "uncertain": failure.uncertain}
        status = ProposalStatus.FAILED
    else:
        result["answer"] = {k: v for k, v in answer.items() if k not in spec.secret}
        status = ProposalStatus.ACCEPTED
        verification = start_verification(record, spec, result, now)
    moved = await store.finish(
        deps.sessions, record.id, from_status=ProposalStatus.RUNNING, status=status, result=result, now=now,
        params=forget_secrets(spec, record), also=ended_normally(record.id, verification),
    )
    said = f"failed: {failure.call} failed: {failure.reason}" if failure else f"accepted: {_summary(answer)}"
    await deps.audit(actor=by, action="action.run", target=record.id, params=request, outcome=said)
    shown = view(moved.record or record, now)
    await show(notifier.update_proposal, shown)
    await tell_outcome(deps, shown)
    if failure is not None:
        return Outcome(ClickResult.FAILED, shown, f"{failure.call} failed: {failure.reason}")
    return Outcome(ClickResult.ACCEPTED, shown, "accepted")


Also = Callable[[AsyncSession], Awaitable[None]]


def schedule_settling(proposal_id: str, now: datetime) -> Also:
    """Committed with the claim: should this instance die before recording the provider's answer, the
    `actions.settle` job (app/flows/action_settle.py) finds out what happened and ends the proposal."""

    async def schedule(session: AsyncSession) -> None:
        await job_store.enqueue(
            session, kind=SETTLE_JOB, payload={"proposal_id": proposal_id}, run_at=now + SETTLE_AFTER, now=now,
            dedupe_key=settle_key(proposal_id),
        )

    return schedule


def settle_key(proposal_id: str) -> str:
    return f"{SETTLE_JOB}:{proposal_id}"


def ended_normally(proposal_id: str, then: Also | None) -> Also:
    """Committed with the provider's answer: the settle job has nothing left to do, and `then` follows."""

    async def end(session: AsyncSession) -> None:
        await store.drop_pending_job(session, settle_key(proposal_id))
        if then is not None:
            await then(session)

    return end


def start_verification(record: ProposalRecord, spec: ActionSpec, result: dict[str, Any], now: datetime) -> Also | None:
    """For an action that is verified afterwards: its window in `result`, and the job that watches it
    (to commit with the proposal's move to accepted); None for one that is not verified."""
    if not verifies(spec, record.params.get("inputs", {})):
        return None
    policy = ActionPolicy.from_dict(record.params.get("policy"))
    deadline = now + timedelta(minutes=policy.verify_window_minutes)
    first = min(now + timedelta(seconds=policy.verify_interval_s), deadline)
    result["verification"] = VerifyState().to_dict()
    result["verify_until"] = deadline.isoformat()
    return schedule_verification(record.id, first, now)


def schedule_verification(proposal_id: str, first: datetime, now: datetime) -> Also:
    async def schedule(session: AsyncSession) -> None:
        await job_store.enqueue(
            session, kind=VERIFY_JOB, payload={"proposal_id": proposal_id}, run_at=first, now=now,
            dedupe_key=f"{VERIFY_JOB}:{proposal_id}",
        )

    return schedule


def _summary(answer: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in answer.items() if k != "pids" and v is not None)[:250]


async def _audit(deps: Deps, actor: str, action: str, record: ProposalRecord, outcome: str) -> None:
    await deps.audit(
        actor=actor, action=action, target=record.id,
        params={"kind": record.kind, "service": record.service}, outcome=outcome,
    )


async def _unknown(deps: Deps, action: str, by: str, proposal_id: str) -> Outcome:
    await deps.audit(actor=by, action=action, target=str(proposal_id)[:64], outcome="refused: no such proposal")
    return Outcome(ClickResult.UNKNOWN, None, "this proposal is not known to pitcrew here")


async def _refused(deps: Deps, action: str, record: ProposalRecord, by: str, decision: Decision) -> Outcome:
    await _audit(deps, by, action, record, f"refused: {decision.reason}")
    return Outcome(ClickResult.REFUSED, view(record, deps.clock()), decision.reason)


async def _not_open(deps: Deps, action: str, record: ProposalRecord, by: str, notifier: ProposalNotifier) -> Outcome:
    """Someone else got there first, or time ran out: say which and change nothing (but mark an expiry)."""
    now = deps.clock()
    expired = is_expired(record.expires_at, now)
    holder = record.result.get("cancelled_by") if record.status == ProposalStatus.CANCELLED else record.confirmed_by
    reason = why_not_open(record.status, expired=expired, confirmed_by=holder)
    await _audit(deps, by, action, record, f"not done: {reason}")
    if record.status == ProposalStatus.PROPOSED and expired:
        await expire(deps, record.id, notifier=notifier)
    current = await store.get(deps.sessions, record.id) or record
    return Outcome(ClickResult.NOT_OPEN, view(current, now), reason, holder)


async def _operators(
    deps: Deps, users: str | Collection[str], members: GroupMembers
) -> tuple[Operators, dict[str, Collection[str] | None]]:
    """The catalog's operators, and the members of its groups when one of `users` is not listed by id."""
    operators = Operators.of(deps.catalog.slack.operators)
    wanted = [users] if isinstance(users, str) else list(users)
    if not any(operators.needs_lookup(user) for user in wanted):
        return operators, {}
    return operators, await read_groups(members, operators.groups)
