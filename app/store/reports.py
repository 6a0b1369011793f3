"""What the period report and the status page's history read, and the weekly report's claim.

Reads: the incidents that started in a period (as the plain values the report needs) and those
that overlap a stretch of days (the status page's 90 daily bars). The claim: a row of `report_runs`
per week, inserted with ON CONFLICT DO NOTHING, so one instance posts each week's report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incidents import IncidentView
from app.core.period_report import ReportIncident
from app.store.db import dialect_insert
from app.store.incidents import to_view
from app.store.models import Incident, ReportRun


async def started_between(session: AsyncSession, since: datetime, until: datetime) -> list[ReportIncident]:
    """Every incident that started in [since, until), private ones included (the report is internal)."""
    rows = await session.execute(
        select(Incident.service, Incident.severity, Incident.started_at, Incident.acknowledged_at, Incident.resolved_at)
        .where(Incident.started_at >= since, Incident.started_at < until)
        .order_by(Incident.started_at)
    )
    return [ReportIncident(r.service, r.severity, r.started_at, r.acknowledged_at, r.resolved_at) for r in rows]


async def overlapping(session: AsyncSession, since: datetime, until: datetime) -> list[IncidentView]:
    """Incidents in force at some moment of [since, until]: started by its end (one that opened this
    very second included), not resolved before its start."""
    rows = await session.scalars(
        select(Incident)
        .where(Incident.started_at <= until, or_(Incident.resolved_at.is_(None), Incident.resolved_at >= since))
        .order_by(Incident.started_at)
    )
    return [to_view(r) for r in rows]


async def claim_run(session: AsyncSession, key: str, *, now: datetime, channel: str) -> bool:
    """Claim the report named `key`: True for the one caller whose insert landed, False for any other."""
    statement = (
        dialect_insert(session)(ReportRun)
        .values(key=key, claimed_at=now, channel=channel)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ReportRun.key)
    )
    return (await session.execute(statement)).first() is not None


async def record_post(session: AsyncSession, key: str, message_ts: str | None) -> None:
    await session.execute(update(ReportRun).where(ReportRun.key == key).values(message_ts=message_ts))


async def release_run(session: AsyncSession, key: str) -> None:
    """Give a claim back when its post failed, so that the next run of the job posts the report."""
    await session.execute(delete(ReportRun).where(ReportRun.key == key, ReportRun.message_ts.is_(None)))
