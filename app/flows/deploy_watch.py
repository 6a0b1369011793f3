"""The post-deploy watch: a look every minute at a service after a deploy, told in one message edited in
place, and an incident when the deploy made things worse than the deployment before it.

The job `watch_deploy` (started by app/flows/deploy_watch_start.py; what it measures is
app/flows/deploy_watch_measures.py) is one row of the jobs table
that reschedules itself (`Again`), so the watch survives restarts and moves between instances; the
watch itself is a row of `deploy_watches`, moved by conditional UPDATEs (app/store/deploy_watches.py).

- The first run measures the baseline (app/core/deploy_watch.py: the error lines logged in the
  `watch_minutes` before the deploy; on Railway, the 5xx ratio, p95, CPU and memory of the hour before), names the
  deploy (its commit and author, from the provider) and posts the message in the alerts channel.
- Each later run looks: health (the deployment and the URL checks, app/flows/health.py), the error
  lines logged since the deploy and, on Railway, the 5xx ratio, p95, CPU and memory since; edits the
  message ("👀 deploy 3f2a1b9c of api: 7 of 15 min, healthy, 0 new errors, p95 310 ms").
- A regression (`regressions` of the core) raises an alert through the path webhooks take
  (app/flows/alert_batches.py: silences, maintenance windows, correlation, the root message, pages,
  the runbook offer), under the deploy alerts' own key, in the transaction that ends the watch: one
  incident however many instances look. The incident names the deploy, the deployment is held bad
  (app/store/bad_deployments.py), and a rollback to the deployment before is proposed in the
  incident's thread once its root is posted (job `watch_deploy.rollback`).
- After `watch_minutes` without a regression the message says so ("✅ ... watched 15 min: healthy").
- A newer deploy ends the watch ("superseded by deploy ..."), told at the watch's next run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from app.catalog import Service
from app.core.alert_masking import mask_alert
from app.core.alerts import Alert, make_alert
from app.core.deploy_watch import (
    ENDED,
    FINAL,
    HEALTHY,
    REGRESSED,
    STARTING,
    SUPERSEDED,
    Look,
    WatchView,
    down_looks,
    is_over,
    regressions,
    span,
)
from app.core.incidents import DeployNote, incident_ref
from app.flows.action_ports import ProposalNotifier
from app.flows.action_runs import PITCREW
from app.flows.action_views import Where
from app.flows.actions import ActionError, Asked, propose_rollback
from app.flows.alert_batches import Arrival, apply_group
from app.flows.deploy_watch_measures import deploy_info, measure_baseline, observe
from app.flows.incident_notifier import IncidentNotifier, ThreadNote
from app.flows.incident_policy import policy_of
from app.flows.incident_views import load
from app.flows.known_secrets import known_masker
from app.providers.rate_limits import RateLimited
from app.store import deploy_watches as store
from app.store import incidents as incident_store
from app.store.db import transaction
from app.store.jobs import enqueue

if TYPE_CHECKING:
    from app.deps import Deps
    from app.store.deploy_watches import WatchRow

log = logging.getLogger("pitcrew.deploy_watch")

ROLLBACK_JOB = "watch_deploy.rollback"
ROOT_WAIT = timedelta(minutes=10)  # how long the rollback offer waits for the incident's root message
ROOT_POLL_S = 2.0


class WatchNotifier(Protocol):
    """Where a watch is told (Slack: app/slack/watch_notifier.py)."""

    async def post_watch(self, view: WatchView) -> tuple[str, str] | None:
        """Post the watch's message; (channel, ts) of it, None when there is nowhere to post."""
        ...

    async def update_watch(self, view: WatchView) -> None:
        """Edit the watch's message (`view.channel`, `view.message_ts`) to show `view`."""
        ...


# ---- the job's one run -----------------------------------------------------------------------------


async def look(deps: Deps, notifier: WatchNotifier, watch_id: int) -> datetime | None:
    """One run of the watch's job: begin it, or take a look; when to run again, None once it is over."""
    row = await _get(deps, watch_id)
    if row is None:
        return None
    if row.status in FINAL:  # ended by someone else (a newer deploy): say so on its message
        await _show(notifier, row.view)
        return None
    service = deps.catalog.services.get(row.view.service)
    if service is None or not service.deploys or not service.watch_minutes:  # pitcrew.yml changed meanwhile
        why = (
            f"{row.view.service} is no longer in pitcrew.yml" if service is None
            else f"{row.view.service} has no deployments pitcrew can see" if not service.deploys
            else "watch_minutes is now 0"
        )
        await _end(deps, notifier, row, ENDED, f"watch stopped: {why}")
        return None
    if row.status == STARTING:
        return await _begin(deps, notifier, row, service)
    return await _look(deps, notifier, row, service)


