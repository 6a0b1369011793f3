"""The `check: metrics` chart: a small PNG of a service's last hour (CPU, memory, 5xx ratio, p95).

People read a curve faster than numbers: a memory line climbing to its limit and falling is an OOM
restart at a glance. Drawn with matplotlib's Agg backend (no display, no system libraries: its wheels
carry everything), imported here only when a chart is drawn so that pitcrew starts and answers
`/health` without loading it. Drawing takes tens of milliseconds of CPU, so callers run
`chart_png` in a thread (`asyncio.to_thread`), never on the event loop.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from app.core.metrics import MetricsChart, Series

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 100


def chart_png(chart: MetricsChart) -> bytes:
    """The chart as PNG bytes: four panels sharing the time axis, each with its threshold dashed."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure  # a Figure without pyplot keeps no global state between threads

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    axes = figure.subplots(2, 2, sharex=True)
    panels = (
        (axes[0][0], "CPU, % of limit", chart.cpu_percent, chart.cpu_threshold, "tab:blue"),
        (axes[0][1], "Memory, % of limit", chart.memory_percent, chart.memory_threshold, "tab:purple"),
        (axes[1][0], "5xx, % of requests", chart.error_percent, chart.error_threshold_percent, "tab:red"),
        (axes[1][1], "p95 latency, ms", chart.p95_ms, chart.p95_threshold_ms, "tab:orange"),
    )
    for ax, label, series, threshold, colour in panels:
        _panel(ax, label, series, threshold, colour)
    figure.suptitle(chart.title, fontsize=10)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _panel(ax: Any, label: str, series: Series, threshold: float, colour: str) -> None:
    ax.set_title(label, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    if series:
        times = [datetime.fromtimestamp(ts, UTC) for ts, _ in series]
        ax.plot(times, [v for _, v in series], color=colour, linewidth=1.5)
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.axhline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(bottom=0)
    from matplotlib.dates import DateFormatter  # loaded already by chart_png's import of matplotlib

    ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))
