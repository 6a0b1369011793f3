"""Vercel deployment webhooks: `{"type", "createdAt", "payload": {deployment, project, target, links}}`.

`deployment.error` fires; `deployment.succeeded` (and the older `deployment.ready`) resolves.
Both carry the fingerprint `<project id>:<target>`, so the next good production deploy closes
the incident a broken production deploy opened, while preview deploys keep to themselves.
Other events (created, canceled, promoted, ...) are not alerts and give no Alert: a canceled
deployment is almost always one superseded by a newer push, and paging on it would be noise.
The pre-2023 hyphenated names (`deployment-error`) and flat fields (`payload.projectId`) are read too.
"""

from __future__ import annotations

from app.core.alerts import Alert, AlertStatus, WebhookBodyError, make_alert
from app.core.webhooks._body import dig, kind_of, load_object, obj, text, timestamp

SOURCE = "vercel"
_EVENTS: dict[str, AlertStatus] = {
    "deployment.error": "firing",
    "deployment.succeeded": "resolved",
    "deployment.ready": "resolved",
}


def parse(body: bytes, content_type: str | None = None) -> list[Alert]:
    doc = load_object(SOURCE, body)
    kind = doc.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise WebhookBodyError(
            f"{SOURCE}: `type` must be a string such as `deployment.error`, got {kind_of(kind)}"
        )
    event = kind.strip().lower().replace("-", ".")
    status = _EVENTS.get(event)
    if status is None:
        return []
    payload = doc.get("payload")
    if not isinstance(payload, dict):
        raise WebhookBodyError(f"{SOURCE}: `payload` must be an object, got {kind_of(payload)}")
    deployment = obj(payload.get("deployment"))
    meta = obj(deployment.get("meta"))
    name = text(deployment.get("name")) or text(payload.get("name")) or text(dig(payload, "project", "name"))
    project_id = text(dig(payload, "project", "id")) or text(payload.get("projectId")) or name
    # A preview deployment has `target: null` (Vercel's OpenAPI file: deployment `target`, nullable,
    # "On which environment has the deployment been deployed to"); only production ones alert by
    # default, which the webhook flow decides from `vercel.alert_targets`.
    target = text(payload.get("target")) or "preview"
    host = text(deployment.get("url")) or text(payload.get("url"))
    deployment_url = host if host is None or "://" in host else f"https://{host}"
    if not project_id:
        raise WebhookBodyError(f"{SOURCE}: `payload.project.id` is required to tell projects apart")
    shown = name or project_id
    commit = text(meta.get("githubCommitMessage")) or text(meta.get("gitlabCommitMessage"))
    author = text(meta.get("githubCommitAuthorName")) or text(meta.get("githubCommitAuthorLogin"))
    sha = text(meta.get("githubCommitSha"))
    details = [
        commit,
        f"Commit {sha[:12]} by {author or 'unknown'}" if sha else None,
        f"Deployment {deployment_url}" if deployment_url else None,
    ]
    return [
        make_alert(
            source=SOURCE,
            fingerprint=f"{project_id}:{target}",
            status=status,
            title=f"{shown} deployment failed ({target})"
            if status == "firing"
            else f"{shown} deployed ({target})",
            service=name,
            severity=None,
            details="\n".join(d for d in details if d),
            link=text(dig(payload, "links", "deployment")) or deployment_url,
            labels={
                "event": event,
                "project_id": project_id,
                "target": target,
                "deployment_id": text(deployment.get("id")) or text(payload.get("deploymentId")),
                "deployment_url": deployment_url,
                "branch": text(meta.get("githubCommitRef")),
                "team_id": text(dig(payload, "team", "id")),
            },
            started_at=timestamp(doc.get("createdAt")) if status == "firing" else None,
        )
    ]
