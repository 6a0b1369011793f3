"""What a runbook's `check` steps run, and which service a step works on.

Each check is one of the capabilities pitcrew already has (the `/health` probes, a deployment's
status, the database's vital signs, `/logs --slow`, `/logs --top`), reduced to a one-line summary
(which later steps may quote with `{steps.<id>.summary}`) and a few lines of detail for the step's
message. A check *ran* when it observed something, good or bad: a service found down is a result.
It *failed* when it could not look at all (no token, a provider that did not answer, a service of
the wrong kind); the step then stays current, to be run again or skipped.

Everything shown here has been masked by the flow that produced it (health, logs); errors pass
through `mask_values` with pitcrew's own secrets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.catalog import HealthCheck, UnknownService
from app.core import capacity
from app.core.actions import ActionNotAvailable, check_reachable, spec_for
from app.core.durations import format_limit
from app.core.health import Verdict, judge_certificate, judge_deployment, worst
from app.core.logs_args import LogsArgs
from app.core.metrics import CHART_MINUTES, WINDOW_MINUTES, MetricsChart, chart_of, judge_metrics, recent
from app.core.migrations import MigrationTableMissing, judge_migrations
from app.core.runbooks import DEFAULT_BACKUP_HOURS, DEFAULT_LOG_MINUTES, ActionStep, CheckStep, Step, targets_database
from app.core.secrets import mask_values
from app.flows.health import POSTGRES_CALL, check_health
from app.flows.logs import LogsError, fetch_logs
from app.flows.rotation_age import overdue
from app.flows.variables import VariablesUnavailable, named_variables, service_inventory
from app.flows.verify import describe_check
from app.providers.base import InvalidIdentifier, ProviderError
from app.providers.http import probe_http
from app.providers.postgres_migrations import read_migrations, run_verify_queries

if TYPE_CHECKING:
    from app.deps import Deps

PROVIDER_TIMEOUT_S = 10.0
SUMMARY_MAX = 300
DETAIL_LINES = 8
DETAIL_MAX = 300
TOP_SHOWN = 5
NO_SERVICE = "(no service)"  # what a template gives for an incident without a service

_VERDICT_ICON = {Verdict.OK: "✅", Verdict.DEGRADED: "🟠", Verdict.DOWN: "🔴"}


@dataclass(frozen=True)
class ProbeResult:
    """`ran`: it observed something (good or bad); `summary`: one line; `detail`: what the message shows;
    `chart`: a chart to upload in the thread beside the step (`check: metrics`), when there is one.

    `verdict` is the probe's own judgement where it makes one (a service down, a backup too old) and
    `measure` the number it measured where a threshold is the reader's to set (error lines, the
    slowest mean in ms, the fewest days a certificate has left, the newest backup's age in hours):
    a scheduled check (app/flows/schedules.py) posts only when they show a problem."""

    ran: bool
    summary: str
    detail: tuple[str, ...] = ()
    chart: MetricsChart | None = None
    verdict: Verdict | None = None
    measure: float | None = None


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failed(reason: str) -> ProbeResult:
    return ProbeResult(False, _cut(reason, SUMMARY_MAX))


# ---- which service -------------------------------------------------------------------------------


def fits(deps: Deps, step: Step, service: str) -> bool:
    """Whether the step can work on `service` at all (a deployment check on a database cannot)."""
    found = deps.catalog.services.get(service)
    if found is None:
        return False
    provider = found.provider
    if (isinstance(step, CheckStep) and step.probe == "backup") or (
        isinstance(step, ActionStep) and (step.database or step.action == "backup")
    ):  # found by itself, a backup's target is the database (`service:` names a Railway service's volume)
        return provider == "postgres" and found.railway is not None  # a Railway-hosted database
    if isinstance(step, CheckStep):
        if step.probe == "health":
            return True
        if step.probe in ("deployment", "log_errors", "variables"):
            return provider in ("railway", "vercel")
        if step.probe == "metrics":  # a Railway service, or a PostgreSQL hosted on Railway
            return provider in ("railway", "postgres") and found.railway is not None
        if step.probe == "tls":
            return any(check.url.startswith("https://") for check in found.health)
        if step.probe == "rotation":
            return bool(found.rotate_after_days)
        return provider == "postgres"
    if isinstance(step, ActionStep):
        try:
            check_reachable(spec_for(provider, step.action), has_railway=found.railway is not None)
        except ActionNotAvailable:
            return False
        return True
    return False


def candidates(deps: Deps, step: Step) -> tuple[str, ...]:
    """Every service of pitcrew.yml the step could work on, by name."""
    return tuple(name for name in sorted(deps.catalog.services) if fits(deps, step, name))


def choose_target(deps: Deps, step: Step, incident_service: str | None) -> tuple[str | None, tuple[str, ...]]:
    """(the service the step works on, or None and the services to ask about).

    As docs/runbooks.md says: the step's own `service:`, else the incident's service; for the
    database steps the incident's service when it is a database, else pitcrew.yml's database. When
    that leaves a choice, or nothing, the person running the step is asked.
    """
    named = getattr(step, "service", None)
    if named and named != NO_SERVICE:
        return named, ()
    if targets_database(step):
        if incident_service and fits(deps, step, incident_service):
            return incident_service, ()
        found = candidates(deps, step)
        return (found[0], ()) if len(found) == 1 else (None, found)
    if incident_service:
        return incident_service, ()
    found = candidates(deps, step)
    return (found[0], ()) if len(found) == 1 else (None, found)


# ---- the checks ----------------------------------------------------------------------------------


async def run_check(deps: Deps, step: CheckStep, service: str) -> ProbeResult:
    """Run the step's probe on `service`; never raises for what a provider or the catalog says."""
    secrets = deps.secret_values()
    try:
        match step.probe:
            case "health":
                return await _health(deps, service)
            case "deployment":
                return await _deployment(deps, service)
            case "db_connections":
                return await _db_connections(deps, service)
            case "slow_queries":
                return await _slow_queries(deps, service)
            case "log_errors":
                return await _log_errors(deps, service, step.minutes or DEFAULT_LOG_MINUTES)
            case "metrics":
                return await _metrics(deps, service)
            case "variables":
                return await _variables(deps, service, step.names)
            case "migrations":
                return await _migrations(deps, service)
            case "verify_queries":
                return await _verify_queries(deps, service)
            case "backup":
                return await _backup(deps, service, step.hours or DEFAULT_BACKUP_HOURS)
            case "tls":
                return await _tls(deps, service)
            case "rotation":
                return await _rotation(deps, service)
    except UnknownService as err:
        return _failed(str(err))
    except VariablesUnavailable as err:
        return _failed(str(err))
    except LogsError as err:
        return _failed(err.reason)
    except (ProviderError, InvalidIdentifier) as err:
        return _failed(mask_values(str(err), secrets))
    except TimeoutError:
        return _failed(f"no answer within {PROVIDER_TIMEOUT_S:g} s")
    return _failed(f"unknown check {step.probe!r}")


