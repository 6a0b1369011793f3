"""Every GraphQL document pitcrew sends to Railway, one constant each, with nothing ever interpolated.

They live apart from the client so that a test can validate each of them against Railway's published
schema (tests/spec_check.py) and so that a reviewer sees at a glance that user input can only reach
Railway through `variables`. Operation names follow the Railway CLI's where the CLI has the same
operation (`Deployments`, `DeploymentLogs`, `DeploymentRedeploy`, ...); the sandbox dispatches on them.
"""

from __future__ import annotations

import re

_DEPLOYMENT_FIELDS = """
fragment DeploymentFields on Deployment {
  id
  status
  createdAt
  url
  staticUrl
  canRollback
  deploymentStopped
  meta
  serviceId
  environmentId
  projectId
  creator {
    name
  }
}
"""

_LOG_FIELDS = """
fragment LogFields on Log {
  timestamp
  message
  severity
  attributes {
    key
    value
  }
  tags {
    serviceId
    deploymentId
    deploymentInstanceId
  }
}
"""

# The service instance's active deployments say which deployment is serving now, which the
# deployments list alone cannot: a newer deployment may have failed or still be building. Deployments
# and Deployment both ask it, and RailwayClient reads both answers the same way: one selection.
_ACTIVE_DEPLOYMENTS_SELECTION = """
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) {
    activeDeployments {
      id
      createdAt
      deploymentStopped
    }
  }
"""

DEPLOYMENTS = (
    """
query Deployments($input: DeploymentListInput!, $first: Int, $serviceId: String!, $environmentId: String!) {
  deployments(input: $input, first: $first) {
    edges {
      node {
        ...DeploymentFields
      }
    }
  }"""
    + _ACTIVE_DEPLOYMENTS_SELECTION
    + "}\n"
    + _DEPLOYMENT_FIELDS
)

# A service's newest deployment and the deployments serving it now, with their instances. One
# selection for LatestDeployment and LatestDeploymentWithMetrics (whose fallback is LatestDeployment):
# RailwayClient reads both answers with the same code, so they must not drift apart.
_LATEST_DEPLOYMENT_SELECTION = """
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) {
    latestDeployment {
      ...DeploymentFields
      instances {
        id
        status
      }
    }
    activeDeployments {
      id
      createdAt
      deploymentStopped
      instances {
        id
        status
      }
    }
  }
"""

LATEST_DEPLOYMENT = (
    "query LatestDeployment($serviceId: String!, $environmentId: String!) {"
    + _LATEST_DEPLOYMENT_SELECTION
    + "}\n"
    + _DEPLOYMENT_FIELDS
)

DEPLOYMENT = (
    """
query Deployment($id: String!, $serviceId: String!, $environmentId: String!) {
  deployment(id: $id) {
    ...DeploymentFields
  }"""
    + _ACTIVE_DEPLOYMENTS_SELECTION
    + "}\n"
    + _DEPLOYMENT_FIELDS
)

DEPLOYMENT_ROLLBACK = """
mutation DeploymentRollback($id: String!) {
  deploymentRollback(id: $id)
}
"""

DEPLOYMENT_RESTART = """
mutation DeploymentRestart($id: String!) {
  deploymentRestart(id: $id)
}
"""

DEPLOYMENT_REDEPLOY = """
mutation DeploymentRedeploy($id: String!) {
  deploymentRedeploy(id: $id) {
    id
    status
    createdAt
  }
}
"""

DEPLOYMENT_STOP = """
mutation DeploymentStop($id: String!) {
  deploymentStop(id: $id)
}
"""

VARIABLE_UPSERT = """
mutation VariableUpsert($input: VariableUpsertInput!) {
  variableUpsert(input: $input)
}
"""

# Several variables at once, with one deployment for all of them (or, without `serviceId`, the
# environment's shared ones). Railway's CLI sends the same mutation with its input spelt out
# (refdata cli-gql/mutations/strings/VariableCollectionUpsert.graphql); pitcrew sends the input whole,
# as for VariableUpsert, so `replace` travels too (always false: nothing else is removed).
VARIABLE_COLLECTION_UPSERT = """
mutation VariableCollectionUpsert($input: VariableCollectionUpsertInput!) {
  variableCollectionUpsert(input: $input)
}
"""

