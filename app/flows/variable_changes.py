"""Variables changed from chat: who may submit a value, and the revert reminders.

`check_request` is what `@pitcrew set|unset <service> NAME` checks before any form opens (the
service, the provider's support, the name); `may_submit` is the operator check of a submitted value
(a value typed by a non-operator is refused and never proposed). The reminder: a change proposed with
"revert after" has a row in `variable_changes` (written with the proposal, app/flows/actions.py);
when the change runs (accepted), `_proposal_settled` arms the row with its `variables.revert` job in
one transaction; when it never runs (failed, cancelled, expired) the sealed old value is forgotten.
The job proposes the old value back (or the removal of a variable that did not exist), unless the
variable was changed again by hand since (its fingerprint is no longer the one pitcrew set): then it
says so and proposes nothing. Without a sealed value (no AUDIT_KEY, or an unreadable old value) it
keeps nothing and asks for the value: the reminder carries a button opening the same form `@pitcrew
set` opens, for that service and name, so the old value is typed there, never in the channel
(`ValueAsker`, implemented by the Slack edge).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import UnknownService
from app.core.actions import ActionNotAvailable, InvalidActionParams, ProposalStatus, spec_for
from app.core.guard import Decision, operator_decision
from app.core.value_vault import unseal, vault_key
from app.core.variable_changes import changed_by_hand, check_name, describe_delay
from app.flows.action_calls import ActionError, CannotPropose
from app.flows.action_ports import GroupMembers, listen_to_outcomes, notifier_for
from app.flows.action_runs import PITCREW, _operators
from app.flows.action_views import Proposal, Where
from app.flows.actions import Asked, get_proposal, propose_set_variable, propose_unset_variable
from app.flows.variable_plans import fingerprint_of, read_current
from app.jobs.runner import handles
from app.providers.base import InvalidIdentifier, ProviderError
from app.store import jobs as job_store
from app.store import variable_changes as store
from app.store.jobs import ClaimedJob

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.variables")
REVERT_JOB = "variables.revert"
_KINDS = ("set_variable", "unset_variable")


class ValueAsker(Protocol):
    """Where a reminder without a kept value asks for it: a message in the change's thread whose button
    opens the `set` form for `service` and `name` (Slack: app/slack/interactions/variables.py)."""

    async def ask_for_value(self, channel: str, thread_ts: str | None, service: str, name: str, text: str) -> None:
        ...


class _LoggingAsker:
    async def ask_for_value(self, channel: str, thread_ts: str | None, service: str, name: str, text: str) -> None:
        log.warning("revert reminder (%s): %s", channel, text)


_asker_factory: Callable[[Deps], ValueAsker] | None = None


def use_value_asker(factory: Callable[[Deps], ValueAsker]) -> None:
    """How the reminder job reaches the chat to ask for a value; the edge sets it when it starts."""
    global _asker_factory
    _asker_factory = factory


def _asker(deps: Deps) -> ValueAsker:
    return _asker_factory(deps) if _asker_factory is not None else _LoggingAsker()


def check_request(deps: Deps, service: str, name: str, kind: str) -> None:
    """ActionError saying what is wrong with `set|unset <service> NAME`, before any form opens."""
    try:
        svc = deps.catalog.service(service)
        spec_for(svc.provider, kind)
        check_name(name)
    except UnknownService as err:
        raise ActionError(str(err)) from None
    except ActionNotAvailable as err:
        raise ActionError(f"{service}: {err}") from None
    except InvalidActionParams as err:
        raise ActionError(str(err)) from None


async def may_submit(deps: Deps, user: str, members: GroupMembers) -> Decision:
    """Whether `user` may submit a variable's value: operators only, as for confirming (a value typed
    by someone who could not confirm it is never stored, not even in a proposal)."""
    operators, groups = await _operators(deps, user, members)
    return operator_decision(user, operators, groups)


async def _proposal_settled(deps: Deps, proposal: Proposal) -> None:
    """Arm the reminder of a change that ran; forget the old value of one that never will."""
    if proposal.kind not in _KINDS or proposal.status in (ProposalStatus.PROPOSED, ProposalStatus.RUNNING):
        return
    if proposal.status in (ProposalStatus.ACCEPTED, ProposalStatus.VERIFIED):

        async def schedule(session: AsyncSession, due: datetime) -> None:
            await job_store.enqueue(
                session, kind=REVERT_JOB, payload={"change_id": proposal.id}, run_at=due, now=deps.clock(),
                dedupe_key=f"{REVERT_JOB}:{proposal.id}",
            )

        await store.arm(deps.sessions, proposal.id, now=deps.clock(), schedule=schedule)
        return
    change = await store.get(deps.sessions, proposal.id)
    if change is not None and change.status == "proposed":
        await store.forget(deps.sessions, proposal.id, status="forgotten")


listen_to_outcomes(_proposal_settled)


@handles(REVERT_JOB)
async def revert_job(deps: Deps, job: ClaimedJob) -> None:
    """The reminder is due: propose the old value back, or say why not. Runs once (`take`)."""
    change = await store.take(deps.sessions, str(job.payload.get("change_id")))
    if change is None:
        return
    original = await get_proposal(deps, change.id)
    where = Where(change.channel or "", change.thread_ts)
    try:
        await _remind(deps, change, original, where)
    finally:
        await store.forget(deps.sessions, change.id)


async def _say(deps: Deps, original: Proposal | None, text: str) -> None:
    if original is None:
        log.warning("revert reminder: %s", text)
        return
    try:
        await notifier_for(deps).post_in_thread(original, text)
    except Exception:
        log.exception("could not post the revert reminder of %s", original.id)


async def _remind(deps: Deps, change: store.ChangeRecord, original: Proposal | None, where: Where) -> None:
    after = describe_delay_s(change.revert_after_s)
    try:
        service = deps.catalog.service(change.service)
        current = await read_current(deps, service, change.name)
    except (UnknownService, ProviderError, InvalidIdentifier, CannotPropose, InvalidActionParams) as err:
        await _say(deps, original, f"Revert reminder for {change.name} on {change.service}: could not read it ({err}).")
        return
    if change.set_fingerprint is None:  # an unset: it must still be absent
        by_hand = current.exists
    else:
        by_hand = changed_by_hand(fingerprint_of(deps, current.value), change.set_fingerprint)
    if by_hand:
        await _say(
            deps, original,
            f"Revert reminder for {change.name} on {change.service} ({after} after the change): it was changed "
            "again since pitcrew changed it, so pitcrew proposes nothing; check it by hand.",
        )
        await deps.audit(actor=PITCREW, action="variables.revert", target=change.id,
                         params={"service": change.service, "name": change.name},
                         outcome="not proposed: changed by hand since")
        return
    common = {
        "asked": Asked(PITCREW, where, notifier_for(deps), change.incident_id),
        "why": f"the revert reminder of proposal {change.id[:8]}, {after} after {change.name} was changed",
    }
    key = vault_key(deps.settings.audit_key())
    try:
        if not change.old_exists:
            await propose_unset_variable(deps, change.service, change.name, **common)
        else:
            old = unseal(key, change.old_sealed, change.id) if key and change.old_sealed else None
            if old is None:
                await _ask(deps, change, original, after)
                outcome = "asked for the value"
                await deps.audit(actor=PITCREW, action="variables.revert", target=change.id,
                                 params={"service": change.service, "name": change.name}, outcome=outcome)
                return
            await propose_set_variable(deps, change.service, change.name, old, **common)
    except ActionError as err:
        await _say(deps, original, f"Revert reminder for {change.name} on {change.service}: {err.reason}")
        return
    await deps.audit(actor=PITCREW, action="variables.revert", target=change.id,
                     params={"service": change.service, "name": change.name}, outcome="proposed the old value back")


async def _ask(deps: Deps, change: store.ChangeRecord, original: Proposal | None, after: str) -> None:
    """No old value kept: ask for it in the change's thread, with the button that opens the form."""
    text = (
        f"Revert reminder: {after} ago {change.name} was changed on {change.service}. pitcrew kept no copy "
        "of the old value (no AUDIT_KEY, or it could not be read): an operator types it in the form this "
        "button opens (never in the channel), then confirms the proposal as usual."
    )
    channel = (original.channel if original else None) or change.channel or ""
    thread = (original.thread_ts or original.message_ts) if original else change.thread_ts
    try:
        await _asker(deps).ask_for_value(channel, thread, change.service, change.name, text)
    except Exception:
        log.exception("could not ask for the old value of %s", change.id)


def describe_delay_s(seconds: int) -> str:
    return describe_delay(timedelta(seconds=seconds))