async def _backup(deps: Deps, service: str, hours: int) -> ProbeResult:
    """Whether the newest backup of the service's Railway volume is newer than `hours`: the step
    before anything that changes the database, followed by the `action: backup` step to take one
    (which the summary does not announce: a scheduled `backup` check reads it too)."""
    svc = deps.catalog.service(service)
    if svc.railway is None:
        return _failed(
            f"{service} has no `railway:` reference: check its backups in the database provider's console"
        )
    if deps.railway is None:
        return _failed("RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN is not set, so pitcrew cannot reach Railway")
    async with asyncio.timeout(2 * PROVIDER_TIMEOUT_S + 0.5):
        volumes = await deps.railway.volumes(svc.railway, timeout_s=PROVIDER_TIMEOUT_S)
        if not volumes:
            return _failed(f"{service} has no Railway volume attached, so it has no Railway backups")
        found = await deps.railway.backups(volumes[0].id, ref=svc.railway, timeout_s=PROVIDER_TIMEOUT_S)
    newest = found.taken[0] if found.taken else None
    elapsed = capacity.backup_age(newest, deps.clock())
    age = capacity.age_words(elapsed)
    recent = capacity.backup_is_recent(newest, deps.clock(), hours)
    if recent:
        said = f"newest backup of {service} {age}, within {hours} h: no need for another"
    else:
        said = f"no backup of {service} in the last {hours} h (newest: {age})"
    state = capacity.backup_state(newest, found.schedules, deps.clock())  # the words /health and proposals use
    return ProbeResult(
        True, _cut(said, SUMMARY_MAX), (f"volume {volumes[0].name}: {state}",),
        verdict=Verdict.OK if recent else Verdict.DEGRADED,
        measure=None if elapsed is None else elapsed.total_seconds() / 3600,
    )


