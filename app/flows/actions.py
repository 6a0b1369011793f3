"""Destructive actions: propose (show what would happen), guard, run exactly once, report in place.

One mechanism serves every destructive step, whichever edge asks for it: `/rollback`, a health-card
button, a runbook step or the console all call the same `propose_*` functions with plain values
(the service, the parameters, and an `Asked`: who asks, where to post, the incident if any), and
every click goes through `confirm` or `cancel`. The flow knows nothing of Slack: it posts and edits the proposal's
message through a `ProposalNotifier` and reads user groups through `GroupMembers`, both small
protocols the edge implements (app/slack/notifier.py, app/slack/operators.py).

What makes it safe, step by step:
1. Propose: look everything up first (current and target deployment, idle sessions) and store the
   proposal, with its expiry, before posting it; bad input raises `ActionError` and nothing is stored.
2. Guard: only operators confirm (`app/core/guard.py`); a refusal changes nothing and is audited.
3. Run once: `store.proposals.claim` is one conditional UPDATE; only its winner calls the provider.
4. Report: the message is edited as the status moves (running, accepted or failed, verified).
5. Verify: an accepted rollback/restart/redeploy schedules the `verify_action` job (app/flows/verify.py).
6. Audit: the proposal, each click, the provider request and answer, and the verification.
A secret parameter (a variable's value) is never shown or audited, and is forgotten once used.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import ActionsConfig, Catalog, Service, UnknownService
from app.core import capacity
from app.core.actions import (
    DEFAULT_IDLE_MINUTES,
    MASK,
    ActionNotAvailable,
    ActionPolicy,
    ActionSpec,
    InvalidActionParams,
    PolicyLayer,
    check_reachable,
    expires_at,
    idle_minutes_of,
    is_expired,
    resolve_policy,
    spec_for,
)
from app.core.health import hidden_sessions_note
from app.core.rollback import (
    NoRollbackTarget,
    can_roll_back_to,
    choose_target,
    current_deployment,
    why_not_default,
)
from app.core.secrets import mask_values
from app.core.value_vault import seal, vault_key
from app.core.variable_changes import parse_revert_after
from app.flows import action_calls as calls
from app.flows import action_settle as _settle_job  # noqa: F401 - registers the actions.settle job
from app.flows import verify as _verify_job  # noqa: F401 - registers the verify_action job with the actions
from app.flows.action_calls import ActionError, CannotPropose
from app.flows.action_ports import (
    GroupMembers,
    LoggingNotifier,
    NotifyFailed,
    Posted,
    ProposalNotifier,
    notifier_for,
    use_notifier,
)
from app.flows.action_runs import PITCREW, VERIFY_JOB, cancel, confirm, expire, find
from app.flows.action_views import (
    ClickResult,
    DeploymentList,
    DeploymentView,
    Failure,
    IdlePreview,
    Outcome,
    Proposal,
    SessionGroup,
    Where,
    deployment_label,
    forget_secrets,
    spec_of,
    view,
)
from app.flows.secret_inputs import seal_inputs
from app.flows.variable_plans import ChangePlan, plan_change
from app.jobs.runner import handles
from app.providers.base import InvalidIdentifier, ProviderError
from app.providers.postgres import hidden_sessions, idle_sessions
from app.store import bad_deployments, variable_changes
from app.store import jobs as job_store
from app.store import proposals as store
from app.store.jobs import ClaimedJob
from app.store.proposals import ProposalRecord

if TYPE_CHECKING:
    from app.core.observations import Deployment
    from app.deps import Deps

EXPIRE_JOB = "expire_action"
log = logging.getLogger("pitcrew.actions")
HISTORY_LIMIT = 20  # deployments read to choose a rollback target
LIST_LIMIT = 10


# ---- proposing --------------------------------------------------------------------------------

Plan = dict[str, Any]
Build = Callable[[Service, ActionSpec], Awaitable[tuple[dict[str, Any], Plan]]]


Also = Callable[[AsyncSession, str, datetime], Awaitable[None]]  # more rows, in the proposal's transaction


@dataclass(frozen=True)
class Asked:
    """Who asked, where the proposal goes, how it is posted, and the incident it serves: the same for
    every `propose_*`, whichever edge asks (a command, a button, a runbook step, a reminder)."""

    by: str
    where: Where
    notifier: ProposalNotifier
    incident_id: int | None = None
    approved_before: tuple[str, ...] = ()  # who approved the proposal this one renews (it never ran)


async def propose_rollback(
    deps: Deps,
    service: str,
    target_id: str | None = None,
    *,
    asked: Asked,
) -> Proposal:
    """Propose rolling `service` back to `target_id`, else to the newest deployment older than the one
    serving that never crashed or failed and that pitcrew did not see go bad (app/store/bad_deployments.py).

    A named deployment must belong to the service (an unknown or foreign id is refused) and be one
    the provider can roll back to.
    """

    async def build(svc: Service, spec: ActionSpec) -> tuple[dict[str, Any], Plan]:
        history = await calls.history(deps, svc, HISTORY_LIMIT)
        wanted = target_id
        if wanted is not None and all(d.id != wanted for d in history):
            named = await calls.deployment(deps, svc, wanted)  # unknown or another service's: refused here
            wanted = named.id  # Vercel also finds a deployment by its URL
            if all(d.id != named.id for d in history):
                history = [*history, named]
        plan = choose_target(history, wanted, known_bad=await bad_deployments.known_bad(deps.sessions, service))
        inputs = {"target_deployment_id": plan.target.id, "named_target": target_id}
        passed = [{"id": p.deployment.id, "status": p.deployment.status, "reason": p.reason} for p in plan.passed_over]
        return inputs, {**_plan(current=plan.current, target=plan.target, why=plan.why), "passed_over": passed}

    return await _propose(deps, "rollback", service, build, asked)


async def propose_restart(deps: Deps, service: str, *, asked: Asked) -> Proposal:
    """Propose restarting the deployment serving `service` now (nothing is built or deployed)."""
    return await _propose_on_current(deps, "restart", service, asked)


async def propose_redeploy(deps: Deps, service: str, *, asked: Asked, why: str | None = None) -> Proposal:
    """Propose deploying the current deployment's source again, as a new deployment (on Railway with the
    variables as they are now: how a service takes a shared variable changed without deploying it)."""
    return await _propose_on_current(deps, "redeploy", service, asked, why=why)


async def propose_stop(deps: Deps, service: str, *, asked: Asked) -> Proposal:
    """Propose stopping (pausing) the service: it stays down until something deploys."""
    return await _propose_on_current(deps, "stop", service, asked)


async def propose_set_variable(
    deps: Deps,
    service: str,
    name: str,
    value: str,
    *,
    asked: Asked,
    redeploy: bool = True,
    revert_after: timedelta | str | None = None,
    targets: Sequence[str] | None = None,
    why: str | None = None,
    shared: str | None = None,
    also: Sequence[str] = (),
) -> Proposal:
    """Propose setting variable `name`, then redeploying (what `railway variables set` + restart does;
    on Vercel the env entry for `targets`, then a production redeploy).

    The value is shown and audited as `***`, and erased from the database once the proposal ends. The
    card shows whether the name exists, the old and new fingerprints and the new length. With
    `revert_after`, pitcrew proposes the old value back that long after the change ran (its reminder).
    Railway only: `shared` sets the environment's shared variable the service references instead, then
    redeploys this service alone; `also` sets more names of the service to the same value in one change.
    """
    return await _propose_variable(
        deps, "set_variable", service, name, value, redeploy=redeploy, revert_after=revert_after, targets=targets,
        asked=asked, why=why, shared=shared, also=also,
    )


async def propose_unset_variable(
    deps: Deps,
    service: str,
    name: str,
    *,
    asked: Asked,
    redeploy: bool = True,
    revert_after: timedelta | str | None = None,
    targets: Sequence[str] | None = None,
    why: str | None = None,
) -> Proposal:
    """Propose removing variable `name` (Railway variableDelete; Vercel the env entries for `targets`),
    then redeploying."""
    return await _propose_variable(
        deps, "unset_variable", service, name, None, redeploy=redeploy, revert_after=revert_after, targets=targets,
        asked=asked, why=why,
    )


async def _propose_variable(
    deps: Deps, kind: str, service: str, name: str, value: str | None, *, redeploy: bool,
    revert_after: timedelta | str | None, targets: Sequence[str] | None, asked: Asked, why: str | None = None,
    shared: str | None = None, also: Sequence[str] = (),
) -> Proposal:
    """set/unset: the plan read from the provider; with a revert reminder, its row (the old value sealed)
    is written in the proposal's own transaction."""
    planned: list[ChangePlan] = []
    remembered: list[str] = []

    async def build(svc: Service, spec: ActionSpec) -> tuple[dict[str, Any], Plan]:
        delay = revert_after if isinstance(revert_after, timedelta) or revert_after is None else (
            parse_revert_after(revert_after)
        )
        plan = await plan_change(
            deps, svc, service, name, value, redeploy=redeploy, revert_after=delay,
            targets=list(targets) if targets else None, shared=shared, also=also,
        )
        planned.append(plan)
        return plan.inputs, {**plan.plan, "why": why}

    async def remember(session: AsyncSession, proposal_id: str, now: datetime) -> None:
        plan = planned[-1] if planned else None
        preview = (plan.plan.get("variable") or {}) if plan else {}
        if plan is None or not preview.get("revert_after_s"):
            return
        remembered.append(proposal_id)
        key = vault_key(deps.settings.audit_key())
        old = plan.current.value
        await variable_changes.create(
            session, id=proposal_id, service=service, name=name, old_exists=plan.current.exists,
            old_sealed=seal(key, old, proposal_id) if key is not None and old is not None else None,
            old_fingerprint=preview.get("old_fingerprint"), set_fingerprint=preview.get("new_fingerprint"),
            revert_after_s=int(preview["revert_after_s"]), channel=asked.where.channel,
            thread_ts=asked.where.thread_ts, incident_id=asked.incident_id, proposed_by=asked.by, now=now,
        )

    try:
        return await _propose(deps, kind, service, build, asked, also=remember)
    except ActionError:
        if remembered:  # stored, then could not be posted (and was cancelled): keep no old value
            await variable_changes.forget(deps.sessions, remembered[-1], status="forgotten")
        raise