async def _begin(deps: Deps, notifier: WatchNotifier, row: WatchRow, service: Service) -> datetime | None:
    view = row.view
    async with transaction(deps.sessions) as session:
        newer = await store.newer_under_way(session, service=view.service, than=view.id, deployed_at=row.deployed_at)
        if newer is not None:  # this deploy's webhook came after the next deploy's: nothing to watch
            await store.finish(session, view.id, status=SUPERSEDED, now=deps.clock(), superseded_by=newer,
                               outcome=f"superseded by deploy {newer}")
            return None
    try:
        deploy = await deploy_info(deps, service, view.deployment_id)
        baseline = await measure_baseline(deps, service, row.deployed_at, view.minutes)
    except RateLimited as err:
        log.warning("watch %s of %s waits for %s", view.id, view.service, err.reason)
        return err.until
    ends_at = row.deployed_at + timedelta(minutes=view.minutes)
    async with transaction(deps.sessions) as session:
        if not await store.begin(session, view.id, deploy=deploy, baseline=baseline, ends_at=ends_at):
            return None
    await deps.audit(
        actor=PITCREW, action="deploy_watch.start", target=f"{view.service}:{view.deployment_id}",
        params={"cause": view.cause, "minutes": view.minutes, "baseline": baseline.describe()},
        outcome="watching",
    )
    row = await _get(deps, view.id)
    if row is not None:
        await _post(deps, notifier, row.view)
    return _next(deps, ends_at)


async def _look(deps: Deps, notifier: WatchNotifier, row: WatchRow, service: Service) -> datetime | None:
    view = row.view
    if view.message_ts is None:  # Slack was away at the start: the message comes late rather than never
        await _post(deps, notifier, view)
    try:
        seen = await observe(deps, view.service, service, view.deployment_id, row.deployed_at)
    except RateLimited as err:
        log.warning("watch %s of %s waits for %s", view.id, view.service, err.reason)
        return max(err.until, _next(deps, row.ends_at))
    now = deps.clock()
    if seen.newer_deployment is not None:
        await _end(deps, notifier, row, SUPERSEDED, f"superseded by deploy {seen.newer_deployment}",
                   superseded_by=seen.newer_deployment)
        return None
    minutes = (now - row.deployed_at).total_seconds() / 60
    current = replace(seen.look, minutes=minutes, down_looks=down_looks(view.last, seen.look.verdict))
    reasons = regressions(view.baseline, current, deps.catalog.thresholds_for(service))
    if reasons:
        await _regressed(deps, notifier, row, current, reasons)
        return None
    if is_over(row.deployed_at, view.minutes, now):
        await _end(deps, notifier, row, HEALTHY, None, look=current)
        return None
    async with transaction(deps.sessions) as session:
        if not await store.record_look(session, view.id, current):
            return await _told_end(deps, notifier, view.id)
    fresh = await _get(deps, view.id)
    if fresh is not None:
        await _show(notifier, fresh.view)
    return _next(deps, row.ends_at)


def _next(deps: Deps, ends_at: datetime | None) -> datetime:
    """The next look: an interval from now, and no later than the watch's end (its last look is then)."""
    later = deps.clock() + timedelta(seconds=deps.settings.WATCH_INTERVAL_SECONDS)
    return min(later, ends_at) if ends_at is not None and ends_at > deps.clock() else later


# ---- the end of a watch ---------------------------------------------------------------------------


async def _regressed(
    deps: Deps, notifier: WatchNotifier, row: WatchRow, current: Look, reasons: tuple[str, ...]
) -> None:
    """End the watch as regressed and raise its alert, in one transaction; then offer the rollback."""
    view, now = row.view, deps.clock()
    alert = mask_alert(_regression_alert(row, current, reasons), known_masker(deps))
    body = json.dumps({"deploy_watch": view.id, "service": view.service, "deployment_id": view.deployment_id,
                       "reasons": list(reasons)}).encode()
    outcome = "; ".join(reasons)
    async with transaction(deps.sessions) as session:
        if not await store.finish(session, view.id, status=REGRESSED, now=now, outcome=outcome, look=current):
            return
        [[result]] = await apply_group(session, deps, policy_of(deps), [Arrival(row.alert_source, body, [alert], now)])
        incident_id = result.incident_id
        if result.effect in ("silenced", "maintenance"):
            held = "a silence" if result.effect == "silenced" else "a maintenance window"
            await store.finish(session, view.id, status=REGRESSED, now=now, from_statuses=(REGRESSED,),
                               outcome=f"{outcome} (the alert is held by {held})", look=current)
        if incident_id is not None:
            await store.set_incident(session, view.id, incident_id)
            if result.effect == "opened":
                await incident_store.set_deploy(session, incident_id, _deploy_note(row, _provider(deps, row)))
            if result.effect not in ("silenced", "maintenance"):
                await enqueue(session, kind=ROLLBACK_JOB, payload={"watch_id": view.id, "incident_id": incident_id},
                              run_at=now, now=now, dedupe_key=f"{ROLLBACK_JOB}:{view.id}")
    deps.job_signal.notify()  # the incident's root message, then the rollback's offer
    said = f"{result.effect} {incident_ref(incident_id)}" if incident_id else result.effect
    await deps.audit(
        actor=PITCREW, action="deploy_watch.regressed", target=f"{view.service}:{view.deployment_id}",
        params={"reasons": outcome[:500], "looks": view.looks + 1}, outcome=said,
    )
    fresh = await _get(deps, view.id)
    if fresh is not None:
        await _show(notifier, fresh.view)