async def _tls(deps: Deps, service: str) -> ProbeResult:
    """The certificate of each https:// host of the service's health checks, and its days left, judged
    against that check's `cert_min_days` as `/health` judges it (one request per host, a HEAD: only the
    TLS handshake matters here). A certificate that fails verification (expired, untrusted) is down."""
    svc = deps.catalog.service(service)
    hosts: dict[str, HealthCheck] = {}
    for check in svc.health:
        parts = urlsplit(check.url)
        if parts.scheme == "https" and parts.hostname:
            name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # never user:password@
            hosts.setdefault(name + (f":{parts.port}" if parts.port else ""), check)
    if not hosts:
        return _failed(f"{service} has no https:// health check whose certificate to read")
    secrets = deps.secret_values()

    async def one(host: str, check: HealthCheck) -> tuple[Verdict, str, int | None]:
        url = f"https://{host}/"
        try:
            seen = await probe_http(deps.probes, url=url, method="HEAD", timeout_s=check.timeout_s)
        except ProviderError as err:
            return Verdict.DOWN, f"{host}: {mask_values(err.reason, secrets)}", None
        if seen.cert_days_left is None:
            return Verdict.DEGRADED, f"{host}: the certificate could not be read", None
        verdict, said = judge_certificate(seen.cert_days_left, check.cert_min_days)
        return verdict, f"{host}: {said}", seen.cert_days_left

    seen = await asyncio.gather(*(one(host, check) for host, check in hosts.items()))
    verdict = worst(v for v, _, _ in seen)
    days = [d for _, _, d in seen if d is not None]
    bad = [line for v, line, _ in seen if v is not Verdict.OK]
    if bad:
        said = "; ".join(bad)
    else:
        said = f"{len(seen)} certificate{'s' if len(seen) != 1 else ''} fine, the first to expire in {min(days)} days"
    detail = tuple(_cut(f"{_VERDICT_ICON[v]} {line}", DETAIL_MAX) for v, line, _ in seen[:DETAIL_LINES])
    return ProbeResult(True, _cut(said, SUMMARY_MAX), detail, verdict=verdict, measure=min(days) if days else None)


async def _rotation(deps: Deps, service: str) -> ProbeResult:
    """`rotate_after_days`: each secret pitcrew last rotated longer ago than its limit, or never."""
    svc = deps.catalog.service(service)
    limits = dict(svc.rotate_after_days)
    if not limits:
        return _failed(f"{service} has no rotate_after_days in pitcrew.yml")
    late = await overdue(deps, limits)
    lines = [
        f"{name}: no rotation by pitcrew on record (rotate_after_days {limits[name]}): `@pitcrew rotate {name}`"
        if age < 0 else
        f"{name} was last rotated {age} days ago (rotate_after_days {limits[name]}): `@pitcrew rotate {name}`"
        for name, age in late
    ]
    if not lines:
        said = f"{service}: rotated within " + ", ".join(f"{n} {d} days" for n, d in sorted(limits.items()))
        return ProbeResult(True, _cut(said, SUMMARY_MAX), verdict=Verdict.OK)
    detail = tuple(_cut(f"🟠 {line}", DETAIL_MAX) for line in lines[:DETAIL_LINES])
    return ProbeResult(True, _cut(f"{service}: " + "; ".join(lines), SUMMARY_MAX), detail, verdict=Verdict.DEGRADED)


