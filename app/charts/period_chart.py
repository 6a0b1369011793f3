"""The period report's chart (a PNG): incidents per day stacked by severity, and MTTA/MTTR per day.

A renderer of `PeriodReport` (app/core/period_report.py), like the Slack and console renderers,
but drawing pixels. It uses matplotlib's object API with the Agg canvas: no display, no pyplot and
its process-wide state, so two charts may be drawn at once in two threads. matplotlib is imported
here, lazily, when a chart is drawn: an instance that never draws one never loads it (about 0.3 s
and 30 MB), and `chart_png` draws in a worker thread so the event loop keeps serving Slack.
"""

from __future__ import annotations

import asyncio
import io

from app.core.incidents import SEVERITIES
from app.core.period_report import PeriodReport

# The status page's colours for the same severities (app/status_page.py), so both read alike.
SEVERITY_COLOURS = {"SEV1": "#d93025", "SEV2": "#f29900", "SEV3": "#f4c20d", "SEV4": "#8ab4f8"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def chart_png(report: PeriodReport) -> bytes:
    """The chart as PNG bytes, drawn off the event loop."""
    return await asyncio.to_thread(render_png, report)


def render_png(report: PeriodReport) -> bytes:
    """Draw the chart; blocking (CPU-bound, ~50-100 ms): call `chart_png` from async code."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazily: see the module's docstring
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    counts_axes, times_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    positions = list(range(len(report.per_day)))
    labels = [row.day.strftime("%d %b") for row in report.per_day]
    bottom = [0] * len(positions)
    for severity in SEVERITIES:
        heights = [row.by_severity.get(severity, 0) for row in report.per_day]
        if any(heights):
            counts_axes.bar(positions, heights, bottom=bottom, color=SEVERITY_COLOURS[severity], label=severity)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    counts_axes.set_title(f"Incidents per day, last {report.days} days ({report.total} in all)")
    counts_axes.set_ylabel("incidents")
    counts_axes.yaxis.get_major_locator().set_params(integer=True)
    if report.total:
        counts_axes.legend(loc="upper left", fontsize="small", ncols=4)
    for name, values, style in (
        ("MTTA", [row.mtta for row in report.per_day], "o-"),
        ("MTTR", [row.mttr for row in report.per_day], "s-"),
    ):
        minutes = [v.total_seconds() / 60 if v is not None else float("nan") for v in values]
        times_axes.plot(positions, minutes, style, label=f"{name} (median of the day)", markersize=4)
    times_axes.set_ylabel("minutes")
    times_axes.set_ylim(bottom=0)
    times_axes.legend(loc="upper left", fontsize="small")
    step = max(1, len(positions) // 10)
    times_axes.set_xticks(positions[::step], labels[::step], rotation=0, fontsize="small")
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
