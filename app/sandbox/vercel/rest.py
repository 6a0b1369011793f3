"""A stand-in for Vercel's REST API, served over real HTTP, for the tests, `pitcrew demo` and the console.

This module owns the HTTP surface: the routes `VercelClient` calls, the bearer-token check, rate
limits and faults, and Vercel's error shapes, answering from and acting on a `VercelWorld`
(app/sandbox/vercel/world.py, which owns the data and Vercel's rules for it); the bodies, as
Vercel's OpenAPI description has them, are built in app/sandbox/vercel/bodies.py. Unknown ids get
a 404; a wrong token a 403; a project of a team is found only with its `teamId`. Runtime logs come
as a stream of JSON lines that, like Vercel's, holds only the lines logged after the request and
stays open for more (until the client hangs up, five minutes pass, or the server stops). It also
delivers the world's log drains as Vercel does: signed batches of NDJSON or a JSON array.

Every request is recorded in `calls` (method, path, query, whether a bearer token came):

    world = sample_world()
    async with FakeVercel.serve(world) as fake:
        client = VercelClient(http, url=fake.url, token=SANDBOX_VERCEL_TOKEN)
        ...
        assert fake.calls[-1].path == "/v6/deployments"

A new route: a `Route` in `FakeVercel.__init__` (wrapped in `_guard`) and its endpoint method in
"endpoints", its body in bodies.py; the state it reads or changes goes in world.py.

This is product code (it ships for the demo): nothing from tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from app.sandbox.server import LoopbackServer
from app.sandbox.vercel import bodies
from app.sandbox.vercel.sample import sample_world
from app.sandbox.vercel.world import (
    ALL_TARGETS,
    ENV_TOTAL_LIMIT,
    FakeRuntimeLog,
    FakeVercelDeployment,
    FakeVercelProject,
    VercelWorld,
    epoch_ms,
)

_MASK = "***"


def drain_body(entries: list[dict[str, Any]], encoding: str) -> bytes:
    """A batch as Vercel encodes it: NDJSON (one object a line) or a JSON array."""
    if encoding == "json":
        return json.dumps(entries).encode()
    return "".join(json.dumps(entry) + "\n" for entry in entries).encode()


def drain_signature(body: bytes, secret: str) -> str:
    """`x-vercel-signature`: HMAC-SHA1 of the raw body with the drain's secret, hex
    (vercel.com/docs/drains/security)."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()



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
                Route("/v10/projects/{idOrName}/env", self._guard(self._env_create), methods=["POST"]),
                Route("/v9/projects/{idOrName}/env/{id}", self._guard(self._env_remove), methods=["DELETE"]),
                Route("/v13/deployments", self._guard(self._create_deployment), methods=["POST"]),
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
                    "next": epoch_ms(page[-1].created_at) if len(chosen) > limit else None,
                    "prev": epoch_ms(page[0].created_at) if page else None,
                },
                "deployments": [bodies.list_item(self.world, d) for d in page],
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
                "createdAt": epoch_ms(project.created_at),
                "updatedAt": epoch_ms(self.world.clock()),
                "live": False,
                "targets": {"production": bodies.target(self.world, project, production)} if production else {},
                "latestDeployments": [bodies.target(self.world, project, d) for d in project.deployments[:5]],
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
        return JSONResponse({"envs": [bodies.env_json(project, entry, decrypted=False) for entry in project.envs]})

    async def _env_one(self, request: Request) -> Response:
        """getProjectEnv (`GET /v1/projects/{idOrName}/env/{id}`, "Retrieve the decrypted value of an
        environment variable of a project by id"): the value decrypted (`decrypted: true`, as the
        answer quoted in vercel/sdk#25 shows), except a sensitive one's, which has no value."""
        project = self._project_for(request, request.path_params["idOrName"])
        entry = next((e for e in project.envs if e.id == request.path_params["id"]), None)
        if entry is None:
            raise _Refusal(404, "not_found", "Environment Variable not found")
        return JSONResponse(bodies.env_json(project, entry, decrypted=True))

    async def _env_create(self, request: Request) -> Response:
        """createProjectEnv (`POST /v10/projects/{idOrName}/env`, OpenAPI: body `key`, `value`, `type`,
        `target`; `upsert=true` "allows override of environment variable if it already exists"). Without
        upsert an existing key for one of the targets is a 409 `ENV_ALREADY_EXISTS`. A key must be letters,
        digits and underscores, not starting with a digit ("The name [...] can only contain letters,
        digits and underscores", vercel.com/docs/environment-variables); the total for a target may not
        exceed 64 KB (`ENV_TOTAL_LIMIT`)."""
        project = self._project_for(request, request.path_params["idOrName"])
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise _Refusal(400, "bad_request", "Invalid JSON body") from None
        key, value, kind, targets = body.get("key"), body.get("value"), body.get("type"), body.get("target")
        if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise _Refusal(400, "invalid_key", "The name of the Environment Variable is invalid")
        if not isinstance(value, str) or kind not in ("encrypted", "sensitive", "plain"):
            raise _Refusal(400, "bad_request", "`value` and `type` are required")
        if not isinstance(targets, list) or not targets or not set(targets) <= set(ALL_TARGETS):
            raise _Refusal(400, "bad_request", "`target` must list production, preview or development")
        upsert = request.query_params.get("upsert") == "true"
        clash = [e for e in project.envs if e.key == key and set(e.targets) & set(targets)]
        if clash and not upsert:
            raise _Refusal(409, "ENV_ALREADY_EXISTS", "A variable with the same key and target already exists")
        for target in targets:
            if self.world.env_total(project.id, target, without=key) + len(key) + len(value.encode()) > ENV_TOTAL_LIMIT:
                raise _Refusal(400, "env_size_limit", "The total size of Environment Variables exceeds 64KB")
        entry = self.world.set_env(project.id, key, value, sensitive=kind == "sensitive", targets=targets)
        if kind == "plain":
            entry.type = "plain"
        created = bodies.env_json(project, entry, decrypted=False)
        return JSONResponse({"created": created, "failed": []}, status_code=201)

    async def _env_remove(self, request: Request) -> Response:
        """removeProjectEnv (`DELETE /v9/projects/{idOrName}/env/{id}`): the removed entry, or 404."""
        project = self._project_for(request, request.path_params["idOrName"])
        entry = self.world.delete_env(project.id, request.path_params["id"])
        if entry is None:
            raise _Refusal(404, "not_found", "Environment Variable not found")
        return JSONResponse(bodies.env_json(project, entry, decrypted=False))

    async def _create_deployment(self, request: Request) -> Response:
        """createDeployment (`POST /v13/deployments`, OpenAPI: `name` required; `deploymentId` "An
        deployment id for an existing deployment to redeploy"; `target` production or omitted for a
        preview). The answer is the new deployment (`id`, `readyState`, ...)."""
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise _Refusal(400, "bad_request", "Invalid JSON body") from None
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise _Refusal(400, "bad_request", "`name` is required")
        source_id = body.get("deploymentId")
        if not isinstance(source_id, str):
            raise _Refusal(400, "bad_request", "the sandbox redeploys only: `deploymentId` is required")
        source = self._deployment_for(request, source_id)
        project = self.world.projects[source.project_id]
        target = body.get("target")
        if target not in (None, "production", "staging"):
            raise _Refusal(400, "bad_request", "Invalid target")
        new = self.world.redeploy(project.id, source.id, target="production" if target == "production" else None)
        return JSONResponse(bodies.full(self.world, new))

    async def _get_deployment(self, request: Request) -> Response:
        deployment = self._deployment_for(request, request.path_params["idOrUrl"])
        return JSONResponse(bodies.full(self.world, deployment))

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
                    yield (json.dumps(bodies.runtime_json(project, line)) + "\n").encode()
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
        return JSONResponse([bodies.event_json(deployment, n, e) for n, e in enumerate(chosen)])

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


