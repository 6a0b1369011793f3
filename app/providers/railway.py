"""Railway's GraphQL API: a service's deployments, their logs, and the actions a runbook takes on them.

Every value that comes from a user, an alert or the catalog travels in GraphQL `variables`; the
documents themselves are fixed constants (app/providers/graphql_docs.py) validated against Railway's
schema by the tests. Every failure, whatever its cause, comes out as a `ProviderError` naming the call,
because the person in Slack needs "railway deployments failed: no answer within 10 s", not a traceback.

Authentication mirrors the Railway CLI: a project token is sent as `Project-Access-Token`, an account
token as `Authorization: Bearer`, never both in one request. A project token reaches one environment
of one project only (docs.railway.com integrations/api: "Project tokens are scoped to a specific
environment within a project and can only be used to authenticate requests to that environment"), so
when both are set the client asks Railway once which environment the project token covers (the
`projectToken` query the CLI sends too, railwayapp/cli src/config.rs) and uses it there only, and the
account token everywhere else.

A 429 is retried once when Railway asks for a few seconds, and otherwise becomes RateLimited
(app/providers/rate_limits.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from app.catalog import RailwayRef
from app.core.logs import normalise_level as core_level
from app.core.metrics import MetricsObservation, Series, VolumeUse
from app.core.observations import Deployment, DeploymentObservation
from app.providers import graphql_docs as docs
from app.providers.base import InvalidIdentifier, ProviderError, UnknownDeployment
from app.providers.logs_model import LogLine, normalise_level, parse_timestamp
from app.providers.rate_limits import RateLimited, decide, note_budget

log = logging.getLogger("pitcrew.providers.railway")

DEFAULT_TIMEOUT_S = 10.0
MAX_LOG_LINES = 5000  # Railway refuses a larger `limit`
MAX_DEPLOYMENTS = 100
_REASON_CHARS = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What `metrics` is asked for: usage and limit of CPU (vCPUs) and memory (GB), Railway's MetricMeasurement.
METRIC_MEASUREMENTS = ("CPU_USAGE", "CPU_LIMIT", "MEMORY_USAGE_GB", "MEMORY_LIMIT_GB")

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")
# Railway lowercases every line's level and matches it to the closest of these four, so `@level:`
# matches no other word (docs.railway.com observability/logs, "Normalization strategy").
RAILWAY_LEVELS = ("debug", "info", "warn", "error")
_TO_RAILWAY_LEVEL = {
    "trace": "debug", "debug": "debug", "info": "info", "warn": "warn", "error": "error", "fatal": "error"
}
# Nested fields pitcrew can do without: when Railway cannot resolve one (GraphQL nulls it and says so in
# `errors`), the rest of the answer is kept. All are nullable in Railway's schema (tests check it).
OPTIONAL_FIELDS = frozenset({"creator", "meta", "url", "staticUrl", "tags"})
# Deployment meta keys worth carrying along (the rest is build configuration, often large).
_META_KEYS = ("branch", "repo", "image", "reason", "rollbackTargetDeploymentId")


class RailwayGraphQLError(ProviderError):
    """Railway answered with GraphQL `errors`; `messages` and `paths` keep each one for callers that care.

    `paths[i]` is the root field the i-th error is about (`deployment`, `serviceInstance`), or None.
    """

    def __init__(self, call: str, messages: list[str], paths: list[str | None] | None = None) -> None:
        self.messages = messages
        self.paths = paths if paths is not None else [None] * len(messages)
        super().__init__(call, "; ".join(messages) or "Railway answered with an error and no message")

    def about(self, field: str) -> list[str]:
        """The messages of the errors about `field` (and of those that do not say what they are about)."""
        return [m for m, p in zip(self.messages, self.paths, strict=False) if p in (None, field)]


class NoAnswer(ProviderError):
    """Railway did not answer within the time given: a ProviderError a caller may tell from a refusal."""


def check_id(what: str, value: object, expected: str = "letters, digits, - and _ (at most 64)") -> str:
    """`value` if it looks like a provider id, else InvalidIdentifier.

    Checked even where the id travels as a GraphQL variable: ids also end up in URLs and log filters,
    and a typo deserves "not a deployment id" rather than a provider's puzzled answer.
    """
    if not isinstance(value, str) or not _SAFE_ID.match(value):
        raise InvalidIdentifier(what, value, expected)
    return value


def railway_log_filter(*, level: str | None = None, text: str | None = None) -> str | None:
    """A filter in Railway's own syntax (`@level:error AND "connection refused"`), or None for everything.

    Double quotes are dropped from `text` because Railway's syntax has no documented escape for them.
    """
    parts: list[str] = []
    if level:
        parts.append(f"@level:{railway_level(level)}")
    if text and text.strip():
        parts.append('"' + text.replace('"', " ").strip() + '"')
    return " AND ".join(parts) or None


def railway_level(level: str) -> str:
    """The one of Railway's four levels a level word stands for there (`warning` → warn, `fatal` → error)."""
    word = _TO_RAILWAY_LEVEL.get(core_level(level) or "")
    if word is None:
        raise InvalidIdentifier("log level", level, "one of " + ", ".join(RAILWAY_LEVELS))
    return word



@dataclass(frozen=True)
class Capacity:
    """What a service may use (Railway's merged limits) and how many replicas run it; None when unsaid."""

    memory_gb: float | None
    vcpus: float | None
    replicas: int | None


@dataclass(frozen=True)
class Volume:
    """A volume instance mounted on a service."""

    id: str
    name: str
    mount_path: str | None
    used_mb: float | None
    size_mb: float | None
    state: str | None


