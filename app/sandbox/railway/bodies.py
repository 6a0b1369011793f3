"""The JSON the fake Railway answers with, shaped as Railway's GraphQL schema has its types.

The resolvers of app/sandbox/railway/graphql.py build their answers here from the world's
dataclasses (app/sandbox/railway/world.py): a deployment, a service instance, log lines and their
tags. A new type's shape (a volume, a metric, a replica) goes here, next to its kin.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from app.sandbox.railway.logs import parse_filter, railway_severity
from app.sandbox.railway.world import DeploymentEvent, FakeDeployment, FakeLog, FakeService, FakeVolume, RailwayWorld


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deployment_json(world: RailwayWorld, d: FakeDeployment) -> dict[str, Any]:
    service = world.services[d.service_id]
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
        "createdAt": iso(d.created_at),
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


def instance_json(world: RailwayWorld, service: FakeService) -> dict[str, Any]:
    active = [d for d in service.deployments if d.active]
    return {"activeDeployments": [deployment_json(world, d) for d in active]}


def logs_json(
    world: RailwayWorld,
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
    chosen = sorted((pair for pair in lines if matcher(pair[0], log_tags(world, pair[1]))), key=lambda pair: pair[0].at)
    count = limit if isinstance(limit, int) and limit > 0 else 100
    count += 1 if one_more else 0
    return [log_json(world, line, deployment) for line, deployment in chosen[-count:]]


def log_tags(world: RailwayWorld, deployment: FakeDeployment) -> dict[str, Any]:
    service = world.services[deployment.service_id]
    return {
        "projectId": service.project_id,
        "environmentId": service.environment_id,
        "serviceId": service.id,
        "deploymentId": deployment.id,
        "deploymentInstanceId": deployment.instances[0]["id"] if deployment.instances else None,
    }


def log_json(world: RailwayWorld, line: FakeLog, deployment: FakeDeployment) -> dict[str, Any]:
    # Railway keeps the line's level as its normalised `severity`; the attribute list has the rest
    # ("`log.level` converted to `log.severity`", observability/logs.md, "Normalization strategy").
    attributes: list[dict[str, Any]] = []
    attributes += [{"key": k, "value": json.dumps(val)} for k, val in line.attributes.items()]
    tags = log_tags(world, deployment)
    return {
        "timestamp": line.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z",
        "message": line.message,
        "severity": railway_severity(line.level),
        "attributes": attributes,
        "tags": {k: tags[k] for k in ("serviceId", "deploymentId", "deploymentInstanceId")},
    }


# ---- metrics ---------------------------------------------------------------------------------------
# Shapes from Railway's schema (refdata/railway/schema.json): `metrics` is a list of MetricsResult
# {measurement, tags, values: [Metric {ts: Int (unix seconds), value: Float}]}, one per measurement;
# `httpMetricsGroupedByStatus` a list of HttpMetricsByStatusResult {statusCode, samples: [{ts, value}]};
# `httpDurationMetrics` an HttpDurationMetricsResult {samples: [{ts, p50, p90, p95, p99}]}. The CLI
# reads them so (railwayapp/cli src/gql/queries/strings/Metrics.graphql, HttpMetricsByStatus.graphql,
# HttpDurationMetrics.graphql).


def _steps(start: datetime, end: datetime, step_s: int) -> list[datetime]:
    step_s = max(1, step_s)
    moments, moment = [], start + timedelta(seconds=step_s)
    while moment <= end and len(moments) < 10_000:
        moments.append(moment)
        moment += timedelta(seconds=step_s)
    return moments or [end]


_LIMITS = frozenset({"CPU_LIMIT", "MEMORY_LIMIT_GB"})


def metrics_json(
    world: RailwayWorld, service: FakeService, measurements: list[str], start: datetime, end: datetime, step_s: int
) -> list[dict[str, Any]]:
    levels = service.metrics
    moments = _steps(start, end, step_s)
    constant = {"CPU_USAGE": levels.cpu, "CPU_LIMIT": service.vcpus, "MEMORY_LIMIT_GB": service.memory_gb}
    results = []
    for measurement in measurements:
        if measurement == "MEMORY_USAGE_GB":
            values = [world.memory_at(service.id, m, step_s) for m in moments]
        elif measurement in _LIMITS and not levels.limits_in_metrics:
            results.append({"measurement": measurement, "tags": {"serviceId": service.id}, "values": []})
            continue
        elif measurement in constant:
            values = [constant[measurement]] * len(moments)
        else:
            values = [0.0] * len(moments)
        results.append({
            "measurement": measurement,
            "tags": {"serviceId": service.id},
            "values": [{"ts": int(m.timestamp()), "value": v} for m, v in zip(moments, values, strict=True)],
        })
    return results


def http_by_status_json(service: FakeService, start: datetime, end: datetime, step_s: int) -> list[dict[str, Any]]:
    """Requests per status code per step; a status with no request is left out, as Railway groups what it saw."""
    levels = service.metrics
    moments = _steps(start, end, step_s)
    per_step = levels.requests_per_minute * max(1, step_s) / 60
    errors = per_step * levels.error_ratio
    groups = []
    for status, count in ((200, per_step - errors), (500, errors)):
        if count > 0:
            samples = [{"ts": int(m.timestamp()), "value": count} for m in moments]
            groups.append({"statusCode": status, "samples": samples})
    return groups


def http_duration_json(service: FakeService, start: datetime, end: datetime, step_s: int) -> dict[str, Any]:
    p95 = service.metrics.p95_ms
    samples = [
        {"ts": int(m.timestamp()), "p50": p95 / 3, "p90": p95 * 0.8, "p95": p95, "p99": p95 * 1.5}
        for m in _steps(start, end, step_s)
    ]
    return {"samples": samples if service.metrics.requests_per_minute > 0 else []}


def volume_instances_json(world: RailwayWorld, environment_id: str) -> dict[str, Any]:
    """The environment's volume instances (`Environment.volumeInstances`, a Relay connection)."""
    edges = [
        {"node": {"serviceId": s.id, "mountPath": v.mount_path, "currentSizeMB": v.used_mb, "sizeMB": int(v.size_mb)}}
        for s in world.services.values()
        if s.environment_id == environment_id
        for v in s.volumes
    ]
    return {"edges": edges}