async def propose_promote(
    deps: Deps,
    service: str,
    deployment_id: str,
    *,
    asked: Asked,
) -> Proposal:
    """Propose pointing production at `deployment_id` (Vercel; also how a rollback is undone)."""

    async def build(svc: Service, spec: ActionSpec) -> tuple[dict[str, Any], Plan]:
        target = await calls.deployment(deps, svc, deployment_id)
        if target.is_current:
            raise CannotPropose(f"deployment {deployment_id} already serves production; nothing to promote")
        if target.status != "READY":
            raise CannotPropose(
                f"deployment {deployment_id} is {target.status}; only a READY deployment can be promoted"
            )
        if svc.provider == "vercel" and target.meta.get("target") != "production":
            raise CannotPropose(
                f"deployment {deployment_id} is a preview build: it was built with the preview environment "
                "variables, and Vercel promotes a preview only by rebuilding it for production. Deploy that "
                "commit to production (merge it, or `vercel --prod`), then promote or roll back to that build"
            )
        current = current_deployment(await calls.history(deps, svc, LIST_LIMIT))
        plan = _plan(current=current, target=target, why="the deployment you named")
        return {"target_deployment_id": target.id}, plan

    return await _propose(deps, "promote", service, build, asked)


async def propose_terminate_idle(
    deps: Deps,
    service: str,
    *,
    asked: Asked,
    idle_minutes: float = DEFAULT_IDLE_MINUTES,
) -> Proposal:
    """Propose ending the database sessions idle longer than `idle_minutes`, showing first whose they are.

    The termination applies the same predicate again when confirmed (app/providers/postgres.py), so
    a session that became busy meanwhile is left alone.
    """

    async def build(svc: Service, spec: ActionSpec) -> tuple[dict[str, Any], Plan]:
        minutes = idle_minutes_of(idle_minutes)
        ref, dsn = calls.postgres(deps, svc)
        found = await idle_sessions(dsn, idle_minutes=minutes, timeout_s=ref.timeout_s, roles=ref.roles)
        if not found:
            nothing = f"no session of {service} has been idle for more than {minutes:g} minutes"
            if ref.roles:
                nothing += f" (of the roles {', '.join(ref.roles)})"
            hidden, role = await hidden_sessions(dsn, timeout_s=ref.timeout_s)
            if hidden:  # "nothing idle" may only mean "nothing pitcrew's role is allowed to see"
                nothing += f"; but pitcrew {hidden_sessions_note(hidden, role)}"
            raise CannotPropose(nothing)
        return {"idle_minutes": minutes}, {"sessions": IdlePreview.of(found, minutes).to_dict()}

    return await _propose(deps, "terminate_idle_sessions", service, build, asked)


