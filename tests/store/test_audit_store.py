"""The audit trail on real SQLite and PostgreSQL: appends chain, tampering is found, writers don't fork it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text, update

from app.core.audit import ChainVerifier, verify
from app.store import audit as audit_store
from app.store.db import create_engine, session_factory, transaction
from app.store.models import AuditEvent


async def _append(sessions, n: int, actor: str = "U1") -> None:
    for i in range(n):
        async with transaction(sessions) as session:
            await audit_store.append(
                session,
                at=datetime.now(UTC),
                actor=actor,
                action="command /health",
                target="C1",
                params={"i": i},
                outcome="ok",
            )


async def _all(sessions):
    return [entry async for entry in audit_store.entries(sessions, batch=7)]


async def test_appends_form_a_verifiable_chain(db_url):
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        await _append(sessions, 20)
        entries = await _all(sessions)
        assert [e.seq for e in entries] == list(range(1, 21))
        assert entries[1].prev_hash == entries[0].hash
        assert verify(entries).ok
        assert verify(entries).checked == 20
    finally:
        await engine.dispose()


async def test_changed_row_is_named(db_url):
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        await _append(sessions, 5)
        async with transaction(sessions) as session:
            await session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(outcome="refused"))
        report = verify(await _all(sessions))
        assert not report.ok
        assert report.broken_seq == 3
        assert report.checked == 2
        assert "changed" in (report.reason or "")
    finally:
        await engine.dispose()


async def test_deleted_row_is_named(db_url):
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        await _append(sessions, 5)
        async with transaction(sessions) as session:
            await session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
        report = verify(await _all(sessions))
        assert report.broken_seq == 3
        assert "missing" in (report.reason or "")
    finally:
        await engine.dispose()


async def test_since_filters_by_time(db_url):
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        async with transaction(sessions) as session:
            await audit_store.append(
                session,
                at=datetime(2026, 1, 1, tzinfo=UTC),
                actor="U1",
                action="a",
                target=None,
                params={},
                outcome="ok",
            )
            await audit_store.append(
                session,
                at=datetime(2026, 6, 1, tzinfo=UTC),
                actor="U1",
                action="b",
                target=None,
                params={},
                outcome="ok",
            )
        later = [e async for e in audit_store.entries(sessions, since=datetime(2026, 3, 1, tzinfo=UTC))]
        assert [e.action for e in later] == ["b"]
    finally:
        await engine.dispose()


async def test_concurrent_writers_on_two_engines_do_not_fork_the_chain(db_url):
    """Two engines stand for two instances: each has its own pool, they share only the database."""
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        writers = [_append(session_factory(engine), 15, actor=f"U{k}") for k in range(4) for engine in engines]
        await asyncio.gather(*writers)
        entries = await _all(session_factory(engines[0]))
        assert len(entries) == 4 * 2 * 15
        verifier = ChainVerifier()
        assert all(verifier.add(e) for e in entries), verifier.report()
        assert len({e.prev_hash for e in entries}) == len(entries)  # no two rows claim the same parent
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_burst_of_audits_from_two_instances_is_stored_whole_and_chained(db_url):
    """Group commit: 2 x 300 concurrent Deps.audit calls, each returning only once its entry is committed."""
    from app.catalog import parse_catalog
    from app.deps import build_deps
    from app.settings import Settings

    catalog = parse_catalog("slack: {alerts_channel: C0ALERTS}\nservices: {}\n")
    instances = [build_deps(Settings(DATABASE_URL=db_url), catalog) for _ in range(2)]
    try:
        await asyncio.gather(
            *(
                deps.audit(actor=f"U{n}", action="command /health", target="C1", params={"n": n, "token": "xoxb-1"})
                for deps in instances
                for n in range(300)
            )
        )
        entries = await _all(instances[0].sessions)
        assert len(entries) == 600
        assert verify(entries).ok
        assert all(entry.params["token"] == "***" for entry in entries)
    finally:
        for deps in instances:
            await deps.close()