def limits_json(service: FakeService) -> dict[str, Any]:
    """serviceInstanceLimits is a JSON scalar; its keys are the update input's (`vCPUs`, `memoryGB`),
    as clients of the API read them back (schema: ServiceInstanceLimitsUpdateInput)."""
    return {"vCPUs": service.vcpus, "memoryGB": service.memory_gb}


def volume_json(service: FakeService, volume: FakeVolume) -> dict[str, Any]:
    """A VolumeInstance with the fields the CLI's EnvironmentInstances query reads."""
    return {
        "id": volume.id,
        "serviceId": service.id,
        "mountPath": volume.mount_path,
        "currentSizeMB": volume.used_mb,
        "sizeMB": volume.size_mb,
        "state": "READY",
        "volume": {"id": f"vol-{volume.id[:8]}", "name": volume.name},
    }


def backups_json(volume: FakeVolume) -> dict[str, Any]:
    """volumeInstanceBackupList and volumeInstanceBackupScheduleList (VolumeInstanceBackup and
    VolumeInstanceBackupSchedule in Railway's schema)."""
    crons = {"DAILY": "0 3 * * *", "WEEKLY": "0 3 * * 0", "MONTHLY": "0 3 1 * *"}
    return {
        "volumeInstanceBackupList": [
            {"id": bid, "name": name, "createdAt": iso(at), "expiresAt": None, "usedMB": int(volume.used_mb),
             "scheduleId": None}
            for bid, at, name in volume.backups
        ],
        "volumeInstanceBackupScheduleList": [
            {"id": f"sched-{kind.lower()}", "kind": kind, "cron": crons.get(kind, "0 3 * * *"), "name": kind.title(),
             "retentionSeconds": 7 * 86400}
            for kind in volume.schedules
        ],
    }


# The severity of each event's webhook: INFO for a deploy that went live (the live delivery cited on
# DeploymentEvent), WARNING for a failure (the docs' `Deployment.failed` example).
_WEBHOOK_SEVERITY = {"deployed": "INFO", "crashed": "WARNING", "failed": "WARNING"}


def deployment_webhook(world: RailwayWorld, event: DeploymentEvent) -> dict[str, Any]:
    """A project webhook's body for a deployment's status change, in the shape Railway sends since
    November 2025 (refdata/webhooks/railway_webhook_2025-11_docs_example.jsonc: `type`, `details`
    with the commit, `resource` with the ids and names, `severity`, `timestamp`)."""
    service = world.services[event.service_id]
    deployment = world.deployment(event.deployment_id)
    return {
        "type": f"Deployment.{event.event}",
        "details": {
            "id": deployment.id,
            "source": "GitHub",
            "status": event.status,
            "branch": deployment.branch,
            "commitHash": deployment.commit_hash,
            "commitAuthor": deployment.commit_author,
            "commitMessage": deployment.commit_message,
        },
        "resource": {
            "workspace": {"id": "sandbox-workspace", "name": "sandbox"},
            "project": {"id": service.project_id, "name": "acme"},
            "environment": {"id": service.environment_id, "name": "production", "isEphemeral": False},
            "service": {"id": service.id, "name": service.name},
            "deployment": {"id": deployment.id},
        },
        "severity": _WEBHOOK_SEVERITY.get(event.event, "INFO"),
        "timestamp": iso(event.at),
    }
