"""The post-deploy watch's rules: the baseline, what one look saw, and when a look is a regression.

The seeds say "watch the logs for 15 minutes after the deploy". pitcrew does it for every production
deploy (and after its own rollbacks, restarts, variable changes and scales): a look every minute at
health, the error lines logged since the deploy and, on Railway, the 5xx ratio, p95 latency, CPU and memory,
each compared with the previous deployment's figures measured when the watch starts (the baseline).

A look is a regression when any of these holds (`regressions`):
- the watched deployment CRASHED or FAILED (at once: the provider says so, no need to look twice);
- health is down at `DOWN_LOOKS` looks in a row (one failed probe is not enough to page anyone);
- at least `MIN_NEW_ERRORS` error lines were logged since the deploy, at `ERROR_FACTOR` times the
  baseline's rate or more (errors per minute, the watch's elapsed time counted as at least a minute);
- the 5xx ratio, the p95 latency, CPU or memory (as a share of its limit) is over its threshold
  (`thresholds:` in pitcrew.yml) while the baseline was not: a service that was already slow, or
  already near its memory limit, is not made a regression by staying so.

Pure: plain values in, verdicts and words out; the flow (app/flows/deploy_watch.py) measures and
keeps the state in the database, the Slack renderer (app/slack/render/deploy_watch.py) lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.core.chat_text import counted
from app.core.health import Verdict
from app.core.verification import FAILED_STATES

DEFAULT_MINUTES = 15.0
MAX_MINUTES = 24 * 60.0
ERROR_FACTOR = 3.0
MIN_NEW_ERRORS = 5
DOWN_LOOKS = 2
BASELINE_METRICS_MINUTES = 60  # the metrics of the hour before the deploy
METRICS_WINDOW_MINUTES = 15  # a look's metrics: since the deploy, at most the last 15 minutes

STARTING, WATCHING = "starting", "watching"
HEALTHY, REGRESSED, SUPERSEDED, ENDED = "healthy", "regressed", "superseded", "ended"
ACTIVE = (STARTING, WATCHING)
FINAL = (HEALTHY, REGRESSED, SUPERSEDED, ENDED)

# pitcrew's own actions after which the service is watched (once their verification passes): each
# deploys something new or restarts what serves.
WATCHED_ACTIONS = frozenset({"rollback", "restart", "redeploy", "set_variable", "unset_variable", "scale", "promote"})


class Limits(Protocol):
    """The thresholds a look is judged by (the catalog's MetricThresholds has them)."""

    @property
    def error_ratio(self) -> float: ...
    @property
    def p95_ms(self) -> float: ...
    @property
    def cpu_percent(self) -> float: ...
    @property
    def memory_percent(self) -> float: ...


@dataclass(frozen=True)
class Baseline:
    """The previous deployment's figures, measured once when the watch starts.

    `errors`: error lines logged in the `error_minutes` before the deploy; `error_ratio` and `p95_ms`:
    Railway's HTTP metrics over the hour before it; `cpu_percent` and `memory_percent`: their peak share of
    the limits over that hour. None where it could not be measured (`notes` say why).
    """

    errors: int | None = None
    error_minutes: float = DEFAULT_MINUTES
    error_ratio: float | None = None
    requests: float | None = None
    p95_ms: float | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def errors_per_minute(self) -> float | None:
        if self.errors is None:
            return None
        return self.errors / max(self.error_minutes, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": self.errors, "error_minutes": self.error_minutes, "error_ratio": self.error_ratio,
            "requests": self.requests, "p95_ms": self.p95_ms, "cpu_percent": self.cpu_percent,
            "memory_percent": self.memory_percent, "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Baseline:
        raw = raw or {}
        return cls(
            errors=_int(raw.get("errors")), error_minutes=float(raw.get("error_minutes") or DEFAULT_MINUTES),
            error_ratio=_float(raw.get("error_ratio")), requests=_float(raw.get("requests")),
            p95_ms=_float(raw.get("p95_ms")), cpu_percent=_float(raw.get("cpu_percent")),
            memory_percent=_float(raw.get("memory_percent")), notes=tuple(str(n) for n in raw.get("notes") or ()),
        )

    def describe(self) -> str:
        """`2 error lines in the 15 min before the deploy, 5xx 0.1%, p95 310 ms (previous hour)`."""
        parts = []
        if self.errors is not None:
            parts.append(f"{counted(self.errors, 'error line')} in the {span(self.error_minutes)} before the deploy")
        http = _http(self.error_ratio, self.p95_ms)
        if http:
            parts.append(f"{http} over the hour before")
        return ", ".join(parts) or "not measured"


@dataclass(frozen=True)
class Look:
    """What one look saw, `minutes` after the watch started."""

    minutes: float
    verdict: Verdict
    deployment_status: str | None = None
    new_errors: int | None = None
    error_ratio: float | None = None
    requests: float | None = None
    p95_ms: float | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    problems: tuple[str, ...] = ()
    down_looks: int = 0  # looks in a row that found health down, this one included
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "minutes": self.minutes, "verdict": self.verdict.value, "deployment_status": self.deployment_status,
            "new_errors": self.new_errors, "error_ratio": self.error_ratio, "requests": self.requests,
            "p95_ms": self.p95_ms, "cpu_percent": self.cpu_percent, "memory_percent": self.memory_percent,
            "problems": list(self.problems), "down_looks": self.down_looks,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Look | None:
        if not raw:
            return None
        try:
            verdict = Verdict(raw.get("verdict"))
        except ValueError:
            verdict = Verdict.DEGRADED
        return cls(
            minutes=float(raw.get("minutes") or 0.0), verdict=verdict,
            deployment_status=raw.get("deployment_status"), new_errors=_int(raw.get("new_errors")),
            error_ratio=_float(raw.get("error_ratio")), requests=_float(raw.get("requests")),
            p95_ms=_float(raw.get("p95_ms")), cpu_percent=_float(raw.get("cpu_percent")),
            memory_percent=_float(raw.get("memory_percent")), problems=tuple(str(p) for p in raw.get("problems") or ()),
            down_looks=int(raw.get("down_looks") or 0), notes=tuple(str(n) for n in raw.get("notes") or ()),
        )

    def summary(self) -> str:
        """`healthy, 0 new errors, p95 310 ms`: what the watch's message says after each look."""
        parts = [_VERDICT_WORD[self.verdict]]
        if self.new_errors is not None:
            parts.append(f"{self.new_errors} new error{'' if self.new_errors == 1 else 's'}")
        http = _http(self.error_ratio, self.p95_ms)
        if http:
            parts.append(http)
        if self.cpu_percent is not None:
            parts.append(f"CPU {self.cpu_percent:.0f}%")
        if self.memory_percent is not None:
            parts.append(f"memory {self.memory_percent:.0f}%")
        return ", ".join(parts)


def down_looks(previous: Look | None, verdict: Verdict) -> int:
    """How many looks in a row, this one included, found health down."""
    if verdict is not Verdict.DOWN:
        return 0
    return (previous.down_looks if previous is not None else 0) + 1


def regressions(baseline: Baseline, look: Look, limits: Limits) -> tuple[str, ...]:
    """Why this look is a regression against the baseline (see the module's docstring); () when it is not."""
    reasons: list[str] = []
    status = (look.deployment_status or "").upper()
    if status in FAILED_STATES:
        reasons.append(f"the deployment is {status}")
    elif look.down_looks >= DOWN_LOOKS:
        said = f": {look.problems[0]}" if look.problems else ""
        reasons.append(f"health down at {look.down_looks} looks in a row{said}")
    base_rate = baseline.errors_per_minute
    if look.new_errors is not None and look.new_errors >= MIN_NEW_ERRORS and base_rate is not None:
        rate = look.new_errors / max(look.minutes, 1.0)
        if rate >= ERROR_FACTOR * base_rate:
            reasons.append(
                f"{counted(look.new_errors, 'new error line')} in {span(look.minutes)} ({rate:.1f}/min; "
                f"{base_rate:.1f}/min before the deploy)"
            )
    if (
        look.error_ratio is not None and look.error_ratio > limits.error_ratio
        and not (baseline.error_ratio is not None and baseline.error_ratio > limits.error_ratio)
    ):
        before = f"{100 * baseline.error_ratio:.1f}%" if baseline.error_ratio is not None else "unknown"
        reasons.append(
            f"5xx {100 * look.error_ratio:.1f}% of requests, over {100 * limits.error_ratio:g}% "
            f"(before the deploy: {before})"
        )
    if (
        look.p95_ms is not None and look.p95_ms > limits.p95_ms
        and not (baseline.p95_ms is not None and baseline.p95_ms > limits.p95_ms)
    ):
        before = f"{baseline.p95_ms:.0f} ms" if baseline.p95_ms is not None else "unknown"
        reasons.append(f"p95 {look.p95_ms:.0f} ms, over {limits.p95_ms:g} ms (before the deploy: {before})")
    for what, now, then, limit in (
        ("CPU", look.cpu_percent, baseline.cpu_percent, limits.cpu_percent),
        ("memory", look.memory_percent, baseline.memory_percent, limits.memory_percent),
    ):
        if now is not None and now > limit and not (then is not None and then > limit):
            before = f"at most {then:.0f}%" if then is not None else "unknown"
            reasons.append(f"{what} {now:.0f}% of its limit, over {limit:g}% (the hour before the deploy: {before})")
    return tuple(reasons)


def is_over(started_at: datetime, minutes: float, now: datetime) -> bool:
    """Whether the watch has watched its whole span."""
    return (now - started_at).total_seconds() >= minutes * 60


def span(minutes: float) -> str:
    """`15 min`, `2.5 min`, or `30 s` under a minute."""
    if minutes < 1:
        return f"{max(0, round(minutes * 60))} s"
    return f"{minutes:.0f} min" if abs(minutes - round(minutes)) < 0.05 else f"{minutes:.1f} min"


def progress(elapsed: float, total: float) -> str:
    """`7 of 15 min` (or `20 of 30 s` for a watch shorter than a minute)."""
    if total < 1:
        return f"{min(round(elapsed * 60), round(total * 60))} of {round(total * 60)} s"
    return f"{min(int(elapsed), round(total))} of {span(total)}"


def short_deployment(deployment_id: str) -> str:
    """Railway's UUIDs by their first 8 characters, Vercel's `dpl_` ids by their first 12."""
    if len(deployment_id) == 36 and deployment_id.count("-") == 4:
        return deployment_id[:8]
    return deployment_id[:12]


def watch_key(service: str, deployment_id: str, *, after: str | None = None) -> str:
    """One watch per service and deployment; `after` (a restart's proposal) watches the same deployment again."""
    key = f"{service}:{deployment_id}"
    return f"{key}:after:{after}" if after else key


@dataclass(frozen=True)
class DeployInfo:
    """The watched deployment as people recognise it: its commit and who made it, where known."""

    commit_hash: str | None = None
    commit_message: str | None = None
    author: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"commit_hash": self.commit_hash, "commit_message": self.commit_message, "author": self.author,
                "url": self.url}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> DeployInfo:
        raw = raw or {}
        return cls(raw.get("commit_hash"), raw.get("commit_message"), raw.get("author"), raw.get("url"))

    def describe(self) -> str:
        """`3f2a1b9 “Move sessions to the new auth middleware” by Lee Dev`, what is known of it."""
        parts = []
        if self.commit_hash:
            parts.append(self.commit_hash[:7])
        if self.commit_message:
            parts.append(f"“{self.commit_message.splitlines()[0][:120]}”")
        if self.author:
            parts.append(f"by {self.author}")
        return " ".join(parts)


@dataclass(frozen=True)
class WatchView:
    """A watch as every edge shows it."""

    id: int
    service: str
    deployment_id: str
    cause: str
    status: str
    minutes: float
    started_at: datetime
    deploy: DeployInfo = field(default_factory=DeployInfo)
    baseline: Baseline = field(default_factory=Baseline)
    last: Look | None = None
    looks: int = 0
    outcome: str | None = None  # the regression's reasons, or why the watch ended
    superseded_by: str | None = None
    incident_ref: str | None = None
    channel: str | None = None
    message_ts: str | None = None

    @property
    def short(self) -> str:
        return short_deployment(self.deployment_id)


def _http(error_ratio: float | None, p95_ms: float | None) -> str:
    parts = []
    if error_ratio is not None:
        parts.append(f"5xx {100 * error_ratio:.1f}%")
    if p95_ms is not None:
        parts.append(f"p95 {p95_ms:.0f} ms")
    return ", ".join(parts)


_VERDICT_WORD = {Verdict.OK: "healthy", Verdict.DEGRADED: "degraded", Verdict.DOWN: "down"}


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
