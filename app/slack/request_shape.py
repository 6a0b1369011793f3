"""What a Slack request is and who sent it, read the same way from a slash command's form, an
interactivity payload and an Events API envelope (the three carry these fields in three places)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestShape:
    kind: str  # "command", "block_actions", "view_submission", "event_callback", ...
    name: str  # the command, the first action_id, the event type: for the audit trail
    team_id: str | None
    app_id: str | None
    user_id: str
    channel_id: str | None

    @property
    def label(self) -> str:
        """How the audit trail names the request: `command /health`, `click incident.ack`, ..."""
        if self.kind == "command":
            return f"command {self.name}"
        if self.kind == "block_actions":
            return f"click {self.name}"
        if self.kind == "event_callback":
            return f"event {self.name}"
        return f"{self.kind} {self.name}".strip()


def shape_of(body: dict[str, Any]) -> RequestShape:
    if "command" in body:
        return RequestShape(
            kind="command",
            name=str(body.get("command", "")),
            team_id=body.get("team_id"),
            app_id=body.get("api_app_id"),
            user_id=str(body.get("user_id") or "unknown"),
            channel_id=body.get("channel_id"),
        )
    kind = str(body.get("type", ""))
    if kind == "event_callback":
        event = body.get("event") or {}
        return RequestShape(
            kind=kind,
            name=str(event.get("type", "")),
            team_id=body.get("team_id"),
            app_id=body.get("api_app_id"),
            user_id=str(event.get("user") or "unknown"),
            channel_id=event.get("channel"),
        )
    team = body.get("team") or {}
    user = body.get("user") or {}
    actions = body.get("actions") or [{}]
    channel = body.get("channel") or {}
    return RequestShape(
        kind=kind,
        name=str(actions[0].get("action_id", "") if kind == "block_actions" else body.get("callback_id", "")),
        team_id=team.get("id") if isinstance(team, dict) else None,
        app_id=body.get("api_app_id"),
        user_id=str(user.get("id") or "unknown") if isinstance(user, dict) else "unknown",
        channel_id=channel.get("id") if isinstance(channel, dict) else None,
    )
