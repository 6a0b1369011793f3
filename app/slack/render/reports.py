"""The period report as a Slack message: counts by severity and service, MTTA/MTTR, quiet time.

The chart goes with it as a file in the message's thread (app/slack/period_report.py uploads it);
the message says so, and says the figures in its `text` too, for notifications and screen readers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.core.incidents import SEVERITIES, format_duration
from app.core.period_report import PeriodReport, Spread
from app.slack.render.common import context, escape, header, message, section

CHART_NOTE = "The chart (incidents per day by severity, MTTA/MTTR per day) is in the thread."


def report_lines(report: PeriodReport) -> list[str]:
    """The report as mrkdwn lines (service names escaped), shared by the blocks and the `text`."""
    opened = f" ({report.open_count} still open)" if report.open_count else ""
    lines = [
        f"*{report.total} incident{'s' if report.total != 1 else ''}*{opened} "
        f"from {report.since:%d %b %H:%M} to {report.until:%d %b %H:%M} UTC",
        "By severity: " + " · ".join(f"{s} {report.by_severity.get(s, 0)}" for s in SEVERITIES),
    ]
    if report.services:
        lines.append("By service:")
        for row in report.services:
            detail = ", ".join(f"{s} {n}" for s, n in row.by_severity.items() if n)
            lines.append(f"• {escape(row.service)}: {row.total} ({detail})")
    lines.append(f"Time to acknowledge: {_spread(report.mtta, 'acknowledged')}")
    lines.append(f"Time to resolve: {_spread(report.mttr, 'resolved')}")
    lines.append(f"Silenced: {_span(report.silenced)} · In maintenance: {_span(report.maintenance)}")
    return lines


def _spread(spread: Spread, done: str) -> str:
    if spread.median is None or spread.worst is None:
        return f"none {done} yet"
    return f"median {format_duration(spread.median)}, worst {format_duration(spread.worst)} ({spread.count} {done})"


def _span(span: timedelta) -> str:
    return "none" if not span else format_duration(span)


def report_message(report: PeriodReport, *, weekly: bool = False, with_chart: bool = True) -> dict[str, Any]:
    title = f"{'Weekly incident report' if weekly else 'Incident report'}: last {report.days} days"
    lines = report_lines(report)
    blocks = [header(title), section("\n".join(lines[:2]))]
    rest = lines[2:]
    if rest:
        blocks.append(section("\n".join(rest)))
    if with_chart:
        blocks.append(context(CHART_NOTE))
    text = "\n".join([title, *lines] + ([CHART_NOTE] if with_chart else []))
    return message(text, blocks)


def chart_title(report: PeriodReport) -> str:
    return f"Incidents, last {report.days} days (to {report.until:%Y-%m-%d})"


def chart_alt_text(report: PeriodReport) -> str:
    """What a screen reader says of the chart (Slack's `alt_txt`, at most 1000 characters): the busiest
    days and the medians, since the figures themselves are in the message above it."""
    busiest = sorted((r for r in report.per_day if sum(r.by_severity.values())),
                     key=lambda r: -sum(r.by_severity.values()))[:3]
    days = ", ".join(f"{r.day:%d %b} ({sum(r.by_severity.values())})" for r in busiest) or "none"
    text = (
        f"Bar chart of incidents per day over the last {report.days} days, stacked by severity, "
        f"{report.total} in all; busiest days: {days}. Below it, each day's median time to acknowledge "
        f"and to resolve, in minutes."
    )
    return text[:1000]


def chart_filename(report: PeriodReport) -> str:
    return f"incidents-{report.days}d-{report.until:%Y-%m-%d}.png"


def chart_failed(reason: str) -> dict[str, Any]:
    text = f"The chart could not be attached: {escape(reason)}"
    return message(text, [section(f":warning: {text}")])
