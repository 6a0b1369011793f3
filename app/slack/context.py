"""Small helpers every listener shares: the deps Bolt carries in its context, and auditing."""

from __future__ import annotations

from typing import Any

from app.deps import Deps


def deps_of(context: Any) -> Deps:
    deps: Deps = context["deps"]
    return deps


async def audit_command(context: Any, command: dict[str, Any], outcome: str) -> None:
    """Record a slash command: who typed what, where, and how it ended."""
    await deps_of(context).audit(
        actor=command.get("user_id", "unknown"),
        action=f"command {command.get('command', '?')}",
        target=command.get("channel_id"),
        params={"text": command.get("text", "")},
        outcome=outcome,
    )