async def propose_scale(
    deps: Deps,
    service: str,
    resource: str,
    value: Any,
    *,
    asked: Asked,
) -> Proposal:
    """Propose changing a Railway service's memory or CPU limit or its replicas; the proposal shows the
    current value read from Railway and the new one, and that more raises the bill. `value` is text as
    typed (`2GB`) or a number already in the resource's unit (GB, vCPUs, replicas)."""

    async def build(svc: Service, spec: ActionSpec) -> tuple[dict[str, Any], Plan]:
        if resource not in capacity.RESOURCES:
            raise InvalidActionParams(f"resource must be one of {', '.join(capacity.RESOURCES)}, got {resource!r}")
        text = value if isinstance(value, str) else capacity.amount(resource, value).split(" ")[0]
        try:
            capacity.validate_value(resource, text)
        except capacity.ScaleUsage as err:
            raise InvalidActionParams(f"{err}. {capacity.SCALE_USAGE}") from None
        if svc.railway is None:
            raise ActionNotAvailable("scale works on Railway services only")
        current = current_deployment(await calls.history(deps, svc, LIST_LIMIT))
        if current is None:
            raise CannotPropose(f"{service} has no deployment serving now, so there is nothing to scale")
        now = await calls.railway(deps).capacity(svc.railway)
        before = {"memory": now.memory_gb, "cpu": now.vcpus, "replicas": now.replicas}[resource]
        try:
            amount = capacity.parse_value(resource, text, before)
        except capacity.ScaleUsage as err:
            raise InvalidActionParams(f"{err}. {capacity.SCALE_USAGE}") from None
        if before is not None and float(before) == amount:
            raise CannotPropose(f"{service} already has {resource} {capacity.amount(resource, amount)}")
        inputs = {"resource": resource, "value": amount, "current": before, "deployment_id": current.id}
        plan = {**_plan(current=current), "raises_bill": capacity.raises_bill(resource, before, amount)}
        return inputs, plan

    return await _propose(deps, "scale", service, build, asked)


