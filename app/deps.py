"""Everything a flow needs, built once per process and handed to flows as one value.

Flows take `Deps` rather than importing globals so that tests, the console and the demo can
build their own with other endpoints (fake Slack, sandbox providers) and the same code runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.catalog import Catalog
from app.core.secrets import dsn_secrets, scrub
from app.jobs.signal import JobSignal
from app.providers.railway import RailwayClient
from app.providers.vercel import VercelClient
from app.settings import Settings
from app.store import audit as audit_store
from app.store import jobs as job_store
from app.store.db import create_engine, session_factory
from app.store.group_commit import GroupCommit, StatementCommit
from app.store.reachability import Reachability


def utcnow() -> datetime:
    return datetime.now(UTC)


def process_secrets(settings: Settings, catalog: Catalog, environ: Mapping[str, str]) -> list[str]:
    """Every secret this process holds, to mask wherever text leaves it (Slack, logs, the audit
    trail, error texts): the settings' own, and the DSN (and its password) of each `postgres`
    service, which lives in the environment variable its `dsn_env` names, not in the settings."""
    values = settings.secret_values()
    for service in catalog.services.values():
        if service.postgres is not None:
            values.extend(dsn_secrets(environ.get(service.postgres.dsn_env, "")))
    return values


@dataclass
class Deps:
    settings: Settings
    catalog: Catalog
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    railway: RailwayClient | None
    vercel: VercelClient | None
    probes: httpx.AsyncClient
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], datetime] = utcnow
    job_signal: JobSignal = field(default_factory=JobSignal)
    _audit_writer: GroupCommit[audit_store.NewEntry] | None = field(default=None, init=False, repr=False)
    _job_writer: GroupCommit[job_store.NewJob] | None = field(default=None, init=False, repr=False)
    _reachability: Reachability | None = field(default=None, init=False, repr=False)

    async def database_reachable(self) -> bool:
        """Whether the database answers now (a recent answer is reused; see app/store/reachability.py)."""
        if self._reachability is None:
            self._reachability = Reachability(self.engine)
        return await self._reachability.check()

    def database_suspect(self) -> None:
        """A database call just failed: the next `database_reachable()` asks the database again."""
        if self._reachability is not None:
            self._reachability.suspect()

    def secret_values(self) -> list[str]:
        """Every secret this process holds (see `process_secrets`)."""
        return process_secrets(self.settings, self.catalog, self.environ)

    async def audit(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        params: Mapping[str, Any] | None = None,
        outcome: str = "ok",
    ) -> None:
        """Record one event in its own transaction, with secrets masked before they are stored."""
        clean = scrub(params or {}, self.secret_values())
        if self._audit_writer is None:
            self._audit_writer = GroupCommit(self.sessions, audit_store.append_many, name="pitcrew-audit-writer")
        await self._audit_writer.write(audit_store.NewEntry(self.clock(), actor, action, target, clean, outcome))

    async def run_soon(self, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None) -> None:
        """Hand work over to the job runners: it is stored when this returns, and runs as soon as an
        instance has nothing more urgent to do (this one is woken at once; others find it by polling).
        Work whose `dedupe_key` was handed over before is not stored again."""
        if self._job_writer is None:
            self._job_writer = StatementCommit(
                self.engine, self.sessions, job_store.insert_jobs, job_store.enqueue_many, name="pitcrew-job-writer"
            )
        now = self.clock()
        job = job_store.NewJob(kind=kind, payload=payload, run_at=now, created_at=now, dedupe_key=dedupe_key)
        await self._job_writer.write(job)
        self.job_signal.notify()

    async def close(self) -> None:
        for writer in (self._audit_writer, self._job_writer):
            if writer is not None:
                await writer.close()
        await self.probes.aclose()
        await self.http.aclose()
        await self.engine.dispose()


def build_deps(
    settings: Settings,
    catalog: Catalog,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Deps:
    engine = create_engine(settings.DATABASE_URL)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(10.0),
        limits=httpx.Limits(max_connections=100),
        follow_redirects=False,
        headers={"User-Agent": "pitcrew"},
    )
    # Health probes get a client that keeps no idle connections: a fresh connection is a truer check,
    # and httpcore rescans every kept-alive connection on each request (quadratic with 30+ probes).
    probes = httpx.AsyncClient(
        timeout=httpx.Timeout(10.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=0),
        follow_redirects=False,
        headers={"User-Agent": "pitcrew-health"},
    )
    railway = None
    if settings.RAILWAY_API_TOKEN or settings.RAILWAY_PROJECT_TOKEN:
        railway = RailwayClient(
            http,
            url=settings.RAILWAY_API_URL,
            api_token=settings.RAILWAY_API_TOKEN.get_secret_value() if settings.RAILWAY_API_TOKEN else None,
            project_token=(
                settings.RAILWAY_PROJECT_TOKEN.get_secret_value() if settings.RAILWAY_PROJECT_TOKEN else None
            ),
            clock=clock,  # a rate limit's "retry after" is said in the app's time
        )
    vercel = None
    if settings.VERCEL_TOKEN:
        vercel = VercelClient(
            http, url=settings.VERCEL_API_URL, token=settings.VERCEL_TOKEN.get_secret_value(), clock=clock
        )
    return Deps(
        settings=settings,
        catalog=catalog,
        engine=engine,
        sessions=session_factory(engine, audit_key=settings.audit_key()),
        http=http,
        probes=probes,
        railway=railway,
        vercel=vercel,
        environ=environ if environ is not None else os.environ,
        clock=clock,
    )