async def _health(deps: Deps, service: str) -> ProbeResult:
    report = await check_health(deps, [service])
    health = report.services[0]
    bad = [f"{c.name} {c.verdict.value}" for c in health.checks if c.verdict is not Verdict.OK]
    said = f"{service} is {health.verdict.value}" + (f" ({'; '.join(bad)})" if bad else "")
    if not health.checks:
        said = f"{service} has no health checks in pitcrew.yml"
    detail = tuple(
        _cut(f"{_VERDICT_ICON[c.verdict]} {describe_check(c)}", DETAIL_MAX) for c in health.checks[:DETAIL_LINES]
    )
    return ProbeResult(True, _cut(said, SUMMARY_MAX), detail, verdict=health.verdict)


async def _deployment(deps: Deps, service: str) -> ProbeResult:
    svc = deps.catalog.service(service)
    if svc.provider == "railway" and svc.railway is not None:
        if deps.railway is None:
            return _failed("RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN is not set, so pitcrew cannot reach Railway")
        async with asyncio.timeout(PROVIDER_TIMEOUT_S + 0.5):
            observed = await deps.railway.latest_deployment(svc.railway, timeout_s=PROVIDER_TIMEOUT_S)
    elif svc.provider == "vercel" and svc.vercel is not None:
        if deps.vercel is None:
            return _failed("VERCEL_TOKEN is not set, so pitcrew cannot reach Vercel")
        async with asyncio.timeout(PROVIDER_TIMEOUT_S + 0.5):
            observed = await deps.vercel.latest_deployment(svc.vercel, timeout_s=PROVIDER_TIMEOUT_S)
    else:
        return _failed(f"{service} is a {svc.provider} service: it has no deployments to look at")
    check = judge_deployment(observed)
    said = f"{check.verdict.value}: " + " · ".join(check.evidence)
    return ProbeResult(
        True, _cut(said, SUMMARY_MAX), (_cut(f"{_VERDICT_ICON[check.verdict]} {said}", DETAIL_MAX),),
        verdict=check.verdict,
    )


async def _metrics(deps: Deps, service: str) -> ProbeResult:
    """The `/health` metrics line (the last 15 minutes against the thresholds) and a chart of the last hour,
    from one Railway call over the hour with a sample a minute. A Railway-hosted PostgreSQL (a `postgres`
    service with a `railway:` reference) is read and judged the same way, as `/health` does."""
    svc = deps.catalog.service(service)
    if svc.provider not in ("railway", "postgres") or svc.railway is None:
        return _failed(
            f"{service} is a {svc.provider} service without a `railway:` reference: pitcrew reads metrics of "
            "Railway services (and of a database hosted on Railway) only"
        )
    if deps.railway is None:
        return _failed("RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN is not set, so pitcrew cannot reach Railway")
    end = deps.clock()
    async with asyncio.timeout(PROVIDER_TIMEOUT_S + 0.5):
        hour = await deps.railway.service_metrics(
            svc.railway, start=end - timedelta(minutes=CHART_MINUTES), end=end, sample_s=60, http_step_s=60,
            timeout_s=PROVIDER_TIMEOUT_S,
        )
    limits = deps.catalog.thresholds_for(svc)
    serves_http = svc.provider == "railway"  # a database is reached over TCP: no HTTP line to miss
    check = judge_metrics(recent(hour, WINDOW_MINUTES, int(end.timestamp())), limits, serves_http=serves_http)
    said = f"{check.verdict.value}: " + " · ".join(check.evidence)
    detail = tuple(_cut(f"{_VERDICT_ICON[check.verdict]} {line}", DETAIL_MAX) for line in check.evidence)
    return ProbeResult(
        True, _cut(said, SUMMARY_MAX), detail[:DETAIL_LINES], chart_of(service, hour, limits), verdict=check.verdict
    )


