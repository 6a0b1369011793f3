"""A stand-in for Vercel's REST API, served over real HTTP, for the tests, `pitcrew demo` and the console.

It answers the calls `VercelClient` makes, with bodies shaped as Vercel's OpenAPI description says,
from a small mutable world of projects, deployments, runtime logs and build events: a rollback or a
promote points the project's production at another deployment; unknown ids get a 404; a wrong
token a 403; a project of a team is found only with its `teamId`. Runtime logs come as a stream of
JSON lines that, like Vercel's, stays open for more (until the client hangs up or the server stops).

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
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from app.catalog import VercelRef
from app.sandbox.server import LoopbackServer

SANDBOX_VERCEL_TOKEN = "sandbox-vercel-token"
_MASK = "***"


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


@dataclass
class FakeVercelProject:
    id: str
    name: str
    team_id: str | None
    domain: str
    deployments: list[FakeVercelDeployment] = field(default_factory=list)  # newest first
    production_id: str | None = None
    created_at: datetime = field(default_factory=_utcnow)
    env: dict[str, str] = field(default_factory=dict)  # its environment variables
    sensitive: set[str] = field(default_factory=set)  # names whose value Vercel never returns


class VercelWorld:
    """Projects and their deployments; what the fake serves and what tests and the demo change."""

    def __init__(self, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.clock = clock
        self.tokens: set[str] = {SANDBOX_VERCEL_TOKEN}
        self.projects: dict[str, FakeVercelProject] = {}
        self.live_tail = True  # runtime-log streams stay open after the last line, as Vercel's do
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

    def set_env(self, project: str, name: str, value: str, *, sensitive: bool = False) -> None:
        """An environment variable of `project`; a sensitive one's value is never returned, as on Vercel."""
        found = self.project(project)
        found.env[name] = value
        if sensitive:
            found.sensitive.add(name)

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
        target.runtime_logs.append(line)
        return line

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

    def _project_for(self, request: Request, id_or_name: str) -> FakeVercelProject:
        team = request.query_params.get("teamId")
        for project in self.world.projects.values():
            if id_or_name in (project.id, project.name) and project.team_id == team:
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
        """filterProjectEnvs: values decrypted when asked, except sensitive ones (never returned)."""
        project = self._project_for(request, request.path_params["idOrName"])
        decrypt = request.query_params.get("decrypt") == "true"
        envs = []
        for n, (name, value) in enumerate(sorted(project.env.items())):
            sensitive = name in project.sensitive
            shown = "" if sensitive else (value if decrypt else "enc_" + value.encode().hex()[:24])
            envs.append({
                "id": f"env_{project.id[-6:]}{n:04d}",
                "key": name,
                "value": shown,
                "type": "sensitive" if sensitive else "encrypted",
                "target": ["production", "preview"],
                "createdAt": _ms(project.created_at),
                "updatedAt": _ms(project.created_at),
                **({"decrypted": True} if decrypt and not sensitive else {}),
            })
        return JSONResponse({"envs": envs})

    async def _get_deployment(self, request: Request) -> Response:
        deployment = self._deployment_for(request, request.path_params["idOrUrl"])
        return JSONResponse(self._full(deployment))

    async def _rollback(self, request: Request) -> Response:
        project = self._project_for(request, request.path_params["projectId"])
        deployment = self._deployment_for(request, request.path_params["deploymentId"])
        if deployment.project_id != project.id:
            raise _Refusal(404, "not_found", "Deployment not found")
        if deployment.state != "READY" or deployment.target != "production":
            raise _Refusal(400, "invalid_deployment", "Only a READY production deployment can be rolled back to")
        if deployment.id == project.production_id:
            raise _Refusal(409, "conflict", "This deployment is already serving production")
        self.world.point_production(project.id, deployment.id)
        return Response(status_code=201)

    async def _promote(self, request: Request) -> Response:
        project = self._project_for(request, request.path_params["projectId"])
        deployment = self._deployment_for(request, request.path_params["deploymentId"])
        if deployment.project_id != project.id:
            raise _Refusal(404, "not_found", "Deployment not found")
        if deployment.state != "READY":
            raise _Refusal(400, "invalid_deployment", "Only a READY deployment can be promoted")
        if deployment.id == project.production_id:
            raise _Refusal(409, "conflict", "This deployment is already serving production")
        self.world.point_production(project.id, deployment.id)
        return Response(status_code=201)

    async def _runtime_logs(self, request: Request) -> Response:
        project = self._project_for(request, request.path_params["projectId"])
        deployment = self._deployment_for(request, request.path_params["deploymentId"])
        if deployment.project_id != project.id:
            raise _Refusal(404, "not_found", "Deployment not found")
        lines = [self._runtime_json(project, line) for line in sorted(deployment.runtime_logs, key=lambda x: x.at)]
        closing = self._closing

        async def stream() -> AsyncIterator[bytes]:
            for line in lines:
                yield (json.dumps(line) + "\n").encode()
            if self.world.live_tail and closing is not None:
                await closing.wait()  # like Vercel's, the stream waits for more until the client hangs up

        return StreamingResponse(stream(), media_type="application/stream+json")

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