async def propose_backup(
    deps: Deps,
    service: str,
    *,
    asked: Asked,
) -> Proposal:
    """Propose a backup of the service's Railway volume (a Railway service, or a PostgreSQL hosted on
    Railway); a service without a volume is refused, saying so."""

    async def build(svc: Service, spec: ActionSpec) -> tuple[dict[str, Any], Plan]:
        if svc.railway is None:
            raise CannotPropose(
                f"{service} has no `railway:` reference, so pitcrew cannot reach a volume to back up; "
                "take the backup in the database provider's console"
            )
        volumes = await calls.railway(deps).volumes(svc.railway)
        if not volumes:
            raise CannotPropose(f"{service} has no Railway volume attached, so there is nothing to back up")
        volume = volumes[0]
        found = await calls.railway(deps).backups(volume.id, ref=svc.railway)
        newest = found.taken[0] if found.taken else None
        plan = {
            "newest_backup": newest.isoformat() if newest else None,
            "schedules": list(found.schedules),
            "volumes": [v.name for v in volumes],
        }
        return {"volume_instance_id": volume.id, "volume_name": volume.name}, plan

    return await _propose(deps, "backup", service, build, asked)


async def propose(
    deps: Deps,
    kind: str,
    service: str,
    params: Mapping[str, Any] | None = None,
    *,
    asked: Asked,
) -> Proposal:
    """Any action by its kind and parameters: what a runbook step calls (`action: restart`).

    Parameters: rollback `target_deployment_id` (optional), promote `target_deployment_id`,
    set_variable `name`, `value`, `redeploy` (default true), terminate_idle_sessions `idle_minutes`
    (default 5), scale `resource` (memory, cpu, replicas) and `value`; restart, redeploy, stop and
    backup take none.
    """
    given = dict(params or {})
    allowed = {
        "rollback": {"target_deployment_id"},
        "promote": {"target_deployment_id"},
        "set_variable": {"name", "value", "redeploy", "revert_after", "targets"},
        "unset_variable": {"name", "redeploy", "revert_after", "targets"},
        "terminate_idle_sessions": {"idle_minutes"},
        "scale": {"resource", "value"},
    }.get(kind, set())
    extra = sorted(set(given) - allowed)
    if extra:
        reason = f"{kind} takes no parameter {', '.join(extra)}" + (
            f" (it takes {', '.join(sorted(allowed))})" if allowed else ""
        )
        await _audit_refusal(deps, asked.by, kind, service, given, reason)
        raise ActionError(reason)
    match kind:
        case "rollback":
            return await propose_rollback(deps, service, given.get("target_deployment_id"), asked=asked)
        case "promote":
            return await propose_promote(deps, service, str(given.get("target_deployment_id") or ""), asked=asked)
        case "restart" | "redeploy" | "stop":
            return await _propose_on_current(deps, kind, service, asked)
        case "set_variable":
            redeploy = bool(given.get("redeploy", True))
            name, value = given.get("name", ""), given.get("value", "")
            return await propose_set_variable(
                deps, service, name, value, redeploy=redeploy, revert_after=given.get("revert_after"),
                targets=given.get("targets"), asked=asked,
            )
        case "unset_variable":
            return await propose_unset_variable(
                deps, service, given.get("name", ""), redeploy=bool(given.get("redeploy", True)),
                revert_after=given.get("revert_after"), targets=given.get("targets"), asked=asked,
            )
        case "scale":
            resource, value = str(given.get("resource", "")), given.get("value", "")
            return await propose_scale(deps, service, resource, value, asked=asked)
        case "backup":
            return await propose_backup(deps, service, asked=asked)
        case "terminate_idle_sessions":
            return await propose_terminate_idle(
                deps, service, idle_minutes=given.get("idle_minutes", DEFAULT_IDLE_MINUTES), asked=asked
            )
    reason = str(ActionNotAvailable(f"there is no action {kind!r}"))
    await _audit_refusal(deps, asked.by, kind, service, given, reason)
    raise ActionError(reason)


