"""Ack links of webhook pages: `GET /ack/<token>` acknowledges the incident as the person paged.

The link is used (once, atomically, unexpired) before anything else; the acknowledgement is then
the same as in Slack (`acknowledge`: noted in the thread, audited, escalation stopped), preceded
by an `incident.ack_link` audit entry saying it came from a link.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.incidents import IncidentView, incident_ref
from app.core.page_webhook import token_hash
from app.deps import Deps
from app.flows.incident_notifier import IncidentNotifier
from app.flows.incident_views import load
from app.flows.incidents import IncidentClosed, acknowledge
from app.store import ack_links
from app.store.db import transaction


@dataclass(frozen=True)
class LinkOutcome:
    """What opening an ack link did: `acknowledged` (now), `already` (someone else had), `closed`,
    or a refusal: `used`, `expired`, `unknown`."""

    status: str
    view: IncidentView | None = None
    user: str | None = None


async def acknowledge_by_link(deps: Deps, notifier: IncidentNotifier, token: str) -> LinkOutcome:
    """Use the link (once, atomically) and acknowledge its incident as the person it paged."""
    now = deps.clock()
    hashed = token_hash(token)
    async with transaction(deps.sessions) as session:
        used = await ack_links.use(session, hashed, now)
        if used is None:
            return LinkOutcome(await ack_links.state(session, hashed))
    await deps.audit(actor=used.user_id, action="incident.ack_link", target=incident_ref(used.incident_id),
                     params={}, outcome="used")
    try:
        result = await acknowledge(deps, notifier, used.incident_id, by=used.user_id, via="from the pager's ack link")
    except IncidentClosed:
        return LinkOutcome("closed", await load(deps, used.incident_id), used.user_id)
    return LinkOutcome("acknowledged" if result.acknowledged_now else "already", result.view, used.user_id)