async def _db_connections(deps: Deps, service: str) -> ProbeResult:
    svc = deps.catalog.service(service)
    if svc.provider != "postgres":
        return _failed(f"{service} is a {svc.provider} service, not a database (provider: postgres)")
    report = await check_health(deps, [service])
    check = next((c for c in report.services[0].checks if c.name == "postgres"), None)
    if check is None:
        return _failed(f"{service} has no database check")
    said = " · ".join(check.evidence)
    if check.evidence and check.evidence[0].startswith(f"{POSTGRES_CALL} failed:"):
        return _failed(said)  # could not look: no DSN, refused, timed out
    return ProbeResult(
        True, _cut(f"{check.verdict.value}: {said}", SUMMARY_MAX),
        tuple(_cut(f"{_VERDICT_ICON[check.verdict]} {line}", DETAIL_MAX) for line in check.evidence),
        verdict=check.verdict,
    )


async def _slow_queries(deps: Deps, service: str) -> ProbeResult:
    svc = deps.catalog.service(service)
    if svc.provider != "postgres":
        return _failed(f"{service} is a {svc.provider} service, not a database (provider: postgres)")
    result = await fetch_logs(deps, LogsArgs(service=service, slow=True, lines=TOP_SHOWN))
    slow = result.slow
    if slow is None:
        return _failed("no slow-query information came back")
    if slow.statements:
        lines = tuple(
            _cut(f"{s.mean_ms:,.0f} ms mean × {s.calls:,} calls: {s.query}", DETAIL_MAX) for s in slow.statements
        )
        first = slow.statements[0]
        measure: float | None = first.mean_ms
        said = f"slowest on average ({slow.source}): {first.mean_ms:,.0f} ms × {first.calls:,} calls: {first.query}"
    elif slow.running:
        lines = tuple(
            _cut(f"{q.duration_s:,.1f} s running: {q.query or '(query hidden)'}", DETAIL_MAX) for q in slow.running
        )
        first_running = slow.running[0]
        measure = first_running.duration_s * 1000
        said = f"longest running now: {first_running.duration_s:,.1f} s: {first_running.query or '(query hidden)'}"
    else:
        lines = ()
        measure = 0.0
        said = f"no slow query found ({slow.source})"
    if slow.note:
        lines = (*lines, _cut(slow.note, DETAIL_MAX))
    return ProbeResult(True, _cut(said, SUMMARY_MAX), lines[:DETAIL_LINES], measure=measure)


async def _variables(deps: Deps, service: str, names: tuple[str, ...]) -> ProbeResult:
    """`check: variables`: with `names`, each set (length, fingerprint), empty or missing, a missing or
    empty one summarised first; without, every variable by source, as `@pitcrew vars` shows it.
    Values are never shown (app/core/var_inventory.py)."""
    if names:
        named = await named_variables(deps, service, names)
        bad = [p for p in named.found if p.state != "set"]
        if bad:
            summary = f"{service}: " + ", ".join(f"{p.name} {p.state}" for p in bad)
            good = [p.name for p in named.found if p.state == "set"]
            summary += f"; set: {', '.join(good)}" if good else ""
        else:
            summary = f"{service}: all set ({', '.join(names)})"
        detail = tuple(("✅ " if p.state == "set" else "🔴 ") + _cut(p.describe(), DETAIL_MAX) for p in named.found)
        verdict = Verdict.DOWN if bad else Verdict.OK
        return ProbeResult(True, _cut(summary, SUMMARY_MAX), detail[:DETAIL_LINES], verdict=verdict)
    found = await service_inventory(deps, service)
    counts = ", ".join(f"{g.source} {len(g.entries)}" for g in found.groups)
    summary = f"{service}: {found.count} variables" + (f" ({counts})" if counts else "")
    lines = [f"{g.source}: {e.name} → {e.masked.describe()}" for g in found.groups for e in g.entries]
    shown = lines if len(lines) <= DETAIL_LINES else lines[: DETAIL_LINES - 1]
    detail = tuple(_cut(line, DETAIL_MAX) for line in shown)
    if len(shown) < len(lines):
        detail += (f"… and {len(lines) - len(shown)} more: `@pitcrew vars {service}`",)
    return ProbeResult(True, _cut(summary, SUMMARY_MAX), detail)


