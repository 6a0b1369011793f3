"""Paging through PagerDuty (issue 17 item 5): events out as jobs, signed v3 webhooks in.

Each event is a row of the jobs table before it is a request: scheduled in the same transaction
as the change that causes it (an escalation step, an acknowledgment, a resolution), with a
dedupe key per (incident, action, step), so a step run twice or on two instances sends one event,
and a crash after the commit still sends it (at least once). 429 and 5xx are sent again with a
growing backoff. The routing key stays in the settings: no job row, log or message holds it.

A webhook from PagerDuty is checked against its signature first (a bad one is refused and
audited), then its change is a job too (`pagerduty.change`), run by the Slack side, which
acknowledges or resolves the incident and notes it in the thread.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import pagerduty as pd
from app.core.incidents import incident_ref
from app.deps import Deps
from app.flows.incident_views import load
from app.jobs.runner import Again, GiveUp, handles
from app.providers.base import ProviderError
from app.providers.pagerduty import PagerDutyBusy, send_event
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.jobs import ClaimedJob, enqueue

log = logging.getLogger("pitcrew.pagerduty")

EVENT_JOB = "pagerduty.event"
CHANGE_JOB = "pagerduty.change"
MAX_SENDS = 8  # 1 + 2 + 4 + ... minutes: about four hours of PagerDuty being away before giving up
SOURCE = "pitcrew"


def routing_key(deps: Deps) -> str:
    key = deps.settings.PAGERDUTY_ROUTING_KEY
    return key.get_secret_value() if key is not None else ""


async def page(
    session: AsyncSession, deps: Deps, incident_id: int, action: pd.EventAction, *, now: datetime, step: int = 0
) -> None:
    """Schedule one event for the incident, once per (incident, action, step); nothing without a routing key."""
    if not routing_key(deps):
        return
    await enqueue(
        session,
        kind=EVENT_JOB,
        payload={"incident_id": incident_id, "action": action, "step": step, "sends": 0},
        run_at=now,
        now=now,
        dedupe_key=f"{EVENT_JOB}:{incident_id}:{action}:{step}",
    )


def backoff(sends: int) -> timedelta:
    return timedelta(minutes=2 ** min(sends, 7))


@handles(EVENT_JOB)
async def send(deps: Deps, job: ClaimedJob) -> Again | None:
    """Send the event; again later on 429/5xx, given up on a refusal (an invalid event stays invalid)."""
    key = routing_key(deps)
    if not key:
        return None  # the key was removed since: nothing is sent
    view = await load(deps, int(job.payload["incident_id"]))
    action = job.payload["action"]
    step = int(job.payload.get("step", 0))
    summary = f"{view.ref} {view.severity}: {view.title}" + (f" (escalation step {step})" if step else "")
    body = pd.event(key, action, view.id, summary=summary, source=view.service or SOURCE, severity=view.severity)
    sends = int(job.payload.get("sends", 0)) + 1
    try:
        await send_event(deps.http, deps.settings.PAGERDUTY_EVENTS_URL, body)
    except PagerDutyBusy as err:
        if sends >= MAX_SENDS:
            raise GiveUp(str(err)) from None
        log.warning("%s for %s: sent again later", err, view.ref)
        return Again(deps.clock() + backoff(sends), payload={**job.payload, "sends": sends})
    except ProviderError as err:
        raise GiveUp(str(err)) from None
    return None


class PagerDutyUnauthorized(Exception):
    """The webhook's signature is missing or wrong (or no secret is set): 401."""


async def receive_webhook(deps: Deps, body: bytes, signature: str | None) -> bool:
    """Check a v3 webhook and schedule the change it asks for; whether it named an incident of pitcrew's.

    A bad signature is audited (who cannot be known, so the actor is the route) and refused."""
    secret, _name = deps.settings.webhook_secret("pagerduty")
    now = deps.clock()
    if not pd.signature_valid(secret, body, signature):
        async with transaction(deps.sessions) as session:
            await audit_store.append(
                session, at=now, actor="webhook:pagerduty", action="pagerduty.webhook", target=None,
                params={"reason": "bad signature" if signature else "no signature"}, outcome="refused",
            )
        raise PagerDutyUnauthorized()
    change = pd.read_webhook(body)
    if change is None:
        return False
    async with transaction(deps.sessions) as session:
        await enqueue(
            session,
            kind=CHANGE_JOB,
            payload={"incident_id": change.incident_id, "action": change.action, "by": change.by},
            run_at=now,
            now=now,
            dedupe_key=f"{CHANGE_JOB}:{change.incident_id}:{change.action}",
        )
        await audit_store.append(
            session, at=now, actor="webhook:pagerduty", action=f"pagerduty.{change.action}",
            target=incident_ref(change.incident_id), params={"by": change.by}, outcome="ok",
        )
    deps.job_signal.notify()
    return True
