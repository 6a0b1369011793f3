"""Lines other features write on an incident's timeline: a rollback, a runbook step, and what
became of a destructive action proposed in the incident's thread.

The lifecycle's own lines (declared, acknowledged, updates, resolved) are written by
app/flows/incidents.py in the transaction of the change they record; these come from elsewhere,
each in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.actions import ProposalStatus
from app.core.alerts import clean_text
from app.deps import Deps
from app.flows.action_ports import listen_to_outcomes
from app.flows.action_views import Proposal
from app.flows.incident_views import get_view
from app.store import incidents as store
from app.store import runbook_runs
from app.store.db import transaction

TEXT_MAX = 3000  # the longest text a timeline line keeps (an update, a summary, a description)


async def record_event(
    deps: Deps,
    incident_id: int,
    *,
    kind: str,
    text: str,
    actor: str | None = None,
    public: bool = False,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Add a line to an incident's timeline (a rollback, a runbook step): for the flows of other features."""
    async with transaction(deps.sessions) as session:
        await get_view(session, incident_id)
        await store.add_event(
            session,
            incident_id,
            at=deps.clock(),
            kind=kind,
            actor=actor,
            text=clean_text(text, TEXT_MAX),
            public=public,
            data=data,
        )


async def note_proposal(deps: Deps, proposal: Proposal) -> None:
    """A proposal made in an incident's thread outside a runbook (from a health card): on its timeline.
    A runbook's proposals are told by the runbook's own lines (app/flows/runbooks.py)."""
    if proposal.incident_id is None:
        return
    await record_event(
        deps, proposal.incident_id, kind="action", actor=proposal.proposed_by,
        text=f"Proposed: {proposal.description}", data={"proposal_id": proposal.id},
    )


_SETTLED_BY = {
    ProposalStatus.ACCEPTED: "accepted",
    ProposalStatus.VERIFIED: "verified: the service stayed healthy",
    ProposalStatus.FAILED: "failed",
    ProposalStatus.CANCELLED: "cancelled",
    ProposalStatus.EXPIRED: "expired without a confirmation",
}


async def _proposal_settled(deps: Deps, proposal: Proposal) -> None:
    """What became of a proposal of an incident's, on its timeline. Registered here, before the runbook
    flow's listener (which imports this module), so a runbook's proposal is still found waiting on its
    run and left to the runbook's lines."""
    said = _SETTLED_BY.get(proposal.status)
    if proposal.incident_id is None or said is None:
        return
    if await runbook_runs.by_proposal(deps.sessions, proposal.id) is not None:
        return
    actor = proposal.cancelled_by if proposal.status is ProposalStatus.CANCELLED else proposal.confirmed_by
    await record_event(
        deps, proposal.incident_id, kind="action", actor=actor, text=f"{proposal.description}: {said}",
        data={"proposal_id": proposal.id, "status": str(proposal.status)},
    )


listen_to_outcomes(_proposal_settled)
