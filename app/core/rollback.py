"""Which deployment a rollback goes back to: the newest deployment older than the one now serving
that never crashed or failed and that nothing pitcrew saw marked bad. Pure, so every edge case is a
small unit test.

The provider's own word is not enough: after a rollback, Railway marks the deployment that had
crashed REMOVED with `canRollback` true, exactly like a good one it replaced. Its schema
(refdata/railway/schema.json) gives a `Deployment` one current `status` (DeploymentStatus:
CRASHED, REMOVED, ...), `statusUpdatedAt` and `canRollback`, and no history of statuses, so once
replaced the crash cannot be read there any more (app/sandbox/railway/world.py `_activate` imitates
this). What pitcrew itself saw is handed in as `known_bad` (deployment id → why): deployments it
rolled back from, whose verification failed, or that an incident opened on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.core.observations import Deployment

SUCCESSFUL = frozenset({"SUCCESS", "READY", "DEPLOYED", "SLEEPING"})
# Never served: a provider's "can roll back" cannot make these a good target.
# Served, then died: never a default target, whatever the provider's "can roll back" says.
CRASHED = frozenset({"CRASHED"})
NEVER_SERVED = frozenset(
    {
        "FAILED", "ERROR", "CANCELED", "CANCELLED", "SKIPPED",
        "BUILDING", "DEPLOYING", "INITIALIZING", "QUEUED", "WAITING",
    }
)


class NoRollbackTarget(Exception):
    """No deployment can be rolled back to; the message says why, for the person who asked."""


DEFAULT_WHY = "the newest deployment before the current one that never crashed, failed or was marked bad"


@dataclass(frozen=True)
class PassedOver:
    """An older deployment the default target skipped, and why (for the card)."""

    deployment: Deployment
    reason: str


@dataclass(frozen=True)
class RollbackPlan:
    current: Deployment | None
    target: Deployment
    why: str
    passed_over: tuple[PassedOver, ...] = ()


def current_deployment(history: Sequence[Deployment]) -> Deployment | None:
    """The live deployment: the one the provider marks current, else the newest successful one."""
    marked = next((d for d in history if d.is_current), None)
    return marked or next((d for d in history if d.status in SUCCESSFUL), None)


def choose_target(
    history: Sequence[Deployment], target_id: str | None = None, *, known_bad: Mapping[str, str] | None = None
) -> RollbackPlan:
    """`history` is newest first. Raises NoRollbackTarget with the reason when nothing qualifies.

    `known_bad` (deployment id → why) only steers the default target: a deployment named on purpose
    is taken if the provider can roll back to it.
    """
    bad = known_bad or {}
    if not history:
        raise NoRollbackTarget("this service has no deployments")
    current = current_deployment(history)
    if target_id is not None:
        target = next((d for d in history if d.id == target_id), None)
        if target is None:
            raise NoRollbackTarget(
                f"deployment {target_id} is not one of this service's last {len(history)} deployments"
            )
        if current is not None and target.id == current.id:
            raise NoRollbackTarget(f"deployment {target_id} is the current deployment; nothing to roll back")
        if target.status in NEVER_SERVED or (target.can_rollback is None and target.status not in SUCCESSFUL):
            raise NoRollbackTarget(f"deployment {target_id} did not succeed (status {target.status})")
        if target.can_rollback is False:
            raise NoRollbackTarget(f"the provider says deployment {target_id} cannot be rolled back to")
        return RollbackPlan(current, target, "the deployment you named")
    older = history[history.index(current) + 1 :] if current is not None else history
    skipped: list[PassedOver] = []
    for candidate in older:
        reason = why_not_default(candidate, bad)
        if reason is None:
            return RollbackPlan(current, candidate, DEFAULT_WHY, tuple(skipped))
        skipped.append(PassedOver(candidate, reason))
    said = "; ".join(f"{p.deployment.id}: {p.reason}" for p in skipped if p.deployment.id in bad)
    why = "no earlier successful deployment that the provider can roll back to"
    raise NoRollbackTarget(why + (f" (passed over {said})" if said else ""))


def why_not_default(deployment: Deployment, known_bad: Mapping[str, str]) -> str | None:
    """Why `deployment` is not a default rollback target, or None when it is a good one."""
    if deployment.status in CRASHED:
        return "it crashed"
    if deployment.status in NEVER_SERVED:
        return f"it never served (status {deployment.status})"
    if deployment.id in known_bad:
        return known_bad[deployment.id]
    if deployment.can_rollback is False:
        return "the provider cannot roll back to it"
    if not can_roll_back_to(deployment):
        return f"it did not succeed (status {deployment.status})"
    return None


def can_roll_back_to(deployment: Deployment) -> bool:
    """A deployment that once served and that the provider does not refuse.

    The provider's word wins when it gives one: Railway marks a replaced deployment REMOVED yet
    `canRollback` true, and Vercel names its rollback candidates. Without it, success is the test.
    """
    if deployment.status in NEVER_SERVED or deployment.can_rollback is False:
        return False
    return deployment.can_rollback is True or deployment.status in SUCCESSFUL
