"""What a post-deploy watch measures: the deployment before's figures (the baseline) and each look.

Health comes from the `/health` probes (app/flows/health.py, without its metrics line); the error
lines from Railway's environment log filtered on Railway's side (`@level:error`), or for Vercel from
the log drain's history (Vercel's API keeps none); the 5xx ratio and p95 latency from Railway's HTTP
metrics, CPU and memory from its resource metrics against the service's limits. What cannot be
measured is None with a note saying why, never a guess: the rules of app/core/deploy_watch.py leave
an unknown figure out. Railway's rate limit is raised (RateLimited), so the watch waits for the
window to reset instead of judging on half a look.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.catalog import Service
from app.core.deploy_watch import BASELINE_METRICS_MINUTES, METRICS_WINDOW_MINUTES, Baseline, DeployInfo, Look
from app.core.health import Verdict, deployment_check_name, worst
from app.core.metrics import Series, error_ratio, latest, percent_of
from app.core.verification import LIVE_STATES
from app.flows import action_calls as calls
from app.flows.health import check_health
from app.flows.known_secrets import known_masker
from app.flows.verify import describe_check
from app.providers.base import InvalidIdentifier, ProviderError
from app.providers.railway import railway_log_filter
from app.providers.rate_limits import RateLimited
from app.store import drain_lines
from app.store.db import transaction

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.deploy_watch")

PROVIDER_TIMEOUT_S = 10.0
ERROR_LINES_READ = 5000  # Railway's page of log lines: a count beyond it is "at least"
_PROVIDER_CHECKS = frozenset({deployment_check_name("railway"), deployment_check_name("vercel")})


@dataclass(frozen=True)
class Seen:
    """One look's observation; `newer_deployment` when a newer live deployment serves the service now."""

    look: Look
    newer_deployment: str | None = None


async def measure_baseline(deps: Deps, service: Service, deployed_at: datetime, minutes: float) -> Baseline:
    """The deployment before's figures: error lines in the `minutes` before the deploy, and on Railway
    the 5xx ratio, p95 and peak CPU and memory of the hour before. What cannot be measured is None, with
    a note saying why."""
    notes: list[str] = []
    errors = await _error_lines(deps, service, deployed_at - timedelta(minutes=minutes), deployed_at, notes)
    start = deployed_at - timedelta(minutes=BASELINE_METRICS_MINUTES)
    figures = await _railway_figures(deps, service, start, deployed_at, notes, before=True)
    return Baseline(errors=errors, error_minutes=minutes, notes=tuple(notes), **figures)


async def observe(deps: Deps, name: str, service: Service, deployment_id: str, since: datetime) -> Seen:
    """Health, the error lines since `since` and (Railway) the 5xx ratio, p95, CPU and memory since then."""
    now = deps.clock()
    notes: list[str] = []
    report = await check_health(deps, [name], metrics=False)
    health = report.services[0]
    # Railway or Vercel not answering says nothing of the deploy: that check is left out of the verdict
    # (the URL checks still judge), so a provider's outage never makes a regression.
    unreached = [c for c in health.checks if c.name in _PROVIDER_CHECKS and not c.reached]
    judged = [c for c in health.checks if c not in unreached]
    verdict = worst(c.verdict for c in judged) if unreached else health.verdict
    notes.extend(f"{c.name}: {masked(deps, ' · '.join(c.evidence))}" for c in unreached)
    problems = tuple(describe_check(c) for c in judged if c.verdict is not Verdict.OK)
    latest = health.deployment
    status = latest.status if latest is not None and latest.id == deployment_id else None
    newer = None
    if (
        latest is not None and latest.id != deployment_id and latest.status in LIVE_STATES
        and latest.created_at is not None and latest.created_at > since
    ):
        newer = latest.id
    errors = await _error_lines(deps, service, since, now, notes)
    start = max(since, now - timedelta(minutes=METRICS_WINDOW_MINUTES))
    figures = await _railway_figures(deps, service, start, now, notes, before=False)
    look = Look(minutes=0.0, verdict=verdict, deployment_status=status, new_errors=errors,
                problems=problems, notes=tuple(notes), **figures)
    return Seen(look, newer)


