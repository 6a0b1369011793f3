"""Deployments pitcrew itself saw go bad, for choosing a rollback target (app/core/rollback.py).

A provider forgets a crash once the deployment is replaced (Railway marks it REMOVED, with
`canRollback` true, like any good one), so the default rollback target would be the deployment that
just crashed. pitcrew remembers four things in its own tables: the deployments it rolled back
from, those whose post-action verification failed, those its post-deploy watch saw regress, and
the deployment each incident opened on.
Read-only queries; the reasons are the sentences the proposal card shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store import deploy_watches
from app.store.db import transaction
from app.store.models import Incident, ProposedAction

LOOK_BACK = 200  # proposals and incidents read per service: far more than the deployments a rollback looks at
_ROLLED_BACK = ("running", "accepted", "verified")


async def known_bad(sessions: async_sessionmaker[AsyncSession], service: str) -> dict[str, str]:
    """Deployment id → why pitcrew holds it bad, for `service` (the first reason found wins)."""
    async with transaction(sessions) as session:
        proposals = (
            await session.execute(
                select(
                    ProposedAction.id, ProposedAction.kind, ProposedAction.status, ProposedAction.params,
                    ProposedAction.result, ProposedAction.incident_id,
                )
                .where(ProposedAction.service == service, ProposedAction.status.in_([*_ROLLED_BACK, "failed"]))
                .order_by(ProposedAction.created_at.desc())
                .limit(LOOK_BACK)
            )
        ).all()
        incidents = (
            await session.execute(
                select(Incident.id, Incident.deploy)
                .where(Incident.service == service, Incident.deploy.is_not(None))
                .order_by(Incident.id.desc())
                .limit(LOOK_BACK)
            )
        ).all()
        regressed = await deploy_watches.regressed(session, service, LOOK_BACK)
    found: dict[str, str] = {}
    for row in proposals:
        params: dict[str, Any] = row.params or {}
        if row.kind == "rollback" and row.status in _ROLLED_BACK:
            current = ((params.get("plan") or {}).get("current") or {}).get("id")
            during = f" during INC-{row.incident_id}" if row.incident_id is not None else ""
            _note(found, current, f"pitcrew rolled back from it{during} (proposal {row.id[:8]})")
    for row in proposals:
        verification = (row.result or {}).get("verification") or {}
        if row.status == "failed" and verification.get("phase") == "failed":
            kind = row.kind.replace("_", " ")
            _note(found, verification.get("deployment_id"), f"its verification failed after a {kind}")
    for deployment_id, incident_id in regressed:
        during = f" (INC-{incident_id})" if incident_id is not None else ""
        _note(found, deployment_id, f"its post-deploy watch saw it regress{during}")
    for row in incidents:
        _note(found, (row.deploy or {}).get("id"), f"INC-{row.id} opened while it was the latest deployment")
    return found


def _note(found: dict[str, str], deployment_id: object, reason: str) -> None:
    if isinstance(deployment_id, str) and deployment_id and deployment_id not in found:
        found[deployment_id] = reason
