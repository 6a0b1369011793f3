"""After a rollback, restart or redeploy: did the service come back, and did it stay up?

A verification job observes the service every interval for a window (the seeds' "monitor 15 min
after deploy") and hands each observation to `judge`, which moves through phases:

    deploying → starting → watching → verified
         ↘          ↘          ↘
                   failed

deploying: the new deployment is not live yet (building, or not visible yet); starting: it is live
but the health checks do not pass yet; watching: healthy, and kept under watch until the window
ends. A deployment that fails, a service never healthy within the window, or health failing
*again* once it was healthy, is a failure; the message is edited on each change of phase, and a
failure is also posted in the thread. Pure: the job keeps the state (as JSON) in the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.core.health import Verdict

LIVE_STATES = frozenset({"SUCCESS", "READY", "SLEEPING", "DEPLOYED"})
FAILED_STATES = frozenset({"FAILED", "CRASHED", "ERROR", "CANCELED", "CANCELLED", "REMOVED", "REMOVING", "DELETED"})


class Phase(StrEnum):
    DEPLOYING = "deploying"
    STARTING = "starting"
    WATCHING = "watching"
    VERIFIED = "verified"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (Phase.VERIFIED, Phase.FAILED)


@dataclass(frozen=True)
class Observation:
    """One look at the service: the deployment the action brought, and the health checks' verdict.

    `deployment_id` is None while the provider does not show the new deployment yet; `problems`
    are the failing checks' evidence, for the message.
    """

    deployment_id: str | None
    deployment_status: str | None
    verdict: Verdict
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyState:
    phase: Phase = Phase.DEPLOYING
    checks: int = 0
    healthy_since: datetime | None = None
    deployment_id: str | None = None
    deployment_status: str | None = None
    last: str = ""  # what the last look saw, in words
    reason: str = ""  # why it failed, when it did

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "checks": self.checks,
            "healthy_since": self.healthy_since.isoformat() if self.healthy_since else None,
            "deployment_id": self.deployment_id,
            "deployment_status": self.deployment_status,
            "last": self.last,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> VerifyState:
        raw = raw or {}
        since = raw.get("healthy_since")
        return cls(
            phase=Phase(raw.get("phase", Phase.DEPLOYING.value)),
            checks=int(raw.get("checks", 0)),
            healthy_since=datetime.fromisoformat(since) if isinstance(since, str) else None,
            deployment_id=raw.get("deployment_id"),
            deployment_status=raw.get("deployment_status"),
            last=str(raw.get("last", "")),
            reason=str(raw.get("reason", "")),
        )


@dataclass(frozen=True)
class Step:
    """What one look decided: the new state, whether the message changes, and what to post in the thread."""

    state: VerifyState
    changed: bool
    alert: str | None = None

    @property
    def done(self) -> bool:
        return self.state.phase.done


def judge(state: VerifyState, seen: Observation, *, now: datetime, deadline: datetime) -> Step:
    """The next state after observing `seen` at `now`; the window ends at `deadline`."""
    status = (seen.deployment_status or "").upper() or None
    base = replace(
        state,
        checks=state.checks + 1,
        deployment_id=seen.deployment_id or state.deployment_id,
        deployment_status=status or state.deployment_status,
    )
    over = now >= deadline
    problems = "; ".join(seen.problems) or str(seen.verdict)

    if status in FAILED_STATES:
        reason = f"deployment {seen.deployment_id} is {status}"
        return _fail(state, base, reason, f"{reason}.")
    if seen.deployment_id is None or status not in LIVE_STATES:
        shown = f"deployment {seen.deployment_id} is {status}" if seen.deployment_id else "no new deployment yet"
        if over:
            reason = f"not live by the end of the watch: {shown}"
            return _fail(state, base, reason, f"{reason}.")
        return _move(state, replace(base, phase=Phase.DEPLOYING, last=shown))

    if seen.verdict is Verdict.DOWN:
        if state.phase is Phase.WATCHING:
            reason = f"health failed again: {problems}"
            return _fail(state, base, reason, f"Health failed again after the action: {problems}")
        if over:
            reason = f"never healthy during the watch: {problems}"
            return _fail(state, base, reason, f"The service never came back healthy: {problems}")
        return _move(state, replace(base, phase=Phase.STARTING, last=f"live, health not passing yet: {problems}"))

    since = state.healthy_since or now
    note = "healthy" if seen.verdict is Verdict.OK else f"up but degraded: {problems}"
    phase = Phase.VERIFIED if over else Phase.WATCHING
    return _move(state, replace(base, phase=phase, healthy_since=since, last=note))


def next_look(now: datetime, deadline: datetime, interval_s: int) -> datetime:
    """When to look again: one interval on, but never past the end of the window (the last look is at it)."""
    return min(now + timedelta(seconds=interval_s), deadline) if now < deadline else now


def _move(before: VerifyState, after: VerifyState) -> Step:
    return Step(after, changed=after.phase is not before.phase)


def _fail(before: VerifyState, base: VerifyState, reason: str, alert: str) -> Step:
    after = replace(base, phase=Phase.FAILED, reason=reason, last=reason)
    return Step(after, changed=True, alert=alert)
