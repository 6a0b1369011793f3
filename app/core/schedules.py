"""Scheduled checks (`schedules:` in pitcrew.yml): which checks there are, which services each fits,
when what a check found is a problem, and what one run of a schedule found.

A scheduled check is one of the runbooks' `check` probes (app/flows/runbook_probes.py) run on a
calendar instead of by a click: `tls` every morning, `backup` age daily, the weekly `errors` review,
the monthly `slow_queries` review. The probe says what it saw (a verdict where it judges one, and the
number it measured); this module decides, from the schedule's own limits, whether that is a problem,
because `post: problems` posts only then. A check that could not look at all (no token, a provider
that did not answer) is a problem too: a silent schedule must mean "checked, fine", never "could not
check".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from app.core.metrics import MetricsChart

CheckName = Literal[
    "tls", "backup", "health", "errors", "slow_queries", "migrations", "metrics", "variables", "rotation"
]
CHECKS: tuple[str, ...] = get_args(CheckName)
PostMode = Literal["problems", "always"]

# The runbook probe each check runs (app/core/runbooks.py `Probe`).
PROBE_OF: dict[str, str] = {
    "tls": "tls", "backup": "backup", "health": "health", "errors": "log_errors", "slow_queries": "slow_queries",
    "migrations": "migrations", "metrics": "metrics", "variables": "variables", "rotation": "rotation",
}

# The keys each check takes besides the common ones, and their defaults.
DEFAULT_MAX_AGE_HOURS = 24  # "is there a backup from today?" (seed 003)
DEFAULT_MAX_ERRORS = 0  # any error line in the period is worth a look
DEFAULT_SLOW_MS = 1000.0  # a statement averaging over a second
MAX_PERIOD = timedelta(days=7)  # the furthest back `/logs` reads
CHECK_KEYS: dict[str, tuple[str, ...]] = {
    "tls": ("days",),
    "backup": ("max_age_hours",),
    "errors": ("period", "max_errors"),
    "slow_queries": ("slow_ms",),
}
LIMIT_KEYS: tuple[str, ...] = ("days", "max_age_hours", "period", "max_errors", "slow_ms")


@dataclass(frozen=True)
class ServiceKind:
    """What fitting a check needs to know of a service: its provider and what pitcrew.yml gives it."""

    provider: str
    railway: bool = False  # a `railway:` reference (a Railway-hosted database has one)
    https_checks: int = 0  # `health:` checks whose URL is https://
    required_vars: bool = False
    rotate_after_days: bool = False


def misfit(check: str, name: str, kind: ServiceKind) -> str | None:
    """Why `check` cannot run on the service `name`, or None when it can (said at start, not at 3 am)."""
    provider = kind.provider
    if check == "tls":
        return None if kind.https_checks else f"{name} has no https:// health check whose certificate to read"
    if check == "backup":
        if provider == "postgres" and kind.railway:
            return None
        return f"{name} is not a Railway-hosted database (provider: postgres with a `railway:` reference)"
    if check in ("slow_queries", "migrations"):
        if provider == "postgres":
            return None
        return f"{name} is a {provider} service, not a database (provider: postgres)"
    if check == "metrics":
        return None if provider == "railway" else f"{name} is a {provider} service: metrics are read from Railway only"
    if check == "errors":
        if provider in ("railway", "vercel") or (provider == "postgres" and kind.railway):
            return None
        return f"pitcrew reads no logs of {name} (provider: {provider}): give it a Railway or Vercel block"
    if check == "variables":
        if provider not in ("railway", "vercel"):
            return f"{name} is a {provider} service: pitcrew reads the variables of railway and vercel services"
        return None if kind.required_vars else f"{name} has no `required_vars` to check"
    if check == "rotation":
        return None if kind.rotate_after_days else f"{name} has no `rotate_after_days` to check"
    return None  # health: every service has one


@dataclass(frozen=True)
class Limits:
    """A schedule's thresholds; None where the check's own default applies."""

    days: int | None = None  # tls: fewer days left than this is a problem (default: each check's cert_min_days)
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS  # backup
    period: timedelta | None = None  # errors: how far back (default: the calendar's period, at most 7 days)
    max_errors: int = DEFAULT_MAX_ERRORS  # errors: more error lines than this is a problem
    slow_ms: float = DEFAULT_SLOW_MS  # slow_queries: a mean above this is a problem


def error_period(limits: Limits, previous_due: datetime | None, due: datetime) -> timedelta:
    """How far back the errors review reads: `period`, else since the previous occurrence (a week for
    a weekly review), at most 7 days."""
    if limits.period is not None:
        return limits.period
    if previous_due is None:
        return MAX_PERIOD
    return min(due - previous_due, MAX_PERIOD)


@dataclass(frozen=True)
class Observed:
    """What the probe reported on one service: whether it could look, its one line and detail, its
    verdict where it judges one (`ok`, `degraded`, `down`), and the number it measured where the
    schedule's limits judge it (error lines, the slowest mean in ms, the fewest certificate days),
    and the chart it drew, if any."""

    ran: bool
    summary: str
    detail: tuple[str, ...] = ()
    verdict: str | None = None
    measure: float | None = None
    chart: MetricsChart | None = None  # `metrics`: the last hour, uploaded in the post's thread


def is_problem(check: str, observed: Observed, limits: Limits) -> bool:
    """Whether what was observed is something wrong, for this check and these limits."""
    if not observed.ran:
        return True  # could not look: a quiet schedule must mean "checked, fine"
    if check == "errors":
        return observed.measure is not None and observed.measure > limits.max_errors
    if check == "slow_queries":
        return observed.measure is not None and observed.measure > limits.slow_ms
    if check == "tls" and limits.days is not None:  # expired or unverifiable has no days left to compare
        return observed.verdict == "down" or observed.measure is None or observed.measure < limits.days
    return observed.verdict not in (None, "ok")


@dataclass(frozen=True)
class Finding:
    service: str
    observed: Observed
    problem: bool


@dataclass(frozen=True)
class ScheduleRun:
    """One occurrence of a schedule, run: what each service showed, and whether it is to be posted."""

    schedule: str
    check: str
    every: str
    due_local: str  # `Tue 2026-12-08 08:00 CET`
    post: PostMode
    findings: tuple[Finding, ...]
    period: timedelta | None = None  # errors: the period read
    limits: Limits = Limits()

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.problem)

    @property
    def to_post(self) -> bool:
        return self.post == "always" or bool(self.problems)


def findings_of(check: str, observed: Sequence[tuple[str, Observed]], limits: Limits) -> tuple[Finding, ...]:
    """Each service's finding, problems first (in the order of pitcrew.yml within each group)."""
    judged = [Finding(service, seen, is_problem(check, seen, limits)) for service, seen in observed]
    return tuple(sorted(judged, key=lambda f: not f.problem))
