"""Maintenance windows and the alerts they hold, in the database.

Each change that must happen once is one conditional UPDATE whose RETURNING says whether this
caller made it: the start and the end are announced once, a cancel wins once, an alert is handed
over once. The alert path reads the windows in force under a shared lock (PostgreSQL `FOR SHARE`),
so a window cannot end between the moment a group of alerts is held by it and the group's commit:
the end waits for the commit, and then sees every alert held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.maintenance import HeldAlert, WindowView
from app.store.models import MaintenanceAlert, MaintenanceWindow

SHOWN_ALERTS = 20


@dataclass(frozen=True)
class Hold:
    """Alerts of one key that a window holds, as they arrived together."""

    window_id: int
    key: str
    source: str
    service: str | None
    title: str
    severity: str | None
    fingerprint: str
    link: str | None
    details: str | None
    status: str
    count: int
    at: datetime


async def create(
    session: AsyncSession,
    *,
    services: Sequence[str],
    reason: str,
    by: str,
    now: datetime,
    starts_at: datetime,
    ends_at: datetime,
) -> int:
    row = MaintenanceWindow(
        services=list(services), reason=reason, created_by=by, created_at=now, starts_at=starts_at, ends_at=ends_at
    )
    session.add(row)
    await session.flush()
    return row.id


async def get(session: AsyncSession, window_id: int) -> WindowView | None:
    row = await session.get(MaintenanceWindow, window_id, populate_existing=True)
    if row is None:
        return None
    alerts = await session.scalars(
        select(MaintenanceAlert)
        .where(MaintenanceAlert.window_id == window_id)
        .order_by(MaintenanceAlert.last_at.desc(), MaintenanceAlert.id)
        .limit(SHOWN_ALERTS)
    )
    return _view(row, [HeldAlert(a.key, a.source, a.title, a.status, a.count, a.last_at) for a in alerts])


def _view(row: MaintenanceWindow, alerts: Sequence[HeldAlert] = ()) -> WindowView:
    return WindowView(
        id=row.id,
        services=tuple(row.services or ()),
        reason=row.reason,
        created_by=row.created_by,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
        channel=row.channel,
        message_ts=row.message_ts,
        alerts=tuple(alerts),
    )


async def upcoming(session: AsyncSession, now: datetime) -> list[WindowView]:
    """Windows in force or planned: not cancelled, not ended, not past their end; soonest first."""
    rows = await session.scalars(
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.ended_at.is_(None),
            MaintenanceWindow.ends_at > now,
        )
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
        .limit(50)
    )
    return [_view(r) for r in rows]


async def in_force(session: AsyncSession, now: datetime) -> list[tuple[int, tuple[str, ...]]]:
    """(id, services) of the windows in force at `now`, share-locked on PostgreSQL until the commit."""
    query = (
        select(MaintenanceWindow.id, MaintenanceWindow.services)
        .where(
            MaintenanceWindow.starts_at <= now,
            MaintenanceWindow.ends_at > now,
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.ended_at.is_(None),
        )
        .order_by(MaintenanceWindow.id)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return [(row.id, tuple(row.services or ())) for row in (await session.execute(query)).all()]


async def hold(session: AsyncSession, holds: Sequence[Hold]) -> None:
    """Record held alerts: one row per (window, key), its count added to and its last state kept."""
    if not holds:
        return
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    for h in sorted(holds, key=lambda h: (h.window_id, h.key)):  # one lock order for every instance
        stmt = insert(MaintenanceAlert).values(
            window_id=h.window_id, key=h.key, source=h.source, service=h.service, title=h.title[:300],
            severity=h.severity, fingerprint=h.fingerprint, link=h.link, details=h.details, status=h.status,
            count=h.count, first_at=h.at, last_at=h.at,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["window_id", "key"],
                set_={
                    "count": MaintenanceAlert.count + stmt.excluded.count,
                    "status": stmt.excluded.status,
                    "title": stmt.excluded.title,
                    "last_at": stmt.excluded.last_at,
                },
            )
        )


async def mark_started(session: AsyncSession, window_id: int, now: datetime) -> bool:
    """The start, once: False when it was announced already, the window was cancelled, or its end
    has passed (a start job delayed past the end, by Slack's pace or a busy instance, must not
    announce a window the end job is about to call over)."""
    return await _once(
        session,
        update(MaintenanceWindow)
        .where(
            MaintenanceWindow.id == window_id,
            MaintenanceWindow.started_at.is_(None),
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.ended_at.is_(None),
            MaintenanceWindow.ends_at > now,
        )
        .values(started_at=now),
    )


async def set_message(session: AsyncSession, window_id: int, *, channel: str, ts: str) -> None:
    await session.execute(
        update(MaintenanceWindow).where(MaintenanceWindow.id == window_id).values(channel=channel, message_ts=ts)
    )


async def mark_ended(session: AsyncSession, window_id: int, *, now: datetime, ends_at: datetime) -> bool:
    """The end at `ends_at`, once: False when cancelled, ended already, or its end was moved."""
    return await _once(
        session,
        update(MaintenanceWindow)
        .where(
            MaintenanceWindow.id == window_id,
            MaintenanceWindow.ended_at.is_(None),
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.ends_at == ends_at,
        )
        .values(ended_at=now),
    )


async def cancel(session: AsyncSession, window_id: int, *, by: str, now: datetime) -> bool:
    """Cancel a window not ended yet, once; it ends now (ended_at) too, so that it holds nothing more."""
    return await _once(
        session,
        update(MaintenanceWindow)
        .where(
            MaintenanceWindow.id == window_id,
            MaintenanceWindow.ended_at.is_(None),
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.ends_at > now,
        )
        .values(cancelled_at=now, cancelled_by=by, ended_at=now),
    )


async def _once(session: AsyncSession, statement: object) -> bool:
    row = (await session.execute(statement.returning(MaintenanceWindow.id))).first()  # type: ignore[attr-defined]
    return row is not None


async def still_firing(session: AsyncSession, window_id: int) -> list[MaintenanceAlert]:
    """The held alerts whose last word was `firing` and that were not handed over yet."""
    rows = await session.scalars(
        select(MaintenanceAlert)
        .where(
            MaintenanceAlert.window_id == window_id,
            MaintenanceAlert.status == "firing",
            MaintenanceAlert.handed_over_to.is_(None),
        )
        .order_by(MaintenanceAlert.key)
    )
    return list(rows)


async def handed_over(session: AsyncSession, alert_id: int, incident_id: int | None) -> None:
    await session.execute(
        update(MaintenanceAlert).where(MaintenanceAlert.id == alert_id).values(handed_over_to=incident_id or 0)
    )


async def spans(session: AsyncSession, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of the windows overlapping [since, until): a cancelled one ends at its cancellation,
    and one cancelled before it started never was."""
    rows = await session.execute(
        select(MaintenanceWindow.starts_at, MaintenanceWindow.ends_at, MaintenanceWindow.ended_at).where(
            MaintenanceWindow.starts_at < until
        )
    )
    found = []
    for row in rows:
        end = min(row.ended_at, row.ends_at) if row.ended_at else row.ends_at
        if end > row.starts_at and end > since:
            found.append((row.starts_at, end))
    return found
