"""Starting a post-deploy watch: from a deploy webhook, or once pitcrew's own action is verified.

Both start it in the transaction that records what happened (the webhook's group of alerts in
app/flows/alert_batches.py; the proposal's move to verified in app/flows/verify.py), so a watch is
never lost between the two and never started twice: its row is keyed by the service and the
deployment (`watch_key`), inserted with ON CONFLICT DO NOTHING. Railway and Vercel both retry a
delivery, and a pitcrew rollback also brings Railway's own "deployed" webhook for the same
deployment: one watch. A watch that starts ends the service's older watches ("superseded").

Which deploys are watched: a Railway deployment that succeeded in the environment pitcrew.yml
names for the service (a PR environment's deploys are not production), a Vercel deployment whose
target is production, for a service whose `watch_minutes` is not 0. The looks themselves are the
job `watch_deploy` of app/flows/deploy_watch.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import Catalog, Service
from app.core.alerts import Alert
from app.core.deploy_watch import WATCHED_ACTIONS, watch_key
from app.store import deploy_watches as store
from app.store.jobs import enqueue
from app.store.proposals import AlsoInTransaction, ProposalRecord

if TYPE_CHECKING:
    from app.deps import Deps

WATCH_JOB = "watch_deploy"


@dataclass(frozen=True)
class DeployStart:
    """A deploy to watch: which service and deployment, what started the watch, and the alert key a
    regression is raised under (the deploy webhooks' own, so Railway's crash alert and the watch's
    regression make one incident, and the next good deploy's webhook recovers it)."""

    service: str
    deployment_id: str
    cause: str
    alert_source: str
    alert_fingerprint: str
    proposal_id: str | None = None
    again_after: str | None = None  # a restart's proposal: the same deployment watched once more


def job_key(watch_id: int) -> str:
    return f"{WATCH_JOB}:{watch_id}"


def from_alert(catalog: Catalog, alert: Alert) -> DeployStart | None:
    """The deploy a webhook's alert says succeeded in production, for a service pitcrew watches; else None."""
    deployment_id = alert.labels.get("deployment_id")
    if alert.status != "resolved" or not deployment_id:
        return None
    event = alert.labels.get("event") or ""
    if alert.source == "railway" and (event.lower().startswith("deployment.") or event.upper() == "DEPLOY"):
        service_id, environment_id = alert.labels.get("service_id"), alert.labels.get("environment_id")
        for name, service in catalog.services.items():
            ref = service.railway
            if service.deploys and ref is not None and (ref.service_id, ref.environment_id) == (
                service_id, environment_id
            ):
                return DeployStart(name, deployment_id, "Railway's webhook", "railway", alert.fingerprint)
        return None
    if alert.source == "vercel" and alert.labels.get("target") == "production":
        project = alert.labels.get("project_id")
        for name, service in catalog.services.items():
            vercel = service.vercel
            if vercel is not None and (project == vercel.project_id or alert.service in (name, vercel.project_id)):
                return DeployStart(name, deployment_id, "Vercel's webhook", "vercel", alert.fingerprint)
    return None


def deploy_alert_key(service: Service) -> tuple[str, str] | None:
    """(source, fingerprint) of the service's deploy alerts as the webhook parsers make them
    (app/core/webhooks/railway.py: `<service id>:<environment id>`; vercel.py: `<project id>:<target>`)."""
    if service.provider in ("railway", "postgres") and service.railway is not None:
        return "railway", f"{service.railway.service_id}:{service.railway.environment_id}"
    if service.provider == "vercel" and service.vercel is not None:
        return "vercel", f"{service.vercel.project_id}:production"
    return None


async def start(session: AsyncSession, deps: Deps, wanted: DeployStart, now: datetime) -> int | None:
    """Create the watch and its job (in the caller's transaction); None when one exists already or the
    service is not watched."""
    service = deps.catalog.services.get(wanted.service)
    if service is None or not service.deploys or not service.watch_minutes:
        return None
    if (deps.railway if wanted.alert_source == "railway" else deps.vercel) is None:
        return None  # no token to read the provider with: nothing could be measured
    key = watch_key(wanted.service, wanted.deployment_id, after=wanted.again_after)
    watch_id = await store.insert(session, store.NewWatch(
        key=key, service=wanted.service, deployment_id=wanted.deployment_id, cause=wanted.cause,
        alert_source=wanted.alert_source, alert_fingerprint=wanted.alert_fingerprint,
        minutes=float(service.watch_minutes), deployed_at=now, proposal_id=wanted.proposal_id,
    ), now=now)
    if watch_id is None:
        return None
    await store.supersede_others(
        session, service=wanted.service, keep=watch_id, by_deployment=wanted.deployment_id, deployed_at=now, now=now
    )
    await enqueue(session, kind=WATCH_JOB, payload={"watch_id": watch_id}, run_at=now, now=now,
                  dedupe_key=job_key(watch_id))
    return watch_id


async def start_from_alerts(session: AsyncSession, deps: Deps, alerts: Iterable[tuple[Alert, datetime]]) -> list[int]:
    """Watch every production deploy the alerts of a webhook group say succeeded; the watches started."""
    started = []
    for alert, now in alerts:
        wanted = from_alert(deps.catalog, alert)
        if wanted is not None and (watch_id := await start(session, deps, wanted, now)) is not None:
            started.append(watch_id)
    return started


def after_verified(
    deps: Deps, record: ProposalRecord, deployment_id: str | None, now: datetime
) -> AlsoInTransaction | None:
    """The watch that follows a verified action (a rollback, restart, redeploy, variable change, scale),
    to commit with the verification; None for an action that is not watched.

    An action that brought a new deployment watches it under the deployment's own key (Railway's
    webhook for that deployment then finds the watch started); a restart, or a Vercel rollback or
    promote (production pointed at an existing deployment), watches it once more, keyed by the action.
    """
    service = deps.catalog.services.get(record.service)
    key = deploy_alert_key(service) if service is not None else None
    if record.kind not in WATCHED_ACTIONS or service is None or key is None or not service.watch_minutes:
        return None
    before = ((record.params.get("plan") or {}).get("current") or {}).get("id")
    watched = deployment_id or before
    if not isinstance(watched, str) or not watched:
        return None
    new = (
        deployment_id is not None and deployment_id != before and record.kind != "restart"
        and not (service.provider == "vercel" and record.kind in ("rollback", "promote"))
    )
    wanted = DeployStart(
        record.service, watched, f"pitcrew's {record.kind.replace('_', ' ')}", key[0], key[1],
        proposal_id=record.id, again_after=None if new else record.id,
    )

    async def also(session: AsyncSession) -> None:
        await start(session, deps, wanted, now)

    return also
