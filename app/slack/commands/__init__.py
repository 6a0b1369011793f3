"""Slash command listeners, one module per command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp

from app.slack.commands import health
from app.slack.commands import incident as incident_command
from app.slack.commands import logs as logs_command
from app.slack.commands import rollback as rollback_command

LISTENERS: dict[str, Callable[..., Awaitable[None]]] = {
    "/health": health.on_health,
    "/rollback": rollback_command.on_rollback,
    "/incident": incident_command.on_incident,
    "/logs": logs_command.on_logs,
}


def register(app: AsyncApp) -> None:
    for command, listener in LISTENERS.items():
        app.command(command)(listener)
