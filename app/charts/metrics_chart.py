"""The `check: metrics` chart (a PNG): a service's last hour, CPU, memory, 5xx ratio and p95 latency.

A renderer of `MetricsChart` (app/core/metrics.py), drawing pixels: people read a curve faster than
numbers, and a memory line climbing to its limit then falling is an OOM restart at a glance. As
app/charts/period_chart.py: matplotlib's object API with the Agg canvas (no display, no pyplot and
its process-wide state), imported lazily when a chart is drawn, and `chart_png` draws in a worker
thread so the event loop keeps serving Slack.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import Any

from app.core.metrics import MetricsChart, Series

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def chart_png(chart: MetricsChart) -> bytes:
    """The chart as PNG bytes, drawn off the event loop."""
    return await asyncio.to_thread(render_png, chart)


def render_png(chart: MetricsChart) -> bytes:
    """Draw the chart: four panels sharing the time axis, each with its threshold dashed; blocking (CPU)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazily: see the module's docstring
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 2, sharex=True)
    panels = (
        (axes[0][0], "CPU, % of limit", chart.cpu_percent, chart.cpu_threshold, "tab:blue"),
        (axes[0][1], "Memory, % of limit", chart.memory_percent, chart.memory_threshold, "tab:purple"),
        (axes[1][0], "5xx, % of requests", chart.error_percent, chart.error_threshold_percent, "tab:red"),
        (axes[1][1], "p95 latency, ms", chart.p95_ms, chart.p95_threshold_ms, "tab:orange"),
    )
    for ax, label, series, threshold, colour in panels:
        _panel(ax, label, series, threshold, colour)
        ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))
    figure.suptitle(chart.title, fontsize=10)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _panel(ax: Any, label: str, series: Series, threshold: float, colour: str) -> None:
    ax.set_title(label, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    if series:
        ax.plot([datetime.fromtimestamp(ts, UTC) for ts, _ in series], [v for _, v in series], color=colour)
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.axhline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(bottom=0)