VARIABLE_DELETE = """
mutation VariableDelete($input: VariableDeleteInput!) {
  variableDelete(input: $input)
}
"""

DEPLOYMENT_LOGS = (
    """
query DeploymentLogs(
  $deploymentId: String!
  $limit: Int
  $filter: String
  $startDate: DateTime
  $endDate: DateTime
) {
  deploymentLogs(
    deploymentId: $deploymentId
    limit: $limit
    filter: $filter
    startDate: $startDate
    endDate: $endDate
  ) {
    ...LogFields
  }
}
"""
    + _LOG_FIELDS
)

BUILD_LOGS = (
    """
query BuildLogs($deploymentId: String!, $limit: Int) {
  buildLogs(deploymentId: $deploymentId, limit: $limit) {
    ...LogFields
  }
}
"""
    + _LOG_FIELDS
)

# environmentLogs has no start/end: it reads `beforeLimit` lines back from `anchorDate` (now when
# unset) as far as `beforeDate`.
ENVIRONMENT_LOGS = (
    """
query EnvironmentLogs(
  $environmentId: String!
  $filter: String
  $anchorDate: String
  $beforeDate: String
  $beforeLimit: Int
) {
  environmentLogs(
    environmentId: $environmentId
    filter: $filter
    anchorDate: $anchorDate
    beforeDate: $beforeDate
    beforeLimit: $beforeLimit
  ) {
    ...LogFields
  }
}
"""
    + _LOG_FIELDS
)

# The rendered values, as the running service sees them: those are what would appear in its logs.
SERVICE_VARIABLES = """
query VariablesForServiceDeployment($projectId: String!, $environmentId: String!, $serviceId: String!) {
  variablesForServiceDeployment(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId)
}
"""

# The service's own variables as they were set, references left unrendered (`${{shared.X}}`,
# `${{api.X}}`), to tell where each value comes from: Railway's `Query.variables` with `unrendered: true`
# (refdata schema.json: "All variables by pluginId or serviceId"). Sealed ones come back null.
SERVICE_VARIABLES_UNRENDERED = """
query Variables($projectId: String!, $environmentId: String!, $serviceId: String, $unrendered: Boolean) {
  variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: $unrendered)
}
"""

# ---- capacity: limits and replicas (issue 16 item 3) --------------------------------------------

# The merged resource limits (`serviceInstanceLimits`, "includes plan defaults": a JSON scalar with
# `vCPUs` and `memoryGB`) and the replica count of the service instance, read together to show the
# current values in a scale proposal.
SERVICE_CAPACITY = """
query ServiceCapacity($serviceId: String!, $environmentId: String!) {
  serviceInstanceLimits(serviceId: $serviceId, environmentId: $environmentId)
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) {
    id
    numReplicas
  }
}
"""

SERVICE_INSTANCE_LIMITS_UPDATE = """
mutation ServiceInstanceLimitsUpdate($input: ServiceInstanceLimitsUpdateInput!) {
  serviceInstanceLimitsUpdate(input: $input)
}
"""

# The Railway CLI's own document (railwayapp/cli src/gql/mutations/strings/ServiceInstanceUpdate.graphql).
SERVICE_INSTANCE_UPDATE = """
mutation ServiceInstanceUpdate($serviceId: String!, $environmentId: String, $input: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input)
}
"""

# ---- volumes and backups (issue 16 items 4 and 5) -----------------------------------------------

# The environment's volume instances, as the CLI's EnvironmentInstances lists them; pitcrew keeps
# those mounted on the service.
ENVIRONMENT_VOLUMES = """
query EnvironmentVolumes($environmentId: String!, $projectId: String) {
  environment(id: $environmentId, projectId: $projectId) {
    volumeInstances(first: 100) {
      edges {
        node {
          id
          serviceId
          mountPath
          currentSizeMB
          sizeMB
          state
          volume {
            id
            name
          }
        }
      }
    }
  }
}
"""

# The backups and the backup schedules of one volume instance, the fields the CLI reads
# (VolumeInstanceBackupList.graphql, VolumeInstanceBackupScheduleList.graphql), in one request.
VOLUME_BACKUPS = """
query VolumeBackups($volumeInstanceId: String!) {
  volumeInstanceBackupList(volumeInstanceId: $volumeInstanceId) {
    id
    name
    createdAt
    expiresAt
    usedMB
    scheduleId
  }
  volumeInstanceBackupScheduleList(volumeInstanceId: $volumeInstanceId) {
    id
    kind
    cron
    name
    retentionSeconds
  }
}
"""

