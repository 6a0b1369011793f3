"""Button listeners (Slack `block_actions`), one module per feature; each acks at once, then works."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from app.slack.interactions import actions


def register(app: AsyncApp) -> None:
    actions.register(app)
