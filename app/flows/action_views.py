"""What the actions flow returns: plain result objects that every edge renders its own way.

A proposal keeps what it showed (the deployments, why this target, the idle sessions) in its row,
so that its message can be drawn again at any later moment, by any instance, without asking the
provider: `view()` turns the stored row into a `Proposal`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.core import capacity
from app.core.actions import (
    ActionPolicy,
    ActionSpec,
    ProposalStatus,
    describe,
    is_expired,
    masked_params,
    short_id,
    spec_for,
    verifies,
)
from app.core.observations import Deployment
from app.core.verification import VerifyState
from app.providers.postgres import IdleSession
from app.store.proposals import ProposalRecord

MAX_SESSION_GROUPS = 10


@dataclass(frozen=True)
class Where:
    """Where a proposal is posted: a channel, and the thread when it was asked for in one."""

    channel: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class DeploymentView:
    """A deployment as a proposal shows it, kept in the proposal so the message can be redrawn later."""

    id: str
    status: str
    created_at: datetime | None = None
    commit_hash: str | None = None
    commit_message: str | None = None
    author: str | None = None
    url: str | None = None
    is_current: bool = False
    can_rollback: bool | None = None

    @classmethod
    def of(cls, deployment: Deployment) -> DeploymentView:
        return cls(
            id=deployment.id,
            status=deployment.status,
            created_at=deployment.created_at,
            commit_hash=deployment.commit_hash,
            commit_message=deployment.commit_message,
            author=deployment.author,
            url=deployment.url,
            is_current=deployment.is_current,
            can_rollback=deployment.can_rollback,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "commit_hash": self.commit_hash,
            "commit_message": self.commit_message,
            "author": self.author,
            "url": self.url,
            "is_current": self.is_current,
            "can_rollback": self.can_rollback,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> DeploymentView | None:
        if not raw:
            return None
        created = raw.get("created_at")
        return cls(
            id=str(raw.get("id")),
            status=str(raw.get("status") or "UNKNOWN"),
            created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
            commit_hash=raw.get("commit_hash"),
            commit_message=raw.get("commit_message"),
            author=raw.get("author"),
            url=raw.get("url"),
            is_current=bool(raw.get("is_current")),
            can_rollback=raw.get("can_rollback"),
        )


@dataclass(frozen=True)
class PassedOverView:
    """An older deployment the default rollback target skipped, and why (it crashed, pitcrew rolled back from it)."""

    id: str
    status: str
    reason: str


@dataclass(frozen=True)
class SessionGroup:
    """Idle sessions of one application and database user."""

    application: str | None
    user: str | None
    count: int
    longest_idle_s: float


@dataclass(frozen=True)
class IdlePreview:
    """What ending idle sessions would do: how many, and whose."""

    idle_minutes: float
    count: int
    groups: tuple[SessionGroup, ...]

    @classmethod
    def of(cls, sessions: Sequence[IdleSession], idle_minutes: float) -> IdlePreview:
        grouped: dict[tuple[str | None, str | None], list[IdleSession]] = {}
        for session in sessions:
            grouped.setdefault((session.application_name, session.usename), []).append(session)
        groups = sorted(
            (
                SessionGroup(app, user, len(found), max(s.idle_for_s for s in found))
                for (app, user), found in grouped.items()
            ),
            key=lambda g: (-g.count, -g.longest_idle_s),
        )
        return cls(idle_minutes, len(sessions), tuple(groups))

    def to_dict(self) -> dict[str, Any]:
        return {
            "idle_minutes": self.idle_minutes,
            "count": self.count,
            "groups": [
                {"application": g.application, "user": g.user, "count": g.count, "longest_idle_s": g.longest_idle_s}
                for g in self.groups[:MAX_SESSION_GROUPS]
            ],
            "more_groups": max(len(self.groups) - MAX_SESSION_GROUPS, 0),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> IdlePreview | None:
        if not raw:
            return None
        groups = tuple(
            SessionGroup(g.get("application"), g.get("user"), int(g.get("count", 0)), float(g.get("longest_idle_s", 0)))
            for g in raw.get("groups", [])
        )
        return cls(float(raw.get("idle_minutes", 0)), int(raw.get("count", 0)), groups)


@dataclass(frozen=True)
class Failure:
    """Which provider call failed and what it answered; `uncertain` when no answer came (it may have happened)."""

    call: str
    reason: str
    uncertain: bool = False


@dataclass(frozen=True)
class SettledView:
    """An action its instance left running, settled later by asking the provider (app/flows/action_settle.py)."""

    outcome: str  # "done", "not_done" or "unknown"
    evidence: str
    at: datetime | None


@dataclass(frozen=True)
class Proposal:
    """A proposed action as every edge shows it: what it would do, to what, and where it stands.

    `params` are the action's parameters with secrets masked; `current`/`target` the deployments
    it moves between (None where the action has none); `why` why this target; `sessions` the idle
    sessions it would end. `as_of` is when this view was read (ages and "expires in" count from it).
    """

    id: str
    kind: str
    service: str
    provider: str
    verb: str
    description: str
    status: ProposalStatus
    params: dict[str, Any]
    proposed_by: str
    confirmed_by: str | None
    cancelled_by: str | None
    incident_id: int | None
    channel: str | None
    thread_ts: str | None
    message_ts: str | None
    created_at: datetime
    expires_at: datetime
    updated_at: datetime
    as_of: datetime
    policy: ActionPolicy
    verifies: bool
    current: DeploymentView | None = None
    target: DeploymentView | None = None
    why: str | None = None
    passed_over: tuple[PassedOverView, ...] = ()
    sessions: IdlePreview | None = None
    answer: dict[str, Any] | None = None
    failure: Failure | None = None
    verification: VerifyState | None = None
    verify_until: datetime | None = None
    has_secret: bool = False
    approvals: tuple[str, ...] = ()  # operators who approved so far (with a second approver)
    settled: SettledView | None = None
    variable: dict[str, Any] | None = None  # a set/unset's preview (app/core/variable_changes.ChangePreview)
    backups: str | None = None  # a backup's: the volume's newest backup and schedule when it was proposed

    @property
    def expired(self) -> bool:
        return self.status is ProposalStatus.EXPIRED or (
            self.status is ProposalStatus.PROPOSED and is_expired(self.expires_at, self.as_of)
        )

    @property
    def open(self) -> bool:
        """Still waiting for a confirmation."""
        return self.status is ProposalStatus.PROPOSED and not self.expired

    @property
    def can_propose_again(self) -> bool:
        """Failed or expired, and nothing secret was needed (a secret is forgotten, so it cannot be reused)."""
        return (self.status is ProposalStatus.FAILED or self.expired) and not self.has_secret


class ClickResult(StrEnum):
    ACCEPTED = "accepted"  # this click ran it and the provider accepted
    APPROVED = "approved"  # this click's approval is recorded; a second operator must approve too
    FAILED = "failed"  # this click ran it and the provider refused or did not answer
    CANCELLED = "cancelled"  # this click cancelled it
    REFUSED = "refused"  # the clicker may not do this
    NOT_OPEN = "not_open"  # someone else confirmed it, or it expired, or it was cancelled
    UNKNOWN = "unknown"  # no such proposal here


@dataclass(frozen=True)
class Outcome:
    """What a click did. `reason` is for the clicker; `holder` is who confirmed it when that is why."""

    result: ClickResult
    proposal: Proposal | None
    reason: str
    holder: str | None = None

    @property
    def private(self) -> bool:
        """Said to the clicker only: nothing changed for anyone else (an approval changes only the card's count)."""
        return self.result in (ClickResult.REFUSED, ClickResult.NOT_OPEN, ClickResult.UNKNOWN, ClickResult.APPROVED)


@dataclass(frozen=True)
class DeploymentList:
    """`/rollback <service> list`: the latest deployments, newest first, which may be rolled back to,
    and which one `/rollback <service>` would pick."""

    service: str
    provider: str
    deployments: tuple[DeploymentView, ...]
    candidates: frozenset[str]
    rollback_target: str | None
    as_of: datetime
    passed_over: Mapping[str, str] = field(default_factory=dict)  # older deployments the default skips, and why
    # The deployment serving now when a redeploy of it is offered beside the rollback targets (Vercel:
    # a new production build of it, `POST /v13/deployments` with `deploymentId`); None otherwise.
    redeployable: str | None = None


def spec_of(record: ProposalRecord) -> ActionSpec:
    return spec_for(str(record.params.get("provider")), record.kind)


def forget_secrets(spec: ActionSpec, record: ProposalRecord) -> dict[str, Any] | None:
    """The stored params with secret inputs erased; None when there is nothing to erase."""
    if not spec.secret:
        return None
    params = dict(record.params)
    params["inputs"] = masked_params(spec, params.get("inputs", {}))
    return params


def view(record: ProposalRecord, now: datetime) -> Proposal:
    """The proposal as edges show it, from its stored row."""
    spec = spec_of(record)
    inputs = record.params.get("inputs", {})
    plan = record.params.get("plan", {})
    result = record.result
    failure = result.get("failure")
    verification = result.get("verification")
    until = result.get("verify_until")
    shown = {k: v for k, v in masked_params(spec, inputs).items() if k != "named_target"}
    return Proposal(
        id=record.id,
        kind=record.kind,
        service=record.service,
        provider=spec.provider,
        verb=spec.verb,
        description=describe(spec, record.service, inputs),
        status=ProposalStatus(record.status),
        params=shown,
        proposed_by=record.proposed_by,
        confirmed_by=record.confirmed_by,
        cancelled_by=result.get("cancelled_by"),
        incident_id=record.incident_id,
        channel=record.channel,
        thread_ts=record.thread_ts,
        message_ts=record.message_ts,
        created_at=record.created_at,
        expires_at=record.expires_at,
        updated_at=record.updated_at,
        as_of=now,
        policy=ActionPolicy.from_dict(record.params.get("policy")),
        verifies=verifies(spec, inputs),
        current=DeploymentView.from_dict(plan.get("current")),
        target=DeploymentView.from_dict(plan.get("target")),
        why=plan.get("why"),
        passed_over=tuple(
            PassedOverView(str(p.get("id")), str(p.get("status") or ""), str(p.get("reason") or ""))
            for p in plan.get("passed_over") or ()
        ),
        sessions=IdlePreview.from_dict(plan.get("sessions")),
        answer=result.get("answer"),
        failure=Failure(failure["call"], failure["reason"], bool(failure.get("uncertain"))) if failure else None,
        verification=VerifyState.from_dict(verification) if verification else None,
        verify_until=datetime.fromisoformat(until) if isinstance(until, str) else None,
        has_secret=bool(spec.secret),
        approvals=tuple(str(u) for u in result.get("approvals") or ()),
        settled=_settled(result.get("settled")),
        variable=plan.get("variable") if isinstance(plan.get("variable"), dict) else None,
        backups=_backups(plan, record.created_at) if record.kind == "backup" else None,
    )


def _backups(plan: Mapping[str, Any], proposed_at: datetime) -> str | None:
    """What the volume had when the backup was proposed (`newest backup 26 h ago; schedule: daily`), from
    what the proposal stored; None for a proposal stored without it."""
    if "schedules" not in plan:
        return None
    raw = plan.get("newest_backup")
    newest = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    schedules = [str(s) for s in plan.get("schedules") or ()]
    return capacity.backup_state(newest, schedules, proposed_at)


def _settled(raw: Any) -> SettledView | None:
    if not isinstance(raw, Mapping):
        return None
    at = raw.get("at")
    return SettledView(
        str(raw.get("outcome") or "unknown"), str(raw.get("evidence") or ""),
        datetime.fromisoformat(at) if isinstance(at, str) else None,
    )


def deployment_label(deployment: DeploymentView | None) -> str:
    """`8107edff (a3f9c21 "Fix N+1")`: how a deployment is named in one line of text."""
    if deployment is None:
        return "none"
    commit = " ".join(
        part for part in (
            deployment.commit_hash[:7] if deployment.commit_hash else None,
            f'"{deployment.commit_message.splitlines()[0][:60]}"' if deployment.commit_message else None,
        ) if part
    )
    return f"{short_id(deployment.id)} ({commit})" if commit else short_id(deployment.id)
