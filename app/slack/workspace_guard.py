"""Requests of another Slack workspace or app are refused when SLACK_TEAM_ID / SLACK_APP_ID are set.

A valid signature proves the request came from Slack for an app holding this signing secret; it
does not prove it came from the workspace whose runbooks these are (an app distributed to a
second workspace, an org-wide install, a copied manifest). Refused means: nothing is done, the
refusal is audited, Slack gets a 200 (an error makes it deliver the request again, up to three
times) and the person, when a slash command lets pitcrew answer in the ack, a private note.
Checked on every path a request takes: the command intake before storing, Bolt before any
listener, and the job that replays a stored request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

from app.deps import Deps
from app.settings import Settings
from app.slack.request_shape import shape_of

log = logging.getLogger("pitcrew.slack")

NOTE = "This pitcrew serves another Slack workspace or app; nothing was done."
# Slack waits for the answer: the refusal's audit entry is waited for this long, then left to be
# written by itself (a queued entry is written even when its writer stops waiting).
AUDIT_WAIT_S = 1.0


def refusal(settings: Settings, body: dict[str, Any]) -> str | None:
    """Why `body` is not for this pitcrew (None when it is): the ids it names against the ones set."""
    shape = shape_of(body)
    if settings.SLACK_TEAM_ID and shape.team_id != settings.SLACK_TEAM_ID:
        return f"workspace {shape.team_id or '(none)'} is not SLACK_TEAM_ID"
    if settings.SLACK_APP_ID and shape.app_id != settings.SLACK_APP_ID:
        return f"app {shape.app_id or '(none)'} is not SLACK_APP_ID"
    return None


def workspace_guard(deps: Deps) -> Callable[..., Awaitable[BoltResponse | None]]:
    """The Bolt middleware: runs after Bolt verified the signature, before any listener."""

    async def guard(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        reason = refusal(deps.settings, body)
        if reason is None:
            return await next()
        shape = shape_of(body)
        log.warning("refused %s from %s: %s", shape.label, shape.user_id, reason)
        try:
            async with asyncio.timeout(AUDIT_WAIT_S):
                await deps.audit(
                    actor=shape.user_id,
                    action=shape.label,
                    target=shape.channel_id,
                    params={"team_id": shape.team_id, "api_app_id": shape.app_id},
                    outcome=f"refused: another workspace or app ({reason})",
                )
        except Exception as err:  # the refusal stands; the trail says nothing of it, the log does
            log.warning("could not audit a refused request (%s: %s)", type(err).__name__, err)
        if shape.kind == "command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": NOTE})
        return BoltResponse(status=200, body="")

    return guard
