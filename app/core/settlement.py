"""Settling an action that was left `running`: did it happen? Pure judgements on what the provider shows now.

An instance killed between claiming a proposal and recording the provider's answer leaves it
`running` forever: the button says "running now", Cancel is refused, a runbook waits on it. Once it
has been running longer than any provider call may take (`SETTLE_AFTER`), a job asks the provider
what it can (app/flows/action_settle.py) and these functions say which of three it was: done, not
done, or unknown (the provider keeps no trace of it, so a person must look). Each comes with the
evidence, a sentence for the card and the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.core.observations import Deployment

PROVIDER_TIMEOUT_S = 60.0  # no provider call lasts longer: Railway and Vercel 10 s, a service's `timeout_s` at most 60
SETTLE_MARGIN = timedelta(minutes=2)
SETTLE_AFTER = timedelta(seconds=PROVIDER_TIMEOUT_S) + SETTLE_MARGIN
CLOCK_SKEW = timedelta(minutes=1)  # the provider's clock against ours, when comparing creation times


class Settled(StrEnum):
    DONE = "done"
    NOT_DONE = "not_done"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Settlement:
    """What the provider shows about an interrupted action. `answer` is what the provider's answer
    would have carried (the new deployment's id), for the card and the verification that follows."""

    outcome: Settled
    evidence: str
    answer: dict[str, Any] = field(default_factory=dict)


def is_stuck(updated_at: datetime, now: datetime) -> bool:
    """Running for longer than any provider call may take, plus a margin: nobody is still waiting for it."""
    return now - updated_at >= SETTLE_AFTER


def unknown(why: str) -> Settlement:
    return Settlement(Settled.UNKNOWN, f"unknown: check the provider ({why})")


def new_deployments(history: Sequence[Deployment], *, started: datetime, before: str | None) -> list[Deployment]:
    """Deployments created since the action started (allowing for clock skew), other than the one serving then."""
    return [
        d for d in history
        if d.id != before and d.created_at is not None and d.created_at >= started - CLOCK_SKEW
    ]


def railway_rollback(
    history: Sequence[Deployment], *, target: str, before: str | None, started: datetime
) -> Settlement:
    """Railway rolls back by deploying the target's image as a new deployment whose meta names the target."""
    fresh = new_deployments(history, started=started, before=before)
    mine = [d for d in fresh if d.meta.get("rollbackTargetDeploymentId") == target]
    if mine:
        found = mine[0]
        return Settlement(
            Settled.DONE,
            f"Railway shows deployment {found.id} ({found.status}), a rollback to {target}",
            {"new_deployment_id": found.id},
        )
    if fresh:
        ids = ", ".join(d.id for d in fresh[:3])
        return unknown(f"Railway shows new deployments since it began ({ids}), none marked as this rollback")
    serving = before or "the same deployment"
    return Settlement(Settled.NOT_DONE, f"Railway shows no deployment since it began; {serving} still serves")


def railway_redeploy(history: Sequence[Deployment], *, before: str | None, started: datetime) -> Settlement:
    fresh = new_deployments(history, started=started, before=before)
    if len(fresh) == 1:
        return Settlement(
            Settled.DONE, f"Railway shows deployment {fresh[0].id} ({fresh[0].status}) since it began",
            {"new_deployment_id": fresh[0].id},
        )
    if fresh:
        return unknown(f"Railway shows {len(fresh)} new deployments since it began")
    return Settlement(Settled.NOT_DONE, "Railway shows no deployment since it began")


def variable_set(name: str, wanted: str | None, current: str | None) -> Settlement:
    """Compare the variable's value now with the one proposed; neither value goes into the evidence."""
    if wanted is None or wanted == "***":
        return unknown(f"the proposed value of {name} is no longer known to compare")
    if current == wanted:
        return Settlement(Settled.DONE, f"Railway has {name} set to the proposed value", {"name": name})
    if current is None:
        return Settlement(Settled.NOT_DONE, f"Railway has no variable {name}")
    return Settlement(Settled.NOT_DONE, f"Railway has {name} set to another value than the proposed one")


def shared_variable_set(shared: str, service: str, set_: Settlement, redeployed: Settlement) -> Settlement:
    """A shared variable's change is two calls: the shared variable set (`set_`, as `variable_set` says)
    then the service's redeploy (`redeployed`, as `railway_redeploy` says). Done only when both
    happened; set but not redeployed is not done, and says what is left to do."""
    if set_.outcome is not Settled.DONE:
        said = set_.evidence.replace(f"Railway has {shared}", f"Railway has shared {shared}").replace(
            f"no variable {shared}", f"no shared variable {shared}"
        )
        return replace(set_, evidence=said)
    if redeployed.outcome is Settled.DONE:
        return Settlement(
            Settled.DONE, f"Railway has shared {shared} set to the proposed value; {redeployed.evidence}",
            {"name": shared, "shared_name": shared, **redeployed.answer},
        )
    if redeployed.outcome is Settled.NOT_DONE:
        return Settlement(
            Settled.NOT_DONE,
            f"Railway has shared {shared} set to the proposed value, but {service} did not redeploy: redeploy it "
            "so it takes the new value",
        )
    return unknown(f"Railway has shared {shared} set to the proposed value; its redeploy: {redeployed.evidence}")


def vercel_production(target: Deployment) -> Settlement:
    """A Vercel rollback or promote happened when production points at the target."""
    if target.is_current:
        return Settlement(
            Settled.DONE, f"Vercel production points at {target.id}",
            {"deployment_id": target.id, "status": "settled"},
        )
    return Settlement(Settled.NOT_DONE, f"Vercel production does not point at {target.id}")
