"""Resource and HTTP metrics of a service, as plain values, and the verdict the thresholds give them.

The seeds' runbooks ask "CPU over 70%?", "memory near the limit?", "error rate over 1%?", "p95 over
2 s?" and "disk nearly full?": this module answers each from numbers a provider measured (Railway's
`metrics`, `httpMetricsGroupedByStatus`, `httpDurationMetrics` and volume sizes), so a `/health`
card, a console line and a runbook's `check: metrics` step reach the same verdict from the same
observation. It knows no provider and no Slack: values in, a `CheckResult` out.

OOM restarts: Railway has no "OOM killed" field in its API (schema.json: `DeploymentInstanceStatus`
has CRASHED and RESTARTING, nothing about memory). An OOM kill shows in the memory series as the
peak reaching the limit followed by a fall to a fraction of it (the process starts again empty),
which is what `oom_restarts` counts; that is down, as the seeds say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from app.core.health import CheckResult, Verdict, worst
from app.core.incidents import format_duration
from app.core.observations import Deployment

METRICS_CHECK = "railway metrics"
VERCEL_ACTIVITY_CHECK = "vercel activity"
# Vercel's REST API (refdata/vercel OpenAPI, 2025-10-27) has no error counts or request metrics on any
# plan: Observability and its error rates are read in the dashboard only. Said, rather than left out.
VERCEL_NO_ERROR_COUNTS = (
    "error counts: not exposed by Vercel's API on this team's plan (Observability is in the dashboard);"
    " /logs <service> level:error shows the errors"
)
WINDOW_MINUTES = 15
# An OOM kill: memory at or over this share of the limit, then a sample under RESTART_DROP of that peak.
OOM_AT_LIMIT = 0.98
RESTART_DROP = 0.5

Series = tuple[tuple[int, float], ...]  # (unix seconds, value), oldest first


class MetricLimits(Protocol):
    """What judge_metrics needs of the thresholds (the catalog's MetricThresholds has all of it)."""

    @property
    def cpu_percent(self) -> float: ...
    @property
    def memory_percent(self) -> float: ...
    @property
    def disk_percent(self) -> float: ...
    @property
    def error_ratio(self) -> float: ...
    @property
    def p95_ms(self) -> float: ...


@dataclass(frozen=True)
class DefaultThresholds:
    """The seeds' numbers: CPU > 70%, memory > 85% of the limit, disk > 85%, 5xx > 1%, p95 > 2 s."""

    cpu_percent: float = 70.0
    memory_percent: float = 85.0
    disk_percent: float = 85.0
    error_ratio: float = 0.01
    p95_ms: float = 2000.0


@dataclass(frozen=True)
class VolumeUse:
    """One volume attached to the service: where it is mounted, how much is used of its size."""

    mount_path: str
    used_mb: float
    size_mb: float

    @property
    def percent(self) -> float | None:
        return 100.0 * self.used_mb / self.size_mb if self.size_mb > 0 else None


@dataclass(frozen=True)
class MetricsObservation:
    """What a provider measured over a window; each series oldest first, any of them possibly empty.

    `requests_by_status` maps an HTTP status code to the number of requests answered with it over
    the window; `p95_ms` is the p95 latency series (one value per step).
    """

    cpu: Series = ()  # vCPUs in use
    cpu_limit: Series = ()  # vCPUs allowed
    memory_gb: Series = ()
    memory_limit_gb: Series = ()
    requests_by_status: dict[int, float] = field(default_factory=dict)
    errors_5xx: Series = ()  # 5xx requests per step
    requests: Series = ()  # all requests per step
    p95_ms: Series = ()
    volumes: tuple[VolumeUse, ...] = ()
    window_minutes: float = WINDOW_MINUTES


def latest(series: Sequence[tuple[int, float]]) -> float | None:
    return series[-1][1] if series else None


def percent_of(value: float | None, limit: float | None) -> float | None:
    if value is None or not limit or limit <= 0:
        return None
    return 100.0 * value / limit


def error_ratio(requests_by_status: dict[int, float]) -> tuple[float, float] | None:
    """(5xx ratio, total requests), or None when there were no requests to judge."""
    total = sum(requests_by_status.values())
    if total <= 0:
        return None
    errors = sum(n for status, n in requests_by_status.items() if 500 <= status <= 599)
    return errors / total, total


def oom_restarts(memory_gb: Series, limit_gb: float | None) -> int:
    """How many times memory reached the limit and then fell to a fraction of it (a kill and a restart)."""
    if not limit_gb or limit_gb <= 0:
        return 0
    count, armed = 0, False
    for _, value in memory_gb:
        if value >= OOM_AT_LIMIT * limit_gb:
            armed = True
        elif armed and value < RESTART_DROP * limit_gb:
            count += 1
            armed = False
    return count


CHART_MINUTES = 60


@dataclass(frozen=True)
class MetricsChart:
    """The last hour of a service's metrics as a chart draws them: four panels, each with its threshold.

    Plain values only (percentages and milliseconds by unix time): whichever edge draws it (a PNG in
    Slack) needs nothing else, and nothing here knows how it is drawn.
    """

    service: str
    cpu_percent: Series
    memory_percent: Series
    error_percent: Series
    p95_ms: Series
    cpu_threshold: float
    memory_threshold: float
    error_threshold_percent: float
    p95_threshold_ms: float

    @property
    def filename(self) -> str:
        return f"{self.service}-metrics.png"

    @property
    def title(self) -> str:
        return f"{self.service}: CPU, memory, 5xx and p95, last {CHART_MINUTES} min"

    @property
    def alt_text(self) -> str:
        """What the image shows, for those who cannot see it: the latest and highest of each line."""
        parts = []
        for label, series, unit in (
            ("CPU", self.cpu_percent, "%"), ("memory", self.memory_percent, "%"),
            ("5xx", self.error_percent, "%"), ("p95", self.p95_ms, " ms"),
        ):
            if series:
                values = [v for _, v in series]
                parts.append(f"{label} now {values[-1]:.0f}{unit}, peak {max(values):.0f}{unit}")
            else:
                parts.append(f"{label}: no data")
        return f"{self.title}: " + "; ".join(parts)


def chart_of(service: str, obs: MetricsObservation, limits: MetricLimits) -> MetricsChart:
    """CPU and memory as percentages of their limits at each sample, 5xx as a share of each step's requests."""
    cpu_limits, memory_limits = dict(obs.cpu_limit), dict(obs.memory_limit_gb)
    last_cpu, last_memory = latest(obs.cpu_limit), latest(obs.memory_limit_gb)
    cpu = tuple(
        (ts, pct) for ts, v in obs.cpu if (pct := percent_of(v, cpu_limits.get(ts, last_cpu))) is not None
    )
    memory = tuple(
        (ts, pct) for ts, v in obs.memory_gb if (pct := percent_of(v, memory_limits.get(ts, last_memory))) is not None
    )
    errors = dict(obs.errors_5xx)
    ratio = tuple((ts, 100.0 * errors.get(ts, 0.0) / n) for ts, n in obs.requests if n > 0)
    return MetricsChart(
        service, cpu, memory, ratio, obs.p95_ms,
        limits.cpu_percent, limits.memory_percent, 100.0 * limits.error_ratio, limits.p95_ms,
    )


def recent(obs: MetricsObservation, minutes: float, end_ts: int) -> MetricsObservation:
    """The last `minutes` of a longer observation (a chart's hour), as `/health` would have read them."""
    since = end_ts - int(minutes * 60)

    def cut(series: Series) -> Series:
        return tuple((ts, v) for ts, v in series if ts > since)

    requests, errors = cut(obs.requests), cut(obs.errors_5xx)
    total, failed = sum(v for _, v in requests), sum(v for _, v in errors)
    by_status = {500: failed, 200: total - failed} if total > 0 else {}
    return MetricsObservation(
        cpu=cut(obs.cpu), cpu_limit=cut(obs.cpu_limit), memory_gb=cut(obs.memory_gb),
        memory_limit_gb=cut(obs.memory_limit_gb), requests_by_status=by_status, errors_5xx=errors,
        requests=requests, p95_ms=cut(obs.p95_ms), volumes=obs.volumes, window_minutes=minutes,
    )


def judge_metrics(
    obs: MetricsObservation, limits: MetricLimits, name: str = METRICS_CHECK, *, serves_http: bool = True
) -> CheckResult:
    """Each measurement against its threshold: over one is degraded, an OOM restart is down.

    A measurement the provider did not return (no HTTP traffic, no volume, no limit known) is
    said as such rather than counted as healthy or as a failure. `serves_http=False` (a database,
    reached over TCP) leaves out the "no HTTP requests" line, which would only be noise there;
    HTTP traffic it did have is still judged.
    """
    verdicts: list[Verdict] = []
    evidence: list[str] = []
    window = f"{obs.window_minutes:g} min"

    cpu_pct = percent_of(latest(obs.cpu), latest(obs.cpu_limit))
    if cpu_pct is not None:
        text = f"CPU {cpu_pct:.0f}% of {latest(obs.cpu_limit):g} vCPU"
        if cpu_pct > limits.cpu_percent:
            verdicts.append(Verdict.DEGRADED)
            text += f", over {limits.cpu_percent:g}%"
        evidence.append(text)
    elif obs.cpu:
        evidence.append(f"CPU {latest(obs.cpu):.2f} vCPU (limit unknown)")

    memory_limit = latest(obs.memory_limit_gb)
    memory_pct = percent_of(latest(obs.memory_gb), memory_limit)
    if memory_pct is not None:
        text = f"memory {_gb(latest(obs.memory_gb))} of {_gb(memory_limit)} ({memory_pct:.0f}%)"
        peak = max(v for _, v in obs.memory_gb)
        peak_pct = percent_of(peak, memory_limit)
        if memory_pct > limits.memory_percent:
            verdicts.append(Verdict.DEGRADED)
            text += f", over {limits.memory_percent:g}%"
        elif peak_pct is not None and peak_pct > limits.memory_percent:
            # Judged on the latest sample (a spike that passed is not a present state), but a peak past the
            # threshold is said: memory that climbed to the limit before a crash is the cause to look at.
            text += f"; peak {_gb(peak)} ({peak_pct:.0f}%) in {window}"
        evidence.append(text)
    elif obs.memory_gb:
        evidence.append(f"memory {_gb(latest(obs.memory_gb))} (limit unknown)")
    restarts = oom_restarts(obs.memory_gb, memory_limit)
    if restarts:
        verdicts.append(Verdict.DOWN)
        evidence.append(f"{restarts} OOM restart{'' if restarts == 1 else 's'} in {window} (memory hit the limit)")

    for volume in obs.volumes:
        pct = volume.percent
        if pct is None:
            continue
        text = f"disk {volume.mount_path} {pct:.0f}% of {_gb(volume.size_mb / 1000)}"
        if pct > limits.disk_percent:
            verdicts.append(Verdict.DEGRADED)
            text += f", over {limits.disk_percent:g}%"
        evidence.append(text)

    ratio = error_ratio(obs.requests_by_status)
    if ratio is None:
        if serves_http:
            evidence.append(f"no HTTP requests in {window}")
    else:
        share, total = ratio
        text = f"5xx {100 * share:.1f}% of {total:.0f} requests in {window}"
        if share > limits.error_ratio:
            verdicts.append(Verdict.DEGRADED)
            text += f", over {100 * limits.error_ratio:g}%"
        evidence.append(text)

    p95 = max((v for _, v in obs.p95_ms), default=None) if obs.p95_ms else None
    if p95 is not None:
        text = f"p95 {p95:.0f} ms"
        if p95 > limits.p95_ms:
            verdicts.append(Verdict.DEGRADED)
            text += f", over {limits.p95_ms:g} ms"
        evidence.append(text)

    if not evidence:
        evidence.append("no metrics reported")
    return CheckResult(name, worst(verdicts), tuple(evidence))


def metrics_unavailable(reason: str, name: str = METRICS_CHECK) -> CheckResult:
    """Metrics that could not be read: degraded, on this line only, and the service still counts as reached.

    A metrics outage says nothing about the service itself (its deployment and URLs are judged by
    their own checks), so it neither marks the service down nor withholds the actions offered for it.
    """
    return CheckResult(name, Verdict.DEGRADED, (f"metrics unavailable: {reason}",))


def vercel_activity(deployment: Deployment | None, now: datetime) -> CheckResult:
    """How old the latest production deployment is, and what can be said of its errors: never a verdict
    of its own (a deployment's state is judged by the deployment check), so always ok."""
    evidence = []
    if deployment is not None and deployment.created_at is not None:
        evidence.append(f"latest production deployment {format_duration(now - deployment.created_at)} old")
    else:
        evidence.append("latest production deployment: age unknown")
    evidence.append(VERCEL_NO_ERROR_COUNTS)
    return CheckResult(VERCEL_ACTIVITY_CHECK, Verdict.OK, tuple(evidence))


def _gb(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value * 1000:.0f} MB" if value < 1 else f"{value:.1f} GB"
