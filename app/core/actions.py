"""The destructive actions pitcrew can run, what each needs, and the life of a proposal.

One table says, per provider, which actions exist and what each takes, so a `/rollback`, a
health-card button and a runbook step are checked the same way, and a provider without an action
is refused with a sentence rather than a KeyError. The proposal's statuses move forward only,
along `TRANSITIONS`; the database enforces each move with one conditional UPDATE, this module
says which moves exist. Pure: no I/O, nothing from the rest of `app/`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.core.capacity import describe_scale

MASK = "***"
DEFAULT_EXPIRE_MINUTES = 10.0
DEFAULT_VERIFY_INTERVAL_S = 30
DEFAULT_VERIFY_WINDOW_MINUTES = 15.0  # the seeds' "monitor 15 min after deploy"
DEFAULT_IDLE_MINUTES = 5.0
MAX_IDLE_MINUTES = 24 * 60


class ActionNotAvailable(ValueError):
    """The service's provider has no such action (a Postgres service cannot be rolled back)."""


class InvalidActionParams(ValueError):
    """The parameters of an action are missing or wrong; the message says what is expected."""


@dataclass(frozen=True)
class ActionSpec:
    """One action of one provider.

    `needs` are the parameters the caller must give; `secret` those never shown or audited;
    `verifies` whether a job then watches the service come back (a stop is meant to leave it down,
    ending idle sessions changes no deployment).
    """

    provider: str
    kind: str
    verb: str  # "Roll back", for buttons and headings
    call: str  # the provider call it makes, as errors name it
    needs: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()
    verifies: bool = True
    via_railway: bool = False  # a database's action that needs its `railway:` reference (Railway-hosted)


_SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("railway", "rollback", "Roll back", "railway rollback", ("target_deployment_id",)),
    ActionSpec("railway", "restart", "Restart", "railway restart", ("deployment_id",)),
    ActionSpec("railway", "redeploy", "Redeploy", "railway redeploy", ("deployment_id",)),
    ActionSpec("railway", "stop", "Stop", "railway stop", ("deployment_id",), verifies=False),
    ActionSpec(
        "railway", "set_variable", "Set variable", "railway variable upsert", ("name", "value"), secret=("value",)
    ),
    # Scaling raises the bill and redeploys (Railway applies instance changes made through the API
    # on the next deployment: station.railway.com "apply new variables in deployment" answer), so a
    # verification watches the new deployment.
    ActionSpec("railway", "scale", "Scale", "railway scale", ("resource", "value")),
    ActionSpec("railway", "backup", "Back up", "railway volume backup", ("volume_instance_id",), verifies=False),
    # A Railway-hosted PostgreSQL (a `postgres` service with a `railway:` reference): its container
    # restarts like any Railway service, its volume backs up (seeds 001 and 003).
    ActionSpec("postgres", "restart", "Restart", "railway restart", ("deployment_id",), via_railway=True),
    ActionSpec("postgres", "scale", "Scale", "railway scale", ("resource", "value"), via_railway=True),
    ActionSpec(
        "postgres", "backup", "Back up", "railway volume backup", ("volume_instance_id",), verifies=False,
        via_railway=True,
    ),
    ActionSpec("railway", "unset_variable", "Unset variable", "railway variable delete", ("name",)),
    ActionSpec("vercel", "rollback", "Roll back", "vercel rollback", ("target_deployment_id",)),
    # A new production build of the deployment serving (POST /v13/deployments with deploymentId).
    ActionSpec("vercel", "redeploy", "Redeploy", "vercel redeploy", ("deployment_id",)),
    # The env entry for the chosen targets, then (unless redeploy is off) a production redeploy.
    ActionSpec("vercel", "set_variable", "Set variable", "vercel env set", ("name", "value"), secret=("value",)),
    ActionSpec("vercel", "unset_variable", "Unset variable", "vercel env remove", ("name",)),
    ActionSpec("vercel", "promote", "Promote", "vercel promote", ("target_deployment_id",)),
    ActionSpec(
        "postgres",
        "terminate_idle_sessions",
        "End idle sessions",
        "postgres terminate idle sessions",
        ("idle_minutes",),
        verifies=False,
    ),
)
ACTIONS: dict[tuple[str, str], ActionSpec] = {(s.provider, s.kind): s for s in _SPECS}
ACTION_KINDS: tuple[str, ...] = tuple(dict.fromkeys(s.kind for s in _SPECS))


