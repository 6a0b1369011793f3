"""What people see of an incident: its root message in the alerts channel (posted once, with the
service's latest deployment; edited when the incident changes), the stakeholders' updates, and the
resolution's message.

All of it goes out through an IncidentNotifier, after the transaction that made the change has
committed, so a slow Slack never holds a database lock.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from app.core.incident_reports import opened_update, resolved_update
from app.core.incidents import DeployNote, IncidentView, format_duration
from app.deps import Deps
from app.flows import pagers
from app.flows.incident_deadlines import schedule_refresh
from app.flows.incident_notifier import IncidentNotifier, ThreadNote
from app.flows.incident_policy import first_responder_ids, policy_of
from app.flows.incident_views import get_view, load
from app.flows.oncall import Paged, resolve_targets
from app.store import alert_joins
from app.store import incidents as store
from app.store.db import transaction

DEPLOY_LOOKUP_TIMEOUT_S = 4.0


async def announce(deps: Deps, notifier: IncidentNotifier, incident_id: int, *, page: bool = True) -> IncidentView:
    """Post the root message (once), with the service's latest deployment, and tell the stakeholders.

    With `page`, the first responders are mentioned in the thread at once (an incident declared by
    hand); an alert's incident pages them in its first note instead (app/flows/incident_first_note.py).
    """
    view = await load(deps, incident_id)
    if view.thread_ts:
        return view
    if view.deploy is None and view.service:
        deploy = await latest_deploy(deps, view.service)
        if deploy is not None:
            async with transaction(deps.sessions) as session:
                await store.set_deploy(session, incident_id, deploy)
            view = replace(view, deploy=deploy)
    now = deps.clock()
    paged = Paged(())
    if page:  # `oncall:<rotation>` is whoever is on call now
        async with transaction(deps.sessions) as session:
            paged = await resolve_targets(session, deps, first_responder_ids(deps, view.severity), now)
    channel, ts = await notifier.post_root(view, notify=paged.ids, oncall=paged.said())
    async with transaction(deps.sessions) as session:
        first = await store.set_root(session, incident_id, channel=channel, ts=ts)
        if first and page:  # the first page leaves Slack too (PagerDuty, the webhook pager; none unset)
            await pagers.page(session, deps, view, paged, level=0, now=now)
        if first and paged.on_call:  # the timeline keeps who was on call when it opened
            who = ", ".join("@" + i for i in paged.ids) or "nobody"
            await store.add_event(session, incident_id, at=now, kind="paged", text=f"Paged {who} ({paged.said()})")
        current = await get_view(session, incident_id)
        if first and current.occurrences != view.occurrences:
            # Alerts joined while the root was being posted: show them at the next spaced edit.
            await schedule_refresh(session, policy_of(deps), incident_id, now)
    if first and view.is_open:
        await notifier.post_stakeholders(current, opened_update(policy_of(deps), current, now))
    return current


async def latest_deploy(deps: Deps, service_name: str) -> DeployNote | None:
    """The service's latest deployment, looked up within a few seconds; a failure is noted, never raised.

    A fresh deploy is the first suspect, but a provider that is slow or down must not hold up
    the incident: the root message then says why the deployment is unknown.
    """
    service = deps.catalog.services.get(service_name)
    if service is None or service.provider not in ("railway", "vercel"):
        return None
    client = deps.railway if service.provider == "railway" else deps.vercel
    ref = service.railway if service.provider == "railway" else service.vercel
    if client is None or ref is None:
        token = "RAILWAY_API_TOKEN" if service.provider == "railway" else "VERCEL_TOKEN"
        return DeployNote(provider=service.provider, error=f"{token} is not set")
    try:
        async with asyncio.timeout(DEPLOY_LOOKUP_TIMEOUT_S + 0.5):
            observed = await client.latest_deployment(ref, timeout_s=DEPLOY_LOOKUP_TIMEOUT_S)  # type: ignore[arg-type]
    except TimeoutError:
        return DeployNote(provider=service.provider, error=f"no answer within {DEPLOY_LOOKUP_TIMEOUT_S:g} s")
    except Exception as err:  # any provider failure is told, not raised: the incident opens regardless
        return DeployNote(provider=service.provider, error=str(err)[:300] or type(err).__name__)
    found = observed.deployment
    if found is None:
        return DeployNote(provider=service.provider, error="no deployment found")
    return DeployNote(
        provider=service.provider,
        id=found.id,
        status=found.status,
        created_at=found.created_at,
        commit_message=(found.commit_message or "").splitlines()[0][:200] if found.commit_message else None,
        author=found.author,
        url=found.url,
    )


async def announce_resolution(deps: Deps, notifier: IncidentNotifier, view: IncidentView, *, by: str) -> None:
    now = deps.clock()
    lasted = format_duration(view.duration(now))
    text = f"Resolved after {lasted}" + (f": {view.summary}" if view.summary else "")
    await notifier.post_thread(view, ThreadNote("resolved", text, actor=by))
    await notifier.post_stakeholders(view, resolved_update(policy_of(deps), view, now))
    await refresh_root(deps, notifier, view)


async def refresh_root(deps: Deps, notifier: IncidentNotifier, view: IncidentView) -> None:
    """Edit the root message now (a person did something: they expect to see it at once)."""
    if not view.thread_ts:
        return
    async with transaction(deps.sessions) as session:
        await alert_joins.refresh_counts(session, view.id)
        view = await get_view(session, view.id)
    await notifier.update_root(view)
    async with transaction(deps.sessions) as session:
        await store.mark_root_edited(session, view.id, deps.clock())
