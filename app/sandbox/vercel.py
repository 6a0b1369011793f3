"""A stand-in for Vercel's REST API, served over real HTTP, for the tests, `pitcrew demo` and the console.

It answers the calls `VercelClient` makes, with bodies shaped as Vercel's OpenAPI description says,
from a small mutable world of projects, deployments, runtime logs and build events: a rollback or a
promote points the project's production at another deployment; unknown ids get a 404; a wrong
token a 403; a project of a team is found only with its `teamId`. Runtime logs come as a stream of
JSON lines that, like Vercel's, holds only the lines logged after the request and stays open for
more (until the client hangs up, five minutes pass, or the server stops). Log drains configured in
the world receive the lines as Vercel delivers them: signed batches of NDJSON or a JSON array.

Every request is recorded in `calls` (method, path, query, whether a bearer token came):

    world = sample_world()
    async with FakeVercel.serve(world) as fake:
        client = VercelClient(http, url=fake.url, token=SANDBOX_VERCEL_TOKEN)
        ...
        assert fake.calls[-1].path == "/v6/deployments"

This is product code (it ships for the demo): nothing from tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from app.catalog import VercelRef
from app.sandbox.server import LoopbackServer

SANDBOX_VERCEL_TOKEN = "sandbox-vercel-token"
_MASK = "***"
# Vercel's runtime-logs stream shows lines "from now and for 5 minutes at most" (help text of
# `vercel logs` up to CLI v50; docs page vercel.com/docs/cli/logs: "From the moment you run this
# command, all newly emitted logs will display in your terminal, for up to 5 minutes").
TAIL_LIMIT_S = 300.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


# ---- the world -----------------------------------------------------------------------------------


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


def drain_body(entries: list[dict[str, Any]], encoding: str) -> bytes:
    """A batch as Vercel encodes it: NDJSON (one object a line) or a JSON array."""
    if encoding == "json":
        return json.dumps(entries).encode()
    return "".join(json.dumps(entry) + "\n" for entry in entries).encode()


def drain_signature(body: bytes, secret: str) -> str:
    """`x-vercel-signature`: HMAC-SHA1 of the raw body with the drain's secret, hex
    (vercel.com/docs/drains/security)."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


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
    created_at: datetime = field(default_factory=_utcnow)
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

    def __init__(self, *, clock: Callable[[], datetime] = _utcnow) -> None:
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
    ) -> FakeEnv:
        """An environment variable entry of `project` for `targets`, replacing the entry of the same key
        for those targets (a key may hold one entry per target, each with its own value, as on Vercel).
        A sensitive one's value is never returned; any other is stored encrypted (`type: encrypted`)."""
        found = self.project(project)
        # Sensitive variables exist for production and preview only (Vercel's sensitive-variables docs).
        wanted = tuple(targets) if targets is not None else (("production", "preview") if sensitive else ALL_TARGETS)
        kept: list[FakeEnv] = []
        for entry in found.envs:
            if entry.key == name:
                entry = FakeEnv(entry.id, entry.key, entry.value, tuple(t for t in entry.targets if t not in wanted),
                                entry.type)
                if not entry.targets:
                    continue
            kept.append(entry)
        added = FakeEnv(_new_id("")[:16], name, value, wanted, "sensitive" if sensitive else "encrypted")
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
            "timestamp": _ms(line.at),
            "projectId": project.id,
            "projectName": project.name,
            "level": line.level,
            "message": line.message,
            "path": line.path,
            "statusCode": line.status,
            "requestId": uuid.uuid4().hex[:12],
            "environment": "production" if deployment.target == "production" else "preview",
            "type": "stderr" if line.level == "error" else "stdout",
            "proxy": {"timestamp": _ms(line.at), "method": line.method, "path": line.path,
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


# ---- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VercelCall:
    """One request the fake received; `auth` is "bearer" when a bearer token came (right or wrong)."""

    method: str
    path: str
    query: dict[str, str]
    auth: str | None
    headers: dict[str, str]


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)


Handler = Callable[[Request], Awaitable[Response]]