# The CLI's document (railwayapp/cli src/gql/mutations/strings/VolumeInstanceBackupCreate.graphql).
VOLUME_INSTANCE_BACKUP_CREATE = """
mutation VolumeInstanceBackupCreate($volumeInstanceId: String!, $name: String) {
  volumeInstanceBackupCreate(volumeInstanceId: $volumeInstanceId, name: $name) {
    workflowId
  }
}
"""


# Which project and environment the project token reaches; the same document the Railway CLI sends
# (railwayapp/cli src/gql/queries/strings/ProjectToken.graphql).
PROJECT_TOKEN = """
query ProjectToken {
  projectToken {
    id
    project {
      id
      name
    }
    environment {
      id
      name
    }
  }
}
"""

# A service's resources and HTTP traffic over a window: CPU and memory with their limits (`metrics`, the
# measurements of Railway's dashboard; the same root field as the CLI's Metrics.graphql), requests per
# status code and latency percentiles (the CLI's HttpMetricsByStatus.graphql and HttpDurationMetrics.graphql),
# and the environment's volumes, of which the service's own are kept (`VolumeInstance.currentSizeMB`/`sizeMB`).
# `serviceInstanceLimits` (a JSON scalar, read as RailwayClient's `_instance_limits` says) gives the
# limits when `metrics` has no CPU_LIMIT or MEMORY_LIMIT_GB samples in the window.
_METRICS_VARIABLES = """
  $projectId: String
  $serviceId: String!
  $environmentId: String!
  $startDate: DateTime!
  $endDate: DateTime!
  $measurements: [MetricMeasurement!]!
  $sampleRateSeconds: Int
  $stepSeconds: Int
"""
_METRICS_SELECTION = """
  metrics(
    projectId: $projectId
    serviceId: $serviceId
    environmentId: $environmentId
    startDate: $startDate
    endDate: $endDate
    measurements: $measurements
    sampleRateSeconds: $sampleRateSeconds
  ) {
    measurement
    values {
      ts
      value
    }
  }
  httpMetricsGroupedByStatus(
    serviceId: $serviceId
    environmentId: $environmentId
    startDate: $startDate
    endDate: $endDate
    stepSeconds: $stepSeconds
  ) {
    statusCode
    samples {
      ts
      value
    }
  }
  httpDurationMetrics(
    serviceId: $serviceId
    environmentId: $environmentId
    startDate: $startDate
    endDate: $endDate
    stepSeconds: $stepSeconds
  ) {
    samples {
      ts
      p95
    }
  }
  serviceInstanceLimits(environmentId: $environmentId, serviceId: $serviceId)
  environment(id: $environmentId) {
    volumeInstances {
      edges {
        node {
          serviceId
          mountPath
          currentSizeMB
          sizeMB
        }
      }
    }
  }
"""

# The metrics alone: `check: metrics` (an hour, a sample a minute, for the chart).
SERVICE_METRICS = "query ServiceMetrics(" + _METRICS_VARIABLES + ") {" + _METRICS_SELECTION + "}\n"

# `/health` of a Railway service: LatestDeployment's selection and the metrics of the last 15 minutes in
# one request, so that metrics cost no extra request against Railway's hourly budget and no extra
# connection per service (30 services: 30 requests, not 60). When the metrics part fails, Railway nulls
# the whole answer (its root fields are non-null), and the client asks LatestDeployment alone.
LATEST_DEPLOYMENT_WITH_METRICS = (
    "query LatestDeploymentWithMetrics("
    + _METRICS_VARIABLES
    + ") {"
    + _LATEST_DEPLOYMENT_SELECTION
    + _METRICS_SELECTION
    + "}\n"
    + _DEPLOYMENT_FIELDS
)

ALL_DOCUMENTS: dict[str, str] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and not name.startswith("_") and isinstance(value, str)
}

_OPERATION = re.compile(r"^\s*(query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")


def operation_name(document: str) -> str:
    """The name of the (single) operation a document defines, sent as `operationName`."""
    match = _OPERATION.match(document)
    if match is None:
        raise ValueError("a pitcrew GraphQL document must start with a named query or mutation")
    return match.group(2)
