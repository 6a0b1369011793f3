"""Webhook bodies as received: every one kept, read or not, linked to the incident it fed.

Bodies are stored as text. A body that is not UTF-8 (or holds NUL characters, which PostgreSQL
text cannot) is kept base64-encoded with `error` saying so, rather than altered or dropped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.alerts import Alert
from app.store.models import ReceivedAlert


@dataclass(frozen=True)
class StoredAlert:
    """One normalised alert of a body, with the incident it went to (None: it matched none)."""

    alert: Alert
    incident_id: int | None


def body_text(body: bytes) -> tuple[str, str | None]:
    """(text to store, note) — the body verbatim when it is storable text, else base64 with a note."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "body is not UTF-8 text; stored base64-encoded"
    if "\x00" in text:
        return base64.b64encode(body).decode("ascii"), "body contains NUL characters; stored base64-encoded"
    return text, None


async def store_body(
    session: AsyncSession,
    *,
    source: str,
    body: bytes,
    received_at: datetime,
    alerts: Sequence[StoredAlert] = (),
    error: str | None = None,
) -> None:
    """One row per alert (the body on the first, the others pointing to it); one row when there is none.

    A body with no alerts in it (a deployment still building) is kept too: nothing sent is lost.
    """
    text, note = body_text(body)
    problem = "; ".join(p for p in (error, note) if p) or None
    first = alerts[0] if alerts else None
    row = _row(source, received_at, text, first, problem)
    if len(alerts) <= 1:
        await session.execute(insert(ReceivedAlert.__table__).values(**row))
        return
    body_id = (await session.execute(insert(ReceivedAlert).values(**row).returning(ReceivedAlert.id))).scalar_one()
    rest = [{**_row(source, received_at, "", item, problem), "body_id": body_id} for item in alerts[1:]]
    await session.execute(insert(ReceivedAlert), rest)


def _row(source: str, received_at: datetime, text: str, item: StoredAlert | None, error: str | None) -> dict[str, Any]:
    return {
        "source": source,
        "received_at": received_at,
        "body": text,
        "fingerprint": item.alert.fingerprint if item else None,
        "status": item.alert.status if item else None,
        "service": item.alert.service if item else None,
        "severity": item.alert.severity if item else None,
        "title": item.alert.title if item else None,
        "incident_id": item.incident_id if item else None,
        "error": error,
    }


PURGED = ""


async def purge_bodies(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Empty up to `limit` bodies received before `before`; how many.

    The row stays (its fingerprint, masked title and incident link make an incident's alert count and
    timeline), only the raw body goes: it is what may still hold something nobody should keep.
    """
    oldest = (
        select(ReceivedAlert.id).where(ReceivedAlert.received_at < before, ReceivedAlert.body != PURGED).limit(limit)
    )
    statement = update(ReceivedAlert).where(ReceivedAlert.id.in_(oldest)).values(body=PURGED)
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_for_incident(session: AsyncSession, incident_id: int) -> int:
    query = select(func.count()).select_from(ReceivedAlert).where(ReceivedAlert.incident_id == incident_id)
    return int((await session.scalar(query)) or 0)


async def count_all(session: AsyncSession) -> int:
    return int((await session.scalar(select(func.count()).select_from(ReceivedAlert))) or 0)


@dataclass(frozen=True)
class ReceivedBody:
    """One webhook body to keep, with the alerts read from it."""

    source: str
    body: bytes
    received_at: datetime
    alerts: Sequence[StoredAlert] = ()
    error: str | None = None


async def store_bodies(session: AsyncSession, bodies: Sequence[ReceivedBody]) -> None:
    """Many bodies at once: one multi-row INSERT for those with at most one alert (nearly all of them)."""
    simple: list[dict[str, Any]] = []
    for item in bodies:
        if len(item.alerts) > 1:
            await store_body(
                session,
                source=item.source,
                body=item.body,
                received_at=item.received_at,
                alerts=item.alerts,
                error=item.error,
            )
            continue
        text, note = body_text(item.body)
        problem = "; ".join(p for p in (item.error, note) if p) or None
        simple.append(_row(item.source, item.received_at, text, item.alerts[0] if item.alerts else None, problem))
    if not simple:
        return
    if session.bind.dialect.name == "postgresql":
        rows = [{**row, "received_at": row["received_at"].isoformat()} for row in simple]
        await session.execute(_PG_INSERT, {"rows": json.dumps(rows)})
    else:
        await session.execute(insert(ReceivedAlert.__table__), [{**row, "body_id": None} for row in simple])


# PostgreSQL takes a whole group of bodies as one JSON parameter: one short statement, prepared once.
_PG_INSERT = text(
    """
    INSERT INTO alerts (source, received_at, body, fingerprint, status, service, severity, title, incident_id, error)
    SELECT r.source, r.received_at, r.body, r.fingerprint, r.status, r.service, r.severity, r.title, r.incident_id,
           r.error
    FROM json_to_recordset(CAST(:rows AS json))
         AS r(source text, received_at timestamptz, body text, fingerprint text, status text, service text,
              severity text, title text, incident_id bigint, error text)
    """
)
