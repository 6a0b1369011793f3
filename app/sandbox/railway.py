"""A stand-in for Railway's GraphQL API, served over real HTTP, for the tests, `pitcrew demo` and the console.

It answers the operations `RailwayClient` sends, by `operationName`, from a small mutable world of
services, deployments, logs and variables, and acts on that world the way Railway does: a rollback
deploys the target's image as a new deployment, a restart brings crashed instances back, a variable
change redeploys. It checks credentials as Railway does (an unknown token gets a GraphQL
"Not Authorized"), and a project token only reaches its own project.

Where it departs from what pitcrew's client expects, it follows Railway, and says where that is written:
429s with `Retry-After` and `X-RateLimit-*` (`rate_limit_next`), project tokens refused outside their
environment, one log line more than the `limit` asked, levels normalised to debug/info/warn/error,
and GraphQL's partial answers when a nested field fails (`fail_field`).

It records every request in `calls` (operation, document, variables, which kind of credential came),
with secret values masked, so a test can assert on what was sent, and validate it.

    world = sample_world()
    async with FakeRailway.serve(world) as fake:
        client = RailwayClient(http, url=fake.url, api_token=SANDBOX_API_TOKEN, project_token=None)
        world.crash("api")
        ...
        assert fake.calls[-1].operation == "LatestDeployment"

This is product code (it ships for the demo): no graphql-core, nothing from tests.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.catalog import RailwayRef
from app.sandbox.server import LoopbackServer

SANDBOX_API_TOKEN = "sandbox-railway-account-token"
SANDBOX_PROJECT_TOKEN = "sandbox-railway-project-token"
GRAPHQL_PATH = "/graphql/v2"
_MASK = "***"
_LIVE = ("SUCCESS", "CRASHED", "SLEEPING")
# The root field each operation asks for, which an error's `path` names.
_ROOT_FIELDS = {
    "Deployments": "deployments",
    "LatestDeployment": "serviceInstance",
    "Deployment": "deployment",
    "DeploymentRollback": "deploymentRollback",
    "DeploymentRestart": "deploymentRestart",
    "DeploymentRedeploy": "deploymentRedeploy",
    "DeploymentStop": "deploymentStop",
    "VariableUpsert": "variableUpsert",
    "DeploymentLogs": "deploymentLogs",
    "BuildLogs": "buildLogs",
    "EnvironmentLogs": "environmentLogs",
    "VariablesForServiceDeployment": "variablesForServiceDeployment",
    "ProjectToken": "projectToken",
}
# Railway's levels: "Levels are lowercased and matched to the closest of `debug`, `info`, `warn`,
# `error`" (railwayapp/docs content/docs/observability/logs.md, "Normalization strategy").
_CLOSEST_LEVEL = {
    "trace": "debug", "debug": "debug", "info": "info", "notice": "info", "warn": "warn", "warning": "warn",
    "error": "error", "err": "error", "fatal": "error", "critical": "error", "crit": "error", "panic": "error",
}
# Nested fields that are nullable in Railway's schema (refdata/railway/schema.json): a failure there
# nulls the field alone and the rest of the answer is sent; a failure of any other field nulls the
# whole `data`, every root field being non-null (GraphQL spec, "Handling Field Errors").
_NULLABLE_FIELDS = frozenset({"creator", "meta", "url", "staticUrl", "tags", "latestDeployment"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---- the world -----------------------------------------------------------------------------------


@dataclass
class FakeLog:
    at: datetime
    message: str
    level: str = "info"
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeDeployment:
    id: str
    service_id: str
    status: str
    created_at: datetime
    commit_hash: str | None = None
    commit_message: str | None = None
    commit_author: str | None = None
    branch: str = "main"
    reason: str = "deploy"
    rollback_target: str | None = None
    active: bool = False
    stopped: bool = False
    ever_succeeded: bool = False
    instances: list[dict[str, str]] = field(default_factory=list)
    logs: list[FakeLog] = field(default_factory=list)
    build_logs: list[FakeLog] = field(default_factory=list)


@dataclass
class FakeService:
    id: str
    name: str
    project_id: str
    environment_id: str
    deployments: list[FakeDeployment] = field(default_factory=list)  # newest first
    variables: dict[str, str] = field(default_factory=dict)
    sealed: set[str] = field(default_factory=set)  # names whose value Railway never returns


@dataclass
class Fault:
    """The next request(s) fail this way instead of being answered: an HTTP status, or GraphQL errors."""

    status: int = 500
    body: str = "Internal Server Error"
    graphql_error: str | None = None
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)


class GraphQLFailure(Exception):
    """Raised inside the fake to answer with a GraphQL `errors` entry, as Railway does.

    `field` is the root field the error is about (its `path`); by default the operation's own.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class RailwayWorld:
    """Services, their deployments, logs and variables; what the fake serves and what tests change."""

    def __init__(self, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.clock = clock
        self.services: dict[str, FakeService] = {}
        self.api_tokens: set[str] = {SANDBOX_API_TOKEN}
        self.project_tokens: dict[str, tuple[str, str]] = {}  # token -> (project id, environment id)
        self.next_deploy_status = "SUCCESS"  # how deployments started by mutations end
        self.failing_fields: dict[str, str] = {}  # field name -> the error Railway gives for it
        self._budget: list[Any] | None = None  # [limit, remaining, reset_at] once set_budget() is called
        self._budget_window_s = 3600
        self._faults: list[Fault] = []
        self._released = asyncio.Event()
        self._released.set()

    # -- building it

    def add_service(
        self,
        name: str,
        *,
        project_id: str,
        environment_id: str,
        service_id: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> FakeService:
        service = FakeService(
            id=service_id or str(uuid.uuid4()),
            name=name,
            project_id=project_id,
            environment_id=environment_id,
            variables=dict(variables or {}),
        )
        self.services[service.id] = service
        return service

    def service(self, name_or_id: str) -> FakeService:
        if name_or_id in self.services:
            return self.services[name_or_id]
        for service in self.services.values():
            if service.name == name_or_id:
                return service
        raise KeyError(f"no service {name_or_id!r} in the sandbox world")

    def ref(self, name: str) -> RailwayRef:
        """The catalog reference of a sandbox service, for pitcrew.yml or a test."""
        service = self.service(name)
        return RailwayRef(project_id=service.project_id, environment_id=service.environment_id, service_id=service.id)

    def add_deployment(
        self,
        service: str,
        *,
        status: str = "SUCCESS",
        commit_message: str | None = None,
        commit_hash: str | None = None,
        author: str | None = None,
        at: datetime | None = None,
        deployment_id: str | None = None,
        reason: str = "deploy",
        logs: Iterable[FakeLog] = (),
        build_logs: Iterable[FakeLog] = (),
    ) -> FakeDeployment:
        """A new newest deployment. SUCCESS (or CRASHED) makes it the active one; the old one is REMOVED."""
        target = self.service(service)
        deployment = FakeDeployment(
            id=deployment_id or str(uuid.uuid4()),
            service_id=target.id,
            status=status.upper(),
            created_at=at or self.clock(),
            commit_hash=commit_hash or uuid.uuid4().hex[:40],
            commit_message=commit_message,
            commit_author=author,
            reason=reason,
            logs=list(logs),
            build_logs=list(build_logs),
        )
        target.deployments.insert(0, deployment)
        target.deployments.sort(key=lambda d: d.created_at, reverse=True)
        if deployment.status in _LIVE:
            self._activate(target, deployment)
        return deployment

    def deployment(self, deployment_id: str) -> FakeDeployment:
        for service in self.services.values():
            for deployment in service.deployments:
                if deployment.id == deployment_id:
                    return deployment
        raise KeyError(deployment_id)

    def current(self, service: str) -> FakeDeployment | None:
        """The deployment serving the service now, if any."""
        return next((d for d in self.service(service).deployments if d.active and not d.stopped), None)

    # -- changing it

    def crash(self, service: str, message: str = "Error: connect ECONNREFUSED 10.0.0.12:5432") -> FakeDeployment:
        """The serving deployment's process dies: CRASHED, instances CRASHED, the error in its log."""
        deployment = self.current(service)
        if deployment is None:
            raise KeyError(f"{service} has no running deployment to crash")
        deployment.status = "CRASHED"
        deployment.instances = [{**inst, "status": "CRASHED"} for inst in deployment.instances]
        self.log(service, message, level="error")
        self.log(service, "Process exited with code 1", level="error")
        return deployment

    def log(
        self,
        service: str,
        message: str,
        *,
        level: str = "info",
        deployment_id: str | None = None,
        at: datetime | None = None,
        **attributes: Any,
    ) -> FakeLog:
        """Append a runtime log line to a deployment (the serving one unless named)."""
        target = self.deployment(deployment_id) if deployment_id else self.current(service)
        if target is None:
            target = self.service(service).deployments[0]
        line = FakeLog(at=at or self.clock(), message=message, level=level, attributes=attributes)
        target.logs.append(line)
        return line

    def set_variable(self, service: str, name: str, value: str, *, sealed: bool = False) -> None:
        """A variable of `service`; a sealed one is given to deployments but never read back (null)."""
        found = self.service(service)
        found.variables[name] = value
        if sealed:
            found.sealed.add(name)
        else:
            found.sealed.discard(name)

    def fail_next(
        self,
        *,
        status: int = 500,
        body: str = "Internal Server Error",
        graphql_error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` requests fail (HTTP `status`, or HTTP 200 with GraphQL `graphql_error`)."""
        self._faults.append(Fault(status=status, body=body, graphql_error=graphql_error, times=times))

    def rate_limit_next(
        self, *, retry_after_s: int, times: int = 1, limit: int = 1000
    ) -> None:
        """Answer the next `times` requests 429, with the headers Railway sends.

        "Railway sends a few headers with the response on each request": X-RateLimit-Limit,
        -Remaining, -Reset, and Retry-After "once you've used up all your requests in the current
        window" (railwayapp/docs content/docs/integrations/api.md, "Rate limits"); the CLI reads
        Retry-After as whole seconds ("Backboard sets `Retry-After` on every 429", railwayapp/cli
        src/client.rs). Free is 100 requests an hour, Hobby 1,000.
        """
        reset = self.clock() + timedelta(seconds=retry_after_s)
        headers = {
            "Retry-After": str(retry_after_s),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset.timestamp())),
        }
        self._faults.append(Fault(status=429, body='{"data": null}', times=times, headers=headers))

    def set_budget(self, limit: int, *, remaining: int | None = None, window_s: int = 3600) -> None:
        """Count requests against an hourly budget, as Railway does (100 an hour on Free, 1,000 on
        Hobby: railwayapp/docs content/docs/integrations/api.md, "Rate limits"): every answer then says
        X-RateLimit-Limit / -Remaining / -Reset, and once none remain Railway answers 429 with
        Retry-After until the window resets."""
        self._budget = [limit, limit if remaining is None else remaining, self.clock() + timedelta(seconds=window_s)]
        self._budget_window_s = window_s

    def spend_budget(self) -> tuple[dict[str, str], int | None]:
        """The rate-limit headers of this answer, and the seconds to wait when the budget is spent."""
        if self._budget is None:
            return {}, None
        limit, remaining, reset_at = self._budget
        now = self.clock()
        if now >= reset_at:
            remaining, reset_at = limit, now + timedelta(seconds=self._budget_window_s)
        refused = remaining <= 0
        remaining = max(0, remaining - (0 if refused else 1))
        self._budget = [limit, remaining, reset_at]
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(reset_at.timestamp())),
        }
        return headers, max(1, math.ceil((reset_at - now).total_seconds())) if refused else None

    def fail_field(self, name: str, message: str = "Problem processing request") -> None:
        """Every `name` field in later answers fails with `message`, as a GraphQL field error."""
        self.failing_fields[name] = message

    def stall(self) -> None:
        """Hold every request unanswered until `release()` (or the server stops): a provider that hangs."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def take_fault(self) -> Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self._faults.pop(0)
        return fault

    async def wait_released(self) -> None:
        await self._released.wait()

    # -- what Railway does on mutations

    def rollback(self, deployment_id: str) -> FakeDeployment:
        target = self._known(deployment_id)
        if not target.ever_succeeded or target.active:
            raise GraphQLFailure("Deployment cannot be rolled back")
        service = self.services[target.service_id]
        return self._start(
            service,
            reason="rollback",
            like=target,
            rollback_target=target.id,
            message=f"Rolling back to {target.id}",
        )

    def redeploy(self, deployment_id: str, reason: str = "redeploy") -> FakeDeployment:
        source = self._known(deployment_id)
        service = self.services[source.service_id]
        return self._start(service, reason=reason, like=source, message="Redeploying")

    def restart(self, deployment_id: str) -> None:
        deployment = self._known(deployment_id)
        if not deployment.active or deployment.stopped:
            raise GraphQLFailure("Cannot restart a deployment that is not active")
        deployment.status = "SUCCESS"
        deployment.instances = [{**inst, "status": "RUNNING"} for inst in deployment.instances]
        deployment.logs.append(FakeLog(at=self.clock(), message="Container restarted", level="info"))

    def stop(self, deployment_id: str) -> None:
        deployment = self._known(deployment_id)
        if not deployment.active or deployment.stopped:
            raise GraphQLFailure("Deployment is not running")
        deployment.stopped = True
        deployment.instances = [{**inst, "status": "STOPPED"} for inst in deployment.instances]

    def upsert_variable(self, service_id: str, name: str, value: str, *, skip_deploys: bool) -> None:
        service = self.services[service_id]
        service.variables[name] = value
        current = self.current(service.id)
        if not skip_deploys and current is not None:
            self.redeploy(current.id, reason="variableChange")

    def _known(self, deployment_id: str) -> FakeDeployment:
        try:
            return self.deployment(deployment_id)
        except KeyError:
            raise GraphQLFailure("Deployment not found") from None

    def _start(
        self,
        service: FakeService,
        *,
        reason: str,
        like: FakeDeployment,
        message: str,
        rollback_target: str | None = None,
    ) -> FakeDeployment:
        status = self.next_deploy_status.upper()
        started = [FakeLog(self.clock(), message), FakeLog(self.clock(), "Listening on :8080")]
        deployment = self.add_deployment(
            service.id,
            status=status,
            commit_message=like.commit_message,
            commit_hash=like.commit_hash,
            author=like.commit_author,
            reason=reason,
            logs=started if status in _LIVE else [],
        )
        deployment.rollback_target = rollback_target
        deployment.branch = like.branch
        return deployment

    def _activate(self, service: FakeService, deployment: FakeDeployment) -> None:
        for other in service.deployments:
            if other is not deployment and other.active:
                other.active = False
                other.status = "REMOVED"
                other.instances = []
        deployment.active = True
        deployment.ever_succeeded = deployment.ever_succeeded or deployment.status == "SUCCESS"
        state = "RUNNING" if deployment.status == "SUCCESS" else deployment.status
        deployment.instances = [{"id": str(uuid.uuid4()), "status": state}]


# ---- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RailwayCall:
    """One request the fake received. `auth` is "bearer", "project" or None; secrets are masked."""

    operation: str | None
    query: str
    variables: dict[str, Any]
    auth: str | None
    headers: dict[str, str]


@dataclass(frozen=True)
class _Principal:
    project_id: str | None  # None: an account token, which reaches every project
    environment_id: str | None = None

    def may(self, service: FakeService) -> bool:
        return self.project_id is None or (
            service.project_id == self.project_id and service.environment_id == self.environment_id
        )


class FakeRailway:
    """The Starlette app answering Railway's GraphQL endpoint at `GRAPHQL_PATH`, over `world`."""

    def __init__(self, world: RailwayWorld | None = None) -> None:
        self.world = world if world is not None else sample_world()
        self.calls: list[RailwayCall] = []
        self.url: str | None = None  # set by serve(): the GraphQL endpoint to give RailwayClient
        self.app = Starlette(routes=[Route(GRAPHQL_PATH, self._graphql, methods=["POST"])])
        self.operations: dict[str, Callable[[dict[str, Any], _Principal], dict[str, Any]]] = {
            "Deployments": self._deployments,
            "LatestDeployment": self._latest_deployment,
            "Deployment": self._deployment,
            "DeploymentRollback": self._rollback,
            "DeploymentRestart": self._restart,
            "DeploymentRedeploy": self._redeploy,
            "DeploymentStop": self._stop,
            "VariableUpsert": self._variable_upsert,
            "DeploymentLogs": self._deployment_logs,
            "BuildLogs": self._build_logs,
            "EnvironmentLogs": self._environment_logs,
            "VariablesForServiceDeployment": self._variables,
            "ProjectToken": self._project_token,
        }

    @classmethod
    @asynccontextmanager
    async def serve(cls, world: RailwayWorld | None = None) -> AsyncIterator[FakeRailway]:
        """Serve a fake on a free loopback port for the duration of the block; `fake.url` is the endpoint."""
        fake = cls(world)
        async with LoopbackServer(fake.app) as server:
            fake.url = server.url + GRAPHQL_PATH
            try:
                yield fake
            finally:
                fake.world.release()  # a stalled request must not keep the server from stopping

    # -- HTTP

    async def _graphql(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return PlainTextResponse("POST body must be JSON", status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _errors("Must provide query string.", status=400)
        operation = body.get("operationName") if isinstance(body.get("operationName"), str) else None
        variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
        auth_kind, principal = self._authenticate(request)
        self.calls.append(
            RailwayCall(
                operation=operation,
                query=body["query"],
                variables=_masked(operation, variables),
                auth=auth_kind,
                headers=_public_headers(request),
            )
        )
        await self.world.wait_released()
        headers, wait_s = self.world.spend_budget()
        if wait_s is not None:
            headers["Retry-After"] = str(wait_s)
            return Response('{"data": null}', status_code=429, headers=headers, media_type="application/json")
        response = self._answer(operation, variables, principal)
        response.headers.update(headers)
        return response

    def _answer(self, operation: str | None, variables: dict[str, Any], principal: _Principal | None) -> Response:
        fault = self.world.take_fault()
        if fault is not None:
            if fault.graphql_error is not None:
                return _errors(fault.graphql_error)
            media = "application/json" if fault.body.startswith("{") else "text/plain"
            return Response(fault.body, status_code=fault.status, headers=fault.headers, media_type=media)
        if principal is None:
            return _errors("Not Authorized")
        handler = self.operations.get(operation or "")
        if handler is None:
            return _errors(f"The sandbox does not implement operation {operation!r}")
        try:
            data = handler(variables, principal)
        except GraphQLFailure as failure:
            return _errors(str(failure), path=failure.field or _ROOT_FIELDS.get(operation or ""))
        field_errors: list[dict[str, Any]] = []
        try:
            data = _fail_fields(data, self.world.failing_fields, [], field_errors)
        except _NullData:
            data = None
        return JSONResponse({"data": data, "errors": field_errors} if field_errors else {"data": data})

    def _authenticate(self, request: Request) -> tuple[str | None, _Principal | None]:
        """Who is asking. A project token is "scoped to a specific environment within a project and can
        only be used to authenticate requests to that environment" (railwayapp/docs
        content/docs/integrations/api.md, "Project token"): `_Principal.may` refuses the others."""
        project_token = request.headers.get("project-access-token")
        if project_token is not None:
            scope = self.world.project_tokens.get(project_token)
            return "project", _Principal(*scope) if scope else None
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            valid = scheme.lower() == "bearer" and token in self.world.api_tokens
            return "bearer", _Principal(None) if valid else None
        return None, None

    # -- operations

    def _service(
        self,
        service_id: object,
        environment_id: object,
        principal: _Principal,
        field: str | None = "serviceInstance",
    ) -> FakeService:
        service = self.world.services.get(str(service_id))
        if service is None or service.environment_id != environment_id:
            raise GraphQLFailure("ServiceInstance not found", field)
        if not principal.may(service):
            raise GraphQLFailure("Not Authorized", field)
        return service

    def _deployment_of(self, deployment_id: object, principal: _Principal) -> FakeDeployment:
        deployment = self.world._known(str(deployment_id))
        if not principal.may(self.world.services[deployment.service_id]):
            raise GraphQLFailure("Not Authorized")
        return deployment

    def _project_token(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        """What the project token covers, as the CLI asks it (railwayapp/cli src/config.rs)."""
        if principal.project_id is None or principal.environment_id is None:
            raise GraphQLFailure("Project Token not found")
        return {
            "projectToken": {
                "id": f"token-{principal.project_id[:8]}",
                "project": {"id": principal.project_id, "name": "sandbox"},
                "environment": {"id": principal.environment_id, "name": "production"},
            }
        }

    def _deployments(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        wanted = v.get("input") or {}
        service = self._service(wanted.get("serviceId"), wanted.get("environmentId"), principal)
        first = v.get("first") if isinstance(v.get("first"), int) else 20
        edges = [{"node": self._deployment_json(d)} for d in service.deployments[:first]]
        return {"deployments": {"edges": edges}, "serviceInstance": self._instance_json(service)}

    def _latest_deployment(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal)
        instance = self._instance_json(service)
        latest = service.deployments[0] if service.deployments else None
        instance["latestDeployment"] = self._deployment_json(latest) if latest else None
        return {"serviceInstance": instance}

    def _deployment(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal)
        deployment = self._deployment_of(v.get("id"), principal)
        return {
            "deployment": self._deployment_json(deployment),
            "serviceInstance": self._instance_json(service),
        }

    def _rollback(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        self.world.rollback(self._deployment_of(v.get("id"), principal).id)
        return {"deploymentRollback": True}

    def _restart(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        self.world.restart(self._deployment_of(v.get("id"), principal).id)
        return {"deploymentRestart": True}

    def _stop(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        self.world.stop(self._deployment_of(v.get("id"), principal).id)
        return {"deploymentStop": True}

    def _redeploy(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        new = self.world.redeploy(self._deployment_of(v.get("id"), principal).id)
        return {"deploymentRedeploy": {"id": new.id, "status": new.status, "createdAt": _iso(new.created_at)}}

    def _variable_upsert(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        wanted = v.get("input") or {}
        service = self._service(wanted.get("serviceId"), wanted.get("environmentId"), principal, None)
        if wanted.get("projectId") != service.project_id:
            raise GraphQLFailure("Not Authorized")
        if not isinstance(wanted.get("name"), str) or not isinstance(wanted.get("value"), str):
            raise GraphQLFailure("Variable name and value are required")
        self.world.upsert_variable(
            service.id, wanted["name"], wanted["value"], skip_deploys=bool(wanted.get("skipDeploys"))
        )
        return {"variableUpsert": True}

    def _deployment_logs(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        deployment = self._deployment_of(v.get("deploymentId"), principal)
        start, end = _parse_time(v.get("startDate")), _parse_time(v.get("endDate"))
        lines = [
            (line, deployment)
            for line in deployment.logs
            if (start is None or line.at >= start) and (end is None or line.at <= end)
        ]
        return {"deploymentLogs": self._logs_json(lines, v.get("filter"), v.get("limit"), one_more=True)}

    def _build_logs(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        deployment = self._deployment_of(v.get("deploymentId"), principal)
        lines = [(line, deployment) for line in deployment.build_logs]
        return {"buildLogs": self._logs_json(lines, v.get("filter"), v.get("limit"), one_more=True)}

    def _environment_logs(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        environment_id = v.get("environmentId")
        services = [s for s in self.world.services.values() if s.environment_id == environment_id]
        if not services:
            raise GraphQLFailure("Environment not found")
        if not all(principal.may(s) for s in services):
            raise GraphQLFailure("Not Authorized")
        anchor, oldest = _parse_time(v.get("anchorDate")), _parse_time(v.get("beforeDate"))
        lines = [
            (line, deployment)
            for service in services
            for deployment in service.deployments
            for line in deployment.logs
            if (anchor is None or line.at <= anchor) and (oldest is None or line.at >= oldest)
        ]
        return {"environmentLogs": self._logs_json(lines, v.get("filter"), v.get("beforeLimit"))}

    def _variables(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal, None)
        if v.get("projectId") != service.project_id:
            raise GraphQLFailure("Not Authorized")
        # A sealed variable's value is null: "it is set on the service, but its value cannot be read
        # back by anyone, including the account owner" (railwayapp/cli, src/controllers/variables.rs).
        return {"variablesForServiceDeployment": {
            name: None if name in service.sealed else value for name, value in service.variables.items()
        }}

    # -- shapes

    def _deployment_json(self, d: FakeDeployment) -> dict[str, Any]:
        service = self.world.services[d.service_id]
        domain = f"{service.name}-production-{service.id[:4]}.up.railway.app"
        meta: dict[str, Any] = {
            "branch": d.branch,
            "commitHash": d.commit_hash,
            "commitMessage": d.commit_message,
            "commitAuthor": d.commit_author,
            "reason": d.reason,
            "repo": f"acme/{service.name}",
        }
        if d.rollback_target:
            meta["rollbackTargetDeploymentId"] = d.rollback_target
        return {
            "id": d.id,
            "status": d.status,
            "createdAt": _iso(d.created_at),
            "url": f"https://{domain}" if d.active else None,
            "staticUrl": f"{service.name}-{d.id[:8]}.up.railway.app",
            "canRollback": d.ever_succeeded and not d.active,
            "deploymentStopped": d.stopped or not d.active,
            "meta": {k: val for k, val in meta.items() if val is not None},
            "serviceId": service.id,
            "environmentId": service.environment_id,
            "projectId": service.project_id,
            "creator": {"name": d.commit_author},
            "instances": [dict(inst) for inst in d.instances],
        }

    def _instance_json(self, service: FakeService) -> dict[str, Any]:
        active = [d for d in service.deployments if d.active]
        return {"activeDeployments": [self._deployment_json(d) for d in active]}

    def _logs_json(
        self,
        lines: list[tuple[FakeLog, FakeDeployment]],
        filter_text: object,
        limit: object,
        *,
        one_more: bool = False,
    ) -> list[dict[str, Any]]:
        """The last `limit` matching lines, oldest first.

        With `one_more`, one line more than `limit`, as Railway's deploymentLogs and buildLogs answer
        (railwayapp/cli src/controllers/deployment.rs, `take_last_n_logs`: "the API has a bug and
        returns limit+1").
        """
        matcher = parse_filter(filter_text if isinstance(filter_text, str) else "")
        chosen = sorted((pair for pair in lines if matcher(pair[0], self._tags(pair[1]))), key=lambda pair: pair[0].at)
        count = limit if isinstance(limit, int) and limit > 0 else 100
        count += 1 if one_more else 0
        return [self._log_json(line, deployment) for line, deployment in chosen[-count:]]

    def _tags(self, deployment: FakeDeployment) -> dict[str, Any]:
        service = self.world.services[deployment.service_id]
        return {
            "projectId": service.project_id,
            "environmentId": service.environment_id,
            "serviceId": service.id,
            "deploymentId": deployment.id,
            "deploymentInstanceId": deployment.instances[0]["id"] if deployment.instances else None,
        }

    def _log_json(self, line: FakeLog, deployment: FakeDeployment) -> dict[str, Any]:
        # Railway keeps the line's level as its normalised `severity`; the attribute list has the rest
        # ("`log.level` converted to `log.severity`", observability/logs.md, "Normalization strategy").
        attributes: list[dict[str, Any]] = []
        attributes += [{"key": k, "value": json.dumps(val)} for k, val in line.attributes.items()]
        tags = self._tags(deployment)
        return {
            "timestamp": line.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z",
            "message": line.message,
            "severity": railway_severity(line.level),
            "attributes": attributes,
            "tags": {k: tags[k] for k in ("serviceId", "deploymentId", "deploymentInstanceId")},
        }


def railway_severity(level: str) -> str:
    """The level Railway gives a line: the closest of debug/info/warn/error (see `_CLOSEST_LEVEL`)."""
    return _CLOSEST_LEVEL.get(level.strip().lower(), "info")


def _fail_fields(node: Any, failing: dict[str, str], path: list[Any], errors: list[dict[str, Any]]) -> Any:
    """`node` with every failing field nulled and an error with its path for each, as GraphQL answers.

    A failing non-null field would null its parent up to the root; the sandbox only fails nullable ones
    (`_NULLABLE_FIELDS`), and answers `data: null` for the others.
    """
    if isinstance(node, list):
        return [_fail_fields(item, failing, [*path, i], errors) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    kept: dict[str, Any] = {}
    for key, value in node.items():
        if key in failing:
            errors.append({"message": failing[key], "path": [*path, key]})
            if key not in _NULLABLE_FIELDS:
                raise _NullData
            kept[key] = None
        else:
            kept[key] = _fail_fields(value, failing, [*path, key], errors)
    return kept


class _NullData(Exception):
    """A non-null field failed: GraphQL answers `data: null`."""


def _errors(message: str, *, status: int = 200, path: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    if path:
        error["path"] = [path]
    return JSONResponse({"errors": [error], "data": None}, status_code=status)


def _masked(operation: str | None, variables: dict[str, Any]) -> dict[str, Any]:
    """The variables as recorded: a variable's value is a secret and is never kept, even by the fake."""
    copy = json.loads(json.dumps(variables))
    if operation == "VariableUpsert" and isinstance(copy.get("input"), dict) and "value" in copy["input"]:
        copy["input"]["value"] = _MASK
    return copy


def _public_headers(request: Request) -> dict[str, str]:
    secret = {"authorization", "project-access-token", "cookie"}
    return {k: (_MASK if k in secret else v) for k, v in request.headers.items()}


# ---- Railway's log filter syntax, as far as the sandbox understands it --------------------------

_TAG_KEYS = {"service": "serviceId", "deployment": "deploymentId", "replica": "deploymentInstanceId"}
_TOKEN = re.compile(r'\s*(\(|\)|-?"[^"]*"|-?@[A-Za-z_]+:[^\s()]+|[^\s()]+)')


def parse_filter(text: str) -> Callable[[FakeLog, dict[str, Any]], bool]:
    """A predicate for `@level:error AND "timeout"`, `@service:<id>`, OR, -negation and parentheses.

    Bare words and quoted phrases match the message, case-insensitively; `@key:value` matches the
    level, the service / deployment / replica tags or a structured attribute.
    """
    tokens = [t for t in _TOKEN.findall(text or "") if t.strip()]
    position = 0

    def peek() -> str:
        return tokens[position].upper() if position < len(tokens) else ""

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def expression() -> Callable[[FakeLog, dict[str, Any]], bool]:
        alternatives = [conjunction()]
        while peek() == "OR":
            take()
            alternatives.append(conjunction())
        return lambda line, tags: any(alt(line, tags) for alt in alternatives)

    def conjunction() -> Callable[[FakeLog, dict[str, Any]], bool]:
        parts = []
        while peek() not in ("", ")", "OR"):
            if peek() == "AND":
                take()
                continue
            parts.append(factor())
        return lambda line, tags: all(part(line, tags) for part in parts)

    def factor() -> Callable[[FakeLog, dict[str, Any]], bool]:
        token = take()
        if token == "(":
            inner = expression()
            if peek() == ")":
                take()
            return inner
        if token.startswith("-") and len(token) > 1:
            positive = _atom(token[1:])
            return lambda line, tags: not positive(line, tags)
        return _atom(token)

    return expression() if tokens else (lambda line, tags: True)


def _atom(token: str) -> Callable[[FakeLog, dict[str, Any]], bool]:
    if token.startswith("@") and ":" in token:
        key, _, value = token[1:].partition(":")
        value = value.strip('"').lower()
        tag = _TAG_KEYS.get(key)
        if key == "level":  # against the normalised level: `@level:warning` matches nothing
            return lambda line, tags: railway_severity(line.level) == value
        if tag is not None:
            return lambda line, tags: str(tags.get(tag) or "").lower() == value
        return lambda line, tags: str(line.attributes.get(key, "")).lower() == value
    needle = token.strip('"').lower()
    return lambda line, tags: needle in line.message.lower()


# ---- a world to start from ---------------------------------------------------------------------

SAMPLE_PROJECT_ID = "5a1c3e8f-7d42-4b0e-9c61-2f8a0d3b7e15"
SAMPLE_ENVIRONMENT_ID = "0c9e4b27-3f15-4e8a-a2d6-71b5c8e9f403"
SAMPLE_API_SERVICE_ID = "b7f2d1c4-8e3a-4f69-b5d0-9a1e6c2f7d38"
SAMPLE_WORKER_SERVICE_ID = "e4a8c6b2-1d7f-4c3e-8b95-3f0d2a6e1c74"
SAMPLE_DEPLOYMENT_IDS = (  # oldest to newest
    "1f3b5d7e-2a4c-4e6f-8a0b-c1d2e3f4a5b6",
    "2c4e6a8b-3d5f-4b7a-9c1d-e2f3a4b5c6d7",
    "3d5f7b9c-4e6a-4c8b-8d2e-f3a4b5c6d7e8",
    "4e6a8c0d-5f7b-4d9c-9e3f-a4b5c6d7e8f9",
)
SAMPLE_SECRET_VALUES = ("postgresql://app:sandbox-db-password@postgres.railway.internal:5432/app",)


def sample_world(now: datetime | None = None, *, clock: Callable[[], datetime] = _utcnow) -> RailwayWorld:
    """Service `api` with four deployments (one failed to build) and a `worker`, both in one environment.

    The api's log prints its DATABASE_URL once, as careless apps do, so the demo can show masking.
    """
    now = now or clock()
    world = RailwayWorld(clock=clock)
    world.project_tokens[SANDBOX_PROJECT_TOKEN] = (SAMPLE_PROJECT_ID, SAMPLE_ENVIRONMENT_ID)
    database_url = SAMPLE_SECRET_VALUES[0]
    world.add_service(
        "api",
        project_id=SAMPLE_PROJECT_ID,
        environment_id=SAMPLE_ENVIRONMENT_ID,
        service_id=SAMPLE_API_SERVICE_ID,
        variables={
            "DATABASE_URL": database_url,
            "SESSION_SECRET": "sandbox-session-secret-0f9e8d7c",
            "NODE_ENV": "production",
            "PORT": "8080",
        },
    )
    world.add_service(
        "worker",
        project_id=SAMPLE_PROJECT_ID,
        environment_id=SAMPLE_ENVIRONMENT_ID,
        service_id=SAMPLE_WORKER_SERVICE_ID,
        variables={"QUEUE": "default"},
    )
    history = [
        (timedelta(days=3), "SUCCESS", "Add /health endpoint", "a3f9c21", "Dana Ops"),
        (timedelta(days=2), "SUCCESS", "Cache sessions in Redis", "b81e4d0", "Lee Dev"),
        (timedelta(days=1), "FAILED", "Upgrade to Node 22", "c07a9b3", "Lee Dev"),
        (timedelta(hours=3), "SUCCESS", "Fix N+1 query in /orders", "d5e2f68", "Dana Ops"),
    ]
    for deployment_id, (ago, status, message, short_sha, author) in zip(SAMPLE_DEPLOYMENT_IDS, history, strict=True):
        at = now - ago
        build = [
            FakeLog(at=at, message="Using Nixpacks"),
            FakeLog(at=at + timedelta(seconds=20), message="npm ci"),
        ]
        runtime: list[FakeLog] = []
        if status == "FAILED":
            build += [
                FakeLog(at + timedelta(seconds=41), "npm ERR! engine Unsupported engine", level="error"),
                FakeLog(at + timedelta(seconds=42), "Build failed with exit code 1", level="error"),
            ]
        else:
            build.append(FakeLog(at=at + timedelta(seconds=55), message="Build completed"))
            runtime = _startup_log(at + timedelta(minutes=1), database_url)
        world.add_deployment(
            "api",
            deployment_id=deployment_id,
            status=status,
            commit_message=message,
            commit_hash=(short_sha * 6)[:40],
            author=author,
            at=at,
            logs=runtime,
            build_logs=build,
        )
    worker_at = now - timedelta(days=2)
    world.add_deployment(
        "worker",
        status="SUCCESS",
        commit_message="Retry failed emails",
        commit_hash="e19f" * 10,
        author="Lee Dev",
        at=worker_at,
        logs=[FakeLog(at=now - timedelta(minutes=5), message="worker: processed 42 jobs")],
    )
    return world


def _startup_log(at: datetime, database_url: str) -> list[FakeLog]:
    return [
        FakeLog(at=at, message="Starting api (node dist/server.js)"),
        FakeLog(at=at + timedelta(seconds=1), message=f"Connecting to {database_url}"),
        FakeLog(at=at + timedelta(seconds=2), message="Listening on :8080"),
        FakeLog(
            at=at + timedelta(minutes=5),
            message="GET /orders 200 184ms",
            attributes={"requestId": "req_7Hk2pQ", "status": 200},
        ),
        FakeLog(
            at=at + timedelta(minutes=6),
            message="Slow query: SELECT * FROM orders (2.4 s)",
            level="warn",
            attributes={"requestId": "req_9Lm4rT"},
        ),
        FakeLog(
            at=at + timedelta(minutes=7),
            message="Error: Redis connection timeout after 5000ms",
            level="error",
            attributes={"requestId": "req_3Xy8zA"},
        ),
    ]
