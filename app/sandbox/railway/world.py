"""The fake Railway's world: services, their deployments, logs and variables, and Railway's rules for them.

This module owns the data and what Railway does to it, with no HTTP in sight: a rollback deploys
the target's image as a new deployment, a restart brings crashed instances back, a variable change
redeploys, a new live deployment replaces (REMOVED) the one before. Tests and the demo change the
world directly (`crash`, `log`, `set_variable`) and script the provider's misbehaviour through it
(`fail_next`, `rate_limit_next`, `set_budget`, `fail_field`, `stall`), which the GraphQL surface
(app/sandbox/railway/graphql.py) obeys.

Where a new thing goes: state Railway keeps (variables of each kind, sealed ones, metrics, limits,
replicas, volumes, backups) is a field of `FakeService` / `FakeDeployment` or a new dataclass here,
and what a mutation does to it is a `RailwayWorld` method in "what Railway does on mutations"; the
resolver that reads or calls it goes in graphql.py. Each rule cites where Railway says so.

This is product code (it ships for the demo): nothing from tests.
"""

from __future__ import annotations

import asyncio
import math
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.catalog import RailwayRef

SANDBOX_API_TOKEN = "sandbox-railway-account-token"
_TEMPLATE = re.compile(r"\$\{\{\s*(?:([A-Za-z0-9_-]+)\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SANDBOX_PROJECT_TOKEN = "sandbox-railway-project-token"
_LIVE = ("SUCCESS", "CRASHED", "SLEEPING")


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    # What the deployment was given when it started: the service's variables rendered then, sealed
    # ones included. Railway renders references when a deployment is made, so a shared variable changed
    # afterwards reaches a service only with its next deployment ("Adding, updating, or removing
    # variables, results in a set of staged changes that you must review and deploy",
    # docs.railway.com/variables; "Rotate secrets: use variableUpsert with skipDeploys: true ..., then
    # trigger deployments manually", docs.railway.com/integrations/api/manage-variables).
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeMetrics:
    """What Railway measures of a service, as steady levels (the sandbox's traffic does not vary).

    Units as Railway's `MetricMeasurement`s have them (refdata/railway/schema.json): CPU in vCPUs,
    memory in GB; the limits (CPU_LIMIT, MEMORY_LIMIT_GB) are the service's own (`FakeService.vcpus`,
    `memory_gb`, which a scale changes). HTTP: requests per minute, the share answered 5xx,
    and the p95 latency in milliseconds, as `httpMetricsGroupedByStatus` / `httpDurationMetrics` serve them.
    """

    cpu: float = 0.25
    memory_gb: float = 0.4
    requests_per_minute: float = 120.0
    error_ratio: float = 0.0
    p95_ms: float = 180.0
    oom_at: list[datetime] = field(default_factory=list)  # when memory hit the limit and the process restarted
    # Memory that climbed from the steady level to a peak, then fell back as the process died: (since,
    # until, peak GB). See RailwayWorld.memory_climb.
    climbs: list[tuple[datetime, datetime, float]] = field(default_factory=list)
    limits_in_metrics: bool = True  # False: `metrics` has no CPU_LIMIT/MEMORY_LIMIT_GB samples, as for a new service


@dataclass
class FakeService:
    id: str
    name: str
    project_id: str
    environment_id: str
    deployments: list[FakeDeployment] = field(default_factory=list)  # newest first
    variables: dict[str, str] = field(default_factory=dict)
    sealed: set[str] = field(default_factory=set)  # names whose value Railway never returns
    # serviceInstanceLimits: "the merged resource limits for a service instance (includes plan
    # defaults)" (Railway's schema); the sandbox's plan default is 8 vCPU / 8 GB, Hobby's ceiling.
    memory_gb: float = 8.0
    vcpus: float = 8.0
    replicas: int = 1  # ServiceInstance.numReplicas
    volumes: list[FakeVolume] = field(default_factory=list)
    metrics: FakeMetrics = field(default_factory=lambda: FakeMetrics())


@dataclass
class FakeVolume:
    """A volume instance mounted on a service, and its backups (Railway's VolumeInstance and
    VolumeInstanceBackup types; schedules are VolumeInstanceBackupSchedule kinds DAILY/WEEKLY/MONTHLY)."""

    id: str
    name: str
    mount_path: str = "/var/lib/postgresql/data"
    size_mb: int = 5000
    used_mb: float = 420.0
    backups: list[tuple[str, datetime, str | None]] = field(default_factory=list)  # (id, created, name)
    schedules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeploymentEvent:
    """A deployment's status change Railway tells the project's webhooks about (`Deployment.<event>`).

    "The URL you provide will receive a webhook payload when any service's deployment status
    changes" (docs.railway.com/observability/webhooks). The event words are those Railway sends for
    the states that matter: `deployed` (status SUCCESS, as in a live delivery recorded in an n8n
    workflow's docs, "WF-15 Railway Deployment Notify", 2026-05), `crashed` and `failed` (the docs'
    own example is `Deployment.failed`). Progress (building, deploying, removed) is not queued: pitcrew
    reads none of it (app/core/webhooks/railway.py) and the sandbox keeps its deliveries few.
    """

    event: str  # deployed | crashed | failed
    service_id: str
    deployment_id: str
    status: str
    at: datetime


_EVENTS = {"SUCCESS": "deployed", "CRASHED": "crashed", "FAILED": "failed"}


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

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.services: dict[str, FakeService] = {}
        self.api_tokens: set[str] = {SANDBOX_API_TOKEN}
        self.project_tokens: dict[str, tuple[str, str]] = {}  # token -> (project id, environment id)
        self.next_deploy_status = "SUCCESS"  # how deployments started by mutations end
        self.shared: dict[tuple[str, str], dict[str, str]] = {}  # (project, environment) -> shared variables
        self.failing_fields: dict[str, str] = {}  # field name -> the error Railway gives for it
        self.latency_s = 0.0  # how long every answer takes (a benchmark's slow provider); Railway's own varies
        self.metrics_latency_s = 0.0  # and how much longer an answer with metrics takes (a slow metrics backend)
        self._budget: list[Any] | None = None  # [limit, remaining, reset_at] once set_budget() is called
        self._budget_window_s = 3600
        self._faults: list[Fault] = []
        self.limit_updates = 0  # limits and replica changes accepted, for tests counting them
        self.webhook_urls: list[str] = []  # the project's webhooks (`add_webhook`)
        self.webhook_outbox: list[DeploymentEvent] = []  # status changes not delivered yet
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

    def add_webhook(self, url: str) -> None:
        """A project webhook: every deployment status change from now on is queued for `url` (sent by
        `FakeRailway.deliver_webhooks`), as Railway posts them to the URL saved in Project Settings →
        Webhooks (docs.railway.com/observability/webhooks, "Setup a webhook")."""
        self.webhook_urls.append(url)

    def _status_changed(self, deployment: FakeDeployment) -> None:
        event = _EVENTS.get(deployment.status)
        if event is not None and self.webhook_urls:
            self.webhook_outbox.append(
                DeploymentEvent(event, deployment.service_id, deployment.id, deployment.status, self.clock())
            )

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
            variables=self.given_variables(target.id),
        )
        target.deployments.insert(0, deployment)
        target.deployments.sort(key=lambda d: d.created_at, reverse=True)
        if deployment.status in _LIVE:
            self._activate(target, deployment)
        self._status_changed(deployment)
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
        self._status_changed(deployment)
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

    def set_shared_variable(self, project_id: str, environment_id: str, name: str, value: str) -> None:
        """A shared variable of an environment: a service sees it only through a `${{shared.NAME}}`
        reference in one of its own variables ("Shared variables ... can be referenced by services",
        docs.railway.com/variables, "Shared variables")."""
        self.shared.setdefault((project_id, environment_id), {})[name] = value

    def rendered_variables(self, service: str) -> dict[str, str | None]:
        """What a deployment of `service` is given, as `variablesForServiceDeployment` answers: each of its
        variables with its references rendered (`${{shared.X}}`, `${{api.X}}`, `${{X}}`: Railway's
        template syntax, docs.railway.com/variables/reference, "Template syntax"); a sealed one null
        (railwayapp/cli src/controllers/variables.rs, `get_service_variables_including_sealed`). A
        reference to nothing renders empty (the sandbox's choice; Railway's docs do not say)."""
        found = self.service(service)
        return {
            name: None if name in found.sealed else self._render(found, value, depth=0)
            for name, value in found.variables.items()
        }

    def given_variables(self, service: str) -> dict[str, str]:
        """What a deployment of `service` started now is given: every variable rendered, sealed ones too
        ("its value is provided to builds and deployments but is never visible", docs.railway.com/variables,
        "Sealed variables")."""
        found = self.service(service)
        return {name: self._render(found, value, depth=0) for name, value in found.variables.items()}

    def references_to_shared(self, project_id: str, environment_id: str, name: str) -> list[FakeService]:
        """The services of the environment whose variables reference the shared variable `name`."""
        return [
            s for s in self.services.values()
            if s.project_id == project_id and s.environment_id == environment_id
            and any(
                m.group(1) == "shared" and m.group(2) == name
                for value in s.variables.values() for m in _TEMPLATE.finditer(value)
            )
        ]

    def unrendered_variables(self, service: str) -> dict[str, str | None]:
        """The service's variables as set, references unrendered (Query.variables, `unrendered: true`);
        a sealed one null, as everywhere its value would be read back."""
        found = self.service(service)
        return {name: None if name in found.sealed else value for name, value in found.variables.items()}

    def _render(self, service: FakeService, value: str, *, depth: int) -> str:
        def one(match: re.Match[str]) -> str:
            namespace, name = match.group(1), match.group(2)
            if depth > 3:
                return ""
            if namespace is None:
                raw = service.variables.get(name)
                return self._render(service, raw, depth=depth + 1) if raw is not None else ""
            if namespace == "shared":
                return self.shared.get((service.project_id, service.environment_id), {}).get(name, "")
            other = next(
                (s for s in self.services.values()
                 if s.name == namespace and s.environment_id == service.environment_id), None
            )
            raw = other.variables.get(name) if other is not None else None
            return self._render(other, raw, depth=depth + 1) if other is not None and raw is not None else ""

        return _TEMPLATE.sub(one, value)

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

    def set_metrics(self, service: str, **levels: float | bool) -> FakeMetrics:
        """Change what Railway measures of the service from now on (`cpu=6.5`, `error_ratio=0.05`, ...);
        `cpu_limit` and `memory_limit_gb` set the service's limits (`vcpus`, `memory_gb`)."""
        target = self.service(service)
        metrics = target.metrics
        for key, value in levels.items():
            if key == "cpu_limit":
                target.vcpus = float(value)
            elif key == "memory_limit_gb":
                target.memory_gb = float(value)
            elif not hasattr(metrics, key) or key in ("oom_at", "climbs"):
                raise KeyError(f"no metric {key!r} in the sandbox")
            else:
                setattr(metrics, key, value if isinstance(value, bool) else float(value))
        return metrics

    def oom(self, service: str, at: datetime | None = None) -> None:
        """The process ran out of memory at `at` (now by default): memory reached the limit, the
        instance was killed and started again empty, which is how Railway's memory graph shows it."""
        self.service(service).metrics.oom_at.append(at or self.clock())

    def memory_climb(self, service: str, *, since: datetime, until: datetime, peak_gb: float) -> None:
        """Memory rose steadily from the service's level at `since` to `peak_gb` at `until`, when the process
        died (a leak, or a cache that never evicts), and is back at the level after it: the curve Railway's
        Metrics tab shows for a leaking process (docs.railway.com/reference/metrics: memory by deployment,
        "used to diagnose issues with a project's performance"; `MEMORY_USAGE_GB` in the schema's
        MetricMeasurement). Below the limit, it is no OOM restart: the process died of something else."""
        if until <= since:
            raise ValueError("a climb ends after it starts")
        self.service(service).metrics.climbs.append((since, until, float(peak_gb)))

    def memory_at(self, service: str, moment: datetime, step_s: int) -> float:
        """Memory in use at `moment`: the limit in the sample an OOM falls in, a fresh process's in the next;
        along a climb, the level it had reached."""
        target = self.service(service)
        metrics = target.metrics
        for oom in metrics.oom_at:
            offset = (moment - oom).total_seconds()
            if -step_s < offset <= 0:
                return target.memory_gb
            if 0 < offset <= step_s:
                return min(metrics.memory_gb, 0.1 * target.memory_gb)
        for since, until, peak in metrics.climbs:
            if since <= moment <= until:
                share = (moment - since).total_seconds() / (until - since).total_seconds()
                return metrics.memory_gb + share * (peak - metrics.memory_gb)
        return metrics.memory_gb

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
        changed = deployment.status != "SUCCESS"
        deployment.status = "SUCCESS"
        deployment.instances = [{**inst, "status": "RUNNING"} for inst in deployment.instances]
        deployment.logs.append(FakeLog(at=self.clock(), message="Container restarted", level="info"))
        if changed:  # a crashed deployment running again is a status change: its webhook says deployed
            self._status_changed(deployment)

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

    def upsert_variables(
        self, service_id: str, variables: dict[str, str], *, replace: bool, skip_deploys: bool
    ) -> None:
        """`variableCollectionUpsert` on a service: every variable set at once and one deployment for all
        of them ("Upsert multiple variables"; "replace: true will delete all variables not included in
        the variables object", docs.railway.com/integrations/api/manage-variables)."""
        service = self.services[service_id]
        if replace:
            service.variables.clear()
            service.sealed.clear()
        service.variables.update(variables)
        current = self.current(service.id)
        if not skip_deploys and current is not None:
            self.redeploy(current.id, reason="variableChange")

    def upsert_shared_variables(
        self, project_id: str, environment_id: str, variables: dict[str, str], *, replace: bool, skip_deploys: bool
    ) -> list[FakeService]:
        """`variableUpsert` / `variableCollectionUpsert` without a `serviceId`: the environment's shared
        variables ("Omit serviceId to create a shared variable instead",
        docs.railway.com/integrations/api/manage-variables). Unless `skipDeploys` ("Skip deploys for
        affected services", Railway's schema), every service referencing a changed one redeploys at once;
        the services it affects are returned."""
        shared = self.shared.setdefault((project_id, environment_id), {})
        if replace:
            shared.clear()
        shared.update(variables)
        affected = {
            s.id: s for name in variables for s in self.references_to_shared(project_id, environment_id, name)
        }
        if not skip_deploys:
            for service in affected.values():
                current = self.current(service.id)
                if current is not None:
                    self.redeploy(current.id, reason="variableChange")
        return list(affected.values())

    # The plan's ceiling the sandbox enforces: Railway refuses limits above the plan's ("Hobby: up to
    # 8 vCPU / 8 GB RAM per service", docs.railway.com/reference/pricing/plans); the message is the sandbox's.
    plan_max_memory_gb = 8.0
    plan_max_vcpus = 8.0

    def update_limits(self, service_id: str, *, memory_gb: float | None, vcpus: float | None) -> None:
        """serviceInstanceLimitsUpdate: the new limits are kept; like every instance change made through
        the API they apply on the next deployment (station.railway.com, "apply new variables in
        deployment"), so nothing redeploys here."""
        service = self.services[service_id]
        if memory_gb is not None and not 0 < memory_gb <= self.plan_max_memory_gb:
            raise GraphQLFailure(f"Memory limit must be at most {self.plan_max_memory_gb:g} GB on your plan")
        if vcpus is not None and not 0 < vcpus <= self.plan_max_vcpus:
            raise GraphQLFailure(f"vCPU limit must be at most {self.plan_max_vcpus:g} on your plan")
        if memory_gb is not None:
            service.memory_gb = memory_gb
        if vcpus is not None:
            service.vcpus = vcpus
        self.limit_updates += 1

    def update_replicas(self, service_id: str, replicas: int) -> None:
        """serviceInstanceUpdate(input: {numReplicas}); at most 50 (docs.railway.com/cli/scale)."""
        if not 0 <= replicas <= 50:
            raise GraphQLFailure("A maximum of 50 total replicas is supported")
        self.services[service_id].replicas = replicas
        self.limit_updates += 1

    def add_volume(
        self, service: str, name: str = "postgres-volume", *, schedules: Iterable[str] = (),
        mount_path: str | None = None, used_mb: float | None = None, size_mb: int | None = None,
    ) -> FakeVolume:
        volume = FakeVolume(id=str(uuid.uuid4()), name=name, schedules=list(schedules))
        if mount_path is not None:
            volume.mount_path = mount_path
        if used_mb is not None:
            volume.used_mb = used_mb
        if size_mb is not None:
            volume.size_mb = size_mb
        self.service(service).volumes.append(volume)
        return volume

    def volume(self, volume_instance_id: str) -> tuple[FakeService, FakeVolume]:
        for service in self.services.values():
            for volume in service.volumes:
                if volume.id == volume_instance_id:
                    return service, volume
        raise GraphQLFailure("Volume instance not found")

    def backup(self, volume_instance_id: str, name: str | None = None, at: datetime | None = None) -> str:
        """volumeInstanceBackupCreate: a backup of the volume, answered with a workflow id (WorkflowId)."""
        _, volume = self.volume(volume_instance_id)
        volume.backups.insert(0, (str(uuid.uuid4()), at or self.clock(), name))
        volume.backups.sort(key=lambda b: b[1], reverse=True)
        return f"workflow-{uuid.uuid4().hex[:12]}"

    def delete_variable(self, service_id: str, name: str) -> None:
        """`variableDelete`: the variable is gone and the service redeploys with the change.

        Railway's VariableDeleteInput (refdata/railway/schema.json) has no `skipDeploys`, unlike
        VariableUpsertInput; a variable change deploys by default as upsert's does, so the delete
        is modelled as deploying. Deleting a name that does not exist is Railway's "Variable not found".
        """
        service = self.services[service_id]
        if name not in service.variables:
            raise GraphQLFailure("Variable not found")
        del service.variables[name]
        service.sealed.discard(name)
        current = self.current(service.id)
        if current is not None:
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