@dataclass(frozen=True)
class Backups:
    """A volume's backups, newest first, and the kinds of its backup schedules (DAILY, WEEKLY, MONTHLY)."""

    taken: tuple[datetime, ...]
    schedules: tuple[str, ...]


@dataclass(frozen=True)
class TokenScope:
    """The project and environment a project token reaches, as Railway says (`projectToken`)."""

    project_id: str
    environment_id: str
    project_name: str | None = None
    environment_name: str | None = None

    def covers(self, ref: RailwayRef) -> bool:
        return ref.project_id == self.project_id and ref.environment_id == self.environment_id


class RailwayClient:
    """One Railway account or project, reached over the process's shared httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        api_token: str | None,
        project_token: str | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = http
        self._url = url
        self._api_token = api_token
        self._project_token = project_token
        self._clock = clock or (lambda: datetime.now(UTC))
        # What the project token covers never changes for a token, so it is asked once per process.
        self._scope: TokenScope | None = None
        self._project_token_refused = False

    def __repr__(self) -> str:  # never show the tokens, even in a debugger or a crash report
        kind = "project token" if self._project_token else "account token" if self._api_token else "no token"
        return f"RailwayClient(url={self._url!r}, {kind})"

    # ---- deployments -------------------------------------------------------------------------

    async def deployments(
        self, ref: RailwayRef, limit: int = 10, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[Deployment]:
        """The service's latest deployments, newest first; `is_current` marks the one serving now."""
        call = "railway deployments"
        variables = {
            "input": {
                "projectId": ref.project_id,
                "environmentId": ref.environment_id,
                "serviceId": ref.service_id,
            },
            "first": max(1, min(int(limit), MAX_DEPLOYMENTS)),
            "serviceId": ref.service_id,
            "environmentId": ref.environment_id,
        }
        data = await self._execute(call, docs.DEPLOYMENTS, variables, timeout_s, ref=ref)
        edges = _dig(call, data, "deployments", "edges")
        current_id = _current_id(_active(data))
        nodes = [edge.get("node") for edge in edges or [] if isinstance(edge, dict)]
        found = [_to_deployment(node, current_id) for node in nodes if isinstance(node, dict)]
        found.sort(key=lambda d: d.created_at or _EPOCH, reverse=True)
        return found[: variables["first"]]

    async def latest_deployment(
        self, ref: RailwayRef, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> DeploymentObservation:
        """The newest deployment, and the states of the instances serving the service now.

        The instances are those of the active deployments: when the newest deployment failed to
        build, the previous one is still running, and that is what a health verdict must see. Only
        when nothing is active do the newest deployment's own instances count.
        """
        call = "railway latest deployment"
        variables = {"serviceId": ref.service_id, "environmentId": ref.environment_id}
        data = await self._execute(call, docs.LATEST_DEPLOYMENT, variables, timeout_s, ref=ref)
        return _deployment_observation(call, data)

    async def latest_deployment_with_metrics(
        self, ref: RailwayRef, *, start: datetime, end: datetime, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> tuple[DeploymentObservation, MetricsObservation | ProviderError]:
        """The latest deployment (as `latest_deployment`) and the metrics between start and end, in one request.

        When Railway cannot answer the metrics part it nulls the whole answer (every root field is
        non-null), and a slow metrics backend would hold the deployment's answer too: so the request
        together has half of `timeout_s`, and when it fails or times out the deployment is asked alone
        with the other half, the metrics coming back as the error that says why. A metrics outage then
        costs the metrics line only, and a Railway that does not answer at all still costs `timeout_s`.
        """
        call = "railway latest deployment"
        variables = self._metrics_variables(ref, start, end, 60, None)
        half = timeout_s / 2
        try:
            data = await self._execute(call, docs.LATEST_DEPLOYMENT_WITH_METRICS, variables, half, ref=ref)
        except RateLimited:
            raise  # asking again now would only spend more of the budget
        except ProviderError as err:
            failed = ProviderError("railway metrics", err.reason)
            try:
                return await self.latest_deployment(ref, timeout_s=half), failed
            except NoAnswer:
                if isinstance(err, NoAnswer):  # silent both times: say how long it was given in all
                    raise NoAnswer(call, f"no answer within {timeout_s:g} s") from None
                raise
        window_s = max(60, int((end - start).total_seconds()))
        return _deployment_observation(call, data), _metrics_observation(data, ref, window_s)

    async def deployment(
        self, ref: RailwayRef, deployment_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Deployment:
        """One deployment of this service; UnknownDeployment if there is none by that id here."""
        call = "railway deployment"
        check_id("Railway deployment id", deployment_id, "a Railway deployment id such as 8107edff-4b8e-...")
        variables = {"id": deployment_id, "serviceId": ref.service_id, "environmentId": ref.environment_id}
        try:
            data = await self._execute(call, docs.DEPLOYMENT, variables, timeout_s, ref=ref)
        except RailwayGraphQLError as err:
            if any("not found" in m.lower() for m in err.about("deployment")):
                raise UnknownDeployment(call, deployment_id) from None
            raise
        node = data.get("deployment")
        if not isinstance(node, dict):
            raise UnknownDeployment(call, deployment_id)
        if node.get("serviceId") != ref.service_id or node.get("environmentId") != ref.environment_id:
            raise UnknownDeployment(
                call, deployment_id, f"deployment {deployment_id!r} belongs to another service or environment"
            )
        return _to_deployment(node, _current_id(_active(data)))

    # ---- actions -----------------------------------------------------------------------------

    # `ref`, the service the deployment belongs to, chooses the token (see the module's docstring).

    async def rollback(
        self, deployment_id: str, *, ref: RailwayRef | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Roll the service back to `deployment_id` (Railway deploys that deployment's image anew)."""
        return await self._boolean_mutation(
            "railway rollback", docs.DEPLOYMENT_ROLLBACK, deployment_id, timeout_s, ref
        )

    async def restart(
        self, deployment_id: str, *, ref: RailwayRef | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Restart the deployment's instances without building or deploying anything."""
        return await self._boolean_mutation("railway restart", docs.DEPLOYMENT_RESTART, deployment_id, timeout_s, ref)

    async def stop(
        self, deployment_id: str, *, ref: RailwayRef | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Stop the deployment's instances (the service stays down until something deploys)."""
        return await self._boolean_mutation("railway stop", docs.DEPLOYMENT_STOP, deployment_id, timeout_s, ref)

    async def redeploy(
        self, deployment_id: str, *, ref: RailwayRef | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Deploy the same source again; answers with the id of the new deployment."""
        call = "railway redeploy"
        check_id("Railway deployment id", deployment_id)
        data = await self._execute(call, docs.DEPLOYMENT_REDEPLOY, {"id": deployment_id}, timeout_s, ref=ref)
        new = _dig(call, data, "deploymentRedeploy")
        if not isinstance(new, dict) or not new.get("id"):
            raise ProviderError(call, "Railway did not say which deployment it started")
        return {
            "action": "redeploy",
            "deployment_id": deployment_id,
            "new_deployment_id": str(new["id"]),
            "status": str(new.get("status") or "").upper() or None,
        }

    async def upsert_variable(
        self,
        ref: RailwayRef,
        name: str,
        value: str,
        *,
        skip_deploys: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Set one service variable. Railway redeploys the service unless `skip_deploys`.

        The value goes to Railway and nowhere else: not into the answer, the error, or any log.
        """
        await self._variable_upsert(
            "railway variable upsert", ref, name, value, service_id=ref.service_id, skip_deploys=skip_deploys,
            timeout_s=timeout_s, what=name,
        )
        return {
            "action": "variable_upsert",
            "service_id": ref.service_id,
            "environment_id": ref.environment_id,
            "name": name,
            "redeploys": not skip_deploys,
        }

    async def upsert_variables(
        self,
        ref: RailwayRef,
        variables: Mapping[str, str],
        *,
        shared: bool = False,
        skip_deploys: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Set several variables in one change (`variableCollectionUpsert`, `replace` false: the others
        stay): the service's own, or with `shared` the environment's shared variables. Railway deploys
        the service once for all of them (a shared change: every service referencing one) unless
        `skip_deploys`. The values go to Railway and nowhere else."""
        call = "railway shared variables upsert" if shared else "railway variables upsert"
        names = list(variables)
        if not names:
            raise InvalidIdentifier("variable name", "", "at least one variable")
        for name in names:
            if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
                raise InvalidIdentifier("variable name", name, "letters, digits and _, not starting with a digit")
            if not isinstance(variables[name], str):
                raise TypeError("a Railway variable value must be text")
        wanted: dict[str, Any] = {
            "projectId": ref.project_id,
            "environmentId": ref.environment_id,
            "variables": dict(variables),
            "replace": False,
            "skipDeploys": skip_deploys,
        }
        if not shared:
            wanted["serviceId"] = ref.service_id
        data = await self._execute(call, docs.VARIABLE_COLLECTION_UPSERT, {"input": wanted}, timeout_s, ref=ref)
        if data.get("variableCollectionUpsert") is not True:
            raise ProviderError(call, f"Railway did not confirm that {', '.join(names)} were set")
        return {
            "action": "variable_collection_upsert",
            "service_id": None if shared else ref.service_id,
            "environment_id": ref.environment_id,
            "names": names,
            "shared": shared,
            "redeploys": not skip_deploys,
        }

    async def _variable_upsert(
        self, call: str, ref: RailwayRef, name: str, value: str, *, service_id: str | None,
        skip_deploys: bool, timeout_s: float, what: str,
    ) -> None:
        """One `variableUpsert`: a service's variable, or (no `service_id`) its environment's shared one.
        The name is checked before anything is sent; the value goes to Railway and nowhere else."""
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise InvalidIdentifier("variable name", name, "letters, digits and _, not starting with a digit")
        if not isinstance(value, str):
            raise TypeError("a Railway variable value must be text")
        target = {"serviceId": service_id} if service_id is not None else {}
        variables = {
            "input": {
                "projectId": ref.project_id,
                "environmentId": ref.environment_id,
                **target,
                "name": name,
                "value": value,
                "skipDeploys": skip_deploys,
            }
        }
        data = await self._execute(call, docs.VARIABLE_UPSERT, variables, timeout_s, ref=ref)
        if data.get("variableUpsert") is not True:
            raise ProviderError(call, f"Railway did not confirm that {what} was set")

    async def upsert_shared_variable(
        self, ref: RailwayRef, name: str, value: str, *, skip_deploys: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Set one shared variable of `ref`'s environment (`variableUpsert` without `serviceId`: "Omit
        serviceId to create a shared variable instead", docs.railway.com/integrations/api/manage-variables).
        By default no service deploys (`skipDeploys`): the caller redeploys those that reference it, in
        the order it chooses. The value goes to Railway and nowhere else."""
        await self._variable_upsert(
            "railway shared variable upsert", ref, name, value, service_id=None, skip_deploys=skip_deploys,
            timeout_s=timeout_s, what=f"shared {name}",
        )
        return {
            "action": "shared_variable_upsert",
            "environment_id": ref.environment_id,
            "name": name,
            "shared": True,
            "redeploys": not skip_deploys,
        }

    async def shared_variables(
        self, ref: RailwayRef, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, str | None]:
        """The shared variables of `ref`'s environment (Query.variables without `serviceId`: "If neither
        are provided, all shared variables are returned", Railway's schema). Secrets: callers fingerprint
        them, never show or store them. Sealed ones come back as None."""
        call = "railway shared variables"
        variables = {
            "projectId": ref.project_id,
            "environmentId": ref.environment_id,
            "serviceId": None,
            "unrendered": False,
        }
        data = await self._execute(call, docs.SERVICE_VARIABLES_UNRENDERED, variables, timeout_s, ref=ref)
        found = _dig(call, data, "variables")
        if not isinstance(found, dict):
            raise ProviderError(call, "Railway's answer was not a set of variables")
        return {str(k): None if v is None else str(v) for k, v in found.items()}

    # ---- capacity, volumes and backups -------------------------------------------------------

    async def capacity(self, ref: RailwayRef, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Capacity:
        """The service's merged limits (plan defaults included) and its replica count."""
        call = "railway service limits"
        variables = {"serviceId": ref.service_id, "environmentId": ref.environment_id}
        data = await self._execute(call, docs.SERVICE_CAPACITY, variables, timeout_s, ref=ref)
        limits = data.get("serviceInstanceLimits")
        instance = data.get("serviceInstance")
        limits = limits if isinstance(limits, dict) else {}
        replicas = instance.get("numReplicas") if isinstance(instance, dict) else None
        return Capacity(
            memory_gb=_number(limits.get("memoryGB")),
            vcpus=_number(limits.get("vCPUs")),
            replicas=int(replicas) if isinstance(replicas, int | float) else None,
        )

    async def update_limits(
        self,
        ref: RailwayRef,
        *,
        memory_gb: float | None = None,
        vcpus: float | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Set the service's memory and/or vCPU limit; Railway refuses values outside the plan's limits."""
        call = "railway service limits update"
        wanted: dict[str, Any] = {"serviceId": ref.service_id, "environmentId": ref.environment_id}
        if memory_gb is not None:
            wanted["memoryGB"] = float(memory_gb)
        if vcpus is not None:
            wanted["vCPUs"] = float(vcpus)
        data = await self._execute(call, docs.SERVICE_INSTANCE_LIMITS_UPDATE, {"input": wanted}, timeout_s, ref=ref)
        if data.get("serviceInstanceLimitsUpdate") is not True:
            raise ProviderError(call, "Railway did not accept the new limits")
        return {"action": "limits_update", "service_id": ref.service_id, "memory_gb": memory_gb, "vcpus": vcpus}

    async def update_replicas(
        self, ref: RailwayRef, replicas: int, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Set the number of replicas (`serviceInstanceUpdate` with `numReplicas`)."""
        call = "railway service replicas update"
        variables = {
            "serviceId": ref.service_id,
            "environmentId": ref.environment_id,
            "input": {"numReplicas": int(replicas)},
        }
        data = await self._execute(call, docs.SERVICE_INSTANCE_UPDATE, variables, timeout_s, ref=ref)
        if data.get("serviceInstanceUpdate") is not True:
            raise ProviderError(call, "Railway did not accept the new replica count")
        return {"action": "replicas_update", "service_id": ref.service_id, "replicas": int(replicas)}

    async def volumes(self, ref: RailwayRef, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Volume]:
        """The volume instances mounted on the service in its environment."""
        call = "railway volumes"
        variables = {"environmentId": ref.environment_id, "projectId": ref.project_id}
        data = await self._execute(call, docs.ENVIRONMENT_VOLUMES, variables, timeout_s, ref=ref)
        edges = _dig(call, data, "environment", "volumeInstances", "edges")
        found = []
        for edge in edges or []:
            node = edge.get("node") if isinstance(edge, dict) else None
            if not isinstance(node, dict) or node.get("serviceId") != ref.service_id:
                continue
            volume = node.get("volume") if isinstance(node.get("volume"), dict) else {}
            found.append(
                Volume(
                    id=str(node.get("id")),
                    name=_text(volume.get("name")) or str(node.get("id")),
                    mount_path=_text(node.get("mountPath")),
                    used_mb=_number(node.get("currentSizeMB")),
                    size_mb=_number(node.get("sizeMB")),
                    state=_text(node.get("state")),
                )
            )
        return found

    async def backups(self, volume_instance_id: str, *, ref: RailwayRef | None = None,
                      timeout_s: float = DEFAULT_TIMEOUT_S) -> Backups:
        """The volume's backups (newest first) and whether a backup schedule exists."""
        call = "railway volume backups"
        check_id("Railway volume instance id", volume_instance_id)
        variables = {"volumeInstanceId": volume_instance_id}
        data = await self._execute(call, docs.VOLUME_BACKUPS, variables, timeout_s, ref=ref)
        listed = data.get("volumeInstanceBackupList") or []
        schedules = data.get("volumeInstanceBackupScheduleList") or []
        moments = (parse_timestamp(b.get("createdAt")) for b in listed if isinstance(b, dict))
        taken = sorted((t for t in moments if t is not None), reverse=True)
        kinds = tuple(str(s.get("kind")) for s in schedules if isinstance(s, dict) and s.get("kind"))
        return Backups(taken=tuple(taken), schedules=kinds)

    async def create_backup(self, volume_instance_id: str, *, name: str | None = None,
                            ref: RailwayRef | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
        """Take a backup of the volume now; Railway answers with the workflow that makes it."""
        call = "railway volume backup"
        check_id("Railway volume instance id", volume_instance_id)
        variables = {"volumeInstanceId": volume_instance_id, "name": name}
        data = await self._execute(call, docs.VOLUME_INSTANCE_BACKUP_CREATE, variables, timeout_s, ref=ref)
        made = data.get("volumeInstanceBackupCreate")
        if not isinstance(made, dict):
            raise ProviderError(call, "Railway did not say it started the backup")
        return {"action": "backup", "volume_instance_id": volume_instance_id, "workflow_id": made.get("workflowId")}

    async def delete_variable(
        self, ref: RailwayRef, name: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Delete one service variable (`railway variables delete`); the service redeploys with the change
        (Railway's VariableDeleteInput has no `skipDeploys`)."""
        call = "railway variable delete"
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise InvalidIdentifier("variable name", name, "letters, digits and _, not starting with a digit")
        variables = {
            "input": {
                "projectId": ref.project_id,
                "environmentId": ref.environment_id,
                "serviceId": ref.service_id,
                "name": name,
            }
        }
        data = await self._execute(call, docs.VARIABLE_DELETE, variables, timeout_s, ref=ref)
        if data.get("variableDelete") is not True:
            raise ProviderError(call, f"Railway did not confirm that {name} was deleted")
        return {
            "action": "variable_delete",
            "service_id": ref.service_id,
            "environment_id": ref.environment_id,
            "name": name,
            "redeploys": True,
        }

    # ---- logs and variables ------------------------------------------------------------------

    async def deployment_logs(
        self,
        deployment_id: str,
        *,
        filter: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        ref: RailwayRef | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> list[LogLine]:
        """The deployment's runtime log, oldest first; `filter` is Railway syntax (railway_log_filter).

        Railway answers one line more than `limit` (railwayapp/cli src/controllers/deployment.rs,
        `take_last_n_logs`: "the API has a bug and returns limit+1"), so the newest `limit` are kept.
        """
        call = "railway deployment logs"
        check_id("Railway deployment id", deployment_id)
        variables = {
            "deploymentId": deployment_id,
            "limit": _log_limit(limit),
            "filter": filter or None,
            "startDate": _iso(start, "start"),
            "endDate": _iso(end, "end"),
        }
        data = await self._execute(call, docs.DEPLOYMENT_LOGS, variables, timeout_s, ref=ref)
        return _newest(_to_log_lines(_dig(call, data, "deploymentLogs")), variables["limit"])

    async def build_logs(
        self,
        deployment_id: str,
        limit: int = 100,
        *,
        ref: RailwayRef | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> list[LogLine]:
        """The deployment's build output, oldest first (why a deploy FAILED is usually at its end).

        Trimmed to `limit` lines: Railway answers one more (see `deployment_logs`).
        """
        call = "railway build logs"
        check_id("Railway deployment id", deployment_id)
        variables = {"deploymentId": deployment_id, "limit": _log_limit(limit)}
        data = await self._execute(call, docs.BUILD_LOGS, variables, timeout_s, ref=ref)
        return _newest(_to_log_lines(_dig(call, data, "buildLogs")), variables["limit"])

    async def environment_logs(
        self,
        ref: RailwayRef,
        *,
        filter: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> list[LogLine]:
        """This service's lines of the environment's log, across all its deployments, oldest first.

        Railway has no per-service log query, so the service is selected with `@service:<id>` in the
        filter, and lines tagged with another service are dropped in case the filter was loosened.
        """
        call = "railway environment logs"
        service_id = check_id("Railway service id", ref.service_id)
        scope = f"@service:{service_id}"
        variables = {
            "environmentId": ref.environment_id,
            "filter": f"{scope} AND ({filter})" if filter else scope,
            "anchorDate": _iso(end, "end"),
            "beforeDate": _iso(start, "start"),
            "beforeLimit": _log_limit(limit),
        }
        data = await self._execute(call, docs.ENVIRONMENT_LOGS, variables, timeout_s, ref=ref)
        raw = _dig(call, data, "environmentLogs")
        mine = [item for item in raw or [] if isinstance(item, dict) and _tagged_for(item, service_id)]
        return _newest(_to_log_lines(mine), variables["beforeLimit"])

    async def service_variables(
        self, ref: RailwayRef, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, str | None]:
        """The service's variables as rendered for its deployments, so their values can be masked in logs.

        The values are secrets: callers must use them only for masking, never show or store them.
        A sealed variable comes back as None: Railway never returns its value (railwayapp/cli,
        `get_service_variables_including_sealed`: "a sealed variable comes back with a None value").
        """
        call = "railway service variables"
        variables = {
            "projectId": ref.project_id,
            "environmentId": ref.environment_id,
            "serviceId": ref.service_id,
        }
        data = await self._execute(call, docs.SERVICE_VARIABLES, variables, timeout_s, ref=ref)
        found = _dig(call, data, "variablesForServiceDeployment")
        if not isinstance(found, dict):
            raise ProviderError(call, "Railway's answer was not a set of variables")
        return {str(k): None if v is None else str(v) for k, v in found.items()}

    # ---- metrics -----------------------------------------------------------------------------

    async def service_metrics(
        self,
        ref: RailwayRef,
        *,
        start: datetime,
        end: datetime,
        sample_s: int = 60,
        http_step_s: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> MetricsObservation:
        """CPU, memory, their limits, requests by status, p95 latency and volume use between start and end.

        `sample_s` spaces the CPU and memory samples; `http_step_s` the HTTP ones (the whole window
        by default: one sample, the window's own p95 and counts).
        """
        call = "railway metrics"
        variables = self._metrics_variables(ref, start, end, sample_s, http_step_s)
        data = await self._execute(call, docs.SERVICE_METRICS, variables, timeout_s, ref=ref)
        return _metrics_observation(data, ref, max(60, int((end - start).total_seconds())))

    @staticmethod
    def _metrics_variables(
        ref: RailwayRef, start: datetime, end: datetime, sample_s: int, http_step_s: int | None
    ) -> dict[str, Any]:
        window_s = max(60, int((end - start).total_seconds()))
        return {
            "projectId": ref.project_id,
            "serviceId": ref.service_id,
            "environmentId": ref.environment_id,
            "startDate": _iso(start, "start"),
            "endDate": _iso(end, "end"),
            "measurements": list(METRIC_MEASUREMENTS),
            "sampleRateSeconds": max(1, int(sample_s)),
            "stepSeconds": max(1, int(http_step_s or window_s)),
        }

    async def unrendered_variables(
        self, ref: RailwayRef, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, str | None]:
        """The service's own variables as set, references unrendered (`${{shared.X}}`, `${{api.X}}`),
        to tell where each value comes from (Query.variables with `unrendered: true`). Secrets too:
        callers may classify them, never show or store them. Sealed ones come back as None."""
        call = "railway service variables (unrendered)"
        variables = {
            "projectId": ref.project_id,
            "environmentId": ref.environment_id,
            "serviceId": ref.service_id,
            "unrendered": True,
        }
        data = await self._execute(call, docs.SERVICE_VARIABLES_UNRENDERED, variables, timeout_s, ref=ref)
        found = _dig(call, data, "variables")
        if not isinstance(found, dict):
            raise ProviderError(call, "Railway's answer was not a set of variables")
        return {str(k): None if v is None else str(v) for k, v in found.items()}

    # ---- plumbing ----------------------------------------------------------------------------

    # ---- tokens ------------------------------------------------------------------------------

    async def project_token_scope(self, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> TokenScope | None:
        """The project and environment the project token reaches (None without a project token)."""
        if not self._project_token:
            return None
        if self._scope is None:
            call = "railway project token"
            data = await self._post(call, docs.PROJECT_TOKEN, {}, timeout_s, self._project_headers())
            node = _dig(call, data, "projectToken")
            project = node.get("project") if isinstance(node, dict) else None
            environment = node.get("environment") if isinstance(node, dict) else None
            if not isinstance(project, dict) or not isinstance(environment, dict):
                raise ProviderError(call, "Railway did not say which environment the project token covers")
            self._scope = TokenScope(
                project_id=str(project.get("id")),
                environment_id=str(environment.get("id")),
                project_name=_text(project.get("name")),
                environment_name=_text(environment.get("name")),
            )
        return self._scope

    async def token_for(self, ref: RailwayRef, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> str | None:
        """Which token reaches this service: "project token", "account token", or None when neither does."""
        scope = await self.project_token_scope(timeout_s=timeout_s)
        if scope is not None and scope.covers(ref):
            return "project token"
        return "account token" if self._api_token else None

    def _project_headers(self) -> dict[str, str]:
        return {"Project-Access-Token": self._project_token or ""}

    async def _auth_headers(self, ref: RailwayRef | None, timeout_s: float) -> dict[str, str]:
        """The credential for a request about `ref`: the project token only inside its environment.

        Without `ref` (a call about a deployment whose service is not known), the account token when
        there is one. With only a project token, it is sent whatever the service: Railway refuses it
        outside its environment, and `pitcrew check` names such services beforehand.
        """
        if self._project_token and self._api_token:
            if ref is not None and not self._project_token_refused:
                try:
                    scope = await self.project_token_scope(timeout_s=timeout_s)
                except RateLimited:
                    raise
                except ProviderError as err:  # a revoked project token must not cost the account token's services
                    log.warning("the project token's scope is unknown (%s); using the account token", err.reason)
                    if isinstance(err, RailwayGraphQLError):  # Railway refused the token: it will again
                        self._project_token_refused = True
                    scope = None
                if scope is not None and scope.covers(ref):
                    return self._project_headers()
            return {"Authorization": f"Bearer {self._api_token}"}
        if self._project_token:
            return self._project_headers()
        if self._api_token:
            return {"Authorization": f"Bearer {self._api_token}"}
        return {}

    async def _boolean_mutation(
        self, call: str, document: str, deployment_id: str, timeout_s: float, ref: RailwayRef | None
    ) -> dict[str, Any]:
        check_id("Railway deployment id", deployment_id)
        data = await self._execute(call, document, {"id": deployment_id}, timeout_s, ref=ref)
        field = next(iter(data), None)
        if field is None or data[field] is not True:
            raise ProviderError(call, f"Railway did not accept it (answered {data.get(field)!r})")
        return {"action": call.removeprefix("railway "), "deployment_id": deployment_id, "accepted": True}

    async def _execute(
        self,
        call: str,
        document: str,
        variables: Mapping[str, Any],
        timeout_s: float,
        *,
        ref: RailwayRef | None = None,
    ) -> dict[str, Any]:
        """POST one operation with the token that reaches `ref`; its `data`, or ProviderError."""
        return await self._post(call, document, variables, timeout_s, await self._auth_headers(ref, timeout_s))

    async def _post(
        self, call: str, document: str, variables: Mapping[str, Any], timeout_s: float, headers: dict[str, str]
    ) -> dict[str, Any]:
        """POST one operation; a 429 asking for a few seconds is retried once, a longer one is RateLimited."""
        payload = {"query": document, "operationName": docs.operation_name(document), "variables": variables}
        retried = False
        while True:
            response = await self._send(call, payload, headers, timeout_s)
            note_budget("Railway", response.headers)
            if response.status_code != 429:
                break
            decision = decide(response.headers, self._clock(), retried=retried)
            if not decision.retry:
                raise RateLimited(call, "Railway", decision.until)
            log.info("%s: Railway asked to wait %.1f s; retrying once", call, decision.wait_s)
            await asyncio.sleep(decision.wait_s)
            retried = True
        return self._read(call, response)

    async def _send(
        self, call: str, payload: dict[str, Any], headers: dict[str, str], timeout_s: float
    ) -> httpx.Response:
        try:
            async with asyncio.timeout(timeout_s):
                return await self._http.post(self._url, json=payload, headers=headers, timeout=timeout_s)
        except (TimeoutError, httpx.TimeoutException):
            raise NoAnswer(call, f"no answer within {timeout_s:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise ProviderError(call, f"could not reach Railway ({type(err).__name__}: {err})") from None

    @staticmethod
    def _read(call: str, response: httpx.Response) -> dict[str, Any]:
        """The answer's `data`; errors about optional fields only are logged and the rest kept."""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if response.status_code >= 400:
            said = _error_messages(errors) or [_excerpt(response.text)]
            raise ProviderError(call, f"HTTP {response.status_code}: " + "; ".join(m for m in said if m))
        if not isinstance(body, dict):
            raise ProviderError(call, f"the answer was not JSON ({_excerpt(response.text) or 'empty'})")
        data = body.get("data")
        if errors:
            if isinstance(data, dict) and isinstance(errors, list) and all(_optional(e) for e in errors):
                said = "; ".join(_error_messages(errors))
                log.warning("%s: Railway left out what it could not resolve: %s", call, said)
                return data
            raise RailwayGraphQLError(call, _error_messages(errors), _error_paths(errors))
        if not isinstance(data, dict):
            raise ProviderError(call, "the answer carried no data")
        return data


# ---- reading Railway's answers ------------------------------------------------------------------


def _error_messages(errors: object) -> list[str]:
    if not isinstance(errors, list):
        return []
    return [_excerpt(str(e.get("message") if isinstance(e, dict) else e)) for e in errors]


def _error_paths(errors: list[Any]) -> list[str | None]:
    paths = [e.get("path") if isinstance(e, dict) else None for e in errors]
    return [str(p[0]) if isinstance(p, list) and p else None for p in paths]


def _optional(error: object) -> bool:
    """Whether a GraphQL error is about a nested field pitcrew can do without (its path ends there)."""
    path = error.get("path") if isinstance(error, dict) else None
    return isinstance(path, list) and len(path) > 1 and path[-1] in OPTIONAL_FIELDS


def _newest(lines: list[LogLine], limit: int) -> list[LogLine]:
    return lines[-limit:] if limit > 0 else lines


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."


def _dig(call: str, data: Any, *path: str) -> Any:
    node = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise ProviderError(call, f"unexpected answer: no `{'.'.join(path)}`")
        node = node[key]
    return node


def _active(data: dict[str, Any]) -> list[dict[str, Any]]:
    instance = data.get("serviceInstance")
    active = instance.get("activeDeployments") if isinstance(instance, dict) else None
    return [d for d in active or [] if isinstance(d, dict)]


def _current_id(active: list[dict[str, Any]]) -> str | None:
    """The deployment serving now: the newest active one whose instances have not all stopped."""
    running = [d for d in active if d.get("id") and not d.get("deploymentStopped")]
    if not running:
        return None
    newest = max(running, key=lambda d: parse_timestamp(d.get("createdAt")) or _EPOCH)
    return str(newest["id"])


def _tagged_for(item: dict[str, Any], service_id: str) -> bool:
    tags = item.get("tags")
    return not isinstance(tags, dict) or tags.get("serviceId") in (None, service_id)


def _to_deployment(node: dict[str, Any], current_id: str | None) -> Deployment:
    meta = node.get("meta") if isinstance(node.get("meta"), dict) else {}
    creator = node.get("creator") if isinstance(node.get("creator"), dict) else {}
    url = node.get("url") or node.get("staticUrl")
    if isinstance(url, str) and url and "://" not in url:
        url = f"https://{url}"
    kept = {k: meta[k] for k in _META_KEYS if isinstance(meta.get(k), str | int | float | bool)}
    if node.get("serviceId"):
        kept["service_id"] = node["serviceId"]
    return Deployment(
        id=str(node.get("id")),
        status=str(node.get("status") or "UNKNOWN").upper(),
        created_at=parse_timestamp(node.get("createdAt")),
        commit_hash=_text(meta.get("commitHash")),
        commit_message=_text(meta.get("commitMessage")),
        author=_text(meta.get("commitAuthor")) or _text(creator.get("name")),
        url=url if isinstance(url, str) and url else None,
        can_rollback=node.get("canRollback") if isinstance(node.get("canRollback"), bool) else None,
        is_current=current_id is not None and str(node.get("id")) == current_id,
        meta=kept,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _to_log_lines(raw: object) -> list[LogLine]:
    lines: list[LogLine] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        attributes = {
            str(a["key"]): _attribute_value(a.get("value"))
            for a in item.get("attributes") or []
            if isinstance(a, dict) and a.get("key")
        }
        tags = item.get("tags") if isinstance(item.get("tags"), dict) else {}
        for tag in ("deploymentId", "deploymentInstanceId"):
            if tags.get(tag) and tag not in attributes:
                attributes[tag] = tags[tag]
        level = normalise_level(item.get("severity")) or normalise_level(attributes.get("level"))
        lines.append(
            LogLine(
                timestamp=parse_timestamp(item.get("timestamp")),
                level=level,
                message=str(item.get("message") or ""),
                attributes=attributes,
            )
        )
    return lines


def _attribute_value(value: object) -> Any:
    """Railway sends each structured-log attribute JSON-encoded (`"\\"error\\""`); decode what decodes."""
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except (json.JSONDecodeError, ValueError):
        return value
    return decoded if isinstance(decoded, str | int | float | bool) or decoded is None else value


def _log_limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LOG_LINES))


def _iso(moment: datetime | None, what: str) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be an aware datetime (UTC), got a naive one")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _series(samples: object, key: str = "value") -> Series:
    """`[{ts, value}]` as (ts, value) pairs, oldest first; samples without a number are skipped."""
    pairs = [
        (int(s["ts"]), float(s[key]))
        for s in _list(samples)
        if isinstance(s.get("ts"), int | float) and isinstance(s.get(key), int | float)
    ]
    return tuple(sorted(pairs))


def _volumes(data: dict[str, Any], service_id: str) -> tuple[VolumeUse, ...]:
    """The service's own volumes among the environment's (a volume is attached to one service)."""
    environment = data.get("environment")
    connection = environment.get("volumeInstances") if isinstance(environment, dict) else None
    edges = connection.get("edges") if isinstance(connection, dict) else None
    found = []
    for edge in _list(edges):
        node = edge.get("node")
        if not isinstance(node, dict) or node.get("serviceId") != service_id:
            continue
        used, size = node.get("currentSizeMB"), node.get("sizeMB")
        if isinstance(used, int | float) and isinstance(size, int | float):
            found.append(VolumeUse(str(node.get("mountPath") or "?"), float(used), float(size)))
    return tuple(found)


def _deployment_observation(call: str, data: dict[str, Any]) -> DeploymentObservation:
    """The newest deployment, and the states of the instances serving the service now (see latest_deployment)."""
    instance = _dig(call, data, "serviceInstance")
    active = _active(data)
    latest = instance.get("latestDeployment") if isinstance(instance, dict) else None
    deployment = _to_deployment(latest, _current_id(active)) if isinstance(latest, dict) else None
    running = [d for d in active if not d.get("deploymentStopped")]
    sources = running or ([latest] if isinstance(latest, dict) else [])
    states = tuple(
        str(inst.get("status", "")).upper()
        for source in sources
        for inst in (source.get("instances") or [])
        if isinstance(inst, dict) and inst.get("status")
    )
    return DeploymentObservation(provider="railway", deployment=deployment, instance_states=states)


def _metrics_observation(data: dict[str, Any], ref: RailwayRef, window_s: int) -> MetricsObservation:
    """Railway's `metrics`, `httpMetricsGroupedByStatus`, `httpDurationMetrics` and volumes, as plain series."""
    series = {str(m.get("measurement")): _series(m.get("values")) for m in _list(data.get("metrics"))}
    by_status: dict[int, float] = {}
    errors: dict[int, float] = {}
    requests: dict[int, float] = {}
    for group in _list(data.get("httpMetricsGroupedByStatus")):
        status = group.get("statusCode")
        if not isinstance(status, int):
            continue
        for ts, value in _series(group.get("samples")):
            by_status[status] = by_status.get(status, 0.0) + value
            requests[ts] = requests.get(ts, 0.0) + value
            if 500 <= status <= 599:
                errors[ts] = errors.get(ts, 0.0) + value
    duration = data.get("httpDurationMetrics")
    cpu_limit, memory_limit = _instance_limits(data.get("serviceInstanceLimits"))
    last_ts = max((ts for values in series.values() for ts, _ in values), default=0)
    return MetricsObservation(
        cpu=series.get("CPU_USAGE", ()),
        cpu_limit=series.get("CPU_LIMIT") or (((last_ts, cpu_limit),) if cpu_limit else ()),
        memory_gb=series.get("MEMORY_USAGE_GB", ()),
        memory_limit_gb=series.get("MEMORY_LIMIT_GB") or (((last_ts, memory_limit),) if memory_limit else ()),
        requests_by_status=by_status,
        errors_5xx=tuple(sorted((ts, errors.get(ts, 0.0)) for ts in requests)),
        requests=tuple(sorted(requests.items())),
        p95_ms=_series(duration.get("samples") if isinstance(duration, dict) else None, "p95"),
        volumes=_volumes(data, ref.service_id),
        window_minutes=window_s / 60,
    )


def _instance_limits(limits: object) -> tuple[float | None, float | None]:
    """(vCPUs, GB of memory) from `serviceInstanceLimits`, a JSON scalar read in either shape reported:
    `{containers: {cpu, memoryBytes}}` (railwayapp/railway-ts-sdk#57) or the update input's own keys
    `{vCPUs, memoryGB}`; None for what is absent."""
    if not isinstance(limits, dict):
        return None, None
    containers = limits.get("containers")
    if isinstance(containers, dict):
        cpu, memory = containers.get("cpu"), containers.get("memoryBytes")
        memory = memory / 1e9 if isinstance(memory, int | float) else None
    else:
        cpu, memory = limits.get("vCPUs"), limits.get("memoryGB")
    return (
        float(cpu) if isinstance(cpu, int | float) and cpu > 0 else None,
        float(memory) if isinstance(memory, int | float) and memory > 0 else None,
    )
