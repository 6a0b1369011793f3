"""Pages that leave Slack: the one call pitcrew makes wherever it pages someone.

An @mention does not wake anyone at 3 a.m. Wherever pitcrew pages (an incident's first note or
declared root, each escalation step), the same page goes to every pager the team configured:
PagerDuty's Events API (`PAGERDUTY_ROUTING_KEY`, app/flows/pagerduty.py) and the signed webhook
(`oncall.page_webhook`, app/flows/page_webhook.py). Each is a job keyed by incident and step, queued
in the caller's transaction, so a page is sent at least once and never twice for one step. A new
pager is one more line here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incidents import IncidentView
from app.deps import Deps
from app.flows import page_webhook, pagerduty
from app.flows.oncall import Paged


async def page(
    session: AsyncSession, deps: Deps, view: IncidentView, paged: Paged, *, level: int, now: datetime
) -> None:
    """Page outside Slack whoever this step pages (nothing when nobody is, or no pager is set)."""
    if not paged.ids:
        return
    await pagerduty.page(session, deps, view.id, "trigger", now=now, step=level)
    await page_webhook.page(session, deps, view, paged, level=level)