def spec_for(provider: str, kind: str) -> ActionSpec:
    """The action `kind` of `provider`, or ActionNotAvailable naming what that provider can do."""
    found = ACTIONS.get((provider, kind))
    if found is not None:
        return found
    if kind not in ACTION_KINDS:
        raise ActionNotAvailable(f"there is no action {kind!r}; actions are: {', '.join(ACTION_KINDS)}")
    offered = [s.kind for s in _SPECS if s.provider == provider]
    if not offered:
        raise ActionNotAvailable(f"pitcrew has no actions for {provider} services")
    providers = sorted({s.provider for s in _SPECS if s.kind == kind})
    raise ActionNotAvailable(
        f"{provider} services have no {kind.replace('_', ' ')} ({kind} works on {' and '.join(providers)} "
        f"services); available here: {', '.join(offered)}"
    )


def check_reachable(spec: ActionSpec, *, has_railway: bool) -> None:
    """ActionNotAvailable when the action needs a `railway:` reference the service does not have."""
    if spec.via_railway and not has_railway:
        raise ActionNotAvailable(
            f"{spec.kind} works on a {spec.provider} service only when it also has a `railway:` reference "
            "(a Railway-hosted PostgreSQL); elsewhere do it in the database provider's console"
        )


def verifies(spec: ActionSpec, params: Mapping[str, Any]) -> bool:
    """Whether a verification watches the service after this action (a variable set without redeploy: no)."""
    if spec.kind in ("set_variable", "unset_variable"):
        return spec.verifies and bool(params.get("redeploy", True))
    return spec.verifies


