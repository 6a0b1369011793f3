"""`/incident oncall` (the board) and `/incident oncall override <@user> <duration> [rotation]`.

Parsed with the other `/incident` verbs (app/core/incident_args.py); the responder check for an
override is made by the `/incident` listener before this runs. A refusal is private and changes
nothing; an override is announced in the alerts channel by the flow, and its hand-off (summary,
user group) follows at once as a one-off run of the hand-off job.
"""

from __future__ import annotations

from typing import Any

from app.core.incident_args import OVERRIDE_USAGE, IncidentCommand
from app.deps import Deps
from app.flows import oncall as flows
from app.slack.oncall_jobs import announcer, handoff_soon
from app.slack.render import oncall as render


async def answer_oncall(deps: Deps, client: Any, respond: Any, command: dict[str, Any], parsed: IncidentCommand) -> str:
    """Answer `oncall ...` privately; the outcome for the audit trail."""
    try:
        if parsed.verb == "oncall":
            await respond(**render.board(await flows.board(deps)), response_type="ephemeral")
            return "shown"
        override = await flows.add_override(
            deps, rotation=parsed.rotation or "primary", user=parsed.user or "", duration_text=parsed.text or "",
            by=command.get("user_id", "unknown"), announce=announcer(deps, client),
        )
    except flows.OncallError as err:
        usage = f"\nUsage: {OVERRIDE_USAGE}" if parsed.verb == "oncall_override" else ""
        await respond(**render.refused(f"{err}{usage}"), response_type="ephemeral")
        return f"refused: {err}"
    await handoff_soon(deps, f"override:{override.id}")
    deps.job_signal.notify()
    said = f"@{override.user} holds the {override.rotation} shift until {override.end:%Y-%m-%d %H:%M} UTC."
    await respond(**render.said(said), response_type="ephemeral")
    return f"override {override.id} {override.rotation} @{override.user}"
