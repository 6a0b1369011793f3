"""Post-deploy watches in the database (table `deploy_watches`, migration 0017).

Exactly once, whichever instance acts: a watch is created by `INSERT ... ON CONFLICT (watch_key) DO
NOTHING` (a retried webhook, or two instances receiving it, create one row), and every move of its
status is a conditional UPDATE that says whether it won (`begin`, `record_look`, `finish`,
`supersede_others`): a newer deploy superseding a watch and that watch's last look cannot both end it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.deploy_watch import ACTIVE, STARTING, SUPERSEDED, WATCHING, Baseline, DeployInfo, Look, WatchView
from app.core.incidents import incident_ref
from app.store.db import dialect_insert
from app.store.models import DeployWatch


@dataclass(frozen=True)
class NewWatch:
    key: str
    service: str
    deployment_id: str
    cause: str  # "railway webhook", "vercel webhook", "rollback", "restart", ...
    alert_source: str  # the source and fingerprint a regression's alert is raised under (the deploy alerts')
    alert_fingerprint: str
    minutes: float
    deployed_at: datetime
    proposal_id: str | None = None


@dataclass(frozen=True)
class WatchRow:
    """A watch and what the flow needs beyond its view."""

    view: WatchView
    status: str
    deployed_at: datetime
    ends_at: datetime | None
    alert_source: str
    alert_fingerprint: str
    proposal_id: str | None
    incident_id: int | None


async def insert(session: AsyncSession, new: NewWatch, *, now: datetime) -> int | None:
    """The new watch's id, or None when a watch of that key exists (a retried webhook)."""
    statement = (
        dialect_insert(session)(DeployWatch)
        .values(
            watch_key=new.key, service=new.service, deployment_id=new.deployment_id, cause=new.cause,
            proposal_id=new.proposal_id, alert_source=new.alert_source, alert_fingerprint=new.alert_fingerprint,
            status=STARTING, minutes=new.minutes, deployed_at=new.deployed_at, created_at=now, looks=0,
            deploy={}, baseline={}, last={},
        )
        .on_conflict_do_nothing(index_elements=["watch_key"])
        .returning(DeployWatch.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def supersede_others(
    session: AsyncSession, *, service: str, keep: int, by_deployment: str, deployed_at: datetime, now: datetime
) -> list[int]:
    """End the service's other watches under way that started no later than this one: a newer deploy
    is what serves now. The ids of the watches it ended."""
    result = await session.execute(
        update(DeployWatch)
        .where(
            DeployWatch.service == service, DeployWatch.status.in_(ACTIVE), DeployWatch.id != keep,
            DeployWatch.deployed_at <= deployed_at,
        )
        .values(status=SUPERSEDED, superseded_by=by_deployment, ended_at=now,
                outcome=f"superseded by deploy {by_deployment}")
        .returning(DeployWatch.id)
    )
    return list(result.scalars())


async def newer_under_way(session: AsyncSession, *, service: str, than: int, deployed_at: datetime) -> str | None:
    """The deployment of a watch of `service` started after `deployed_at` and still under way, if any
    (a webhook delivered late, after the next deploy's)."""
    return await session.scalar(
        select(DeployWatch.deployment_id)
        .where(DeployWatch.service == service, DeployWatch.id != than, DeployWatch.status.in_(ACTIVE),
               DeployWatch.deployed_at > deployed_at)
        .limit(1)
    )


async def get(session: AsyncSession, watch_id: int) -> WatchRow | None:
    row = await session.get(DeployWatch, watch_id, populate_existing=True)
    return _row(row) if row is not None else None


async def begin(
    session: AsyncSession, watch_id: int, *, deploy: DeployInfo, baseline: Baseline, ends_at: datetime
) -> bool:
    """starting → watching, with the baseline measured; False when it was superseded meanwhile."""
    result = await session.execute(
        update(DeployWatch)
        .where(DeployWatch.id == watch_id, DeployWatch.status == STARTING)
        .values(status=WATCHING, deploy=deploy.to_dict(), baseline=baseline.to_dict(), ends_at=ends_at)
    )
    return bool(result.rowcount)


async def set_message(session: AsyncSession, watch_id: int, *, channel: str, ts: str) -> None:
    await session.execute(update(DeployWatch).where(DeployWatch.id == watch_id).values(channel=channel, message_ts=ts))


async def record_look(session: AsyncSession, watch_id: int, look: Look) -> bool:
    """A look that ends nothing; False when the watch ended meanwhile."""
    result = await session.execute(
        update(DeployWatch)
        .where(DeployWatch.id == watch_id, DeployWatch.status == WATCHING)
        .values(last=look.to_dict(), looks=DeployWatch.looks + 1)
    )
    return bool(result.rowcount)


async def finish(
    session: AsyncSession, watch_id: int, *, status: str, now: datetime, outcome: str | None = None,
    look: Look | None = None, superseded_by: str | None = None, from_statuses: tuple[str, ...] = ACTIVE,
) -> bool:
    """End the watch (healthy, regressed, superseded, ended) if it is still under way: True when this call did."""
    values: dict[str, Any] = {"status": status, "ended_at": now, "outcome": outcome}
    if look is not None:
        values.update(last=look.to_dict(), looks=DeployWatch.looks + 1)
    if superseded_by is not None:
        values["superseded_by"] = superseded_by
    result = await session.execute(
        update(DeployWatch).where(DeployWatch.id == watch_id, DeployWatch.status.in_(from_statuses)).values(**values)
    )
    return bool(result.rowcount)


async def set_incident(session: AsyncSession, watch_id: int, incident_id: int) -> None:
    await session.execute(update(DeployWatch).where(DeployWatch.id == watch_id).values(incident_id=incident_id))


async def regressed(session: AsyncSession, service: str, limit: int) -> list[tuple[str, int | None]]:
    """(deployment id, incident id) of the service's watches that ended in a regression, newest first."""
    rows = await session.execute(
        select(DeployWatch.deployment_id, DeployWatch.incident_id)
        .where(DeployWatch.service == service, DeployWatch.status == "regressed")
        .order_by(DeployWatch.id.desc())
        .limit(limit)
    )
    return [(r.deployment_id, r.incident_id) for r in rows]


def _row(row: DeployWatch) -> WatchRow:
    view = WatchView(
        id=row.id, service=row.service, deployment_id=row.deployment_id, cause=row.cause, status=row.status,
        minutes=row.minutes, started_at=row.deployed_at, deploy=DeployInfo.from_dict(row.deploy),
        baseline=Baseline.from_dict(row.baseline), last=Look.from_dict(row.last), looks=row.looks,
        outcome=row.outcome, superseded_by=row.superseded_by,
        incident_ref=incident_ref(row.incident_id) if row.incident_id else None,
        channel=row.channel, message_ts=row.message_ts,
    )
    return WatchRow(
        view=view, status=row.status, deployed_at=row.deployed_at, ends_at=row.ends_at,
        alert_source=row.alert_source, alert_fingerprint=row.alert_fingerprint, proposal_id=row.proposal_id,
        incident_id=row.incident_id,
    )