async def _migrations(deps: Deps, service: str) -> ProbeResult:
    """`check: migrations`: the migration table's line of `/health`, or which tables were looked for."""
    svc = deps.catalog.service(service)
    if svc.provider != "postgres" or svc.postgres is None:
        return _failed(f"{service} is a {svc.provider} service, not a database (provider: postgres)")
    dsn = deps.environ.get(svc.postgres.dsn_env, "")
    if not dsn.strip():
        return _failed(f"environment variable {svc.postgres.dsn_env} is not set")
    try:
        state = await read_migrations(dsn, svc.postgres.migrations_table, timeout_s=svc.postgres.timeout_s)
    except MigrationTableMissing as err:
        return _failed(str(err))
    check = judge_migrations(state, deps.clock(), status_command=svc.postgres.migrations_status_command)
    said = f"{check.verdict.value}: " + " · ".join(check.evidence)
    return ProbeResult(
        True, _cut(said, SUMMARY_MAX),
        tuple(_cut(f"{_VERDICT_ICON[check.verdict]} {line}", DETAIL_MAX) for line in check.evidence),
        verdict=check.verdict,
    )


async def _verify_queries(deps: Deps, service: str) -> ProbeResult:
    """`check: verify_queries`: the named read-only queries of pitcrew.yml (row counts after a restore)."""
    svc = deps.catalog.service(service)
    if svc.provider != "postgres" or svc.postgres is None:
        return _failed(f"{service} is a {svc.provider} service, not a database (provider: postgres)")
    if not svc.postgres.verify_queries:
        return _failed(f"{service} has no verify_queries in pitcrew.yml (such as users: select count(*) from users)")
    dsn = deps.environ.get(svc.postgres.dsn_env, "")
    if not dsn.strip():
        return _failed(f"environment variable {svc.postgres.dsn_env} is not set")
    results = await run_verify_queries(dsn, svc.postgres.verify_queries, timeout_s=svc.postgres.timeout_s)
    lines = [f"{r.name}: {r.value}" if r.error is None else f"{r.name} failed: {r.error}" for r in results]
    summary = f"{service}: " + ", ".join(lines)
    icons = ("🔴 " if r.error else "✅ " for r in results)
    detail = tuple(_cut(icon + line, DETAIL_MAX) for icon, line in zip(icons, lines, strict=True))
    verdict = Verdict.DOWN if any(r.error for r in results) else Verdict.OK
    return ProbeResult(True, _cut(summary, SUMMARY_MAX), detail[:DETAIL_LINES], verdict=verdict)


async def _log_errors(deps: Deps, service: str, minutes: int) -> ProbeResult:
    args = LogsArgs(service=service, since=timedelta(minutes=minutes), level="error", top=True, lines=TOP_SHOWN)
    result = await fetch_logs(deps, args)
    # Vercel without a log drain has no history: a quiet live tail is not "no error in N minutes".
    live = result.source.kind == "live tail"
    span = format_limit(timedelta(minutes=minutes))
    window = (f"during a {result.source.tail_seconds or 0:g} s live tail (Vercel keeps no history of runtime "
              "logs; a log drain gives pitcrew one)") if live else f"in the last {span}"
    if not result.matched:
        return ProbeResult(True, f"no error in the logs of {service} {window}", measure=0)
    first = result.groups[0] if result.groups else None
    said = f"{result.matched} error line{'s' if result.matched != 1 else ''} {window}"
    if first is not None:
        said += f"; most frequent ({first.count}×): {first.example}"
    detail = tuple(_cut(f"{g.count}× {g.example}", DETAIL_MAX) for g in result.groups[:TOP_SHOWN])
    return ProbeResult(True, _cut(said, SUMMARY_MAX), detail, measure=result.matched)
