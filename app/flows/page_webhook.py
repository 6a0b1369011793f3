"""The outgoing webhook pager (issue 17 items 6-7): a page per escalation step, and its ack links.

`page` is the one call `escalate_if_due` makes (and, with step 0, the incident's opening page:
`announce` for a declared incident, the first note for an alert's): it stores a job keyed by (incident, escalation
level), so a step pages once however often the escalation job runs. The job sends the page,
at least once: a 5xx or a timeout raises, and the job runner tries again with its backoff (30 s,
60 s, ... then parks it). Each attempt makes fresh ack links (one per person paged); the tokens leave
pitcrew only in the page, and the database keeps their SHA-256. An incident acknowledged or
resolved before the job runs is not paged. `GET /ack/<token>` is app/flows/ack_links.py.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incidents import IncidentView
from app.core.page_webhook import (
    ACK_LINK_TTL,
    PagedPerson,
    new_token,
    page_body,
    signature,
    thread_url,
    token_hash,
)
from app.deps import Deps
from app.flows.incident_views import get_view
from app.flows.oncall import Paged
from app.jobs.runner import GiveUp, handles
from app.providers.page_webhook import PageRefused, post_page
from app.store import ack_links
from app.store.db import transaction
from app.store.jobs import ClaimedJob, enqueue

PAGE_JOB = "pager.webhook"
log = logging.getLogger("pitcrew.pager")


async def page(session: AsyncSession, deps: Deps, view: IncidentView, paged: Paged, *, level: int) -> None:
    """Schedule the webhook page of this escalation step (nothing when no webhook is set or nobody is
    paged). The dedupe key makes a second call for the same step a no-op, atomically."""
    config = deps.catalog.oncall.page_webhook if deps.catalog.oncall is not None else None
    if config is None or not paged.ids:
        return
    now = deps.clock()
    await enqueue(
        session,
        kind=PAGE_JOB,
        payload={"incident_id": view.id, "level": level, "users": list(paged.ids)},
        run_at=now,
        now=now,
        dedupe_key=f"{PAGE_JOB}:{view.id}:{level}",
    )


@handles(PAGE_JOB)
async def send_page(deps: Deps, job: ClaimedJob) -> None:
    """POST the page; raising (a 5xx, a timeout) has the runner try again later."""
    config = deps.catalog.oncall.page_webhook if deps.catalog.oncall is not None else None
    if config is None:
        return  # the webhook was removed from pitcrew.yml since: nothing to send
    secret = deps.environ.get(config.secret_env, "")
    if not secret:
        raise GiveUp(f"oncall.page_webhook: the environment variable {config.secret_env} is not set")
    incident_id, level, users = int(job.payload["incident_id"]), int(job.payload["level"]), job.payload["users"]
    now = deps.clock()
    base = (deps.settings.PUBLIC_URL or "").rstrip("/")
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if view.acknowledged_at is not None or not view.is_open:
            return  # someone is on it already (or it is over): nobody needs waking
        people = []
        for user in users:
            if not base:  # no public address: the page goes without a link (docs say to set PUBLIC_URL)
                people.append(PagedPerson(str(user), None))
                continue
            token = new_token()
            await ack_links.add(session, token_hash(token), incident_id=incident_id, user_id=str(user), level=level,
                                now=now, expires_at=now + ACK_LINK_TTL)
            people.append(PagedPerson(str(user), f"{base}/ack/{token}"))
    sent_at = int(now.timestamp())
    body = page_body(ref=view.ref, incident_id=view.id, title=view.title, severity=view.severity, step=level,
                     paged=people, thread=thread_url(view.channel, view.thread_ts), sent_at=sent_at)
    try:
        await post_page(deps.http, config.url, body, signature=signature(secret, sent_at, body), timestamp=sent_at)
    except PageRefused as err:
        raise GiveUp(str(err)) from err
    log.info("paged %s step %d by webhook", view.ref, level)
