"""`pitcrew check`: reach everything pitcrew.yml and the environment point at, and say precisely what is wrong.

An edge like the CLI itself: it may talk to Slack, while the flows may not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url

from app.catalog import Catalog, PostgresRef, RailwayRef, Service
from app.core.health import hidden_sessions_note
from app.core.secrets import mask_values
from app.core.var_inventory import Reading, missing_required
from app.core.variables import ServiceVariables
from app.deps import Deps, build_deps
from app.flows.logs import VARIABLES_HINT
from app.flows.schedules import upcoming
from app.jobs.runner import MAX_ATTEMPTS
from app.providers.base import ProviderError
from app.providers.postgres import describe_dsn, probe_postgres
from app.settings import Settings
from app.slack.client import web_client
from app.store import jobs as job_store
from app.store.db import DatabaseUrlError, async_url, safe_url, transaction

T = TypeVar("T")

CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CheckLine:
    """One line of the report; `warning` marks what works but less safely than it could (said, not failed)."""

    subject: str
    ok: bool
    detail: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{'FAIL' if not self.ok else 'WARN' if self.warning else 'ok  '} {self.subject}: {self.detail}"


async def run_checks(settings: Settings, catalog: Catalog, emit: Callable[[str], object]) -> int:
    """Run every check concurrently, emit a line each as they finish in order, return 0 if all passed."""
    config = CheckLine(settings.PITCREW_CONFIG, True, f"{len(catalog.services)} services")
    emit(str(config))
    absent = missing_sqlite_file(settings.DATABASE_URL)
    deps = build_deps(settings, catalog)
    try:
        checks = [_database(settings, absent), _slack(settings), _audit_key(settings), _runbooks(catalog)]
        if absent is None:  # reading the jobs of a SQLite file that is not there would create it
            checks.append(_parked_jobs(deps))
        if catalog.status_page.enabled and catalog.status_page.require_token:
            checks.append(_status_page_token(settings))
        if catalog.oncall is not None and catalog.oncall.page_webhook is not None:
            checks.append(_page_webhook(deps))
        for name, service in catalog.services.items():
            checks.append(_service(deps, name, service.provider))
        found = await asyncio.gather(*(_bounded(check) for check in checks))
        now = deps.clock()
    finally:
        await deps.close()
    lines = [line for line in found if line is not None]
    lines.extend(schedule_lines(catalog, now))
    lines.extend(advice(catalog))
    for line in lines:
        emit(str(line))
    failed = [line for line in lines if not line.ok]
    warned = [line for line in lines if line.ok and line.warning]
    also = f", {len(warned)} warning{'s' if len(warned) > 1 else ''}" if warned else ""
    emit(f"{len(lines) + 1 - len(failed) - len(warned)} ok{also}, {len(failed)} failed")  # + pitcrew.yml's
    return 1 if failed else 0


def schedule_lines(catalog: Catalog, now: datetime) -> list[CheckLine]:
    """Each schedule of `schedules:` with its next due time (pitcrew.yml was validated: they run)."""
    return [
        CheckLine(
            f"schedule {u.name}",
            True,
            f"{u.check} on {', '.join(u.services)} every {u.every} ({u.zone}); next {u.due_local}; "
            f"posts {'every result' if u.post == 'always' else 'problems only'} to {u.channel}",
        )
        for u in upcoming(catalog, now)
    ]


def advice(catalog: Catalog) -> list[CheckLine]:
    """Settings pitcrew runs with but recommends changing (WARN lines), each with what to write instead."""
    notes = []
    if catalog.slack.responders is None:
        notes.append(
            CheckLine(
                "slack.responders",
                True,
                "not set: anyone acting in the alerts channel or an incident thread may declare, update, ack and "
                "resolve incidents (what the status page and managers are told). Set it to the people and user "
                "groups who respond (e.g. `responders: [S0ONCALL, U0LEAD]`); operators always may.",
                warning=True,
            )
        )
    return notes


async def _bounded(check: Awaitable[CheckLine | None]) -> CheckLine | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await check
    except TimeoutError:
        return CheckLine("check", False, f"no answer within {CHECK_TIMEOUT_S:g} s")


def missing_sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite DATABASE_URL when it does not exist (SQLite would create it, empty, on the
    first connection: a check must look, not create), else None."""
    try:
        url = make_url(async_url(database_url))
    except DatabaseUrlError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else path


async def _database(settings: Settings, absent: Path | None = None) -> CheckLine:
    from app.startup import StartupError, ensure_database

    subject = f"database {safe_url(settings.DATABASE_URL)}"
    if absent is not None:
        return CheckLine(
            subject,
            False,
            f"no database file {absent}{'' if absent.is_absolute() else ' in this directory'}: set DATABASE_URL "
            "to your database, or run `pitcrew db upgrade` to create this one",
        )
    try:
        await ensure_database(settings, migrate=False)
    except StartupError as err:
        return CheckLine(subject, False, str(err))
    return CheckLine(subject, True, "reachable, schema up to date")