def _provider(deps: Deps, row: WatchRow) -> str:
    service = deps.catalog.services.get(row.view.service)
    return "railway" if row.alert_source == "railway" or service is None else service.provider


def _regression_alert(row: WatchRow, current: Look, reasons: tuple[str, ...]) -> Alert:
    view = row.view
    deploy = view.deploy.describe()
    lines = [
        f"Deploy {view.short} of {view.service}" + (f" ({deploy})" if deploy else "")
        + f", watched since it went live ({view.cause}).",
        f"Regressed after {span(current.minutes)}: " + "; ".join(reasons) + ".",
        f"Before the deploy: {view.baseline.describe()}.",
        "A rollback to the deployment before is proposed in this thread.",
    ]
    return make_alert(
        source=row.alert_source, fingerprint=row.alert_fingerprint, status="firing",
        title=f"{view.service} regressed after deploy {view.short}", service=view.service,
        details="\n".join(lines),
        labels={"event": "deploy_watch.regressed", "deployment_id": view.deployment_id, "watch": str(view.id)},
    )


def _deploy_note(row: WatchRow, provider: str) -> DeployNote:
    view = row.view
    return DeployNote(
        provider=provider, id=view.deployment_id, status=view.last.deployment_status if view.last else None,
        created_at=row.deployed_at, commit_message=view.deploy.commit_message, author=view.deploy.author,
        url=view.deploy.url,
    )


async def _end(
    deps: Deps, notifier: WatchNotifier, row: WatchRow, status: str, outcome: str | None, *,
    look: Look | None = None, superseded_by: str | None = None,
) -> None:
    view = row.view
    async with transaction(deps.sessions) as session:
        won = await store.finish(session, view.id, status=status, now=deps.clock(), outcome=outcome, look=look,
                                 superseded_by=superseded_by)
    if not won:
        await _told_end(deps, notifier, view.id)
        return
    await deps.audit(
        actor=PITCREW, action=f"deploy_watch.{status}", target=f"{view.service}:{view.deployment_id}",
        params={"looks": view.looks + (1 if look else 0)}, outcome=outcome or status,
    )
    fresh = await _get(deps, view.id)
    if fresh is not None:
        await _show(notifier, fresh.view)


async def _told_end(deps: Deps, notifier: WatchNotifier, watch_id: int) -> None:
    """Someone else ended the watch meanwhile: show what they decided."""
    fresh = await _get(deps, watch_id)
    if fresh is not None:
        await _show(notifier, fresh.view)


# ---- the rollback offer ---------------------------------------------------------------------------


async def offer_rollback(
    deps: Deps, notifier: ProposalNotifier, thread: IncidentNotifier, watch_id: int, incident_id: int, *,
    since: datetime,
) -> datetime | None:
    """Propose rolling the service back in the incident's thread, once its root is posted; None when done.
    A rollback that cannot be proposed (nothing to roll back to, the provider away) is said in the thread."""
    row = await _get(deps, watch_id)
    view = await load(deps, incident_id)
    if row is None or not view.is_open:
        return None
    if not view.thread_ts or not view.channel:
        if deps.clock() - since > ROOT_WAIT:
            log.warning("watch %s: %s never got its root message; no rollback offered", watch_id, view.ref)
            return None
        return deps.clock() + timedelta(seconds=ROOT_POLL_S)
    try:
        asked = Asked(by=PITCREW, where=Where(view.channel, view.thread_ts), notifier=notifier, incident_id=incident_id)
        await propose_rollback(deps, row.view.service, asked=asked)
    except ActionError as err:  # nothing to roll back to, a provider away: the refusal is audited; say it
        log.warning("watch %s: no rollback offered in %s: %s", watch_id, view.ref, err)
        said = f"No rollback proposed for {row.view.service}: {err}"
        await thread.post_thread(view, ThreadNote("deploy_watch", said))
    return None


# ---- reading and telling ----------------------------------------------------------------------------


async def _get(deps: Deps, watch_id: int) -> WatchRow | None:
    async with transaction(deps.sessions) as session:
        return await store.get(session, watch_id)


async def _post(deps: Deps, notifier: WatchNotifier, view: WatchView) -> None:
    try:
        posted = await notifier.post_watch(view)
    except Exception:  # the watch goes on; its next look posts the message again
        log.exception("could not post the message of watch %s", view.id)
        return
    if posted is not None:
        async with transaction(deps.sessions) as session:
            await store.set_message(session, view.id, channel=posted[0], ts=posted[1])


async def _show(notifier: WatchNotifier, view: WatchView) -> None:
    """Edit the message; a chat failure never stops the watch."""
    if not view.message_ts:
        return
    try:
        await notifier.update_watch(view)
    except Exception:
        log.exception("could not edit the message of watch %s", view.id)



