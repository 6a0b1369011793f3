"""When an incident's jobs fall due: the next escalation, the next reminder to post an update, and
the spaced edit of the root message after alerts joined.

Each is a job in the jobs table whose dedupe key holds its due time, so (re)scheduling after any
change is safe to repeat and a moved deadline leaves the old job to find nothing due. What those
jobs do when they run is app/flows/escalation.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incidents import IncidentView, Policy, escalation_plan, first_responders, next_escalation, reminder_due
from app.deps import Deps
from app.flows.incident_policy import escalation_steps, policy_of
from app.store import incidents as store
from app.store.jobs import enqueue


async def opened_bookkeeping(
    session: AsyncSession, deps: Deps, incident_id: int, *, severity: str, now: datetime
) -> None:
    """What every new incident needs in its first transaction: first responders counted, deadlines set."""
    plan = escalation_plan(escalation_steps(deps), severity)
    level = len(first_responders(plan))
    if level:
        await store.set_level(session, incident_id, level)
    await schedule_deadlines(
        session, deps, incident_id=incident_id, severity=severity, started_at=now, now=now, level=level
    )


async def schedule_deadlines(
    session: AsyncSession,
    deps: Deps,
    *,
    incident_id: int,
    severity: str,
    started_at: datetime,
    now: datetime,
    level: int = 0,
    escalated_at: datetime | None = None,
    acknowledged: bool = False,
    last_update_at: datetime | None = None,
    reminded_at: datetime | None = None,
) -> None:
    """Enqueue a job at the next escalation and the next reminder, as the incident stands now.

    Each job's dedupe key holds its due time, so moving a deadline (a severity change, an update)
    adds a job at the new time, and a job whose time has been moved finds nothing due and ends.
    Whatever runs a job re-reads the incident first: these are wake-up calls, not orders.
    """
    policy = policy_of(deps)
    due = next_escalation(
        escalation_plan(escalation_steps(deps), severity),
        level=level,
        started_at=started_at,
        escalated_at=escalated_at,
        response_time=policy.response_time(severity),
        acknowledged=acknowledged,
        resolved=False,
    )
    if due is not None:
        await enqueue(
            session,
            kind="incident.escalate",
            payload={"incident_id": incident_id},
            run_at=due.at,
            now=now,
            dedupe_key=f"incident.escalate:{incident_id}:{due.level}:{due.at.timestamp():.0f}",
        )
    remind_at = reminder_due(
        policy,
        severity=severity,
        started_at=started_at,
        last_update_at=last_update_at,
        reminded_at=reminded_at,
        resolved=False,
    )
    if remind_at is not None:
        await enqueue(
            session,
            kind="incident.remind",
            payload={"incident_id": incident_id},
            run_at=remind_at,
            now=now,
            dedupe_key=f"incident.remind:{incident_id}:{remind_at.timestamp():.0f}",
        )


async def reschedule(session: AsyncSession, deps: Deps, view: IncidentView, now: datetime) -> None:
    await schedule_deadlines(
        session,
        deps,
        incident_id=view.id,
        severity=view.severity,
        started_at=view.started_at,
        now=now,
        level=view.escalation_level,
        escalated_at=view.escalated_at,
        acknowledged=view.acknowledged_at is not None,
        last_update_at=view.last_update_at,
        reminded_at=view.reminded_at,
    )


def refresh_job(policy: Policy, incident_id: int, now: datetime) -> dict[str, Any]:
    """The job that edits an incident's root message after alerts joined it: one per incident per interval.

    Time is cut into buckets of `root_edit_interval_s`; every alert of a bucket schedules the same
    job (same dedupe key) for the bucket's end, so a storm of a thousand repeats is one edit.
    """
    interval = policy.root_edit_interval_s
    bucket = int(now.timestamp()) // interval
    run_at = datetime.fromtimestamp((bucket + 1) * interval, tz=now.tzinfo)
    return {
        "kind": "incident.refresh",
        "payload": {"incident_id": incident_id},
        "run_at": run_at,
        "created_at": now,
        "dedupe_key": f"incident.refresh:{incident_id}:{bucket}",
    }


async def schedule_refresh(session: AsyncSession, policy: Policy, incident_id: int, now: datetime) -> None:
    job = refresh_job(policy, incident_id, now)
    await enqueue(
        session, kind=job["kind"], payload=job["payload"], run_at=job["run_at"], now=now, dedupe_key=job["dedupe_key"]
    )