async def _slack(settings: Settings) -> CheckLine:
    if not settings.SLACK_BOT_TOKEN or not settings.SLACK_SIGNING_SECRET:
        missing = [n for n in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if not getattr(settings, n)]
        return CheckLine("slack", False, f"{' and '.join(missing)} not set")
    try:
        answer = await web_client(settings).auth_test()
    except SlackApiError as err:
        return CheckLine("slack", False, f"auth.test answered {err.response.get('error', 'an error')}")
    except Exception as err:  # network errors of every kind mean the same here
        return CheckLine("slack", False, f"cannot reach {settings.SLACK_API_URL}: {type(err).__name__}: {err}")
    team_id = answer.get("team_id")
    if settings.SLACK_TEAM_ID and team_id != settings.SLACK_TEAM_ID:
        return CheckLine(
            "slack",
            False,
            f"SLACK_TEAM_ID is {settings.SLACK_TEAM_ID} but the bot token belongs to workspace {team_id}: "
            "every request from Slack would be refused",
        )
    return CheckLine("slack", True, f"bot {answer.get('user')} in workspace {answer.get('team')} ({team_id})")


async def _audit_key(settings: Settings) -> CheckLine:
    if settings.audit_key() is None:
        return CheckLine("audit", True, UNKEYED, warning=True)
    return CheckLine("audit", True, "AUDIT_KEY set: the audit trail is chained with HMAC-SHA256 under it")


UNKEYED = (
    "AUDIT_KEY not set: the audit trail is hash-chained without a key, so anyone with write access to "
    "the database could rewrite it unseen (set AUDIT_KEY, see docs/audit.md)"
)


async def _status_page_token(settings: Settings) -> CheckLine:
    """A page for the company only opens to nobody without its token: say so before anyone finds out."""
    if not settings.STATUS_PAGE_TOKEN or not settings.STATUS_PAGE_TOKEN.get_secret_value():
        said = "status_page.require_token is true but STATUS_PAGE_TOKEN is not set: nobody can open it"
        return CheckLine("status page", False, said)
    return CheckLine("status page", True, "opens with STATUS_PAGE_TOKEN (?token= or Authorization: Bearer)")


async def _page_webhook(deps: Deps) -> CheckLine:
    """The webhook pager cannot sign (so does not send) without its secret, and sends no ack links
    without PUBLIC_URL: both are found at 3 a.m. otherwise. Says the variable's name, never its value."""
    config = deps.catalog.oncall.page_webhook if deps.catalog.oncall is not None else None
    assert config is not None
    if not deps.environ.get(config.secret_env):
        return CheckLine("page webhook", False, f"{config.secret_env} is not set: pages cannot be signed, none is sent")
    if not deps.settings.PUBLIC_URL:
        return CheckLine("page webhook", True, "PUBLIC_URL is not set: pages go without ack links", warning=True)
    return CheckLine("page webhook", True, f"pages signed with {config.secret_env}, ack links under PUBLIC_URL")


async def _parked_jobs(deps: Deps) -> CheckLine | None:
    """Jobs that failed too many times in a row and are no longer retried: scheduled work that stopped
    (the purge, a verification) or Slack requests that could not be run (their users were told).
    None when the jobs cannot be read: the database's own line then says why."""
    secrets = deps.secret_values()
    try:
        async with transaction(deps.sessions) as session:
            kinds = await job_store.parked(session)
    except Exception:
        return None
    if not kinds:
        return CheckLine("jobs", True, "none parked")
    described = "; ".join(
        f"{k.kind} ×{k.count} (last error: {mask_values(k.last_error or 'none recorded', secrets)[:200]})"
        for k in kinds
    )
    total = sum(k.count for k in kinds)
    return CheckLine("jobs", False, f"{total} parked after failing {MAX_ATTEMPTS} times in a row: {described}")


async def _runbooks(catalog: Catalog) -> CheckLine:
    from app.flows.runbook_files import RunbookFileError, builtin_dir, load_runbooks_async

    team = Path(catalog.runbooks_dir) if catalog.runbooks_dir else None
    try:
        runbooks = await load_runbooks_async(builtin_dir(), team)
    except RunbookFileError as err:
        return CheckLine("runbooks", False, "; ".join(err.problems))
    problems = [
        f"services.{name}.runbooks: unknown runbook {missing}"
        for name, service in catalog.services.items()
        for missing in runbooks.unknown(service.runbooks)
    ]
    if problems:
        return CheckLine("runbooks", False, "; ".join(problems))
    return CheckLine("runbooks", True, f"{len(runbooks.names())} loaded")