async def propose_again(
    deps: Deps, proposal_id: str, *, by: str, notifier: ProposalNotifier, where: Where | None = None
) -> Proposal:
    """The same action anew (after a failure or an expiry), looked up afresh, where the first one was."""
    record = await find(deps, proposal_id)
    if record is None:
        raise ActionError("that proposal is not known here")
    spec = spec_of(record)
    if spec.secret:
        raise ActionError(
            f"{spec.verb.lower()} needs a secret value, which pitcrew forgot when the first proposal ended; "
            "propose it again from where it came from"
        )
    inputs = record.params.get("inputs", {})
    params: dict[str, Any] = {}
    if record.kind == "rollback" and inputs.get("named_target"):
        params["target_deployment_id"] = inputs["named_target"]
    elif record.kind == "promote":
        params["target_deployment_id"] = inputs.get("target_deployment_id")
    elif record.kind == "scale":
        params = {"resource": inputs.get("resource"), "value": inputs.get("value")}
    elif record.kind == "terminate_idle_sessions":
        params["idle_minutes"] = inputs.get("idle_minutes", DEFAULT_IDLE_MINUTES)
    place = where or Where(record.channel or "", record.thread_ts)
    asked = Asked(by, place, notifier, record.incident_id, approvals_to_carry(record, deps.clock()))
    return await propose(deps, record.kind, record.service, params, asked=asked)


def approvals_to_carry(record: ProposalRecord, now: datetime) -> tuple[str, ...]:
    """Who already approved a proposal that ended without running (cancelled, expired): its renewal
    keeps them, so re-proposing (by anyone) neither wipes an approval nor lets the same operator count
    a second time. Each counts again only if still an operator when the renewal is confirmed
    (app/flows/action_runs.py). A proposal that ran used its approvals; one still open keeps its own."""
    ended = record.status in ("cancelled", "expired") or (
        record.status == "proposed" and is_expired(record.expires_at, now)
    )
    if record.confirmed_by is not None or not ended:
        return ()
    earlier = [*record.params.get("approved_before", []), record.proposed_by, *record.result.get("approvals", [])]
    return tuple(dict.fromkeys(u for u in earlier if isinstance(u, str) and u and u != PITCREW))


