"""Secret rotation: `@pitcrew rotate NAME [service ...]`, from the new value to the last service verified.

pitcrew makes the new value itself (app/core/rotation.py: `secrets.token_urlsafe`, as long as the old
one or 48 characters) and no one ever sees it. It reads NAME on every Railway and Vercel service,
compares the values by fingerprint (app/core/value_fingerprints.py) to find the services that share
it, and orders them by `depends_on` (a service after what it depends on). Each service's change is
an ordinary `set_variable` proposal (app/flows/actions.py: card, operator guard, run once, redeploy,
verification, audit), proposed one at a time: the next service's proposal is posted only when the
previous one is verified healthy, so the backend takes the new secret before the frontend that
checks it. A Railway service whose NAME is a bare `${{shared.X}}` reference takes its value from the
environment: the first such service's proposal sets the shared X (without deploying anything else)
and redeploys that service, and each later one referencing it is proposed a redeploy only, so they
still take the new value one at a time, in order. A secret kept under several names on one Railway
service is set under all of them in one change (`variableCollectionUpsert`).

Between proposals the value lives only in the `rotations` row, sealed with a key derived from
AUDIT_KEY (app/core/value_vault.py), bound to the rotation's id; without AUDIT_KEY rotation is
refused. When the last service is verified (or a proposal fails, is cancelled or expires) the
sealed value is cleared for good. The end is a notify message: users may need to sign in again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from app.catalog import UnknownService
from app.core.actions import InvalidActionParams, ProposalStatus
from app.core.rotation import Holder, RotationRefused, choose, new_value, order, same_value_names, shared_name
from app.core.value_vault import seal, unseal, vault_key
from app.core.variable_changes import check_name
from app.flows import action_calls as calls
from app.flows.action_calls import ActionError
from app.flows.action_ports import (
    GroupMembers,
    ProposalNotifier,
    listen_to_outcomes,
    listen_to_verifications,
    notifier_for,
)
from app.flows.action_views import Proposal, Where
from app.flows.actions import Asked, propose_redeploy, propose_set_variable
from app.flows.variable_changes import may_submit
from app.flows.variable_plans import fingerprint_of, read_current
from app.providers.base import InvalidIdentifier, ProviderError
from app.store import rotations as store

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.rotation")
NO_AUDIT_KEY = (
    "rotation needs AUDIT_KEY: pitcrew holds the new value encrypted with a key derived from it until "
    "every service has it, and without it would have to keep it in the clear. Set AUDIT_KEY, or rotate by hand"
)
SIGN_IN_AGAIN = "users signed in with the old value may need to sign in again"


class RotationError(Exception):
    """Nothing was rotated; the message says why (for the asker alone)."""


class RotationNotifier(Protocol):
    """Where a rotation tells the thread how it ended (Slack: app/slack/commands/rotate.py)."""

    async def say(self, channel: str, thread_ts: str | None, text: str) -> None: ...


class _LoggingRotationNotifier:
    async def say(self, channel: str, thread_ts: str | None, text: str) -> None:
        log.info("rotation (%s): %s", channel, text)


_factory: Callable[[Deps], RotationNotifier] | None = None


def use_rotation_notifier(factory: Callable[[Deps], RotationNotifier]) -> None:
    """How a rotation reaches the chat from a job (the verification); the edge sets it when it starts."""
    global _factory
    _factory = factory


def _notifier(deps: Deps) -> RotationNotifier:
    return _factory(deps) if _factory is not None else _LoggingRotationNotifier()


@dataclass(frozen=True)
class Started:
    """A rotation under way: its services in order, those that could not be compared, the first proposal."""

    id: str
    name: str
    services: tuple[str, ...]
    not_compared: tuple[str, ...]
    proposal: Proposal


async def holders(deps: Deps, name: str) -> list[Holder]:
    """NAME on every Railway and Vercel service pitcrew can read, as fingerprints (never values)."""
    found: list[Holder] = []
    for service_name, service in deps.catalog.services.items():
        if service.provider == "railway" and (deps.railway is None or service.railway is None):
            continue
        if service.provider == "vercel" and (deps.vercel is None or service.vercel is None):
            continue
        if service.provider not in ("railway", "vercel"):
            continue
        try:
            current = await read_current(deps, service, name)
        except (ProviderError, InvalidIdentifier) as err:
            raise RotationError(f"could not read {name} on {service_name} ({err}); nothing was rotated") from None
        if not current.exists:
            continue
        length = len(current.value) if current.value is not None else None
        found.append(Holder(service_name, fingerprint_of(deps, current.value), length, current.unreadable))
    return found


async def start(
    deps: Deps, name: str, named: Sequence[str] = (), *, by: str, where: Where, members: GroupMembers,
    notifier: ProposalNotifier, incident_id: int | None = None,
) -> Started:
    """Check, read, choose, generate and seal, then propose the first service; RotationError if refused."""
    try:
        check_name(name)
        for service in named:
            deps.catalog.service(service)
    except (InvalidActionParams, UnknownService) as err:
        raise RotationError(str(err)) from None
    key = vault_key(deps.settings.audit_key())
    if key is None:
        raise RotationError(NO_AUDIT_KEY)
    decision = await may_submit(deps, by, members)
    if not decision.allowed:
        raise RotationError(f"only operators rotate secrets: {decision.reason}")
    try:
        chosen, length, not_compared = choose(name, await holders(deps, name), named)
    except RotationRefused as err:
        raise RotationError(str(err)) from None
    services = order(chosen, deps.catalog.depends_on)
    rotation_id = uuid.uuid4().hex
    value = new_value(length)
    await store.create(
        deps.sessions, id=rotation_id, name=name, services=services, sealed=seal(key, value, rotation_id),
        channel=where.channel, thread_ts=where.thread_ts, incident_id=incident_id, rotated_by=by, now=deps.clock(),
    )
    try:
        proposal = await _propose(deps, rotation_id, name, services, 0, value, Asked(by, where, notifier, incident_id))
    except ActionError:
        await store.stop(deps.sessions, rotation_id, now=deps.clock())
        raise
    await deps.audit(
        actor=by, action="rotate", target=name,
        params={"rotation": rotation_id, "services": list(services), "not_compared": list(not_compared)},
        outcome=f"started: {services[0]} proposed",
    )
    return Started(rotation_id, name, services, not_compared, proposal)


async def _propose(
    deps: Deps, rotation_id: str, name: str, services: tuple[str, ...], position: int, value: str, asked: Asked
) -> Proposal:
    """The proposal of service `position`: set NAME there (with the names holding the same value), or,
    when it references a Railway shared variable, set the shared one and redeploy this service, or
    only redeploy it when an earlier service of this rotation already set the shared one."""
    service_name = services[position]
    rest = services[position + 1 :]
    then = f"; then {', '.join(rest)}, each once this one is verified" if rest else "; the last one"
    why = f"rotation of {name}: a new value made by pitcrew, service {position + 1} of {len(services)}{then}"
    shared, already, also = await _how(deps, service_name, name, value)
    if shared and already:
        proposal = await propose_redeploy(
            deps, service_name, asked=asked,
            why=f"{why}. Its {name} references the shared {shared}, which already has the new value: "
                f"redeploying is how it takes it",
        )
    else:
        proposal = await propose_set_variable(
            deps, service_name, name, value, redeploy=True, asked=asked, why=why, shared=shared, also=also,
        )
    await store.proposed(deps.sessions, rotation_id, position, proposal.id)
    return proposal


async def _how(deps: Deps, service_name: str, name: str, value: str) -> tuple[str | None, bool, tuple[str, ...]]:
    """How NAME changes on a service: (the shared variable it references or None, whether that shared
    variable already holds the new value, the service's other names holding the same value)."""
    try:
        service = deps.catalog.service(service_name)
    except UnknownService as err:
        raise ActionError(str(err)) from None
    if service.provider != "railway" or service.railway is None or deps.railway is None:
        return None, False, ()
    client = calls.railway(deps)
    try:
        unrendered = await client.unrendered_variables(service.railway)
        shared = shared_name(unrendered.get(name))
        if shared:
            held = (await client.shared_variables(service.railway)).get(shared)
            return shared, held == value, ()
        rendered = await client.service_variables(service.railway)
    except (ProviderError, InvalidIdentifier) as err:
        raise ActionError(f"could not read {name} on {service_name} ({err}); nothing was proposed") from None
    return None, False, same_value_names(name, rendered, unrendered)


async def _proposal_settled(deps: Deps, proposal: Proposal) -> None:
    """A rotation's proposal ended: verified, the next service (or the end); otherwise the rotation stops."""
    if proposal.kind not in ("set_variable", "redeploy") or proposal.status in (
        ProposalStatus.PROPOSED, ProposalStatus.RUNNING, ProposalStatus.ACCEPTED
    ):
        return
    record = await store.by_proposal(deps.sessions, proposal.id)
    if record is None or record.status != "running":
        return
    now = deps.clock()
    done, rest = record.services[: record.position], record.services[record.position :]
    if proposal.status is not ProposalStatus.VERIFIED:
        if await store.stop(deps.sessions, record.id, now=now):
            await _stopped(deps, record, f"{proposal.service}'s change was {proposal.status}", done, rest)
        return
    moved = await store.step(deps.sessions, record.id, proposal.id, now=now)
    if moved is None:
        return
    if moved.status == "done":
        await deps.audit(
            actor=record.rotated_by, action="rotate", target=record.name,
            params={"rotation": record.id, "services": list(record.services)}, outcome="done: every service verified",
        )
        await _notifier(deps).say(
            record.channel or "", record.thread_ts,
            f":key: {record.name} rotated on {', '.join(record.services)}: each set to the same new value, "
            f"redeployed and verified healthy. Notify: {SIGN_IN_AGAIN}.",
        )
        return
    key = vault_key(deps.settings.audit_key())
    value = unseal(key, record.sealed, record.id) if key is not None and record.sealed else None
    if value is None:  # AUDIT_KEY changed meanwhile: the value is lost, and must not be guessed
        await store.stop(deps.sessions, record.id, now=now)
        await _stopped(deps, record, "the sealed value no longer opens (AUDIT_KEY changed?)", done + rest[:1], rest[1:])
        return
    where = Where(record.channel or "", record.thread_ts)
    asked = Asked(record.rotated_by, where, notifier_for(deps), record.incident_id)
    try:
        await _propose(deps, record.id, record.name, record.services, moved.position, value, asked)
    except ActionError as err:
        await store.stop(deps.sessions, record.id, now=now)
        await _stopped(deps, record, str(err), done + rest[:1], rest[1:])


async def _stopped(
    deps: Deps, record: store.RotationRecord, why: str, done: Sequence[str], rest: Sequence[str]
) -> None:
    """Say where the rotation stopped: services that have the new value and those that still have the old."""
    await deps.audit(
        actor=record.rotated_by, action="rotate", target=record.name,
        params={"rotation": record.id, "rotated": list(done), "not_rotated": list(rest)},
        outcome=f"stopped: {why}"[:300],
    )
    said = f":warning: Rotation of {record.name} stopped: {why}. The new value was forgotten."
    if done:
        said += (f" {', '.join(done)} {'has' if len(done) == 1 else 'have'} the new value, {', '.join(rest)} "
                 f"the old one: they no longer match. Run `@pitcrew rotate {record.name} "
                 f"{' '.join(record.services)}` again to bring them together.")
    await _notifier(deps).say(record.channel or "", record.thread_ts, said)


listen_to_outcomes(_proposal_settled)  # failed, cancelled, expired: the rotation stops
listen_to_verifications(_proposal_settled)  # verified: the next service; failed: stops
