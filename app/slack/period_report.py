"""Posting a period report to Slack: the message, then its chart uploaded in the message's thread.

The upload is Slack's external upload (files.getUploadURLExternal, a POST of the bytes to the URL
Slack hands back, files.completeUploadExternal), which slack-sdk's `files_upload_v2` does against
SLACK_API_URL. The chart is drawn in a worker thread (app/charts/period_chart.py). A chart that
cannot be drawn or attached costs only the chart: the figures are posted first, and a line in the
thread says why the image is missing.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from app.charts.period_chart import chart_png
from app.core.period_report import PeriodReport
from app.slack.membership import slack_error
from app.slack.render.reports import chart_alt_text, chart_failed, chart_filename, chart_title, report_message

log = logging.getLogger("pitcrew.reports")


async def publish_report(
    client: AsyncWebClient, report: PeriodReport, channel: str, *, weekly: bool = False
) -> str | None:
    """Post `report` in `channel` with its chart; the ts of the report's message."""
    posted = await client.chat_postMessage(channel=channel, **report_message(report, weekly=weekly))
    ts = posted.get("ts")
    thread = str(ts) if ts else None
    try:
        png = await chart_png(report)
    except Exception as err:  # matplotlib missing or failing: the figures stand without their chart
        log.warning("could not draw the report's chart (%s)", type(err).__name__)
        await client.chat_postMessage(channel=channel, thread_ts=thread, **chart_failed("it could not be drawn"))
        return thread
    try:
        await client.files_upload_v2(
            channel=channel, thread_ts=thread, content=png, filename=chart_filename(report), title=chart_title(report),
            alt_txt=chart_alt_text(report),
        )
    except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as err:
        reason = slack_error(err) if isinstance(err, SlackApiError) else type(err).__name__
        log.warning("could not upload the report's chart to %s (%s)", channel, reason)
        await client.chat_postMessage(channel=channel, thread_ts=thread, **chart_failed(f"Slack said {reason}"))
    return thread