class FakeVercel:
    """The Starlette app answering Vercel's REST paths that pitcrew uses, over `world`."""

    def __init__(self, world: VercelWorld | None = None) -> None:
        self.world = world if world is not None else sample_world()
        self.calls: list[VercelCall] = []
        self.url: str | None = None  # set by serve(): the API base URL to give VercelClient
        self._closing: asyncio.Event | None = None
        self.app = Starlette(
            routes=[
                Route("/v6/deployments", self._guard(self._list_deployments), methods=["GET"]),
                Route("/v9/projects/{idOrName}", self._guard(self._get_project), methods=["GET"]),
                Route("/v13/deployments/{idOrUrl}", self._guard(self._get_deployment), methods=["GET"]),
                Route(
                    "/v1/projects/{projectId}/rollback/{deploymentId}",
                    self._guard(self._rollback),
                    methods=["POST"],
                ),
                Route(
                    "/v10/projects/{projectId}/promote/{deploymentId}",
                    self._guard(self._promote),
                    methods=["POST"],
                ),
                Route(
                    "/v1/projects/{projectId}/deployments/{deploymentId}/runtime-logs",
                    self._guard(self._runtime_logs),
                    methods=["GET"],
                ),
                Route("/v3/deployments/{idOrUrl}/events", self._guard(self._events), methods=["GET"]),
                Route("/v10/projects/{idOrName}/env", self._guard(self._env), methods=["GET"]),
                Route("/v1/projects/{idOrName}/env/{id}", self._guard(self._env_one), methods=["GET"]),
            ]
        )

    @classmethod
    @asynccontextmanager
    async def serve(cls, world: VercelWorld | None = None) -> AsyncIterator[FakeVercel]:
        """Serve a fake on a free loopback port for the duration of the block; `fake.url` is the API base."""
        fake = cls(world)
        fake._closing = asyncio.Event()
        async with LoopbackServer(fake.app) as server:
            fake.url = server.url
            try:
                yield fake
            finally:
                fake._closing.set()  # open log streams end, so the server can stop
                fake.world.release()

    # -- HTTP

    def _guard(self, handler: Handler) -> Handler:
        """Record the call, then stall / fail / refuse as the world says, else let `handler` answer."""

        async def endpoint(request: Request) -> Response:
            authorization = request.headers.get("authorization")
            self.calls.append(
                VercelCall(
                    method=request.method,
                    path=request.url.path,
                    query=dict(request.query_params),
                    auth="bearer" if authorization and authorization.lower().startswith("bearer ") else None,
                    headers={k: (_MASK if k in ("authorization", "cookie") else v) for k, v in request.headers.items()},
                )
            )
            await self.world.wait_released()
            limited = self.world.take_rate_limit()
            if limited is not None:
                body = {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}}
                return JSONResponse(body, status_code=429, headers=limited)
            fault = self.world.take_fault()
            if fault is not None:
                return PlainTextResponse(fault[1], status_code=fault[0], media_type="application/json")
            try:
                self._authenticate(authorization)
                return await handler(request)
            except _Refusal as refusal:
                return _error(refusal.status, refusal.code, refusal.message)

        return endpoint

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise _Refusal(403, "forbidden", "The request is missing an authentication token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token not in self.world.tokens:
            raise _Refusal(403, "forbidden", "Not authorized")

    def _project_for(self, request: Request, id_or_name: str, *, by_name: bool = True) -> FakeVercelProject:
        """The project a path names. Paths whose parameter is `idOrName` in Vercel's OpenAPI file take
        either; those whose parameter is `projectId` (promote, rollback) take the id only (`by_name=False`)."""
        team = request.query_params.get("teamId")
        for project in self.world.projects.values():
            names = (project.id, project.name) if by_name else (project.id,)
            if id_or_name in names and project.team_id == team:
                return project
        raise _Refusal(404, "not_found", "Project not found")

    def _deployment_for(self, request: Request, id_or_host: str) -> FakeVercelDeployment:
        try:
            deployment = self.world.deployment(id_or_host)
        except KeyError:
            raise _Refusal(404, "not_found", "Deployment not found") from None
        if self.world.projects[deployment.project_id].team_id != request.query_params.get("teamId"):
            raise _Refusal(404, "not_found", "Deployment not found")
        return deployment

    # -- endpoints

    async def _list_deployments(self, request: Request) -> Response:
        query = request.query_params
        projects = (
            [self._project_for(request, query["projectId"])]
            if "projectId" in query
            else [p for p in self.world.projects.values() if p.team_id == query.get("teamId")]
        )
        chosen = sorted(
            (d for p in projects for d in p.deployments if "target" not in query or d.target == query["target"]),
            key=lambda d: d.created_at,
            reverse=True,
        )
        if "state" in query:
            chosen = [d for d in chosen if d.state in query["state"].upper().split(",")]
        limit = _int(query.get("limit"), 20)
        page = chosen[:limit]
        return JSONResponse(
            {
                "pagination": {
                    "count": len(page),
                    "next": _ms(page[-1].created_at) if len(chosen) > limit else None,
                    "prev": _ms(page[0].created_at) if page else None,
                },
                "deployments": [self._list_item(d) for d in page],
            }
        )

    async def _get_project(self, request: Request) -> Response:
        project = self._project_for(request, request.path_params["idOrName"])
        production = next((d for d in project.deployments if d.id == project.production_id), None)
        return JSONResponse(
            {
                "id": project.id,
                "name": project.name,
                "accountId": project.team_id or "acc_sandbox",
                "framework": "nextjs",
                "nodeVersion": "22.x",
                "createdAt": _ms(project.created_at),
                "updatedAt": _ms(self.world.clock()),
                "live": False,
                "targets": {"production": self._target(project, production)} if production else {},
                "latestDeployments": [self._target(project, d) for d in project.deployments[:5]],
            }
        )

    async def _env(self, request: Request) -> Response:
        """filterProjectEnvs, as Vercel really answers it: `decrypt=true` is not honoured, an encrypted
        entry comes with `decrypted: false` and its ciphertext as `value` (vercel/vercel#9072, "always
        returns encrypted values"; vercel/sdk#118, where Vercel's support points to reading each
        variable by id), a sensitive one without a value (docs: vercel.com/docs/projects/environment-
        variables/sensitive-environment-variables, "cannot be decrypted once created"); one entry per
        key and targets."""
        project = self._project_for(request, request.path_params["idOrName"])
        return JSONResponse({"envs": [self._env_json(project, entry, decrypted=False) for entry in project.envs]})

    async def _env_one(self, request: Request) -> Response:
        """getProjectEnv (`GET /v1/projects/{idOrName}/env/{id}`, "Retrieve the decrypted value of an
        environment variable of a project by id"): the value decrypted (`decrypted: true`, as the
        answer quoted in vercel/sdk#25 shows), except a sensitive one's, which has no value."""
        project = self._project_for(request, request.path_params["idOrName"])
        entry = next((e for e in project.envs if e.id == request.path_params["id"]), None)
        if entry is None:
            raise _Refusal(404, "not_found", "Environment Variable not found")
        return JSONResponse(self._env_json(project, entry, decrypted=True))

    def _env_json(self, project: FakeVercelProject, entry: FakeEnv, *, decrypted: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": entry.type,
            "id": entry.id,
            "key": entry.key,
            "target": list(entry.targets),
            "configurationId": None,
            "createdAt": _ms(project.created_at),
            "updatedAt": _ms(project.created_at),
            "createdBy": "sandbox-user",
            "updatedBy": None,
        }
        if entry.type == "sensitive":
            return body  # never a value, decrypted or not
        if entry.type == "encrypted":
            body["decrypted"] = decrypted
            body["value"] = entry.value if decrypted else _ciphertext(entry.value)
        else:
            body["value"] = entry.value
        return body

    async def _get_deployment(self, request: Request) -> Response:
        deployment = self._deployment_for(request, request.path_params["idOrUrl"])
        return JSONResponse(self._full(deployment))

    async def _rollback(self, request: Request) -> Response:
        project = self._project_for(request, request.path_params["projectId"], by_name=False)
        deployment = self._deployment_for(request, request.path_params["deploymentId"])
        if deployment.project_id != project.id:
            raise _Refusal(404, "not_found", "Deployment not found")
        if deployment.state != "READY" or deployment.target != "production":
            raise _Refusal(400, "invalid_deployment", "Only a READY production deployment can be rolled back to")
        if deployment.id == project.production_id:
            raise _Refusal(409, "conflict", "This deployment is already serving production")
        if project.plan == "hobby" and deployment.id != self._previous_production(project):
            # "On the hobby plan, you can only roll back to the previous production deployment [...]
            # To roll back further than the previous production deployment, upgrade to pro"
            # (vercel.com/docs/cli/rollback; vercel.com/docs/instant-rollback, eligible deployments).
            raise _Refusal(
                400, "rollback_not_allowed",
                "To roll back further than the previous production deployment, upgrade to pro",
            )
        self.world.point_production(project.id, deployment.id)
        return Response(status_code=201)

    def _previous_production(self, project: FakeVercelProject) -> str | None:
        current = next((d for d in project.deployments if d.id == project.production_id), None)
        older = [
            d for d in project.deployments
            if d.target == "production" and d.state == "READY" and d.id != project.production_id
            and (current is None or d.created_at < current.created_at)
        ]
        return max(older, key=lambda d: d.created_at).id if older else None

    async def _promote(self, request: Request) -> Response:
        project = self._project_for(request, request.path_params["projectId"], by_name=False)
        deployment = self._deployment_for(request, request.path_params["deploymentId"])
        if deployment.project_id != project.id:
            raise _Refusal(404, "not_found", "Deployment not found")
        if deployment.state != "READY":
            raise _Refusal(400, "invalid_deployment", "Only a READY deployment can be promoted")
        if deployment.id == project.production_id:
            raise _Refusal(409, "conflict", "This deployment is already serving production")
        if deployment.target != "production":
            # A preview build carries preview variables, so Vercel does not point production at it:
            # "You can promote Deployments built for the Preview environment, but [...] will result
            # in a new production deployment" (vercel.com/docs/cli/promote; "a complete rebuild",
            # vercel.com/docs/deployments/promoting-a-deployment). The build named never serves.
            self.world.add_deployment(
                project.id,
                commit_message=deployment.commit_message,
                commit_sha=deployment.commit_sha,
                author=deployment.commit_author,
            )
            return Response(status_code=202)
        self.world.point_production(project.id, deployment.id)
        return Response(status_code=201)

    async def _runtime_logs(self, request: Request) -> Response:
        project = self._project_for(request, request.path_params["projectId"])
        deployment = self._deployment_for(request, request.path_params["deploymentId"])
        if deployment.project_id != project.id:
            raise _Refusal(404, "not_found", "Deployment not found")
        # Only lines logged after this request: Vercel's stream has no history and no parameter to
        # ask for any (OpenAPI: "Returns a stream of logs for a given deployment", no query but
        # teamId/slug; `vercel logs` help up to v50: "from now and for 5 minutes at most").
        world = self.world
        queue = world._open_tail(deployment)
        closing = self._closing

        async def stream() -> AsyncIterator[bytes]:
            try:
                world._start_traffic(deployment)
                loop = asyncio.get_running_loop()
                deadline = loop.time() + world.tail_limit_s
                while True:
                    if queue.empty() and not world.live_tail:
                        return  # a test's stream that ends once the traffic is out
                    line = await _next_line(queue, closing, deadline - loop.time())
                    if line is None:
                        return
                    yield (json.dumps(self._runtime_json(project, line)) + "\n").encode()
            finally:
                world._close_tail(queue)

        return StreamingResponse(stream(), media_type="application/stream+json")

    async def run_drains(self, interval_s: float = 1.0) -> None:
        """Deliver the drains' batches every `interval_s` until cancelled (Vercel buffers lines and
        sends them in batches: vercel.com/docs/drains/reference/logs, "Multiple logs may be batched
        into a single request")."""
        async with httpx.AsyncClient(timeout=10.0) as http:
            while True:
                await self.deliver_drains(http)
                await asyncio.sleep(interval_s)

    async def deliver_drains(self, http: httpx.AsyncClient | None = None) -> list[int]:
        """Send what each drain has gathered as one batch, signed as Vercel signs it; the statuses."""
        statuses: list[int] = []
        own = http is None
        client = http or httpx.AsyncClient(timeout=10.0)
        try:
            for drain in self.world.drains:
                if not drain.outbox:
                    continue
                entries, drain.outbox = drain.outbox, []
                body = drain_body(entries, drain.encoding)
                try:
                    response = await client.post(drain.url, content=body, headers={
                        "content-type": "application/x-ndjson" if drain.encoding == "ndjson" else "application/json",
                        "x-vercel-signature": drain_signature(body, drain.secret),
                    })
                except httpx.HTTPError:
                    drain.outbox[:0] = entries  # the endpoint is not up yet: the batch waits for the next round
                    statuses.append(0)
                    continue
                if response.status_code >= 500:
                    drain.outbox[:0] = entries
                statuses.append(response.status_code)
        finally:
            if own:
                await client.aclose()
        return statuses

    async def _events(self, request: Request) -> Response:
        deployment = self._deployment_for(request, request.path_params["idOrUrl"])
        events = sorted(deployment.build_events, key=lambda e: e.at)
        if request.query_params.get("direction") == "backward":
            events.reverse()
        limit = _int(request.query_params.get("limit"), 100)
        chosen = events if limit == -1 else events[:limit]
        return JSONResponse([self._event_json(deployment, n, e) for n, e in enumerate(chosen)])

    # -- shapes (as the OpenAPI description has them)

    def _meta(self, d: FakeVercelDeployment) -> dict[str, str]:
        meta = {
            "githubCommitSha": d.commit_sha,
            "githubCommitMessage": d.commit_message,
            "githubCommitAuthorName": d.commit_author,
            "githubCommitRef": d.branch,
            "githubCommitOrg": "acme",
            "githubCommitRepo": self.world.projects[d.project_id].name,
        }
        return {k: v for k, v in meta.items() if v}

    def _list_item(self, d: FakeVercelDeployment) -> dict[str, Any]:
        project = self.world.projects[d.project_id]
        current = d.id == project.production_id
        item: dict[str, Any] = {
            "uid": d.id,
            "name": project.name,
            "projectId": project.id,
            "url": d.host,
            "created": _ms(d.created_at),
            "createdAt": _ms(d.created_at),
            "buildingAt": _ms(d.created_at),
            "source": "git",
            "state": d.state,
            "readyState": d.state,
            "type": "LAMBDAS",
            "creator": {"uid": "usr_sandbox", "username": d.creator},
            "meta": self._meta(d),
            "target": d.target,
            "inspectorUrl": f"https://vercel.com/acme/{project.name}/{d.id.removeprefix('dpl_')}",
            "isRollbackCandidate": d.state == "READY" and d.target == "production" and not current,
            "aliasAssigned": _ms(d.created_at) if current else None,
        }
        if d.state == "READY":
            item["ready"] = _ms(d.created_at + timedelta(minutes=1))
            item["readySubstate"] = "PROMOTED" if d.target == "production" else "STAGED"
        if d.state == "ERROR":
            item["errorCode"] = "BUILD_FAILED"
            item["errorMessage"] = d.error_message or 'Command "npm run build" exited with 1'
        return item

    def _full(self, d: FakeVercelDeployment) -> dict[str, Any]:
        project = self.world.projects[d.project_id]
        item = self._list_item(d)
        for key in ("uid", "created", "state", "isRollbackCandidate"):
            item.pop(key, None)
        item.update(
            {
                "id": d.id,
                "status": d.state,
                "project": {"id": project.id, "name": project.name, "framework": "nextjs"},
                "alias": [project.domain] if d.id == project.production_id else [],
                "bootedAt": _ms(d.created_at),
                "buildSkipped": False,
                "public": False,
                "regions": ["iad1"],
                "version": 2,
                "plan": "pro",
                "ownerId": project.team_id or "acc_sandbox",
                "createdIn": "sfo1",
                "routes": None,
                "build": {"env": []},
                "env": [],
                "projectSettings": {},
                "isInConcurrentBuildsQueue": False,
                "isInSystemBuildsQueue": False,
            }
        )
        return item

    def _target(self, project: FakeVercelProject, d: FakeVercelDeployment) -> dict[str, Any]:
        return {
            "id": d.id,
            "url": d.host,
            "readyState": d.state,
            "createdAt": _ms(d.created_at),
            "target": d.target,
            "alias": [project.domain] if d.id == project.production_id else [],
            "meta": self._meta(d),
        }

    def _runtime_json(self, project: FakeVercelProject, line: FakeRuntimeLog) -> dict[str, Any]:
        return {
            "level": line.level,
            "message": line.message,
            "rowId": uuid.uuid4().hex[:16],
            "source": line.source,
            "timestampInMs": _ms(line.at),
            "domain": project.domain,
            "messageTruncated": False,
            "requestMethod": line.method,
            "requestPath": line.path,
            "responseStatusCode": line.status,
        }

    def _event_json(self, d: FakeVercelDeployment, serial: int, event: FakeBuildEvent) -> dict[str, Any]:
        return {
            "type": event.type,
            "created": _ms(event.at),
            "payload": {
                "deploymentId": d.id,
                "id": f"evt_{serial:06d}",
                "date": _ms(event.at),
                "serial": str(serial),
                "text": event.text,
            },
        }


async def _next_line(
    queue: asyncio.Queue[FakeRuntimeLog], closing: asyncio.Event | None, wait_s: float
) -> FakeRuntimeLog | None:
    """The next line logged, or None when the stream's time is up or the server stops."""
    if wait_s <= 0:
        return None
    getter = asyncio.ensure_future(queue.get())
    waits: set[asyncio.Future[Any]] = {getter}
    if closing is not None:
        waits.add(asyncio.ensure_future(closing.wait()))
    done, pending = await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if getter in done:
        return getter.result()
    return None


def _ciphertext(value: str) -> str:
    """What Vercel's list gives for an encrypted value: base64 of something that is not the value."""
    return base64.b64encode(hashlib.sha256(b"sandbox-kms:" + value.encode()).digest() + b"\x00" * 8).decode()


def _error(status: int, code: str, message: str) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if status == 403 and message == "Not authorized":
        body["error"]["invalidToken"] = True
    return JSONResponse(body, status_code=status)


def _int(value: str | None, default: int) -> int:
    try:
        return int(float(value)) if value is not None else default
    except ValueError:
        return default


# ---- a world to start from ---------------------------------------------------------------------

SAMPLE_TEAM_ID = "team_sandbox7Qf3Lr2Xw9Kp"
SAMPLE_PROJECT_ID = "prj_sandboxWeb4Hn8Tz2Vq6Md"
SAMPLE_DEPLOYMENT_IDS = (  # oldest to newest
    "dpl_Sbx1Landing7Kq2Wm9Zr4Tc",
    "dpl_Sbx2Pricing3Hv8Np5Lx1Fd",
    "dpl_Sbx3AppRouter6Jw2Qs8Yb",
    "dpl_Sbx4Hydration9Rt5Mk3Gz",
)
SAMPLE_PREVIEW_ID = "dpl_Sbx5PreviewDark2Vn7Cx"


def sample_world(now: datetime | None = None, *, clock: Callable[[], datetime] = _utcnow) -> VercelWorld:
    """Project `web` of a team: four production deployments (one failed to build) and a preview."""
    now = now or clock()
    world = VercelWorld(clock=clock)
    world.add_project("web", project_id=SAMPLE_PROJECT_ID, team_id=SAMPLE_TEAM_ID, domain="www.acme-shop.example")
    world.set_env("web", "NEXT_PUBLIC_SITE_URL", "https://www.acme-shop.example")
    world.set_env("web", "REVALIDATE_TOKEN", "rv-sandbox-7f3a9c21")
    world.set_env("web", "CMS_PREVIEW_SECRET", "cms-sandbox-0b8e44", sensitive=True)
    history = [
        (timedelta(days=3), "READY", "Landing page redesign", "Dana Ops"),
        (timedelta(days=1), "READY", "Add pricing page", "Lee Dev"),
        (timedelta(hours=5), "ERROR", "Migrate to App Router", "Lee Dev"),
        (timedelta(hours=2), "READY", "Fix hydration warning on /pricing", "Dana Ops"),
    ]
    for deployment_id, (ago, state, message, author) in zip(SAMPLE_DEPLOYMENT_IDS, history, strict=True):
        at = now - ago
        events = [
            FakeBuildEvent(at, "Cloning github.com/acme/web (Branch: main)", "stdout"),
            FakeBuildEvent(at + timedelta(seconds=5), 'Running "npm run build"', "command"),
        ]
        logs: list[FakeRuntimeLog] = []
        if state == "ERROR":
            events += [
                FakeBuildEvent(at + timedelta(seconds=40), "Type error: Property 'params' does not exist", "stderr"),
                FakeBuildEvent(at + timedelta(seconds=41), 'Error: Command "npm run build" exited with 1', "fatal"),
            ]
        else:
            events.append(FakeBuildEvent(at + timedelta(seconds=50), "Build Completed in /vercel/output [45s]"))
            logs = [
                FakeRuntimeLog(at + timedelta(minutes=10), "GET /pricing 200", path="/pricing"),
                FakeRuntimeLog(at + timedelta(minutes=11), "GET /api/cart 200", path="/api/cart"),
                FakeRuntimeLog(
                    at + timedelta(minutes=12),
                    "Warning: Extra attributes from the server: class",
                    level="warning",
                    path="/pricing",
                ),
                FakeRuntimeLog(
                    at + timedelta(minutes=13),
                    "TypeError: Cannot read properties of undefined (reading 'price')",
                    level="error",
                    path="/api/checkout",
                    method="POST",
                    status=500,
                ),
            ]
        world.add_deployment(
            "web",
            deployment_id=deployment_id,
            state=state,
            commit_message=message,
            author=author,
            at=at,
            commit_sha=uuid.uuid5(uuid.NAMESPACE_URL, deployment_id).hex + "0000000",
            build_events=events,
            runtime_logs=logs,
            error_message='Command "npm run build" exited with 1' if state == "ERROR" else None,
        )
    world.add_deployment(
        "web",
        deployment_id=SAMPLE_PREVIEW_ID,
        target=None,
        commit_message="WIP: dark mode",
        author="Lee Dev",
        at=now - timedelta(hours=1),
    )
    return world
