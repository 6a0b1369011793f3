"""The post-mortem draft of an incident: its record (timeline, audit trail) and what its runbooks did.

Apart from the incident flows because it reads the runbook runs too, and the runbook flows already
build on those (`flows.incident_views`, `flows.incident_timeline`).
"""

from __future__ import annotations

from app.core.incident_reports import postmortem_markdown, runbook_evidence
from app.core.runbook_machine import StepOutcome
from app.core.runbooks import Runbook
from app.deps import Deps
from app.flows.incident_views import actions_taken, timeline
from app.flows.runbook_offers import runbooks_of
from app.flows.runbook_views import RunbookError
from app.store import runbook_runs


async def postmortem(deps: Deps, incident_id: int) -> str:
    """The post-mortem draft as Markdown: the record filled in, the rest left for people to write."""
    report = await timeline(deps, incident_id)
    actions = await actions_taken(deps, report.view)
    return postmortem_markdown(
        report.view, report.entries, actions, alerts_received=report.alerts_received, now=deps.clock(),
        evidence=runbook_evidence(await _runs(deps, incident_id)),
    )


async def _runs(deps: Deps, incident_id: int) -> list[tuple[Runbook, tuple[StepOutcome, ...]]]:
    """Each run of the incident with its runbook; runs of a runbook no longer loaded are left out."""
    records = await runbook_runs.for_incident(deps.sessions, incident_id)
    if not records:
        return []
    try:
        loaded = await runbooks_of(deps)
    except RunbookError:
        return []
    return [
        (loaded.runbooks[r.runbook], tuple(r.state.history)) for r in records if r.runbook in loaded.runbooks
    ]
