"""Which deployment a rollback goes back to: the newest successful one before the current one
that the provider can roll back to. Pure, so every edge case is a small unit test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.observations import Deployment

SUCCESSFUL = frozenset({"SUCCESS", "READY", "DEPLOYED", "SLEEPING"})
# Never served: a provider's "can roll back" cannot make these a good target.
NEVER_SERVED = frozenset(
    {
        "FAILED", "ERROR", "CANCELED", "CANCELLED", "SKIPPED",
        "BUILDING", "DEPLOYING", "INITIALIZING", "QUEUED", "WAITING",
    }
)


class NoRollbackTarget(Exception):
    """No deployment can be rolled back to; the message says why, for the person who asked."""


@dataclass(frozen=True)
class RollbackPlan:
    current: Deployment | None
    target: Deployment
    why: str


def current_deployment(history: Sequence[Deployment]) -> Deployment | None:
    """The live deployment: the one the provider marks current, else the newest successful one."""
    marked = next((d for d in history if d.is_current), None)
    return marked or next((d for d in history if d.status in SUCCESSFUL), None)


def choose_target(history: Sequence[Deployment], target_id: str | None = None) -> RollbackPlan:
    """`history` is newest first. Raises NoRollbackTarget with the reason when nothing qualifies."""
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
    for candidate in older:
        if can_roll_back_to(candidate):
            return RollbackPlan(current, candidate, "the newest successful deployment before the current one")
    raise NoRollbackTarget("no earlier successful deployment that the provider can roll back to")


def can_roll_back_to(deployment: Deployment) -> bool:
    """A deployment that once served and that the provider does not refuse.

    The provider's word wins when it gives one: Railway marks a replaced deployment REMOVED yet
    `canRollback` true, and Vercel names its rollback candidates. Without it, success is the test.
    """
    if deployment.status in NEVER_SERVED or deployment.can_rollback is False:
        return False
    return deployment.can_rollback is True or deployment.status in SUCCESSFUL
