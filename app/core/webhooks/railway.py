"""Railway project webhooks, in both shapes Railway has sent.

Since November 2025: `type` is `<Resource>.<event>` (`Deployment.failed`) with the ids under
`resource` and commit details under `details`. Before: `type` was `DEPLOY` with `project`,
`environment`, `service`, `deployment` and `status` at the top.

A failed or crashed deployment fires; a successful one resolves. Both carry the fingerprint
`<service id>:<environment id>`, so the next good deploy of the same service in the same
environment closes the incident its broken one opened. Other deployment states (building,
deploying, removed, ...) are progress, not alerts, and give no Alert. When the event and
`details.status` disagree (Railway's own example pairs `Deployment.failed` with `SUCCESS`), the
event wins: it is what the notification is about. An event word pitcrew does not know (Railway
documents no list of them) falls back to `details.status`, one of Railway's DeploymentStatus values
(refdata/railway/schema.json), so a renamed or new event still opens or closes its incident.
Non-deployment events (resource monitors, volume usage) fire on `*.triggered` and resolve on
`*.resolved`, best effort: Railway documents no example of them.
"""

from __future__ import annotations

from urllib.parse import quote

from app.core.alerts import Alert, AlertStatus, WebhookBodyError, make_alert, severity_from
from app.core.webhooks._body import JsonObject, kind_of, load_object, obj, text, timestamp

SOURCE = "railway"
_DEPLOY_STATES: dict[str, AlertStatus] = {
    "failed": "firing",
    "crashed": "firing",
    "success": "resolved",
    "succeeded": "resolved",
    "deployed": "resolved",
    "active": "resolved",
}
_ALERT_EVENTS: dict[str, AlertStatus] = {
    "triggered": "firing",
    "fired": "firing",
    "firing": "firing",
    "resolved": "resolved",
    "recovered": "resolved",
}
# Railway's DeploymentStatus values (refdata/railway/schema.json) that are progress, not alerts: an
# event named after one of them gives no Alert, whatever `details.status` says.
_PROGRESS_STATES = frozenset({
    "building", "deploying", "initializing", "needs_approval", "queued", "removed", "removing", "skipped",
    "sleeping", "waiting",
})
_LEGACY_TYPES: dict[str, AlertStatus] = {"CRASH": "firing"}
_DEPLOY_PHRASES = {"failed": "deployment failed", "crashed": "crashed"}
_SUCCESS_PHRASE = "deployed successfully"


def parse(body: bytes, content_type: str | None = None) -> list[Alert]:
    doc = load_object(SOURCE, body)
    kind = doc.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise WebhookBodyError(
            f"{SOURCE}: `type` must be a string such as `Deployment.failed`, got {kind_of(kind)}"
        )
    if "." in kind or isinstance(doc.get("resource"), dict):
        return _current(kind.strip(), doc)
    return _legacy(kind.strip(), doc)


def _current(kind: str, doc: JsonObject) -> list[Alert]:
    resource = obj(doc.get("resource"))
    details = obj(doc.get("details"))
    noun, _, event = kind.partition(".")
    deployment = noun.lower() == "deployment"
    if deployment:
        state = event.lower()
        if state not in _DEPLOY_STATES and state not in _PROGRESS_STATES:
            state = (text(details.get("status")) or "").lower()
        status = _DEPLOY_STATES.get(state)
    else:
        state = event.lower()
        status = _ALERT_EVENTS.get(state)
    if status is None:
        return []
    service, environment, project = (obj(resource.get(k)) for k in ("service", "environment", "project"))
    word = text(doc.get("severity"))
    labels = _labels(project, environment, service, text(obj(resource.get("deployment")).get("id")))
    labels |= {
        "event": kind,
        "severity": word,
        "ephemeral": "true" if environment.get("isEphemeral") is True else None,
        "branch": text(details.get("branch")),
        "commit": text(details.get("commitHash")),
    }
    commit_lines = [
        text(details.get("commitMessage")),
        f"Commit {text(details.get('commitHash'))} by {text(details.get('commitAuthor')) or 'unknown'}"
        if text(details.get("commitHash"))
        else None,
        f"Branch {text(details.get('branch'))}" if text(details.get("branch")) else None,
    ]
    return [
        _alert(
            status=status,
            what=_DEPLOY_PHRASES.get(state, _SUCCESS_PHRASE) if deployment else f"{noun} {state}",
            fingerprint_prefix="" if deployment else f"{noun.lower()}:",
            project=project,
            environment=environment,
            service=service,
            severity=severity_from(word),
            details="\n".join(line for line in commit_lines if line),
            labels=labels,
            at=doc.get("timestamp"),
        )
    ]


def _legacy(kind: str, doc: JsonObject) -> list[Alert]:
    deployment = obj(doc.get("deployment"))
    state = (text(doc.get("status")) or text(deployment.get("status")) or "").lower()
    status = _DEPLOY_STATES.get(state) or _LEGACY_TYPES.get(kind.upper())
    if status is None:
        return []
    service, environment, project = (obj(doc.get(k)) for k in ("service", "environment", "project"))
    creator = text(obj(deployment.get("creator")).get("name"))
    return [
        _alert(
            status=status,
            what=_DEPLOY_PHRASES.get(state or "crashed", _SUCCESS_PHRASE),
            fingerprint_prefix="",
            project=project,
            environment=environment,
            service=service,
            severity=severity_from(text(doc.get("severity"))),
            details=f"Deployed by {creator}" if creator else "",
            labels=_labels(project, environment, service, text(deployment.get("id"))) | {"event": kind},
            at=doc.get("timestamp"),
        )
    ]


def _alert(
    *,
    status: AlertStatus,
    what: str,
    fingerprint_prefix: str,
    project: JsonObject,
    environment: JsonObject,
    service: JsonObject,
    severity: str | None,
    details: str,
    labels: dict[str, str | None],
    at: object,
) -> Alert:
    project_id, env_id, service_id = (text(x.get("id")) for x in (project, environment, service))
    service_name = text(service.get("name"))
    env_name = text(environment.get("name"))
    where = service_name or text(project.get("name")) or "Railway service"
    scope = service_id or f"project-{project_id or 'unknown'}"
    return make_alert(
        source=SOURCE,
        fingerprint=f"{fingerprint_prefix}{scope}:{env_id or env_name or 'unknown'}",
        status=status,
        title=f"{where} {what}" + (f" in {env_name}" if env_name else ""),
        service=service_name,
        severity=severity,
        details=details,
        link=_dashboard_link(project_id, service_id, env_id),
        labels=labels,
        started_at=timestamp(at) if status == "firing" else None,
    )


def _labels(
    project: JsonObject, environment: JsonObject, service: JsonObject, deployment_id: str | None
) -> dict[str, str | None]:
    return {
        "project_id": text(project.get("id")),
        "project": text(project.get("name")),
        "environment_id": text(environment.get("id")),
        "environment": text(environment.get("name")),
        "service_id": text(service.get("id")),
        "railway_service": text(service.get("name")),
        "deployment_id": deployment_id,
    }


def _dashboard_link(project_id: str | None, service_id: str | None, env_id: str | None) -> str | None:
    """Railway's dashboard page of the service; the webhook carries ids but no URL."""
    if not project_id:
        return None
    link = f"https://railway.com/project/{quote(project_id, safe='', errors='replace')}"
    if service_id:
        link += f"/service/{quote(service_id, safe='', errors='replace')}"
    if env_id:
        link += f"?environmentId={quote(env_id, safe='', errors='replace')}"
    return link
