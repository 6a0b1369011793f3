"""`/health`: probe every check of every service (or of those named) at once, and judge what came back.

All probes run concurrently and each is bounded by its own timeout, so the card takes as long
as the slowest probe, never the sum, and a provider that hangs costs its timeout, not the card.
Whatever goes wrong in a probe (a provider error, a timeout, a bug) becomes a failed check that
says which call failed and why: one broken service never hides the state of the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from app.catalog import HealthCheck, PostgresRef, RailwayRef, Service, VercelRef
from app.core import capacity
from app.core.health import (
    POSTGRES_CHECK,
    CheckResult,
    HealthReport,
    ServiceHealth,
    Verdict,
    deployment_check_name,
    failed_probe,
    http_check_name,
    judge_deployment,
    judge_http,
    judge_postgres,
)
from app.core.metrics import WINDOW_MINUTES, MetricLimits, judge_metrics, metrics_unavailable, vercel_activity
from app.core.migrations import MIGRATIONS_CHECK, MigrationTableMissing, judge_migrations
from app.core.observations import Deployment, DeploymentObservation, HttpObservation
from app.core.secrets import dsn_secrets, mask_values
from app.flows.rotation_age import overdue
from app.flows.variables import VariablesUnavailable, required_missing
from app.providers.base import ProviderError
from app.providers.http import probe_http, safe_url
from app.providers.postgres import probe_postgres
from app.providers.postgres_migrations import read_migrations
from app.providers.railway import InvalidIdentifier

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.health")

PROVIDER_TIMEOUT_S = 10.0  # Railway and Vercel calls have no timeout of their own in pitcrew.yml
# The outer bound waits this much past a probe's own timeout, so that the probe's own, more precise
# message ("connect timed out", "statement timeout") wins when it is about to come anyway.
TIMEOUT_GRACE_S = 0.5
RAILWAY_TOKENS_MISSING = "RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN not set"
VERCEL_TOKEN_MISSING = "VERCEL_TOKEN not set"
POSTGRES_CALL = "postgres probe"

T = TypeVar("T")
Probed = tuple[CheckResult, Deployment | None]


async def check_health(
    deps: Deps,
    names: Sequence[str] | None = None,
    *,
    provider_timeout_s: float = PROVIDER_TIMEOUT_S,
    metrics: bool = True,
) -> HealthReport:
    """Probe the named services (all of them when `names` is None or empty) and judge each check.

    Raises UnknownService, before any probe starts, for a name the catalog does not know.
    `provider_timeout_s` bounds each Railway and Vercel call; HTTP and Postgres checks use their own.
    `metrics=False` leaves out the metrics lines (a verification polling every few seconds watches the
    deployment and the URLs, and spends no more of Railway's hourly request budget than that).
    """
    chosen = _choose(deps, names)
    bounds = _Bounds(deps.secret_values(), provider_timeout_s, metrics)
    checked_at = deps.clock()
    started = time.monotonic()
    services = await asyncio.gather(*(_check_service(deps, n, service, bounds) for n, service in chosen))
    elapsed_ms = (time.monotonic() - started) * 1000
    return HealthReport(tuple(services), checked_at, elapsed_ms)


@dataclass(frozen=True)
class _Bounds:
    """What every probe of one `/health` shares: the secrets to mask in errors, the provider timeout, and
    whether the metrics lines are wanted."""

    secrets: list[str]
    provider_timeout_s: float
    metrics: bool = True


def _choose(deps: Deps, names: Sequence[str] | None) -> list[tuple[str, Service]]:
    if not names:
        return list(deps.catalog.services.items())
    return [(name, deps.catalog.service(name)) for name in dict.fromkeys(names)]


async def _check_service(deps: Deps, name: str, service: Service, bounds: _Bounds) -> ServiceHealth:
    """Every check of one service, concurrently: its provider's (deployment or database) then its URLs.

    A Railway service and a Railway-hosted PostgreSQL (a `postgres` service with a `railway:`
    reference) get their container's lines from the same probe: the deployment, then the metrics
    line right after it, judged against the same thresholds."""
    probes: list[Awaitable[Probed]] = []
    metrics_line: asyncio.Future[CheckResult] | None = None
    railway_at = -1  # where the Railway deployment line is among the probes: the metrics line follows it
    if service.provider == "vercel" and service.vercel is not None:
        probes.append(_vercel(deps, service.vercel, bounds))
    elif service.provider == "postgres" and service.postgres is not None:
        # The migration table is read once the database probe is done: read concurrently, its open
        # transaction would be counted by that probe as a session idle in transaction.
        vitals = asyncio.ensure_future(_postgres(deps, service.postgres, bounds))
        probes.append(vitals)
        ref = service.postgres
        probes.append(_after(vitals, lambda: _migrations(deps, ref, bounds)))
    if service.provider in ("railway", "postgres") and service.railway is not None:
        railway_at = len(probes)
        probe, metrics_line = _railway_probe(deps, service, service.railway, bounds)
        probes.append(probe)
        if service.provider == "postgres":  # a Railway-hosted PostgreSQL: its backups too
            probes.append(_backups(deps, service.railway, bounds))
    probes.extend(_http(deps, check, bounds) for check in service.health)
    if service.required_vars and service.provider in ("railway", "vercel"):
        probes.append(_required_vars(deps, name, service.required_vars, bounds))
    if service.rotate_after_days:
        probes.append(_rotation_age(deps, service.rotate_after_days))
    probed = await asyncio.gather(*probes)
    deployment = next((d for _, d in probed if d is not None), None)
    checks: list[CheckResult] = []
    for at, (check, _) in enumerate(probed):
        if check is not _NOTHING:
            checks.append(check)
        if at == railway_at and metrics_line is not None:
            checks.append(metrics_line.result())
    if service.provider == "vercel" and deployment is not None and bounds.metrics:
        checks.insert(1, vercel_activity(deployment, deps.clock()))
    return ServiceHealth.of(name, service.provider, checks, deployment)


def _railway_probe(
    deps: Deps, service: Service, ref: RailwayRef, bounds: _Bounds
) -> tuple[Awaitable[Probed], asyncio.Future[CheckResult] | None]:
    """The deployment probe of a service on Railway, and the future its metrics line is set on (None when
    the metrics are not wanted). A database serves no HTTP, so its metrics line does not say it had none."""
    if not bounds.metrics:
        return _railway(deps, ref, bounds), None
    metrics_line: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
    limits = deps.catalog.thresholds_for(service)
    serves_http = service.provider == "railway"
    return _railway_with_metrics(deps, ref, limits, bounds, metrics_line, serves_http=serves_http), metrics_line


async def _railway_with_metrics(
    deps: Deps,
    ref: RailwayRef,
    limits: MetricLimits,
    bounds: _Bounds,
    metrics_line: asyncio.Future[CheckResult],
    *,
    serves_http: bool = True,
) -> Probed:
    """The deployment check, and (set on `metrics_line`) CPU, memory, disk, 5xx and p95 over the last 15
    minutes, from one Railway request under the same provider timeout. A metrics failure degrades the
    metrics line only: the deployment is judged as without metrics, and the service's actions stay offered."""
    name, call = deployment_check_name("railway"), "railway latest deployment"
    if deps.railway is None:
        metrics_line.set_result(metrics_unavailable(RAILWAY_TOKENS_MISSING))
        return failed_probe(name, call, RAILWAY_TOKENS_MISSING), None
    client, timeout_s = deps.railway, bounds.provider_timeout_s
    end = deps.clock()
    start = end - timedelta(minutes=WINDOW_MINUTES)
    result, observed = await _guarded(
        name,
        call,
        timeout_s,
        lambda: client.latest_deployment_with_metrics(ref, start=start, end=end, timeout_s=timeout_s),
        lambda both: judge_deployment(both[0]),
        bounds.secrets,
    )
    if observed is None:  # Railway could not be asked at all: the same reason for both lines
        reason = result.evidence[0].split(" failed: ", 1)[-1] if result.evidence else "no answer"
        metrics_line.set_result(metrics_unavailable(reason))
        return result, None
    deployment, metrics = observed
    if isinstance(metrics, ProviderError):
        metrics_line.set_result(metrics_unavailable(mask_values(metrics.reason, bounds.secrets)))
    else:
        metrics_line.set_result(_masked(judge_metrics(metrics, limits, serves_http=serves_http), bounds.secrets))
    return result, deployment.deployment


async def _railway(deps: Deps, ref: RailwayRef, bounds: _Bounds) -> Probed:
    name, call = deployment_check_name("railway"), "railway latest deployment"
    if deps.railway is None:
        return failed_probe(name, call, RAILWAY_TOKENS_MISSING), None
    client, timeout_s = deps.railway, bounds.provider_timeout_s
    return await _deployment(name, call, lambda: client.latest_deployment(ref, timeout_s=timeout_s), bounds)


async def _backups(deps: Deps, ref: RailwayRef, bounds: _Bounds) -> Probed:
    """The newest backup's age and the schedules of the service's Railway volume (degraded when
    neither a schedule nor a backup of the last day exists; a service without a volume says so)."""
    name = capacity.BACKUPS_CHECK
    if deps.railway is None:
        return failed_probe(name, "railway volume backups", RAILWAY_TOKENS_MISSING), None
    client, timeout_s = deps.railway, bounds.provider_timeout_s

    async def probe() -> CheckResult:
        volumes = await client.volumes(ref, timeout_s=timeout_s)
        if not volumes:
            return CheckResult(name, Verdict.DEGRADED, ("no Railway volume attached: nothing to back up",))
        found = await client.backups(volumes[0].id, ref=ref, timeout_s=timeout_s)
        newest = found.taken[0] if found.taken else None
        fine, line = capacity.backup_summary(newest, found.schedules, deps.clock(), volumes[0].name)
        return CheckResult(name, Verdict.OK if fine else Verdict.DEGRADED, (line,))

    result, _ = await _guarded(name, "railway volume backups", timeout_s * 2, probe, lambda r: r, bounds.secrets)
    return result, None


async def _vercel(deps: Deps, ref: VercelRef, bounds: _Bounds) -> Probed:
    name, call = deployment_check_name("vercel"), "vercel latest deployment"
    if deps.vercel is None:
        return failed_probe(name, call, VERCEL_TOKEN_MISSING), None
    client, timeout_s = deps.vercel, bounds.provider_timeout_s
    return await _deployment(name, call, lambda: client.latest_deployment(ref, timeout_s=timeout_s), bounds)


async def _required_vars(deps: Deps, name: str, required: Sequence[str], bounds: _Bounds) -> Probed:
    """`required_vars`: missing or empty ones make the service degraded, each named (never a value).
    A variable that cannot be read (sealed, sensitive) is present. Not being able to read the
    variables at all is degraded too: the service may well be up; pitcrew cannot tell this part."""
    check = "required variables"
    try:
        async with asyncio.timeout(bounds.provider_timeout_s + TIMEOUT_GRACE_S):
            missing = await required_missing(deps, name, required, timeout_s=bounds.provider_timeout_s)
    except (ProviderError, VariablesUnavailable, InvalidIdentifier, TimeoutError) as err:
        reason = str(err) or f"timed out after {bounds.provider_timeout_s:g} s"
        evidence = f"could not read the variables: {mask_values(reason, bounds.secrets)}"
        return CheckResult(check, Verdict.DEGRADED, (evidence,)), None
    if not missing:
        count = f"{len(required)} required variable{'s' if len(required) != 1 else ''} set"
        return CheckResult(check, Verdict.OK, (count,)), None
    named = tuple(f"required variable {p.name} is {p.state}" for p in missing)
    return CheckResult(check, Verdict.DEGRADED, named), None


async def _rotation_age(deps: Deps, limits: Mapping[str, int]) -> Probed:
    """`rotate_after_days`: a warning (the service still works, so the verdict stays ok) naming each
    secret whose last rotation by pitcrew is older than its limit, or that pitcrew never rotated."""
    said: list[str] = []
    for name, age in await overdue(deps, dict(limits)):
        limit = limits[name]
        if age < 0:
            said.append(f":warning: {name}: no rotation by pitcrew on record (rotate_after_days {limit}): "
                        f"`@pitcrew rotate {name}`")
        else:
            said.append(f":warning: {name} was last rotated {age} days ago (rotate_after_days {limit}): "
                        f"`@pitcrew rotate {name}`")
    if not said:
        said.append(f"rotated within {', '.join(f'{n} {d} days' for n, d in sorted(limits.items()))}")
    return CheckResult("secret rotation", Verdict.OK, tuple(said)), None


async def _deployment(
    name: str, call: str, probe: Callable[[], Awaitable[DeploymentObservation]], bounds: _Bounds
) -> Probed:
    result, observed = await _guarded(
        name, call, bounds.provider_timeout_s, probe, judge_deployment, bounds.secrets
    )
    return result, observed.deployment if observed is not None else None


async def _postgres(deps: Deps, ref: PostgresRef, bounds: _Bounds) -> Probed:
    """The database named by an environment variable: its DSN never appears in the card, even in an error."""
    name = POSTGRES_CHECK
    dsn = deps.environ.get(ref.dsn_env, "")
    if not dsn.strip():
        return failed_probe(name, POSTGRES_CALL, f"environment variable {ref.dsn_env} is not set"), None
    result, _ = await _guarded(
        name,
        POSTGRES_CALL,
        ref.timeout_s,
        lambda: probe_postgres(dsn, timeout_s=ref.timeout_s, long_query_s=ref.long_query_s),
        lambda obs: judge_postgres(obs, ref),
        [*bounds.secrets, *dsn_secrets(dsn)],
    )
    return result, None


async def _after(first: Awaitable[object], then: Callable[[], Awaitable[Probed]]) -> Probed:
    await asyncio.wait([asyncio.ensure_future(first)])  # whatever `first` came to: it reports it itself
    return await then()


# A probe with nothing to say (no migration table, none named): left off the card.
_NOTHING = CheckResult("", Verdict.OK, ())


async def _migrations(deps: Deps, ref: PostgresRef, bounds: _Bounds) -> Probed:
    """The migration table's line: named by `migrations_table`, else the first known table found;
    none found and none named is no line at all (not every database is migrated by a tool). A
    named table that is missing, or a table that cannot be read, is degraded: the database may
    serve well, pitcrew cannot tell this part."""
    dsn = deps.environ.get(ref.dsn_env, "")
    if not dsn.strip():
        return _NOTHING, None  # the postgres line already says the DSN is missing
    try:
        async with asyncio.timeout(ref.timeout_s + TIMEOUT_GRACE_S):
            state = await read_migrations(dsn, ref.migrations_table, timeout_s=ref.timeout_s)
    except MigrationTableMissing as err:
        if ref.migrations_table is None:
            return _NOTHING, None
        return CheckResult(MIGRATIONS_CHECK, Verdict.DEGRADED, (str(err),)), None
    except (ProviderError, TimeoutError) as err:
        reason = err.reason if isinstance(err, ProviderError) else f"timed out after {ref.timeout_s:g} s"
        masked = mask_values(reason, [*bounds.secrets, *dsn_secrets(dsn)])
        return CheckResult(MIGRATIONS_CHECK, Verdict.DEGRADED, (f"could not read the migrations: {masked}",)), None
    except Exception as err:  # a bug must not cost the whole card
        masked = mask_values(f"unexpected {type(err).__name__}: {err}", [*bounds.secrets, *dsn_secrets(dsn)])
        log.warning("migrations probe: %s", masked)
        return CheckResult(MIGRATIONS_CHECK, Verdict.DEGRADED, (f"could not read the migrations: {masked}",)), None
    return judge_migrations(state, deps.clock(), status_command=ref.migrations_status_command), None


async def _http(deps: Deps, check: HealthCheck, bounds: _Bounds) -> Probed:
    """One HTTP check. A POST's body comes from the environment variable `body_env` (a test user's
    login): it is sent, and masked in whatever the card quotes, as a secret is."""
    name = http_check_name(check.method, safe_url(check.probe_url))
    body: bytes | None = None
    secrets = bounds.secrets
    if check.body_env is not None:
        text = deps.environ.get(check.body_env, "")
        if not text:
            return failed_probe(name, name, f"environment variable {check.body_env} is not set"), None
        body = text.encode()
        secrets = [*secrets, *_body_secrets(text)]
    result, _ = await _guarded(
        name,
        name,
        check.timeout_s,
        lambda: probe_http(
            deps.probes,
            url=check.probe_url,
            method=check.method,
            timeout_s=check.timeout_s,
            body=body,
            content_type=check.content_type or "application/json",
            origin=check.origin,
            keep_headers=check.wanted_headers,
        ),
        lambda obs: judge_http(_masked_observation(obs, secrets) if body is not None else obs, check),
        secrets,
    )
    return result, None


def _body_secrets(text: str) -> list[str]:
    """What of a POST body must never be shown: the body, and each text value of a JSON body (the
    password alone, when a server echoes only that back)."""
    found = [text]
    try:
        document = json.loads(text)
    except ValueError:
        return found
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _masked_observation(obs: HttpObservation, secrets: list[str]) -> HttpObservation:
    """The observation with the body's secrets masked before judging: the judge shortens what it
    quotes, and a password cut in half would no longer be found by masking the card afterwards."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return mask_values(value, secrets)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    headers = {name: mask_values(value, secrets) for name, value in obs.headers.items()}
    return replace(obs, json_body=clean(obs.json_body), headers=headers)


async def _guarded(
    name: str,
    call: str,
    timeout_s: float,
    probe: Callable[[], Awaitable[T]],
    judge: Callable[[T], CheckResult],
    secrets: Iterable[str],
) -> tuple[CheckResult, T | None]:
    """Run one probe within its time and judge it; any failure becomes a failed check, never an exception."""
    secrets = list(secrets)
    try:
        async with asyncio.timeout(timeout_s + TIMEOUT_GRACE_S):
            observed = await probe()
        return _masked(judge(observed), secrets), observed
    except TimeoutError:
        return failed_probe(name, call, f"timed out after {timeout_s:g} s"), None
    except ProviderError as err:
        return failed_probe(name, err.call, mask_values(err.reason, secrets)), None
    except InvalidIdentifier as err:  # an id in pitcrew.yml that cannot be sent as it is
        return failed_probe(name, call, mask_values(str(err), secrets)), None
    except Exception as err:  # a bug or an error a provider let through must not cost the whole card
        reason = mask_values(f"unexpected {type(err).__name__}: {err}", secrets)
        log.warning("health probe %s: %s", mask_values(call, secrets), reason)
        return failed_probe(name, call, reason), None


def _masked(result: CheckResult, secrets: list[str]) -> CheckResult:
    """A verdict's evidence with secrets masked: it quotes what the service answered (a JSON value that
    did not match), and a backend may well quote its own database's password there."""
    return replace(result, evidence=tuple(mask_values(line, secrets) for line in result.evidence))
