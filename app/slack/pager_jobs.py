"""The PagerDuty jobs: events out (app/flows/pagerduty.py registers `pagerduty.event` on import),
and `pagerduty.change`, a PagerDuty webhook's acknowledgment or resolution, done in pitcrew with
the Slack notifier so it is noted in the incident thread."""

from __future__ import annotations

from app.core.incidents import IncidentClosed, UnknownIncident
from app.deps import Deps
from app.flows import incidents
from app.flows import pagerduty as _pagerduty  # noqa: F401 - registers the pagerduty.event handler
from app.flows.pagerduty import CHANGE_JOB
from app.jobs.runner import Again, handles
from app.slack.incident_jobs import notifier_for
from app.store.jobs import ClaimedJob


@handles(CHANGE_JOB)
async def _change(deps: Deps, job: ClaimedJob) -> Again | None:
    incident_id = int(job.payload["incident_id"])
    by = f"{job.payload.get('by') or 'someone'} via PagerDuty"
    try:
        if job.payload["action"] == "acknowledge":
            await incidents.acknowledge(deps, notifier_for(deps), incident_id, by=by)
        else:
            await incidents.resolve(deps, notifier_for(deps), incident_id, by=by, summary="Resolved in PagerDuty.")
    except (UnknownIncident, IncidentClosed):
        return None  # gone, or already resolved in pitcrew: nothing to do
    return None
