"""The provider calls behind actions: reading deployments to plan one, and the one call that runs it.

Kept apart from the use cases so that "which client, which reference, which call" is one short
table (`execute`) that a reviewer can hold against app/core/actions.py's list of actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.catalog import PostgresRef, Service
from app.core.actions import ActionNotAvailable, ActionSpec, masked_params
from app.core.observations import Deployment
from app.flows.secret_inputs import open_inputs
from app.providers.base import ProviderError
from app.providers.postgres import describe_dsn, terminate_idle_sessions
from app.providers.railway import RailwayClient
from app.providers.vercel import VercelClient
from app.store.proposals import ProposalRecord

if TYPE_CHECKING:
    from app.deps import Deps


class ActionError(Exception):
    """Nothing was proposed (or listed): `reason` says what was wrong, for the person who asked."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class CannotPropose(Exception):
    """A check of the flow itself failed: no current deployment, nothing idle, no token to reach the provider."""


def railway(deps: Deps) -> RailwayClient:
    if deps.railway is None:
        raise CannotPropose("RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN is not set, so pitcrew cannot reach Railway")
    return deps.railway


def vercel(deps: Deps) -> VercelClient:
    if deps.vercel is None:
        raise CannotPropose("VERCEL_TOKEN is not set, so pitcrew cannot reach Vercel")
    return deps.vercel


def postgres(deps: Deps, service: Service) -> tuple[PostgresRef, str]:
    """The database's reference and the DSN the idle cleanup connects with (from the environment, never the file).

    That is `direct_dsn_env` when the catalog names one, else `dsn_env`. A DSN that goes through a
    connection pooler is refused: pg_stat_activity there lists the pooler's own server connections,
    idle between transactions by design, while an application's leaked connections wait in the
    pooler where no pg_terminate_backend reaches them (Neon and Supabase both say to use the direct
    connection for administrative work: neon.com/docs/connect/connection-pooling,
    supabase.com/docs/guides/database/connecting-to-postgres).
    """
    ref = service.postgres
    if ref is None:
        raise ActionNotAvailable(f"{service.provider} services have no database")
    name = ref.direct_dsn_env or ref.dsn_env
    dsn = deps.environ.get(name, "")
    if not dsn.strip():
        raise CannotPropose(f"environment variable {name} is not set, so pitcrew cannot reach the database")
    facts = describe_dsn(dsn, "idle sessions")
    if facts.pooler and ref.direct_dsn_env:
        raise CannotPropose(
            f"{name} (direct_dsn_env) goes through {facts.pooler}; it must reach PostgreSQL without the pooler"
        )
    if facts.pooler:
        raise CannotPropose(
            f"{name} goes through {facts.pooler}: ending idle sessions there would end the pooler's own server"
            " connections, not the application's leaked ones. Set `postgres.direct_dsn_env` in pitcrew.yml to"
            " a variable holding the database's direct DSN"
        )
    return ref, dsn


async def history(deps: Deps, service: Service, limit: int) -> list[Deployment]:
    """The service's latest deployments, newest first (a Railway-hosted PostgreSQL's too)."""
    if service.provider in ("railway", "postgres") and service.railway is not None:
        return await railway(deps).deployments(service.railway, limit)
    if service.provider == "vercel" and service.vercel is not None:
        return await vercel(deps).deployments(service.vercel, limit)
    raise ActionNotAvailable(f"{service.provider} services have no deployments")


async def deployment(deps: Deps, service: Service, deployment_id: str) -> Deployment:
    """One deployment of this service; UnknownDeployment when unknown or another service's."""
    if service.provider in ("railway", "postgres") and service.railway is not None:
        return await railway(deps).deployment(service.railway, deployment_id)
    if service.provider == "vercel" and service.vercel is not None:
        return await vercel(deps).deployment(service.vercel, deployment_id)
    raise ActionNotAvailable(f"{service.provider} services have no deployments")


