"""The quieting verbs of `/incident` and `@pitcrew`: silence, unsilence and maintenance.

`execute` in app/slack/commands/incident.py hands these verbs to `run_quiet`; what comes back is the
outcome for the audit trail, the message for the asker, and whether the thread or the channel
shows the change already. A maintenance command is read here against the catalog's services
(the core needs them to name an unknown one); its mistakes come back as a private usage.
"""

from __future__ import annotations

from typing import Any

from app.core.maintenance import MaintenanceUsage, parse_maintenance
from app.deps import Deps
from app.flows import maintenance, silences
from app.flows.incident_notifier import IncidentNotifier
from app.slack.render import quiet as render
from app.slack.render.incidents import mention

QUIET_VERBS = frozenset({"silence", "unsilence", "maintenance"})
Answered = tuple[str, dict[str, Any], bool]


async def run_quiet(deps: Deps, notifier: IncidentNotifier, cmd: Any, *, user: str) -> Answered:
    """(outcome, message, confirmation) for one of QUIET_VERBS, done."""
    if cmd.verb == "silence":
        view = await silences.silence(deps, notifier, cmd.incident_id, cmd.duration, cmd.text, by=user)
        return f"silenced until {view.silenced_until:%Y-%m-%dT%H:%MZ}", render.silenced(view, mention(user)), False
    if cmd.verb == "unsilence":
        ended = await silences.unsilence(deps, notifier, cmd.incident_id, by=user)
        return "unsilenced", render.unsilenced(ended.view, ended.held), False
    return await _maintenance(deps, cmd.text or "", user=user)


async def _maintenance(deps: Deps, text: str, *, user: str) -> Answered:
    now = deps.clock()
    try:
        parsed = parse_maintenance(text, services=deps.catalog.services, now=now)
    except MaintenanceUsage as err:
        return "usage", render.maintenance_usage(err), False
    if parsed.verb == "list":
        windows = await maintenance.upcoming(deps)
        return f"{len(windows)} windows", render.window_list(windows, now=now), False
    if parsed.verb == "cancel":
        assert parsed.window_id is not None
        window = await maintenance.cancel(deps, parsed.window_id, by=user)
        return f"cancelled {window.ref}", render.window_cancelled(window), False
    assert parsed.window is not None
    window = await maintenance.open_window(deps, parsed.window, by=user)
    updates = deps.catalog.slack.updates_channel
    planned = parsed.window.starts_at is not None
    return f"opened {window.ref}", render.window_opened(window, planned=planned, updates_channel=updates), False