async def list_deployments(deps: Deps, service: str, limit: int = LIST_LIMIT) -> DeploymentList:
    """The service's latest deployments with status, commit and age, and which one `/rollback` would pick."""
    try:
        svc = deps.catalog.service(service)
        if svc.provider not in ("railway", "vercel"):
            spec_for(svc.provider, "rollback")  # raises ActionNotAvailable, saying what this provider has
        history = await calls.history(deps, svc, limit)
    except _ERRORS as err:
        raise ActionError(explain(err, service)) from None
    known = await bad_deployments.known_bad(deps.sessions, service)
    try:
        target: str | None = choose_target(history, known_bad=known).target.id
    except NoRollbackTarget:
        target = None
    current = current_deployment(history)
    older = history[history.index(current) + 1 :] if current is not None else history
    passed = {d.id: why for d in older if (why := why_not_default(d, known)) is not None}
    candidates = frozenset(d.id for d in history if not d.is_current and can_roll_back_to(d))
    shown = tuple(DeploymentView.of(d) for d in history)
    # Vercel's redeploy is the other way out beside a rollback (issue 15: "everywhere actions are offered");
    # a Railway listing keeps its rollback buttons alone, as the health card offers Railway a restart.
    redeployable = current.id if current is not None and svc.provider == "vercel" else None
    return DeploymentList(service, svc.provider, shown, candidates, target, deps.clock(), passed, redeployable)


def policy_for(catalog: Catalog, service: str, kind: str) -> ActionPolicy:
    """The policy of `kind` on `service`: pitcrew.yml's top-level `actions:`, then the service's."""
    layers = [_layer(catalog.actions)]
    if service in catalog.services:
        layers.append(_layer(catalog.services[service].actions))
    return resolve_policy(kind, layers)


def _layer(config: ActionsConfig) -> PolicyLayer:
    return PolicyLayer(
        expire_minutes=config.expire_minutes,
        second_approver=config.second_approver,
        verify_interval_s=config.verify.interval_s,
        verify_window_minutes=config.verify.window_minutes,
    )


async def _propose_on_current(
    deps: Deps, kind: str, service: str, asked: Asked, *, why: str | None = None
) -> Proposal:
    """restart, redeploy, stop: they act on the deployment serving now, which is looked up and shown."""

    async def build(svc: Service, spec: ActionSpec) -> tuple[dict[str, Any], Plan]:
        current = current_deployment(await calls.history(deps, svc, LIST_LIMIT))
        if current is None:
            raise CannotPropose(f"{service} has no deployment serving now, so there is nothing to {spec.verb.lower()}")
        return {"deployment_id": current.id}, _plan(current=current, why=why)

    return await _propose(deps, kind, service, build, asked)


_ERRORS = (
    UnknownService,
    ActionNotAvailable,
    InvalidActionParams,
    NoRollbackTarget,
    ProviderError,
    InvalidIdentifier,
    CannotPropose,
)


def explain(err: BaseException, service: str) -> str:
    """The sentence a person reads for why nothing was proposed."""
    if isinstance(err, UnknownService):
        return str(err)
    if isinstance(err, ActionNotAvailable | NoRollbackTarget):
        return f"{service}: {err}"
    if isinstance(err, ProviderError):
        return f"{err.call} failed: {err.reason}"
    return str(err)


