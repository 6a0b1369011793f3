"""Alerts joining incidents in the database: open, reopen, join or recover by an alert's dedupe key.

An alert storm reaches several instances at once, so each step is one conditional statement whose
RETURNING says whether *this* caller made it, never a read followed by a write:

- opening is one INSERT ... ON CONFLICT (open_key) DO NOTHING: the unique index on `open_key` lets
  exactly one incident hold an alert's dedupe key while it is open;
- joining only *reads* the open incident, share-locked, and writes nothing to it: the occurrence
  count and last-seen time are brought up to date from the stored alerts (`refresh_counts`) when
  the root message is refreshed;
- reopening (an alert firing again after a recovery) and recovering are one UPDATE ... WHERE each.

The webhooks' group commit (app/flows/alert_batches.py) calls these for many keys at once, and
schedules the jobs its alerts need with `enqueue_many`. The incident rows themselves, and their
timeline, are app/store/incidents.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import Incident, Job, ReceivedAlert


@dataclass(frozen=True)
class FiringGroup:
    """The firing alerts of one dedupe key that arrived together: they open, reopen or join one incident."""

    key: str
    title: str
    severity: str
    service: str | None
    description: str | None
    source: str
    link: str | None
    count: int
    seen_at: datetime


@dataclass(frozen=True)
class JoinResult:
    """What a key's alerts did: `opened` a new incident, `reopened` one that had recovered, or joined it."""

    incident_id: int
    opened: bool = False
    reopened: bool = False


# New incidents, many at once. PostgreSQL takes the rows as one JSON parameter (a short statement,
# prepared once whatever the number of rows, encoded by json's C encoder).
_PG_OPEN = text(
    """
    INSERT INTO incidents (title, severity, state, service, description, fingerprint, open_key, source, link, roles,
                           occurrences, started_at, last_seen_at, keep_open, escalation_level)
    SELECT u.title, u.severity, 'investigating', u.service, u.description, u.key, u.key, u.source, u.link,
           CAST('{}' AS json), u.count, u.seen_at, u.seen_at, false, 0
    FROM json_to_recordset(CAST(:rows AS json))
         AS u(title text, severity text, service text, description text, key text, source text, link text,
              count integer, seen_at timestamptz)
    ORDER BY u.key
    ON CONFLICT (open_key) DO NOTHING
    RETURNING id, open_key
    """
)


async def open_or_join_many(session: AsyncSession, groups: Sequence[FiringGroup]) -> dict[str, JoinResult]:
    """For each key: open an incident, reopen the one that recovered, or join the open one.

    Joining writes nothing to the incident: the hot rows of a storm are only *read*, under a
    shared lock (PostgreSQL `FOR SHARE`) so that a resolution cannot slip in before the alert is
    stored, while any number of instances join the same incident at once. The occurrence count
    and last-seen time are brought up to date from the stored alerts when the root message is
    refreshed (`refresh_counts`). Opening is an INSERT ... ON CONFLICT DO NOTHING (the unique
    open key decides who opens), reopening an UPDATE ... WHERE recovered (one caller wins), and
    every statement goes in key order so that instances lock rows in the same order.
    """
    pending = {g.key: g for g in groups}
    found: dict[str, JoinResult] = {}
    for _ in range(3):  # a key can vanish between two statements (resolved, or its opener rolled back)
        if not pending:
            break
        keys = sorted(pending)
        for row in await _open_ones(session, keys):  # the usual case: every key has an open incident
            found[row.open_key] = JoinResult(row.id)
        rest = [k for k in keys if k not in found]
        if rest:
            existing = {
                row.open_key: row
                for row in (
                    await session.execute(
                        select(Incident.id, Incident.open_key, Incident.recovered_at).where(Incident.open_key.in_(rest))
                    )
                ).all()
            }
            for key in rest:
                row = existing.get(key)
                if row is not None and row.recovered_at is not None:
                    reopened = await _reopen(session, key)
                    if reopened is not None:
                        found[key] = JoinResult(reopened, reopened=True)
            missing = [pending[k] for k in rest if k not in existing]
            for key, incident_id in (await _open(session, missing)).items():
                found[key] = JoinResult(incident_id, opened=True)
        pending = {k: g for k, g in pending.items() if k not in found}
    if pending:
        raise RuntimeError(f"could not open or join an incident for {sorted(pending)[:3]}")
    return found


_PG_OPEN_ONES = text(
    """
    SELECT id, open_key FROM incidents
    WHERE open_key = ANY(CAST(:keys AS text[])) AND recovered_at IS NULL
    ORDER BY open_key
    FOR SHARE
    """
)


async def _open_ones(session: AsyncSession, keys: Sequence[str]) -> Sequence[Any]:
    """The open, not recovered incidents of these keys, share-locked (PostgreSQL) until the commit."""
    if session.bind.dialect.name == "postgresql":
        return (await session.execute(_PG_OPEN_ONES, {"keys": list(keys)})).all()
    query = select(Incident.id, Incident.open_key).where(Incident.open_key.in_(keys), Incident.recovered_at.is_(None))
    return (await session.execute(query)).all()


