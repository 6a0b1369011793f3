"""`/incident report [7d|30d]`: the period's figures, and the chart, where they were asked for.

Where pitcrew answers in public (the alerts channel, `slack.channels`), the report is posted there
with its chart in its thread, for the team to read together; anywhere else (a DM, a channel pitcrew
keeps quiet in) only the asker sees the figures, privately, and no file is attached, as for `/logs`.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from app.core.incident_args import IncidentCommand
from app.deps import Deps
from app.flows.period_report import build_report
from app.flows.responders import answers_publicly
from app.slack.membership import slack_error
from app.slack.period_report import publish_report
from app.slack.render.common import escape, message, section
from app.slack.render.reports import report_message


async def answer_report(deps: Deps, client: Any, respond: Any, command: dict[str, Any], parsed: IncidentCommand) -> str:
    """Build the report and deliver it; the outcome the audit trail records."""
    days = parsed.days or 7
    report = await build_report(deps, days)
    channel = command.get("channel_id")
    if channel and await answers_publicly(deps, channel):
        try:
            await publish_report(client, report, channel)
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as err:
            reason = slack_error(err) if isinstance(err, SlackApiError) else type(err).__name__
            said = f"I could not post the report here (Slack said {reason}); here it is for you only."
            await respond(**message(escape(said), [section(escape(said))]), response_type="ephemeral")
            await respond(**report_message(report, with_chart=False), response_type="ephemeral")
            return f"report {days}d: not posted ({reason})"
        return f"report {days}d: {report.total} incidents, posted"
    await respond(**report_message(report, with_chart=False), response_type="ephemeral")
    return f"report {days}d: {report.total} incidents, privately"
