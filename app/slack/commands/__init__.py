"""Slash command listeners, one module per command."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from app.slack.commands import health
from app.slack.commands import incident as incident_command
from app.slack.commands import logs as logs_command
from app.slack.commands import rollback as rollback_command


def register(app: AsyncApp) -> None:
    app.command("/health")(health.on_health)
    app.command("/rollback")(rollback_command.on_rollback)
    app.command("/incident")(incident_command.on_incident)
    app.command("/logs")(logs_command.on_logs)