async def _service(deps: Deps, name: str, provider: str) -> CheckLine:
    service = deps.catalog.services[name]
    subject = f"service {name} ({provider})"
    try:
        if provider == "railway":
            if deps.railway is None or service.railway is None:
                return CheckLine(subject, False, "RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN not set")
            if await deps.railway.token_for(service.railway) is None:
                return CheckLine(subject, False, await _unreached(deps, service.railway))
            variables = ServiceVariables.from_mapping(
                await _variables(deps.railway.service_variables(service.railway))
            )
            seen = await deps.railway.latest_deployment(service.railway)
        elif provider == "vercel":
            if deps.vercel is None or service.vercel is None:
                return CheckLine(subject, False, "VERCEL_TOKEN not set")
            variables = await _variables(deps.vercel.env_values(service.vercel))
            seen = await deps.vercel.latest_deployment(service.vercel)
        elif provider == "postgres":
            assert service.postgres is not None
            return await _postgres(deps, subject, service.postgres)
        else:
            return CheckLine(subject, True, f"{len(service.health)} health checks configured")
    except ProviderError as err:
        return CheckLine(subject, False, str(err))
    deployment = seen.deployment
    latest = f"latest deployment {deployment.id} {deployment.status}" if deployment else "no deployments yet"
    said = f"{latest}; {_variables_line(variables, provider)}{_required(service, variables)}"
    return CheckLine(subject, True, said)


def _required(service: Service, variables: ServiceVariables) -> str:
    """`required_vars` missing or empty, named as /health will (never a value); a sealed or sensitive
    one is there. Said, not failed: the file is right, the service's settings are what is wrong."""
    readings = [Reading(n, "", v) for n, v in variables] + [Reading(n, "", None) for n in variables.unreadable]
    missing = missing_required(service.required_vars, readings)
    if not missing:
        return ""
    return "; /health will say degraded: " + ", ".join(f"required variable {p.name} is {p.state}" for p in missing)


def _variables_line(variables: ServiceVariables, provider: str) -> str:
    """How many values /logs can mask, and how many only by name (sensitive or sealed: unreadable)."""
    by_name = len(variables.masked_by_name_only)
    readable = len(variables) - by_name
    line = f"{readable} variables readable (to mask them in /logs)"
    if by_name:
        kind = "sealed" if provider == "railway" else "sensitive"
        line += f", {by_name} {kind} (masked in /logs by name only: `NAME=...`)"
    return line


async def _unreached(deps: Deps, ref: RailwayRef) -> str:
    """Why no token reaches a Railway service: the project token covers another environment only."""
    assert deps.railway is not None
    scope = await deps.railway.project_token_scope()
    covered = "another environment"
    if scope is not None:
        environment = scope.environment_name or scope.environment_id
        covered = f"environment {environment} of project {scope.project_name or scope.project_id}"
    return (
        f"no token reaches it: RAILWAY_PROJECT_TOKEN covers only {covered}, and this service is in environment"
        f" {ref.environment_id} of project {ref.project_id}; set RAILWAY_API_TOKEN (an account token) or a"
        " project token of that environment"
    )


async def _postgres(deps: Deps, subject: str, ref: PostgresRef) -> CheckLine:
    """Reach the database as /health will, and say what of its DSN was ignored, which pooler, which grants."""
    dsn = deps.environ.get(ref.dsn_env)
    if not dsn:
        return CheckLine(subject, False, f"environment variable {ref.dsn_env} not set")
    facts = describe_dsn(dsn)
    observed = await probe_postgres(dsn, timeout_s=ref.timeout_s)
    notes = [f"reachable as {observed.role}, {observed.connections}/{observed.max_connections} connections"]
    if facts.ignored:
        notes.append(f"ignored DSN parameters that libpq does not know: {', '.join(facts.ignored)}")
    if facts.renamed:
        notes.append("read " + ", ".join(facts.renamed))
    problems: list[str] = []
    if observed.hidden_sessions:
        problems.append(hidden_sessions_note(observed.hidden_sessions, observed.role))
    elif not observed.sees_all_sessions:
        notes.append(
            f"role {observed.role} would not see other roles' sessions: GRANT pg_monitor TO {observed.role}"
        )
    if facts.pooler:
        notes.append(f"through {facts.pooler}")
        if not ref.direct_dsn_env:
            notes.append("the idle-session cleanup needs `direct_dsn_env` (a DSN without the pooler)")
    if ref.direct_dsn_env:
        direct = deps.environ.get(ref.direct_dsn_env)
        if not direct:
            problems.append(f"environment variable {ref.direct_dsn_env} (direct_dsn_env) not set")
        elif (pooler := describe_dsn(direct).pooler) is not None:
            problems.append(f"{ref.direct_dsn_env} (direct_dsn_env) goes through {pooler}, not directly")
        else:
            await probe_postgres(direct, timeout_s=ref.timeout_s)
            notes.append(f"direct DSN {ref.direct_dsn_env} reachable")
    return CheckLine(subject, not problems, "; ".join([*problems, *notes]))


async def _variables(reading: Awaitable[T]) -> T:
    """The service's variables, or a ProviderError that says what /logs needs them for (never a value)."""
    try:
        return await reading
    except ProviderError as err:
        raise ProviderError(err.call, err.reason + VARIABLES_HINT) from None
