"""The fake Vercel's world: projects, deployments, environment variables, runtime logs, build events
and log drains, and Vercel's rules for them.

This module owns the data and what Vercel does to it, with no HTTP in sight: a READY production
deployment becomes what production serves, rollback and promote point production elsewhere
(`point_production`), an environment variable has one entry per key and targets, a logged line goes
to every open runtime-log stream and into each matching drain's outbox. Tests and the demo change
the world directly (`log`, `error_burst`, `set_env`) and script the provider's misbehaviour through
it (`fail_next`, `rate_limit_next`, `stall`), which the REST surface (app/sandbox/vercel/rest.py) obeys.

Where a new thing goes: state Vercel keeps (env edits, redeploys, ...) is a field of
`FakeVercelProject` / `FakeVercelDeployment` or a new dataclass here, and what an action does to it
is a `VercelWorld` method; the route that reads or calls it goes in rest.py. Each rule cites where
Vercel says so.

This is product code (it ships for the demo): nothing from tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app.catalog import VercelRef

SANDBOX_VERCEL_TOKEN = "sandbox-vercel-token"
# Vercel's runtime-logs stream shows lines "from now and for 5 minutes at most" (help text of
# `vercel logs` up to CLI v50; docs page vercel.com/docs/cli/logs: "From the moment you run this
# command, all newly emitted logs will display in your terminal, for up to 5 minutes").
TAIL_LIMIT_S = 300.0
# "The total size of all Environment Variables for a Deployment cannot exceed 64 KB"
# (vercel.com/docs/environment-variables#environment-variable-size).
ENV_TOTAL_LIMIT = 64 * 1024


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


@dataclass
class FakeRuntimeLog:
    at: datetime
    message: str
    level: str = "info"  # error, warning, info
    source: str = "serverless"
    method: str = "GET"
    path: str = "/"
    status: int = 200


@dataclass
class FakeDrain:
    """A log drain of the world: where Vercel POSTs the lines, and the secret it signs them with."""

    url: str
    secret: str
    encoding: str = "ndjson"  # or "json" (a JSON array), the two HTTP encodings Vercel offers
    project_ids: set[str] = field(default_factory=set)  # empty: every project
    outbox: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeBuildEvent:
    at: datetime
    text: str
    type: str = "stdout"  # stdout, stderr, command, fatal, ...


@dataclass
class FakeVercelDeployment:
    id: str
    project_id: str
    state: str  # READY, ERROR, BUILDING, QUEUED, INITIALIZING, CANCELED
    created_at: datetime
    target: str | None = "production"
    commit_sha: str | None = None
    commit_message: str | None = None
    commit_author: str | None = None
    branch: str = "main"
    creator: str = "acme-deployer"
    error_message: str | None = None
    runtime_logs: list[FakeRuntimeLog] = field(default_factory=list)
    build_events: list[FakeBuildEvent] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"{self.id.removeprefix('dpl_')[:9].lower()}-acme.vercel.app"


ALL_TARGETS = ("production", "preview", "development")


@dataclass
class FakeEnv:
    """One environment variable entry: a key may have several, each for its own targets and value."""

    id: str
    key: str
    value: str
    targets: tuple[str, ...] = ALL_TARGETS
    type: str = "encrypted"  # encrypted, sensitive, plain, system


@dataclass
class FakeVercelProject:
    id: str
    name: str
    team_id: str | None
    domain: str
    deployments: list[FakeVercelDeployment] = field(default_factory=list)  # newest first
    production_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    envs: list[FakeEnv] = field(default_factory=list)  # its environment variables, one entry per key and targets
    plan: str = "pro"  # the team's plan: "hobby" rolls back to the previous production deployment only

    @property
    def env(self) -> dict[str, str]:
        """Each key's value (the production entry's when a key has several), for tests and the demo."""
        found: dict[str, str] = {}
        for entry in sorted(self.envs, key=lambda e: "production" in e.targets):
            found[entry.key] = entry.value
        return found


class VercelWorld:
    """Projects and their deployments; what the fake serves and what tests and the demo change."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.tokens: set[str] = {SANDBOX_VERCEL_TOKEN}
        self.projects: dict[str, FakeVercelProject] = {}
        self.live_tail = True  # runtime-log streams stay open after the last line, as Vercel's do
        self.tail_limit_s = TAIL_LIMIT_S
        self.drains: list[FakeDrain] = []
        self._tails: list[tuple[str, asyncio.Queue[FakeRuntimeLog]]] = []  # (deployment id, open stream)
        self._when_tailed: dict[str, list[FakeRuntimeLog]] = {}  # deployment id -> traffic during a tail
        self.tail_opened = asyncio.Event()  # set once a runtime-logs stream is open
        self._faults: list[tuple[int, str, int]] = []  # (status, body, times)
        self._rate_limits: list[dict[str, str]] = []  # the headers of each 429 still to answer
        self._released = asyncio.Event()
        self._released.set()

    # -- building it

    def add_project(
        self,
        name: str,
        *,
        project_id: str | None = None,
        team_id: str | None = None,
        domain: str | None = None,
    ) -> FakeVercelProject:
        project = FakeVercelProject(
            id=project_id or _new_id("prj_"),
            name=name,
            team_id=team_id,
            domain=domain or f"{name}.example.com",
            created_at=self.clock() - timedelta(days=90),
        )
        self.projects[project.id] = project
        return project

    def project(self, name_or_id: str) -> FakeVercelProject:
        if name_or_id in self.projects:
            return self.projects[name_or_id]
        for project in self.projects.values():
            if project.name == name_or_id:
                return project
        raise KeyError(f"no project {name_or_id!r} in the sandbox world")

    def set_env(
        self,
        project: str,
        name: str,
        value: str,
        *,
        sensitive: bool = False,
        targets: Iterable[str] | None = None,
        kind: str | None = None,
    ) -> FakeEnv:
        """An environment variable entry of `project` for `targets`, replacing the entry of the same key
        for those targets (a key may hold one entry per target, each with its own value, as on Vercel).
        A sensitive one's value is never returned; any other is stored encrypted (`type: encrypted`)
        unless `kind` says `plain` or `system` (the `type` enum of filterProjectEnvs in Vercel's OpenAPI
        description: system, encrypted, plain, sensitive, secret), whose value the list gives as it is."""
        if kind not in (None, "encrypted", "plain", "system", "sensitive"):
            raise ValueError(f"unknown Vercel env type {kind!r}")
        found = self.project(project)
        # Sensitive variables exist for production and preview only (Vercel's sensitive-variables docs).
        sensitive = sensitive or kind == "sensitive"
        wanted = tuple(targets) if targets is not None else (("production", "preview") if sensitive else ALL_TARGETS)
        kept: list[FakeEnv] = []
        for entry in found.envs:
            if entry.key == name:
                entry = FakeEnv(entry.id, entry.key, entry.value, tuple(t for t in entry.targets if t not in wanted),
                                entry.type)
                if not entry.targets:
                    continue
            kept.append(entry)
        added = FakeEnv(_new_id("")[:16], name, value, wanted, "sensitive" if sensitive else (kind or "encrypted"))
        found.envs = [*kept, added]
        return added

    def ref(self, name: str) -> VercelRef:
        """The catalog reference of a sandbox project, for pitcrew.yml or a test."""
        project = self.project(name)
        return VercelRef(project_id=project.id, team_id=project.team_id)

    def add_deployment(
        self,
        project: str,
        *,
        state: str = "READY",
        target: str | None = "production",
        commit_message: str | None = None,
        commit_sha: str | None = None,
        author: str | None = None,
        at: datetime | None = None,
        deployment_id: str | None = None,
        error_message: str | None = None,
        runtime_logs: Iterable[FakeRuntimeLog] = (),
        build_events: Iterable[FakeBuildEvent] = (),
    ) -> FakeVercelDeployment:
        """A new deployment; a READY production one becomes what production serves."""
        owner = self.project(project)
        deployment = FakeVercelDeployment(
            id=deployment_id or _new_id("dpl_"),
            project_id=owner.id,
            state=state.upper(),
            created_at=at or self.clock(),
            target=target,
            commit_sha=commit_sha or uuid.uuid4().hex,
            commit_message=commit_message,
            commit_author=author,
            error_message=error_message,
            runtime_logs=list(runtime_logs),
            build_events=list(build_events),
        )
        owner.deployments.append(deployment)
        owner.deployments.sort(key=lambda d: d.created_at, reverse=True)
        if deployment.state == "READY" and target == "production":
            owner.production_id = deployment.id
        return deployment

    def deployment(self, id_or_host: str) -> FakeVercelDeployment:
        for project in self.projects.values():
            for deployment in project.deployments:
                if id_or_host in (deployment.id, deployment.host):
                    return deployment
        raise KeyError(id_or_host)

    def production(self, project: str) -> FakeVercelDeployment | None:
        owner = self.project(project)
        return next((d for d in owner.deployments if d.id == owner.production_id), None)

    # -- changing it

    def env_total(self, project: str, target: str, *, without: str | None = None) -> int:
        """Bytes of the key=value pairs a `target` deployment gets (for the 64 KB limit), `without` one key."""
        found = self.project(project)
        return sum(
            len(e.key.encode()) + len(e.value.encode())
            for e in found.envs if target in e.targets and e.key != without
        )

    def delete_env(self, project: str, env_id: str) -> FakeEnv | None:
        """removeProjectEnv: the entry is gone (None when there was no such entry)."""
        found = self.project(project)
        entry = next((e for e in found.envs if e.id == env_id), None)
        if entry is not None:
            found.envs = [e for e in found.envs if e.id != env_id]
        return entry

    def redeploy(self, project: str, deployment_id: str, *, target: str | None) -> FakeVercelDeployment:
        """createDeployment with `deploymentId`: a new build of that deployment's commit, built with the
        variables as they are now (the reason to redeploy after an env change: "you need to redeploy
        your project to use the new values", vercel.com/docs/environment-variables). The sandbox builds
        instantly: the new deployment is READY and, for target production, serves production."""
        owner = self.project(project)
        source = self.deployment(deployment_id)
        return self.add_deployment(
            owner.id,
            state="READY",
            target=target,
            commit_message=source.commit_message,
            commit_sha=source.commit_sha,
            author=source.commit_author,
        )

    def log(
        self,
        project: str,
        message: str,
        *,
        level: str = "info",
        path: str = "/",
        status: int = 200,
        method: str = "GET",
        deployment_id: str | None = None,
        at: datetime | None = None,
    ) -> FakeRuntimeLog:
        """Append a runtime log line to a deployment (production's unless named)."""
        target = self.deployment(deployment_id) if deployment_id else self.production(project)
        if target is None:
            raise KeyError(f"{project} has no production deployment to log to")
        line = FakeRuntimeLog(
            at=at or self.clock(), message=message, level=level, path=path, status=status, method=method
        )
        self._emit(target, line)
        return line

    def when_tailed(
        self, project: str, message: str, *, level: str = "info", path: str = "/", status: int = 200,
        method: str = "GET", deployment_id: str | None = None,
    ) -> None:
        """A line a deployment (production's unless named) logs whenever someone tails it (steady
        traffic going on during every tail), stamped when it is logged. Vercel's stream shows only
        such lines, never earlier ones."""
        target = self.deployment(deployment_id) if deployment_id else self.production(project)
        if target is None:
            raise KeyError(f"{project} has no production deployment to log to")
        self._when_tailed.setdefault(target.id, []).append(
            FakeRuntimeLog(at=self.clock(), message=message, level=level, path=path, status=status, method=method)
        )

    def add_drain(self, url: str, secret: str, *, encoding: str = "ndjson", projects: Iterable[str] = ()) -> FakeDrain:
        """A log drain (Team Settings > Drains): every line logged from now on is delivered to `url`."""
        drain = FakeDrain(url=url, secret=secret, encoding=encoding,
                          project_ids={self.project(p).id for p in projects})
        self.drains.append(drain)
        return drain

    def _emit(self, deployment: FakeVercelDeployment, line: FakeRuntimeLog) -> None:
        deployment.runtime_logs.append(line)
        for deployment_id, queue in self._tails:
            if deployment_id == deployment.id:
                queue.put_nowait(line)
        for drain in self.drains:
            if not drain.project_ids or deployment.project_id in drain.project_ids:
                drain.outbox.append(self._drain_entry(deployment, line))

    def _open_tail(self, deployment: FakeVercelDeployment) -> asyncio.Queue[FakeRuntimeLog]:
        queue: asyncio.Queue[FakeRuntimeLog] = asyncio.Queue()
        self._tails.append((deployment.id, queue))
        self.tail_opened.set()
        return queue

    def _start_traffic(self, deployment: FakeVercelDeployment) -> None:
        for line in self._when_tailed.get(deployment.id, []):
            self._emit(deployment, replace(line, at=self.clock()))

    def _close_tail(self, queue: asyncio.Queue[FakeRuntimeLog]) -> None:
        self._tails = [(d, q) for d, q in self._tails if q is not queue]

    def _drain_entry(self, deployment: FakeVercelDeployment, line: FakeRuntimeLog) -> dict[str, Any]:
        """One entry as the Log Drains reference lists its fields (vercel.com/docs/drains/reference/logs:
        id, deploymentId, source, host, timestamp, projectId, level, message, path, statusCode, ...)."""
        project = self.projects[deployment.project_id]
        return {
            "id": uuid.uuid4().hex,
            "deploymentId": deployment.id,
            "source": line.source if line.source != "serverless" else "lambda",
            "host": deployment.host,
            "timestamp": epoch_ms(line.at),
            "projectId": project.id,
            "projectName": project.name,
            "level": line.level,
            "message": line.message,
            "path": line.path,
            "statusCode": line.status,
            "requestId": uuid.uuid4().hex[:12],
            "environment": "production" if deployment.target == "production" else "preview",
            "type": "stderr" if line.level == "error" else "stdout",
            "proxy": {"timestamp": epoch_ms(line.at), "method": line.method, "path": line.path,
                      "statusCode": line.status, "host": project.domain},
        }

    def error_burst(self, project: str, count: int = 5, path: str = "/api/checkout") -> None:
        """Production starts failing requests, as after a bad deploy."""
        for _ in range(count):
            self.log(project, "Error: upstream timed out after 10000ms", level="error", path=path, status=504)

    def point_production(self, project_id: str, deployment_id: str) -> None:
        """What rollback and promote do: production's domains now serve `deployment_id`."""
        self.projects[project_id].production_id = deployment_id

    def fail_next(self, *, status: int = 500, body: str | None = None, times: int = 1) -> None:
        """Make the next `times` requests fail with `status` (and Vercel's error body unless `body`)."""
        if body is None:
            body = json.dumps({"error": {"code": "internal_server_error", "message": "An unexpected error occurred"}})
        self._faults.append((status, body, times))

    def rate_limit_next(self, *, retry_after_s: int, times: int = 1, limit: int = 100) -> None:
        """Answer the next `times` requests 429 with the headers Vercel sends: X-RateLimit-Limit,
        -Remaining and -Reset (UTC epoch seconds) and Retry-After (vercel.com/docs/limits, "Rate limits")."""
        reset = int(self.clock().timestamp()) + retry_after_s
        headers = {
            "Retry-After": str(retry_after_s),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
        self._rate_limits.extend(dict(headers) for _ in range(times))

    def take_rate_limit(self) -> dict[str, str] | None:
        return self._rate_limits.pop(0) if self._rate_limits else None

    def stall(self) -> None:
        """Hold every request unanswered until `release()` (or the server stops): a provider that hangs."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def take_fault(self) -> tuple[int, str] | None:
        if not self._faults:
            return None
        status, body, times = self._faults[0]
        if times <= 1:
            self._faults.pop(0)
        else:
            self._faults[0] = (status, body, times - 1)
        return status, body

    async def wait_released(self) -> None:
        await self._released.wait()
