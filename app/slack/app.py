"""The Bolt AsyncApp: one instance serves HTTP, Socket Mode and the console alike."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from app.deps import Deps
from app.slack import audit_jobs as _audit_jobs  # noqa: F401 - registers the daily audit anchor's handler
from app.slack import commands, mentions
from app.slack import incident_jobs as _incident_jobs  # noqa: F401 - registers the incident job handlers
from app.slack import interactions as action_interactions
from app.slack import pager_jobs as _pager_jobs  # noqa: F401 - registers the PagerDuty job handlers
from app.slack import quiet_jobs as _quiet_jobs  # noqa: F401 - registers the silence and maintenance jobs
from app.slack import watch_jobs as _watch_jobs  # noqa: F401 - registers the post-deploy watch's jobs
from app.slack.ack_runner import PromptAckRunner
from app.slack.client import web_client
from app.slack.commands import rotate as rotate_command
from app.slack.database_gate import database_gate
from app.slack.interactions import incident as incident_interactions
from app.slack.interactions import runbooks as runbook_interactions
from app.slack.interactions import silence as silence_interactions
from app.slack.interactions import variables as variable_interactions
from app.slack.operators import GroupCache
from app.slack.responders import GROUP_CACHE
from app.slack.workspace_guard import workspace_guard

log = logging.getLogger("pitcrew.slack")


def _not_bolts_token_notice(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN by itself and warns that the client we give it, made from that very
    token, wins: a line at every start that says nothing true about this configuration."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


log.addFilter(_not_bolts_token_notice)


def build_slack_app(deps: Deps, *, client: AsyncWebClient | None = None) -> AsyncApp:
    """Listeners ack first and work after: Bolt runs them as tasks and answers Slack once ack() is called."""
    signing_secret = deps.settings.SLACK_SIGNING_SECRET
    app = AsyncApp(
        client=client or web_client(deps.settings),
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        logger=log,
    )

    app._async_listener_runner = PromptAckRunner(app._async_listener_runner)

    # After Bolt's own checks (signature, self-events), before any listener: a request of another
    # workspace is refused first; then one that cannot be kept is answered with why.
    app.middleware(workspace_guard(deps))
    app.middleware(database_gate(deps))
    groups = GroupCache()  # user group members, shared by the responder checks of this app

    @app.middleware
    async def inject_deps(context: Any, next: Any) -> None:
        context["deps"] = deps
        context[GROUP_CACHE] = groups
        await next()

    commands.register(app)
    mentions.register(app)
    action_interactions.register(app)
    incident_interactions.register(app)
    silence_interactions.register(app)
    runbook_interactions.register(app)
    variable_interactions.register(app)
    rotate_command.register()  # a rotation's closing note, posted from the verification job
    return app