async def _propose(
    deps: Deps, kind: str, service_name: str, build: Build, asked: Asked, *, also: Also | None = None
) -> Proposal:
    """Look up (`build`), store with its expiry job (and `also`'s rows), audit, post, and remember where
    it was posted."""
    by, where, notifier, incident_id = asked.by, asked.where, asked.notifier, asked.incident_id
    carried = {"approved_before": list(asked.approved_before)} if asked.approved_before else {}
    try:
        service = deps.catalog.service(service_name)
        spec = spec_for(service.provider, kind)
        check_reachable(spec, has_railway=service.railway is not None)
        inputs, plan = await build(service, spec)
    except _ERRORS as err:
        reason = mask_values(explain(err, service_name), deps.secret_values())
        await _audit_refusal(deps, by, kind, service_name, {}, reason)
        raise ActionError(reason) from None
    policy = policy_for(deps.catalog, service_name, kind)
    now = deps.clock()
    proposal_id = uuid.uuid4().hex
    until = expires_at(now, policy.expire_minutes)
    try:
        inputs = seal_inputs(deps, spec, proposal_id, inputs)
    except ValueError as err:
        await _audit_refusal(deps, by, kind, service_name, {}, str(err))
        raise ActionError(str(err)) from None

    async def schedule_expiry(session: AsyncSession) -> None:
        await job_store.enqueue(
            session, kind=EXPIRE_JOB, payload={"proposal_id": proposal_id}, run_at=until, now=now,
            dedupe_key=f"{EXPIRE_JOB}:{proposal_id}",
        )
        if also is not None:
            await also(session, proposal_id, now)

    record = await store.create(
        deps.sessions,
        id=proposal_id,
        kind=kind,
        service=service_name,
        params={"provider": service.provider, "inputs": inputs, "plan": plan, "policy": policy.to_dict(), **carried},
        proposed_by=by,
        now=now,
        expires_at=until,
        channel=where.channel,
        thread_ts=where.thread_ts,
        incident_id=incident_id,
        also=schedule_expiry,
    )
    proposal = view(record, now)
    await deps.audit(
        actor=by,
        action="action.propose",
        target=proposal_id,
        params={
            "kind": kind, "service": service_name, "params": proposal.params, "channel": where.channel,
            "thread_ts": where.thread_ts, "incident_id": incident_id, "expires_at": until.isoformat(),
        },
        outcome=f"proposed: {proposal.description}",
    )
    try:
        posted = await notifier.post_proposal(proposal)
    except Exception as err:  # not posted: nobody could confirm it, so it must not stay open
        reason = str(err) if isinstance(err, NotifyFailed) else f"unexpected {type(err).__name__}"
        if not isinstance(err, NotifyFailed):
            log.exception("posting proposal %s failed", proposal_id)
        forgotten = forget_secrets(spec, record)
        await store.cancel(deps.sessions, proposal_id, by=PITCREW, now=deps.clock(), params=forgotten)
        await deps.audit(
            actor=PITCREW, action="action.cancel", target=proposal_id, params={"kind": kind, "service": service_name},
            outcome=f"cancelled: could not post the proposal ({reason})",
        )
        raise ActionError(f"could not post the proposal in this channel ({reason}); nothing will run") from None
    await store.attach_message(
        deps.sessions, proposal_id, channel=posted.channel, ts=posted.ts, thread_ts=posted.thread_ts, now=deps.clock()
    )
    if posted.where != (where.channel, where.thread_ts):
        await deps.audit(
            actor=PITCREW, action="action.posted", target=proposal_id,
            params={"asked_in": where.channel, "posted_in": posted.channel},
            outcome=f"posted in {posted.channel}: could not post in {where.channel}",
        )
    return replace(proposal, channel=posted.channel, thread_ts=posted.thread_ts, message_ts=posted.ts)


async def _audit_refusal(deps: Deps, by: str, kind: str, service: str, params: Mapping[str, Any], reason: str) -> None:
    shown = {k: (MASK if k == "value" else v) for k, v in params.items()}
    await deps.audit(
        actor=by,
        action="action.propose",
        target=service[:100],
        params={"kind": kind, "service": service, "params": shown},
        outcome=f"not proposed: {reason}",
    )


def _plan(
    *, current: Deployment | None = None, target: Deployment | None = None, why: str | None = None
) -> Plan:
    return {
        "current": DeploymentView.of(current).to_dict() if current else None,
        "target": DeploymentView.of(target).to_dict() if target else None,
        "why": why,
    }


async def get_proposal(deps: Deps, proposal_id: str) -> Proposal | None:
    """The proposal as it stands now, or None."""
    record = await find(deps, proposal_id)
    return view(record, deps.clock()) if record is not None else None


@handles(EXPIRE_JOB)
async def expire_job(deps: Deps, job: ClaimedJob) -> None:
    """At a proposal's expiry: still unconfirmed, it is marked expired and its message says so."""
    await expire(deps, str(job.payload.get("proposal_id")), notifier=notifier_for(deps))


__all__ = [
    "EXPIRE_JOB",
    "VERIFY_JOB",
    "ActionError",
    "ClickResult",
    "DeploymentList",
    "DeploymentView",
    "Failure",
    "GroupMembers",
    "IdlePreview",
    "LoggingNotifier",
    "NotifyFailed",
    "Outcome",
    "Posted",
    "Proposal",
    "ProposalNotifier",
    "SessionGroup",
    "Where",
    "cancel",
    "confirm",
    "deployment_label",
    "expire",
    "explain",
    "get_proposal",
    "list_deployments",
    "notifier_for",
    "policy_for",
    "propose",
    "propose_again",
    "propose_backup",
    "propose_promote",
    "propose_redeploy",
    "propose_restart",
    "propose_rollback",
    "propose_scale",
    "propose_set_variable",
    "propose_stop",
    "propose_terminate_idle",
    "propose_unset_variable",
    "use_notifier",
    "view",
]
