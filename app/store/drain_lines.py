"""Lines a Vercel log drain delivered: stored masked, read back by `/logs`, bounded in age and in rows.

The row bound is applied in the same transaction as the insert, by one DELETE per project whose
subquery finds the newest `max_rows`-th row: never a count and then a delete, so instances
receiving batches at once cannot leave a project with more than the bound plus their own batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import DrainLine


@dataclass(frozen=True)
class StoredLine:
    """One drained line as `/logs` reads it (already masked)."""

    at: datetime
    level: str | None
    message: str
    deployment_id: str | None
    attributes: dict[str, Any]


_COLUMNS = ("project_id", "deployment_id", "at", "received_at", "level", "message", "attributes")


async def add(session: AsyncSession, rows: Sequence[dict[str, Any]], *, max_rows: int) -> int:
    """Insert `rows` (columns of DrainLine), then trim each project they touch to its newest `max_rows`.

    On PostgreSQL the rows go in with COPY: a multi-row INSERT of hundreds of rows is a statement
    too long for the driver to cache, and parsing it cost more than storing the lines. Trimming
    reads up to `max_rows` index entries, so it runs when the ids cross a multiple of a tenth of the
    bound (at most 10,000) rather than on every batch: a project holds at most about 10% more than
    `max_rows` between two trims, and ingestion does not slow down as the table fills."""
    if not rows:
        return 0
    if session.bind.dialect.name == "postgresql":
        newest_id = await _copy(session, rows)
    else:
        ids = list((await session.execute(insert(DrainLine).returning(DrainLine.id), list(rows))).scalars())
        newest_id = max(ids)
    step = max(1, min(10_000, max_rows // 10))
    if (newest_id - len(rows)) // step != newest_id // step:
        for project_id in sorted({row["project_id"] for row in rows}):
            await trim(session, project_id, max_rows)
    return len(rows)


async def _copy(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """COPY the rows in through psycopg; the newest id of the table afterwards."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    statement = f"COPY drain_lines ({', '.join(_COLUMNS)}) FROM STDIN"
    async with driver.cursor() as cursor:
        # Log lines may lose the last fraction of a second if PostgreSQL itself crashes (never a
        # half-written row): a batch's commit then does not wait for its WAL to reach the disk.
        await cursor.execute("SET LOCAL synchronous_commit TO off")
        async with cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row((
                    row["project_id"], row["deployment_id"], row["at"], row["received_at"], row["level"],
                    row["message"], json.dumps(row["attributes"]),
                ))
        await cursor.execute("SELECT max(id) FROM drain_lines")
        found = await cursor.fetchone()
    return int(found[0]) if found and found[0] is not None else 0


async def trim(session: AsyncSession, project_id: str, max_rows: int) -> int:
    """Delete a project's rows older than its newest `max_rows`, in one statement."""
    boundary = (
        select(DrainLine.id)
        .where(DrainLine.project_id == project_id)
        .order_by(DrainLine.id.desc())
        .offset(max_rows)
        .limit(1)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(DrainLine).where(DrainLine.project_id == project_id, DrainLine.id <= boundary)
    )
    return int(result.rowcount or 0)


async def newest(
    session: AsyncSession,
    project_id: str,
    *,
    since: datetime | None,
    deployment_id: str | None,
    limit: int,
) -> list[StoredLine]:
    """The newest `limit` lines of a project (since `since`, of one deployment when named), oldest first."""
    query = select(DrainLine).where(DrainLine.project_id == project_id)
    if since is not None:
        query = query.where(DrainLine.at >= since)
    if deployment_id is not None:
        query = query.where(DrainLine.deployment_id == deployment_id)
    found = (await session.execute(query.order_by(DrainLine.at.desc(), DrainLine.id.desc()).limit(limit))).scalars()
    lines = [StoredLine(r.at, r.level, r.message, r.deployment_id, dict(r.attributes or {})) for r in found]
    lines.reverse()
    return lines


async def last_received(session: AsyncSession, project_id: str) -> datetime | None:
    """When the drain last delivered a line of this project (None: never, or all of them expired)."""
    return (
        await session.execute(select(func.max(DrainLine.received_at)).where(DrainLine.project_id == project_id))
    ).scalar()


async def purge_before(session: AsyncSession, before: datetime, *, limit: int) -> int:
    """Delete up to `limit` lines received before `before` (in bounded batches: short locks)."""
    doomed = select(DrainLine.id).where(DrainLine.received_at < before).order_by(DrainLine.id).limit(limit)
    result = await session.execute(delete(DrainLine).where(DrainLine.id.in_(doomed)))
    return int(result.rowcount or 0)


def project_ids(rows: Iterable[dict[str, Any]]) -> set[str]:
    return {row["project_id"] for row in rows}


async def count_errors(session: AsyncSession, project_id: str, *, start: datetime, end: datetime) -> int:
    """How many error lines of a project the drain delivered with a time in [start, end) (a post-deploy
    watch's error count: Vercel's API keeps no history of runtime logs)."""
    return int(
        await session.scalar(
            select(func.count()).select_from(DrainLine).where(
                DrainLine.project_id == project_id, DrainLine.at >= start, DrainLine.at < end,
                func.lower(DrainLine.level).in_(("error", "fatal")),
            )
        )
        or 0
    )