async def execute(deps: Deps, spec: ActionSpec, record: ProposalRecord) -> dict[str, Any]:
    """The one provider call of the action: its answer, or ProviderError saying which call failed and why."""
    service = deps.catalog.service(record.service)
    inputs = open_inputs(deps, spec, record.id, record.params.get("inputs", {}))
    if any(k in inputs and inputs[k] is None for k in spec.secret):
        raise ActionNotAvailable(
            "the value to set could not be opened (AUDIT_KEY or SLACK_SIGNING_SECRET changed since it was "
            "typed); nothing was sent: propose it again"
        )
    match (spec.provider, spec.kind):
        case ("railway", "rollback"):
            return await railway(deps).rollback(inputs["target_deployment_id"], ref=service.railway)
        case ("railway", "restart") | ("postgres", "restart"):
            return await railway(deps).restart(inputs["deployment_id"], ref=service.railway)
        case ("railway", "redeploy"):
            return await railway(deps).redeploy(inputs["deployment_id"], ref=service.railway)
        case ("railway", "stop"):
            return await railway(deps).stop(inputs["deployment_id"], ref=service.railway)
        case ("railway", "set_variable") if service.railway is not None:
            return await _railway_set(railway(deps), service, inputs)
        case ("railway" | "postgres", "scale") if service.railway is not None:
            return await scale(deps, service, inputs)
        case ("railway" | "postgres", "backup"):
            answer = await railway(deps).create_backup(
                inputs["volume_instance_id"], name=f"pitcrew {record.id[:12]}", ref=service.railway
            )
            return {**answer, "volume_name": inputs.get("volume_name")}
        case ("railway", "unset_variable") if service.railway is not None:
            return await railway(deps).delete_variable(service.railway, inputs["name"])
        case ("vercel", "redeploy") if service.vercel is not None:
            return await vercel(deps).redeploy(service.vercel, inputs["deployment_id"])
        case ("vercel", "set_variable" | "unset_variable") if service.vercel is not None:
            return await _vercel_variable(vercel(deps), service, spec.kind, inputs)
        case ("vercel", "rollback") if service.vercel is not None:
            return await vercel(deps).rollback(
                service.vercel, inputs["target_deployment_id"], description=f"pitcrew {record.id[:12]}"
            )
        case ("vercel", "promote") if service.vercel is not None:
            return await vercel(deps).promote(service.vercel, inputs["target_deployment_id"])
        case ("postgres", "terminate_idle_sessions"):
            ref, dsn = postgres(deps, service)
            minutes = float(inputs["idle_minutes"])
            pids = await terminate_idle_sessions(dsn, idle_minutes=minutes, timeout_s=ref.timeout_s, roles=ref.roles)
            # The variable's name (never its value) and the roles: the audit trail says what was reached.
            return {
                "action": "terminate_idle_sessions",
                "terminated": len(pids),
                "pids": pids[:100],
                "dsn_env": ref.direct_dsn_env or ref.dsn_env,
                "roles": list(ref.roles),
            }
    raise ActionNotAvailable(f"{record.service} is no longer a {spec.provider} service; {spec.kind} cannot run")


async def scale(deps: Deps, service: Service, inputs: dict[str, Any]) -> dict[str, Any]:
    """Change the limit or the replica count, then redeploy the serving deployment so it takes effect
    (instance changes made through Railway's API apply on the next deployment: station.railway.com,
    "apply new variables in deployment"); the verification then watches that new deployment."""
    client = railway(deps)
    ref = service.railway
    assert ref is not None
    resource, value = str(inputs["resource"]), float(inputs["value"])
    if resource == "replicas":
        changed = await client.update_replicas(ref, int(value))
    elif resource == "memory":
        changed = await client.update_limits(ref, memory_gb=value)
    else:
        changed = await client.update_limits(ref, vcpus=value)
    redeployed = await client.redeploy(str(inputs["deployment_id"]), ref=ref)
    return {**changed, "new_deployment_id": redeployed["new_deployment_id"], "status": redeployed.get("status")}
async def _railway_set(client: RailwayClient, service: Service, inputs: dict[str, Any]) -> dict[str, Any]:
    """Railway: one name (`variableUpsert`), several names of the service with one value
    (`variableCollectionUpsert`, one deploy for all), or the environment's shared variable the service
    references (`variableUpsert` without `serviceId`, skipDeploys) followed by this service's redeploy,
    so the services referencing it take it one at a time, in the order the caller chose."""
    ref = service.railway
    assert ref is not None
    name, value = str(inputs["name"]), inputs["value"]
    redeploy = bool(inputs.get("redeploy", True))
    shared = inputs.get("shared")
    if shared:
        answer = await client.upsert_shared_variable(ref, str(shared), value, skip_deploys=True)
        try:
            deployed = await client.redeploy(str(inputs["deployment_id"]), ref=ref)
        except ProviderError as err:
            raise ProviderError(
                err.call, f"the shared {shared} was set, but the service did not redeploy: {err.reason}"
            ) from None
        return {
            **answer, "name": name, "shared_name": str(shared), "redeploys": True,
            "new_deployment_id": deployed["new_deployment_id"],
        }
    names = [name, *(str(n) for n in inputs.get("also") or () if n != name)]
    if len(names) > 1:
        answer = await client.upsert_variables(ref, {n: value for n in names}, skip_deploys=not redeploy)
        return {**answer, "name": name}
    return await client.upsert_variable(ref, name, value, skip_deploys=not redeploy)


async def _vercel_variable(
    client: VercelClient, service: Service, kind: str, inputs: dict[str, Any]
) -> dict[str, Any]:
    """Vercel: the env entry changed for its targets, then one production redeploy of what serves, so the
    change is live (Vercel applies variables only to new deployments, vercel.com/docs/environment-variables)."""
    assert service.vercel is not None
    targets = tuple(inputs.get("targets") or ("production",))
    if kind == "set_variable":
        answer = await client.set_env(
            service.vercel, inputs["name"], inputs["value"], targets=targets,
            kind=str(inputs.get("type") or "encrypted"),
        )
    else:
        answer = await client.delete_env(service.vercel, inputs["name"], targets=targets)
    if inputs.get("redeploy", True) and inputs.get("deployment_id"):
        deployed = await client.redeploy(service.vercel, inputs["deployment_id"])
        answer = {**answer, "redeploys": True, "new_deployment_id": deployed["new_deployment_id"]}
    return answer


def request(spec: ActionSpec, record: ProposalRecord) -> dict[str, Any]:
    """The provider request as the audit trail keeps it: the call and its parameters, secrets masked."""
    return {"call": spec.call, "service": record.service, **masked_params(spec, record.params.get("inputs", {}))}