async def _railway_figures(
    deps: Deps, service: Service, start: datetime, end: datetime, notes: list[str], *, before: bool
) -> dict[str, float | None]:
    """Railway's 5xx ratio (and requests), p95, CPU and memory (as shares of their limits) between start
    and end. Before the deploy, CPU and memory are their peak over the window (a limit crossed at any
    moment of the hour before is not new); after it, the latest sample (as /health judges them)."""
    figures: dict[str, float | None] = dict.fromkeys(
        ("error_ratio", "requests", "p95_ms", "cpu_percent", "memory_percent")
    )
    if service.railway is None or deps.railway is None:
        return figures
    try:
        metrics = await deps.railway.service_metrics(service.railway, start=start, end=end,
                                                     timeout_s=PROVIDER_TIMEOUT_S)
    except RateLimited:
        raise
    except (ProviderError, InvalidIdentifier) as err:
        notes.append(f"metrics{' before the deploy' if before else ''}: {masked(deps, str(err))}")
        return figures
    found = error_ratio(metrics.requests_by_status)
    if found is not None:
        figures["error_ratio"], figures["requests"] = found
    figures["p95_ms"] = max((v for _, v in metrics.p95_ms), default=None)
    for key, used, limit in (("cpu_percent", metrics.cpu, metrics.cpu_limit),
                             ("memory_percent", metrics.memory_gb, metrics.memory_limit_gb)):
        figures[key] = _peak_percent(used, limit) if before else percent_of(latest(used), latest(limit))
    return figures


def _peak_percent(used: Series, limit: Series) -> float | None:
    limits, last = dict(limit), latest(limit)
    shares = [percent_of(value, limits.get(ts, last)) for ts, value in used]
    return max((share for share in shares if share is not None), default=None)


async def _error_lines(deps: Deps, service: Service, start: datetime, end: datetime, notes: list[str]) -> int | None:
    """Error lines logged between `start` and `end` (Railway's environment log, or the Vercel log drain)."""
    if service.railway is not None:
        if deps.railway is None:
            notes.append("error lines: RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN not set")
            return None
        try:
            lines = await deps.railway.environment_logs(
                service.railway, filter=railway_log_filter(level="error"), start=start, end=end,
                limit=ERROR_LINES_READ, timeout_s=PROVIDER_TIMEOUT_S,
            )
        except RateLimited:
            raise
        except (ProviderError, InvalidIdentifier) as err:
            notes.append(f"error lines: {masked(deps, str(err))}")
            return None
        return sum(1 for line in lines if start <= line.timestamp < end) if lines else 0
    if service.vercel is not None:
        async with transaction(deps.sessions) as session:
            if await drain_lines.last_received(session, service.vercel.project_id) is None:
                notes.append("error lines: no Vercel log drain delivers this project's logs (docs/webhooks.md)")
                return None
            return await drain_lines.count_errors(session, service.vercel.project_id, start=start, end=end)
    return None


async def deploy_info(deps: Deps, service: Service, deployment_id: str) -> DeployInfo:
    """The deployment's commit and author as the provider tells them; nothing when it cannot be asked."""
    try:
        found = await calls.deployment(deps, service, deployment_id)
    except RateLimited:
        raise
    except (ProviderError, InvalidIdentifier, calls.CannotPropose) as err:
        log.info("watch of %s: deployment %s not described (%s)", service.provider, deployment_id, err)
        return DeployInfo()
    message = found.commit_message.splitlines()[0][:200] if found.commit_message else None
    return DeployInfo(commit_hash=found.commit_hash, commit_message=message, author=found.author, url=found.url)


def masked(deps: Deps, text: str) -> str:
    return known_masker(deps).mask(text)[:300]