def masked_params(spec: ActionSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` fit to show and audit: every secret parameter replaced by `***`."""
    return {k: (MASK if k in spec.secret and v not in (None, "") else v) for k, v in params.items()}


def idle_minutes_of(value: Any) -> float:
    """The idle threshold of `terminate_idle_sessions`, as minutes (0 means every idle session)."""
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        raise InvalidActionParams(f"idle_minutes must be a number of minutes, got {value!r}") from None
    if not 0 <= minutes <= MAX_IDLE_MINUTES or minutes != minutes:
        raise InvalidActionParams(f"idle_minutes must be between 0 and {MAX_IDLE_MINUTES}, got {value!r}")
    return minutes


# What an action does besides what its name says, per provider, as the provider documents it: the
# responder confirming a 3 a.m. rollback must know what else it undoes or holds.
_ALSO: dict[tuple[str, str], str] = {
    # docs.railway.com/deployments/deployment-actions: "Both the Docker image and custom variables
    # are restored during the rollback process."
    ("railway", "rollback"): (
        "Railway restores that deployment's variables too: a variable changed since (a fix made by "
        "setting one) is undone. Set it again after the rollback if it is still needed."
    ),
    # vercel.com/docs/instant-rollback ("Vercel won't update environment variables if you change
    # them [...] and will roll back to a previous build"), vercel.com/docs/cli/rollback ("To undo a
    # rollback, promote a deployment"; "On the hobby plan, you can only roll back to the previous
    # production deployment").
    ("vercel", "rollback"): (
        "Vercel pins production to that build: new production deployments do not go live until someone "
        "promotes one (`vercel promote`), and variables changed since are not applied. On the Hobby plan "
        "Vercel rolls back only to the previous production deployment."
    ),
    ("vercel", "promote"): "This also ends a rollback: production follows new production deployments again.",
    # Railway bills memory and CPU by use and per replica (docs.railway.com/reference/pricing); a
    # change made through the API applies with the next deployment, which pitcrew starts.
    ("railway", "scale"): (
        "The service redeploys to apply it. More memory, CPU or replicas cost more for as long as they are "
        "set: scale back with `@pitcrew scale` (the value shown as current) once the incident is over."
    ),
    ("postgres", "scale"): (
        "The database redeploys to apply it (a short interruption). Scale back with `@pitcrew scale` "
        "(the value shown as current) once the incident is over."
    ),
}


def side_effects(provider: str, kind: str) -> str | None:
    """What else the action does on this provider (None when nothing worth saying)."""
    return _ALSO.get((provider, kind))


def describe(spec: ActionSpec, service: str, params: Mapping[str, Any]) -> str:
    """What confirming does, in one plain sentence (no secret, no markup): dialogs and `text` say this."""
    target = str(params.get("target_deployment_id") or "")
    deployment = str(params.get("deployment_id") or "")
    match spec.kind:
        case "rollback":
            return f"Roll back {service} to deployment {short_id(target)}"
        case "promote":
            return f"Promote deployment {short_id(target)} to production on {service}"
        case "restart":
            return f"Restart {service} (deployment {short_id(deployment)})"
        case "redeploy":
            return f"Redeploy {service} (a new deployment of {short_id(deployment)})"
        case "stop":
            return f"Stop {service}: deployment {short_id(deployment)} stops serving until the next deploy"
        case "set_variable":
            then = "then redeploy it" if params.get("redeploy", True) else "without redeploying"
            names = " and ".join(str(n) for n in (params.get("name"), *(params.get("also") or ())))
            if params.get("shared"):
                return f"Set the shared {params.get('shared')} that {service}'s {params.get('name')} references, {then}"
            return f"Set {names} on {service}, {then}"
        case "scale":
            return describe_scale(service, str(params.get("resource")), params.get("current"), float(params["value"]))
        case "backup":
            volume = params.get("volume_name") or params.get("volume_instance_id")
            return f"Take a backup of {service}'s Railway volume {volume}"
        case "unset_variable":
            then = "then redeploy it" if params.get("redeploy", True) else "without redeploying"
            return f"Remove {params.get('name')} from {service}, {then}"
        case "terminate_idle_sessions":
            minutes = idle_minutes_of(params.get("idle_minutes", DEFAULT_IDLE_MINUTES))
            return f"End the sessions of {service} idle for more than {minutes:g} minutes"
    return f"{spec.verb} {service}"


def short_id(value: str) -> str:
    """A deployment id as people quote it: UUIDs by their first block, others whole."""
    head = value.split("-", 1)[0]
    return head if len(value) == 36 and len(head) == 8 else value


# ---- the life of a proposal ------------------------------------------------------------------


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for a confirmation
    RUNNING = "running"  # claimed by one confirmation; the provider call is under way
    ACCEPTED = "accepted"  # the provider took it; verification may follow
    VERIFIED = "verified"  # the service came back healthy and stayed so for the window
    FAILED = "failed"  # the provider refused, or verification saw it fail
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    ProposalStatus.PROPOSED: frozenset(
        {ProposalStatus.RUNNING, ProposalStatus.CANCELLED, ProposalStatus.EXPIRED}
    ),
    ProposalStatus.RUNNING: frozenset({ProposalStatus.ACCEPTED, ProposalStatus.FAILED}),
    ProposalStatus.ACCEPTED: frozenset({ProposalStatus.VERIFIED, ProposalStatus.FAILED}),
    ProposalStatus.VERIFIED: frozenset(),
    ProposalStatus.FAILED: frozenset(),
    ProposalStatus.CANCELLED: frozenset(),
    ProposalStatus.EXPIRED: frozenset(),
}


class InvalidTransition(ValueError):
    pass


def check_transition(current: ProposalStatus | str, new: ProposalStatus | str) -> ProposalStatus:
    """`new` as a status if a proposal may move there from `current`, else InvalidTransition."""
    source, target = ProposalStatus(current), ProposalStatus(new)
    if target not in TRANSITIONS[source]:
        raise InvalidTransition(f"a proposal cannot go from {source} to {target}")
    return target


def is_final(status: ProposalStatus | str, *, verifies: bool) -> bool:
    """Nothing more will happen to it (an accepted action without verification is done)."""
    status = ProposalStatus(status)
    return not TRANSITIONS[status] or (status is ProposalStatus.ACCEPTED and not verifies)


def expires_at(now: datetime, expire_minutes: float) -> datetime:
    if expire_minutes <= 0:
        raise ValueError(f"expire_minutes must be more than 0, got {expire_minutes}")
    return now + timedelta(minutes=expire_minutes)


def is_expired(expiry: datetime, now: datetime) -> bool:
    """Expired from the very instant of expiry, as the database's `expires_at > now` has it."""
    return now >= expiry


def why_not_open(status: ProposalStatus | str, *, expired: bool, confirmed_by: str | None) -> str:
    """Why a proposal can no longer be confirmed or cancelled, for the person who clicked."""
    status = ProposalStatus(status)
    by = f" by {confirmed_by}" if confirmed_by else ""
    if (status is ProposalStatus.PROPOSED and expired) or status is ProposalStatus.EXPIRED:
        return "this proposal expired without being confirmed; propose it again"
    return {
        ProposalStatus.RUNNING: f"already confirmed{by}: it is running now",
        ProposalStatus.ACCEPTED: f"already confirmed{by}: the provider accepted it",
        ProposalStatus.VERIFIED: f"already done (confirmed{by}) and verified",
        ProposalStatus.FAILED: f"already run (confirmed{by}) and it failed; propose it again",
        ProposalStatus.CANCELLED: f"this proposal was cancelled{by}",
    }.get(status, f"this proposal is {status}")


# ---- policy from pitcrew.yml ----------------------------------------------------------------


@dataclass(frozen=True)
class PolicyLayer:
    """One level of `actions:` settings (top level, then the service's): None means "not set here"."""

    expire_minutes: float | None = None
    second_approver: bool | Sequence[str] | None = None
    verify_interval_s: int | None = None
    verify_window_minutes: float | None = None


@dataclass(frozen=True)
class ActionPolicy:
    expire_minutes: float = DEFAULT_EXPIRE_MINUTES
    second_approver: bool = False
    verify_interval_s: int = DEFAULT_VERIFY_INTERVAL_S
    verify_window_minutes: float = DEFAULT_VERIFY_WINDOW_MINUTES

    def to_dict(self) -> dict[str, Any]:
        return {
            "expire_minutes": self.expire_minutes,
            "second_approver": self.second_approver,
            "verify_interval_s": self.verify_interval_s,
            "verify_window_minutes": self.verify_window_minutes,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> ActionPolicy:
        raw = raw or {}
        default = cls()
        return cls(
            expire_minutes=float(raw.get("expire_minutes", default.expire_minutes)),
            second_approver=bool(raw.get("second_approver", default.second_approver)),
            verify_interval_s=int(raw.get("verify_interval_s", default.verify_interval_s)),
            verify_window_minutes=float(raw.get("verify_window_minutes", default.verify_window_minutes)),
        )


def resolve_policy(kind: str, layers: Sequence[PolicyLayer]) -> ActionPolicy:
    """The policy for `kind`: each setting from the most specific layer that sets it (last wins).

    `second_approver` is true/false for every action, or a list of the action kinds that need a
    second approver (`[stop, set_variable]`).
    """
    policy = ActionPolicy()
    values = policy.to_dict()
    for layer in layers:
        if layer.expire_minutes is not None:
            values["expire_minutes"] = layer.expire_minutes
        if layer.second_approver is not None:
            chosen = layer.second_approver
            values["second_approver"] = chosen if isinstance(chosen, bool) else kind in chosen
        if layer.verify_interval_s is not None:
            values["verify_interval_s"] = layer.verify_interval_s
        if layer.verify_window_minutes is not None:
            values["verify_window_minutes"] = layer.verify_window_minutes
    return ActionPolicy.from_dict(values)
