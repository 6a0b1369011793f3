"""The status page's content: the public incidents, under public titles, the state of each component,
and each component's last 90 days as daily bars (app/core/status_history.py).

What may be published is decided in `app.core.status_page`; this flow reads the incidents of the
last `STATUS_DAYS` days, keeps the public ones, and returns plain values any edge can render
(the HTML page and /status.json in app/status_page.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from app.core.incidents import TimelineEntry
from app.core.maintenance import public_services
from app.core.signatures import verify_shared_secret
from app.core.status_history import HISTORY_DAYS, ComponentHistory, component_histories, format_uptime
from app.core.status_page import (
    ComponentStatus,
    PagePolicy,
    component_statuses,
    is_public,
    page_policy,
    public_title,
)
from app.deps import Deps
from app.store import incidents as store
from app.store import maintenance as maintenance_store
from app.store import related_alerts
from app.store import reports as report_store
from app.store.db import transaction

STATUS_DAYS = 7


@dataclass(frozen=True)
class PublicIncident:
    """What the status page may show of an incident, and nothing else (no service, no alert details)."""

    ref: str
    title: str
    severity: str
    state: str
    started_at: datetime
    resolved_at: datetime | None
    updates: tuple[TimelineEntry, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.ref,
            "title": self.title,
            "severity": self.severity,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "updates": [{"at": u.at.isoformat(), "text": u.text} for u in self.updates],
        }


@dataclass(frozen=True)
class PublicWindow:
    """A maintenance window as the page shows it: its components (public names), its times; no reason."""

    components: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    in_force: bool

    @property
    def line(self) -> str:
        """`Scheduled maintenance: api, until 14:30 UTC` (or `from ... until ...` for a planned one)."""
        names = ", ".join(self.components)
        if self.in_force:
            return f"Scheduled maintenance: {names}, until {self.ends_at:%H:%M} UTC"
        return f"Scheduled maintenance: {names}, from {self.starts_at:%Y-%m-%d %H:%M} until {self.ends_at:%H:%M} UTC"

    def as_json(self) -> dict[str, Any]:
        return {
            "components": list(self.components),
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "state": "in_progress" if self.in_force else "scheduled",
        }


@dataclass(frozen=True)
class StatusReport:
    """The whole page: its name, its components' states, and the public incidents, newest first."""

    name: str
    components: tuple[ComponentStatus, ...]
    incidents: tuple[PublicIncident, ...]
    maintenance: tuple[PublicWindow, ...] = ()
    history: tuple[ComponentHistory, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """/status.json: DESIGN.md's `{"incidents": [...]}`, extended with the page's name, components
        and each component's daily history (oldest day first), and `maintenance` while a window is in
        force or planned (absent otherwise)."""
        page: dict[str, Any] = {
            "incidents": [i.as_json() for i in self.incidents],
            "name": self.name,
            "components": [{"name": c.name, "status": c.status} for c in self.components],
            "history": [
                {
                    "name": h.name,
                    "uptime": h.uptime,
                    "uptime_text": format_uptime(h.uptime),
                    "days": [{"date": d.day.isoformat(), "uptime": d.uptime, "severity": d.worst} for d in h.days],
                }
                for h in self.history
            ],
        }
        if self.maintenance:
            page["maintenance"] = [w.as_json() for w in self.maintenance]
        return page


def policy_of_page(deps: Deps) -> PagePolicy:
    config = deps.catalog.status_page
    return page_policy(config.components, deps.catalog.services, config.default_visibility)


async def public_status(deps: Deps, days: int = STATUS_DAYS) -> StatusReport:
    """Open incidents and those resolved in the last `days` days that are public, with their public lines."""
    policy = policy_of_page(deps)
    now = deps.clock()
    since = now - timedelta(days=days)
    async with transaction(deps.sessions) as session:
        views = [v for v in await store.for_status_page(session, since) if is_public(v, policy)]
        updates = await store.public_updates(session, [v.id for v in views])
        windows = await maintenance_store.upcoming(session, now)
        past = await report_store.overlapping(session, now - timedelta(days=HISTORY_DAYS), now)
        joined = await related_alerts.brief(session, [v.id for v in past])
        past = [replace(v, related=joined.get(v.id, ())) for v in past]
    history = tuple(component_histories(policy, [v for v in past if is_public(v, policy)], now=now))
    incidents = tuple(
        PublicIncident(
            ref=v.ref,
            title=public_title(v, policy),
            severity=v.severity,
            state=v.state,
            started_at=v.started_at,
            resolved_at=v.resolved_at,
            updates=tuple(updates.get(v.id, ())),
        )
        for v in views
    )
    components = tuple(component_statuses(policy, [v for v in views if v.is_open]))
    shown = tuple(
        PublicWindow(names, w.starts_at, w.ends_at, w.in_force(now))
        for w in windows
        if (names := public_services(w, dict(policy.components)))
    )
    return StatusReport(
        name=deps.catalog.status_page.name, components=components, incidents=incidents, history=history,
        maintenance=shown,
    )


class PageClosed(Exception):
    """The page may not be shown to this request; `status` is the HTTP status the edge answers with."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


def check_access(deps: Deps, token: str | None) -> None:
    """Raise PageClosed unless the page is enabled and, when it needs one, `token` is STATUS_PAGE_TOKEN.

    A disabled page does not exist (404). A page for the company only (`require_token`) wants the
    token; with none configured it opens to nobody rather than to everybody.
    """
    config = deps.catalog.status_page
    if not config.enabled:
        raise PageClosed(404, "the status page is not enabled (status_page.enabled in pitcrew.yml)")
    if not config.require_token:
        return
    secret = deps.settings.STATUS_PAGE_TOKEN.get_secret_value() if deps.settings.STATUS_PAGE_TOKEN else ""
    if not secret:
        raise PageClosed(401, "this status page needs a token, and STATUS_PAGE_TOKEN is not set")
    if not verify_shared_secret(token, secret):
        raise PageClosed(401, "this status page needs a token: add ?token=... or send Authorization: Bearer ...")
