"""A stand-in for Railway's GraphQL API, served over real HTTP, for the tests, `pitcrew demo` and the console.

This module owns the HTTP surface: the endpoint, credentials, rate limits, error shapes and one
resolver per operation `RailwayClient` sends (by `operationName`), answering from and acting on a
`RailwayWorld` (app/sandbox/railway/world.py, which owns the data and Railway's rules for it). It
checks credentials as Railway does (an unknown token gets a GraphQL "Not Authorized"), and a project
token only reaches its own project.

Where it departs from what pitcrew's client expects, it follows Railway, and says where that is written:
429s with `Retry-After` and `X-RateLimit-*` (`rate_limit_next`), project tokens refused outside their
environment, one log line more than the `limit` asked, levels normalised to debug/info/warn/error
(app/sandbox/railway/logs.py), and GraphQL's partial answers when a nested field fails (`fail_field`).

It records every request in `calls` (operation, document, variables, which kind of credential came),
with secret values masked, so a test can assert on what was sent, and validate it.

    world = sample_world()
    async with FakeRailway.serve(world) as fake:
        client = RailwayClient(http, url=fake.url, api_token=SANDBOX_API_TOKEN, project_token=None)
        world.crash("api")
        ...
        assert fake.calls[-1].operation == "LatestDeployment"

A new operation: a resolver method in "operations" below, registered in `FakeRailway.operations`
and `_ROOT_FIELDS`; the JSON of the types it answers with in bodies.py; the state it reads or
changes in world.py.

This is product code (it ships for the demo): no graphql-core, nothing from tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.sandbox.railway import bodies
from app.sandbox.railway.sample import sample_world
from app.sandbox.railway.world import DeploymentEvent, FakeDeployment, FakeService, GraphQLFailure, RailwayWorld
from app.sandbox.server import LoopbackServer

GRAPHQL_PATH = "/graphql/v2"
_MASK = "***"
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
    "VariableCollectionUpsert": "variableCollectionUpsert",
    "VariableDelete": "variableDelete",
    "DeploymentLogs": "deploymentLogs",
    "BuildLogs": "buildLogs",
    "EnvironmentLogs": "environmentLogs",
    "VariablesForServiceDeployment": "variablesForServiceDeployment",
    "Variables": "variables",
    "ProjectToken": "projectToken",
    "ServiceMetrics": "metrics",
    "LatestDeploymentWithMetrics": "serviceInstance",
}
# The operations that read metrics, which `RailwayWorld.metrics_latency_s` slows down.
_METRICS_OPERATIONS = frozenset({"ServiceMetrics", "LatestDeploymentWithMetrics"})
# Nested fields that are nullable in Railway's schema (refdata/railway/schema.json): a failure there
# nulls the field alone and the rest of the answer is sent; a failure of any other field nulls the
# whole `data`, every root field being non-null (GraphQL spec, "Handling Field Errors").
_NULLABLE_FIELDS = frozenset({"creator", "meta", "url", "staticUrl", "tags", "latestDeployment"})


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)



@dataclass(frozen=True)
class RailwayCall:
    """One request the fake received. `auth` is "bearer", "project" or None; secrets are masked."""

    operation: str | None
    query: str
    variables: dict[str, Any]
    auth: str | None
    headers: dict[str, str]


@dataclass(frozen=True)
class SentWebhook:
    """One delivery of a project webhook: the event, the body, and how the receiver answered (0: no answer)."""

    event: DeploymentEvent
    body: dict[str, Any]
    status_code: int
    answer: str


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
        self.webhooks_sent: list[SentWebhook] = []  # the project webhooks' deliveries, and the answers
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
            "VariableCollectionUpsert": self._variable_collection_upsert,
            "VariableDelete": self._variable_delete,
            "DeploymentLogs": self._deployment_logs,
            "BuildLogs": self._build_logs,
            "EnvironmentLogs": self._environment_logs,
            "VariablesForServiceDeployment": self._variables,
            "Variables": self._variables_unrendered,
            "ProjectToken": self._project_token,
            "ServiceMetrics": self._service_metrics,
            "LatestDeploymentWithMetrics": self._latest_deployment_with_metrics,
            "ServiceCapacity": self._capacity,
            "ServiceInstanceLimitsUpdate": self._limits_update,
            "ServiceInstanceUpdate": self._instance_update,
            "EnvironmentVolumes": self._environment_volumes,
            "VolumeBackups": self._volume_backups,
            "VolumeInstanceBackupCreate": self._backup_create,
        }

    async def deliver_webhooks(self, http: httpx.AsyncClient | None = None) -> list[SentWebhook]:
        """POST every queued deployment status change to each project webhook, oldest first; what was sent.

        A webhook URL that does not answer keeps its events for the next delivery, as Railway retries
        a delivery that failed (the sandbox's retry is simply the next call)."""
        events, self.world.webhook_outbox = self.world.webhook_outbox, []
        if not events:
            return []
        own = http is None
        client = http or httpx.AsyncClient(timeout=10.0)
        sent: list[SentWebhook] = []
        kept: list[DeploymentEvent] = []
        try:
            for event in events:
                body = bodies.deployment_webhook(self.world, event)
                for url in self.world.webhook_urls:
                    try:
                        response = await client.post(url, json=body, headers={"user-agent": "Railway-Webhook"})
                    except httpx.HTTPError as err:
                        kept.append(event)
                        sent.append(SentWebhook(event, body, 0, type(err).__name__))
                        continue
                    sent.append(SentWebhook(event, body, response.status_code, response.text[:200]))
        finally:
            if own:
                await client.aclose()
        self.world.webhook_outbox[:0] = list(dict.fromkeys(kept))
        self.webhooks_sent.extend(sent)
        return sent

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
        if self.world.latency_s > 0:
            await asyncio.sleep(self.world.latency_s)
        if self.world.metrics_latency_s > 0 and operation in _METRICS_OPERATIONS:
            await asyncio.sleep(self.world.metrics_latency_s)
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
        edges = [{"node": bodies.deployment_json(self.world, d)} for d in service.deployments[:first]]
        return {"deployments": {"edges": edges}, "serviceInstance": bodies.instance_json(self.world, service)}

    def _latest_deployment(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal)
        instance = bodies.instance_json(self.world, service)
        latest = service.deployments[0] if service.deployments else None
        instance["latestDeployment"] = bodies.deployment_json(self.world, latest) if latest else None
        return {"serviceInstance": instance}

    def _deployment(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal)
        deployment = self._deployment_of(v.get("id"), principal)
        return {
            "deployment": bodies.deployment_json(self.world, deployment),
            "serviceInstance": bodies.instance_json(self.world, service),
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
        return {"deploymentRedeploy": {"id": new.id, "status": new.status, "createdAt": bodies.iso(new.created_at)}}

    def _variable_upsert(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        wanted = v.get("input") or {}
        if not isinstance(wanted.get("name"), str) or not isinstance(wanted.get("value"), str):
            raise GraphQLFailure("Variable name and value are required")
        if wanted.get("serviceId") is None:  # "Omit serviceId to create a shared variable instead"
            project_id, environment_id = self._environment(wanted, principal)
            self.world.upsert_shared_variables(
                project_id, environment_id, {wanted["name"]: wanted["value"]}, replace=False,
                skip_deploys=bool(wanted.get("skipDeploys")),
            )
            return {"variableUpsert": True}
        service = self._service(wanted.get("serviceId"), wanted.get("environmentId"), principal, None)
        if wanted.get("projectId") != service.project_id:
            raise GraphQLFailure("Not Authorized")
        self.world.upsert_variable(
            service.id, wanted["name"], wanted["value"], skip_deploys=bool(wanted.get("skipDeploys"))
        )
        return {"variableUpsert": True}

    def _variable_collection_upsert(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        """Several variables of a service (or, without `serviceId`, of the environment's shared set) at
        once, with one deployment (docs.railway.com/integrations/api/manage-variables, "Upsert multiple
        variables"; `EnvironmentVariables` is a JSON object of names to values, Railway's schema)."""
        wanted = v.get("input") or {}
        variables = wanted.get("variables")
        if (
            not isinstance(variables, dict) or not variables
            or not all(isinstance(k, str) and isinstance(x, str) for k, x in variables.items())
        ):
            raise GraphQLFailure("Variables must be an object of names to text values")
        replace, skip = bool(wanted.get("replace")), bool(wanted.get("skipDeploys"))
        if wanted.get("serviceId") is None:
            project_id, environment_id = self._environment(wanted, principal)
            self.world.upsert_shared_variables(
                project_id, environment_id, variables, replace=replace, skip_deploys=skip
            )
            return {"variableCollectionUpsert": True}
        service = self._service(wanted.get("serviceId"), wanted.get("environmentId"), principal, None)
        if wanted.get("projectId") != service.project_id:
            raise GraphQLFailure("Not Authorized")
        self.world.upsert_variables(service.id, variables, replace=replace, skip_deploys=skip)
        return {"variableCollectionUpsert": True}

    def _environment(self, wanted: dict[str, Any], principal: _Principal) -> tuple[str, str]:
        """The project and environment of a shared variable's change: known to the world, and within a
        project token's reach (it "can only be used to authenticate requests to that environment")."""
        project_id, environment_id = wanted.get("projectId"), wanted.get("environmentId")
        known = any(
            s.project_id == project_id and s.environment_id == environment_id for s in self.world.services.values()
        )
        if not isinstance(project_id, str) or not isinstance(environment_id, str) or not known:
            raise GraphQLFailure("Environment not found")
        if principal.project_id is not None and (project_id, environment_id) != (
            principal.project_id, principal.environment_id
        ):
            raise GraphQLFailure("Not Authorized")
        return project_id, environment_id

    def _capacity(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal)
        return {
            "serviceInstanceLimits": bodies.limits_json(service),
            "serviceInstance": {"id": f"si-{service.id[:8]}", "numReplicas": service.replicas},
        }

    def _limits_update(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        wanted = v.get("input") or {}
        service = self._service(wanted.get("serviceId"), wanted.get("environmentId"), principal, None)
        memory, vcpus = wanted.get("memoryGB"), wanted.get("vCPUs")
        self.world.update_limits(
            service.id,
            memory_gb=float(memory) if isinstance(memory, int | float) else None,
            vcpus=float(vcpus) if isinstance(vcpus, int | float) else None,
        )
        return {"serviceInstanceLimitsUpdate": True}

    def _instance_update(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal, None)
        replicas = (v.get("input") or {}).get("numReplicas")
        if isinstance(replicas, int):
            self.world.update_replicas(service.id, replicas)
        return {"serviceInstanceUpdate": True}

    def _environment_volumes(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        environment = v.get("environmentId")
        services = [
            s for s in self.world.services.values()
            if s.environment_id == environment and principal.may(s)
            and (v.get("projectId") in (None, s.project_id))
        ]
        edges = [{"node": bodies.volume_json(s, vol)} for s in services for vol in s.volumes]
        return {"environment": {"volumeInstances": {"edges": edges}}}

    def _volume_backups(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service, volume = self.world.volume(str(v.get("volumeInstanceId")))
        if not principal.may(service):
            raise GraphQLFailure("Not Authorized")
        return bodies.backups_json(volume)

    def _backup_create(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service, volume = self.world.volume(str(v.get("volumeInstanceId")))
        if not principal.may(service):
            raise GraphQLFailure("Not Authorized")
        name = v.get("name") if isinstance(v.get("name"), str) else None
        return {"volumeInstanceBackupCreate": {"workflowId": self.world.backup(volume.id, name)}}

    def _variable_delete(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        # VariableDelete as the Railway CLI sends it (refdata/railway/cli-gql/mutations/strings/VariableDelete.graphql)
        wanted = v.get("input") or {}
        service = self._service(wanted.get("serviceId"), wanted.get("environmentId"), principal, None)
        if wanted.get("projectId") != service.project_id:
            raise GraphQLFailure("Not Authorized")
        if not isinstance(wanted.get("name"), str):
            raise GraphQLFailure("Variable name is required")
        self.world.delete_variable(service.id, wanted["name"])
        return {"variableDelete": True}

    def _deployment_logs(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        deployment = self._deployment_of(v.get("deploymentId"), principal)
        start, end = _parse_time(v.get("startDate")), _parse_time(v.get("endDate"))
        lines = [
            (line, deployment)
            for line in deployment.logs
            if (start is None or line.at >= start) and (end is None or line.at <= end)
        ]
        return {"deploymentLogs": bodies.logs_json(self.world, lines, v.get("filter"), v.get("limit"), one_more=True)}

    def _build_logs(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        deployment = self._deployment_of(v.get("deploymentId"), principal)
        lines = [(line, deployment) for line in deployment.build_logs]
        return {"buildLogs": bodies.logs_json(self.world, lines, v.get("filter"), v.get("limit"), one_more=True)}

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
        return {"environmentLogs": bodies.logs_json(self.world, lines, v.get("filter"), v.get("beforeLimit"))}

    def _variables(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal, None)
        if v.get("projectId") != service.project_id:
            raise GraphQLFailure("Not Authorized")
        # A sealed variable's value is null: "it is set on the service, but its value cannot be read
        # back by anyone, including the account owner" (railwayapp/cli, src/controllers/variables.rs).
        return {"variablesForServiceDeployment": self.world.rendered_variables(service.id)}

    def _variables_unrendered(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        """Query.variables: a service's own variables (`unrendered: true` leaves `${{...}}` references as
        set), or with no `serviceId` the environment's shared ones (schema.json: "If neither are
        provided, all shared variables are returned")."""
        if v.get("serviceId") is None:
            if principal.project_id is not None and (
                v.get("projectId") != principal.project_id or v.get("environmentId") != principal.environment_id
            ):
                raise GraphQLFailure("Not Authorized")
            return {"variables": dict(self.world.shared.get((v.get("projectId"), v.get("environmentId")), {}))}
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal, None)
        if v.get("projectId") != service.project_id:
            raise GraphQLFailure("Not Authorized")
        if v.get("unrendered"):
            return {"variables": self.world.unrendered_variables(service.id)}
        return {"variables": self.world.rendered_variables(service.id)}


    def _latest_deployment_with_metrics(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        """Both selections in one document: GraphQL resolves each root field of an operation on its own
        (GraphQL spec, "Executing Selection Sets"), so the answer is the two answers side by side."""
        return {**self._latest_deployment(v, principal), **self._service_metrics(v, principal)}

    def _service_metrics(self, v: dict[str, Any], principal: _Principal) -> dict[str, Any]:
        """`metrics`, `httpMetricsGroupedByStatus`, `httpDurationMetrics` and the environment's volumes
        (shapes in bodies.py, from Railway's schema). Railway refuses a metrics window without a start
        (`startDate: DateTime!`); so does the sandbox."""
        service = self._service(v.get("serviceId"), v.get("environmentId"), principal, field="metrics")
        start, end = _parse_time(v.get("startDate")), _parse_time(v.get("endDate")) or self.world.clock()
        if start is None:
            raise GraphQLFailure("startDate: not a date", "metrics")
        measurements = [str(m) for m in v.get("measurements") or []]
        sample_s = v.get("sampleRateSeconds") if isinstance(v.get("sampleRateSeconds"), int) else 60
        step_s = v.get("stepSeconds") if isinstance(v.get("stepSeconds"), int) else 60
        return {
            "metrics": bodies.metrics_json(self.world, service, measurements, start, end, sample_s),
            "httpMetricsGroupedByStatus": bodies.http_by_status_json(service, start, end, step_s),
            "httpDurationMetrics": bodies.http_duration_json(service, start, end, step_s),
            "serviceInstanceLimits": bodies.limits_json(service),
            "environment": {"volumeInstances": bodies.volume_instances_json(self.world, service.environment_id)},
        }


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
    if operation == "VariableCollectionUpsert" and isinstance(copy.get("input"), dict):
        found = copy["input"].get("variables")
        if isinstance(found, dict):
            copy["input"]["variables"] = {name: _MASK for name in found}
    return copy


def _public_headers(request: Request) -> dict[str, str]:
    secret = {"authorization", "project-access-token", "cookie"}
    return {k: (_MASK if k in secret else v) for k, v in request.headers.items()}