async def _reopen(session: AsyncSession, key: str) -> int | None:
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.open_key == key, Incident.recovered_at.is_not(None))
            .values(
                recovered_at=None,
                state=case((Incident.state == "monitoring", "investigating"), else_=Incident.state),
            )
            .returning(Incident.id)
        )
    ).first()
    return row.id if row is not None else None


async def _open(session: AsyncSession, groups: Sequence[FiringGroup]) -> dict[str, int]:
    """Insert incidents for keys that have none open; the keys this call opened, with their ids."""
    if not groups:
        return {}
    ordered = sorted(groups, key=lambda g: g.key)
    if session.bind.dialect.name == "postgresql":
        rows = json.dumps(
            [
                {
                    "title": g.title,
                    "severity": g.severity,
                    "service": g.service,
                    "description": g.description,
                    "key": g.key,
                    "source": g.source,
                    "link": g.link,
                    "count": g.count,
                    "seen_at": g.seen_at.isoformat(),
                }
                for g in ordered
            ]
        )
        return {row.open_key: row.id for row in (await session.execute(_PG_OPEN, {"rows": rows})).all()}
    opened: dict[str, int] = {}
    for g in ordered:
        stmt = (
            sqlite_insert(Incident)
            .values(
                title=g.title,
                severity=g.severity,
                state="investigating",
                service=g.service,
                description=g.description,
                fingerprint=g.key,
                open_key=g.key,
                source=g.source,
                link=g.link,
                roles={},
                occurrences=g.count,
                started_at=g.seen_at,
                last_seen_at=g.seen_at,
                keep_open=False,
                escalation_level=0,
            )
            .on_conflict_do_nothing(index_elements=["open_key"])
            .returning(Incident.id)
        )
        row = (await session.execute(stmt)).first()
        if row is not None:
            opened[g.key] = row.id
    return opened


async def recover(session: AsyncSession, *, key: str, now: datetime) -> tuple[int | None, bool]:
    """(incident id, whether this call recovered it). Only the first recovery of a firing spell counts.

    The incident moves to monitoring (from investigating or identified); a recovery for a key with
    no open incident is linked to the last incident that had the key, if any.
    """
    row = (
        await session.execute(
            update(Incident)
            .where(Incident.open_key == key, Incident.recovered_at.is_(None))
            .values(
                recovered_at=now,
                state=case((Incident.state.in_(("investigating", "identified")), "monitoring"), else_=Incident.state),
            )
            .returning(Incident.id)
        )
    ).first()
    if row is not None:
        return row.id, True
    existing = await session.scalar(
        select(Incident.id).where(Incident.fingerprint == key).order_by(Incident.id.desc()).limit(1)
    )
    return existing, False


async def refresh_counts(session: AsyncSession, incident_id: int) -> None:
    """Occurrences and last-seen time from the stored alerts (joins do not write them; see above)."""
    firing = and_(ReceivedAlert.incident_id == incident_id, ReceivedAlert.status == "firing")
    await session.execute(
        update(Incident)
        .where(Incident.id == incident_id)
        .values(
            occurrences=select(func.count()).where(firing).scalar_subquery(),
            last_seen_at=func.coalesce(
                select(func.max(ReceivedAlert.received_at)).where(firing).scalar_subquery(), Incident.last_seen_at
            ),
        )
    )


_PG_JOBS = text(
    """
    INSERT INTO jobs (kind, payload, run_at, status, attempts, dedupe_key, created_at)
    SELECT u.kind, u.payload, u.run_at, 'pending', 0, u.dedupe_key, u.created_at
    FROM json_to_recordset(CAST(:rows AS json))
         AS u(kind text, payload json, run_at timestamptz, dedupe_key text, created_at timestamptz)
    ORDER BY u.dedupe_key
    ON CONFLICT (dedupe_key) DO NOTHING
    """
)


async def enqueue_many(session: AsyncSession, jobs: Sequence[Mapping[str, Any]]) -> None:
    """Schedule several jobs in one statement; a job whose dedupe key exists already is skipped."""
    if not jobs:
        return
    ordered = sorted(jobs, key=lambda j: str(j["dedupe_key"]))
    if session.bind.dialect.name == "postgresql":
        rows_json = json.dumps(
            [
                {
                    "kind": j["kind"],
                    "payload": j["payload"],
                    "run_at": j["run_at"].isoformat(),
                    "dedupe_key": j["dedupe_key"],
                    "created_at": j["created_at"].isoformat(),
                }
                for j in ordered
            ]
        )
        await session.execute(_PG_JOBS, {"rows": rows_json})
        return
    rows = [
        {"status": "pending", "attempts": 0, "locked_by": None, "locked_until": None, "last_error": None, **job}
        for job in ordered
    ]
    await session.execute(sqlite_insert(Job.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
