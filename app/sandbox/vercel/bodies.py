"""The bodies the fake Vercel answers with, shaped as Vercel's OpenAPI description has them.

The routes of app/sandbox/vercel/rest.py build their JSON here from the world's dataclasses
(app/sandbox/vercel/world.py): deployments (list item, full, a project's target), runtime-log lines,
build events and environment variables. A new route's body goes here, next to its kin.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta
from typing import Any

from app.sandbox.vercel.world import (
    FakeBuildEvent,
    FakeEnv,
    FakeRuntimeLog,
    FakeVercelDeployment,
    FakeVercelProject,
    VercelWorld,
    epoch_ms,
)


def meta(world: VercelWorld, d: FakeVercelDeployment) -> dict[str, str]:
    meta = {
        "githubCommitSha": d.commit_sha,
        "githubCommitMessage": d.commit_message,
        "githubCommitAuthorName": d.commit_author,
        "githubCommitRef": d.branch,
        "githubCommitOrg": "acme",
        "githubCommitRepo": world.projects[d.project_id].name,
    }
    return {k: v for k, v in meta.items() if v}


def list_item(world: VercelWorld, d: FakeVercelDeployment) -> dict[str, Any]:
    project = world.projects[d.project_id]
    current = d.id == project.production_id
    item: dict[str, Any] = {
        "uid": d.id,
        "name": project.name,
        "projectId": project.id,
        "url": d.host,
        "created": epoch_ms(d.created_at),
        "createdAt": epoch_ms(d.created_at),
        "buildingAt": epoch_ms(d.created_at),
        "source": "git",
        "state": d.state,
        "readyState": d.state,
        "type": "LAMBDAS",
        "creator": {"uid": "usr_sandbox", "username": d.creator},
        "meta": meta(world, d),
        "target": d.target,
        "inspectorUrl": f"https://vercel.com/acme/{project.name}/{d.id.removeprefix('dpl_')}",
        "isRollbackCandidate": d.state == "READY" and d.target == "production" and not current,
        "aliasAssigned": epoch_ms(d.created_at) if current else None,
    }
    if d.state == "READY":
        item["ready"] = epoch_ms(d.created_at + timedelta(minutes=1))
        item["readySubstate"] = "PROMOTED" if d.target == "production" else "STAGED"
    if d.state == "ERROR":
        item["errorCode"] = "BUILD_FAILED"
        item["errorMessage"] = d.error_message or 'Command "npm run build" exited with 1'
    return item


def full(world: VercelWorld, d: FakeVercelDeployment) -> dict[str, Any]:
    project = world.projects[d.project_id]
    item = list_item(world, d)
    for key in ("uid", "created", "state", "isRollbackCandidate"):
        item.pop(key, None)
    item.update(
        {
            "id": d.id,
            "status": d.state,
            "project": {"id": project.id, "name": project.name, "framework": "nextjs"},
            "alias": [project.domain] if d.id == project.production_id else [],
            "bootedAt": epoch_ms(d.created_at),
            "buildSkipped": False,
            "public": False,
            "regions": ["iad1"],
            "version": 2,
            "plan": "pro",
            "ownerId": project.team_id or "acc_sandbox",
            "createdIn": "sfo1",
            "routes": None,
            "build": {"env": []},
            "env": [],
            "projectSettings": {},
            "isInConcurrentBuildsQueue": False,
            "isInSystemBuildsQueue": False,
        }
    )
    return item


def target(world: VercelWorld, project: FakeVercelProject, d: FakeVercelDeployment) -> dict[str, Any]:
    return {
        "id": d.id,
        "url": d.host,
        "readyState": d.state,
        "createdAt": epoch_ms(d.created_at),
        "target": d.target,
        "alias": [project.domain] if d.id == project.production_id else [],
        "meta": meta(world, d),
    }


def runtime_json(project: FakeVercelProject, line: FakeRuntimeLog) -> dict[str, Any]:
    return {
        "level": line.level,
        "message": line.message,
        "rowId": uuid.uuid4().hex[:16],
        "source": line.source,
        "timestampInMs": epoch_ms(line.at),
        "domain": project.domain,
        "messageTruncated": False,
        "requestMethod": line.method,
        "requestPath": line.path,
        "responseStatusCode": line.status,
    }


def event_json(d: FakeVercelDeployment, serial: int, event: FakeBuildEvent) -> dict[str, Any]:
    return {
        "type": event.type,
        "created": epoch_ms(event.at),
        "payload": {
            "deploymentId": d.id,
            "id": f"evt_{serial:06d}",
            "date": epoch_ms(event.at),
            "serial": str(serial),
            "text": event.text,
        },
    }


def env_json(project: FakeVercelProject, entry: FakeEnv, *, decrypted: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": entry.type,
        "id": entry.id,
        "key": entry.key,
        "target": list(entry.targets),
        "configurationId": None,
        "createdAt": epoch_ms(project.created_at),
        "updatedAt": epoch_ms(project.created_at),
        "createdBy": "sandbox-user",
        "updatedBy": None,
    }
    if entry.type == "sensitive":
        return body  # never a value, decrypted or not
    if entry.type == "encrypted":
        body["decrypted"] = decrypted
        body["value"] = entry.value if decrypted else _ciphertext(entry.value)
    else:
        body["value"] = entry.value
    return body


def _ciphertext(value: str) -> str:
    """What Vercel's list gives for an encrypted value: base64 of something that is not the value."""
    return base64.b64encode(hashlib.sha256(b"sandbox-kms:" + value.encode()).digest() + b"\x00" * 8).decode()
