"""`/logs`: a service's logs from its provider, filtered, masked and grouped, as one result for any edge.

What the runbooks do by hand (`railway logs --lines 100`, `railway logs | grep ERROR | sort | uniq -c`,
`vercel logs`, a look at `pg_stat_statements`) done in one call: choose the deployment, ask the
provider for as few lines as will do (Railway filters by level, text and time on its side), then run
every line through the core (`app/core/logs.py`), whose filter is the authoritative one and whose
masker sees every line before anything leaves the process.

Why the order matters:
- The masker is built before any line is read, from the values of the service's own variables
  (as Railway or Vercel reports them) and pitcrew's own secrets; when the provider cannot say what
  the variables are, no line is shown: a log without its secrets masked is worse than no log.
- Lines stream from the provider's answer through `process` into a bounded window (or `TopGroups`),
  so memory holds at most the provider's page (5,000 lines) and the lines shown, however many match.
- Everything the result carries that came from outside (lines, examples, query texts, commit
  messages, the request as typed, error reasons) is masked here; edges only escape and lay out.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeVar

from app.catalog import PostgresRef, RailwayRef, VercelRef
from app.core.logs import OTHER_PATTERN, Group, LogFilter, LogRecord, TopGroups, make_record, process
from app.core.logs_args import DEFAULT_LINES, MAX_LINES, LogsArgs
from app.core.masking import Masker
from app.core.observations import Deployment, SlowQueries
from app.core.variables import ServiceVariables
from app.providers.base import InvalidIdentifier, ProviderError, UnknownDeployment
from app.providers.logs_model import LogLine
from app.providers.postgres import slow_queries
from app.providers.railway import RailwayClient, railway_log_filter
from app.providers.vercel import VercelClient
from app.store import drain_lines

if TYPE_CHECKING:
    from app.deps import Deps

T = TypeVar("T")
V = TypeVar("V")

PROVIDER_TIMEOUT_S = 10.0
TOP_GROUPS = 20
MAX_SLOW_QUERIES = 100  # what providers.postgres.slow_queries accepts
DEPLOYMENTS_SEARCHED = 100  # how far back a short `--deployment` id is looked for
RAILWAY_TOKENS_MISSING = "RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN is not set, so pitcrew cannot read Railway logs"
VERCEL_TOKEN_MISSING = "VERCEL_TOKEN is not set, so pitcrew cannot read Vercel logs"

# Railway's levels at or above each level `--level` can ask for, for its own filter. Railway gives every
# line one of debug/info/warn/error (stdout is info, stderr error, anything else the closest of the
# four: docs.railway.com observability/logs, "Normalization strategy"), so `@level:warning` or
# `@level:fatal` would match nothing. `--level debug` (or trace) needs no filter: every line passes.
_RAILWAY_SEVERITIES: dict[str, tuple[str, ...]] = {
    "trace": (),
    "debug": (),
    "info": ("info", "warn", "error"),
    "warn": ("warn", "error"),
    "error": ("error",),
}
_RAILWAY_SERVING = ("SUCCESS", "CRASHED", "SLEEPING")


# ---- what goes wrong ------------------------------------------------------------------------


class LogsError(Exception):
    """Why `/logs` has no lines to show; `reason` is fit to show as it is (masked; edges escape it)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class LogsUnavailable(LogsError):
    """What was asked cannot be had for this service: an option its provider has no logs for, a
    deployment that is not its own, a missing token. The user can fix the request."""


class LogsFetchFailed(LogsError):
    """A provider call failed or timed out; `call` names it (`railway deployment logs`)."""

    def __init__(self, call: str, reason: str) -> None:
        self.call = call
        self.why = reason
        super().__init__(f"{call} failed: {reason}")


# ---- what comes back ------------------------------------------------------------------------


@dataclass(frozen=True)
class LogSource:
    """Where the lines came from: which provider, which log, which deployment."""

    provider: Literal["railway", "vercel", "postgres"]
    kind: Literal["runtime", "build", "environment", "slow queries", "live tail", "drain"]
    deployment: Deployment | None = None
    tail_seconds: float | None = None  # for a live tail: how long pitcrew listened
    retention_hours: float | None = None  # for the drain: how long its lines are kept

    def describe(self, service: str) -> str:
        """`runtime log of deployment 4e6a8c0d (current, SUCCESS)`, in plain text."""
        if self.kind == "slow queries":
            return "slowest queries"
        if self.kind == "environment":
            return f"log of every deployment of {service} (Railway environment log)"
        if self.kind == "drain":
            return f"history from the Vercel log drain (lines kept {self.retention_hours or 24:g} h)"
        what = {"build": "build log", "live tail": f"live tail of {self.tail_seconds or 0:g} s"}.get(
            self.kind, "runtime log")
        deployment = self.deployment
        if deployment is None:
            return what
        facts = ["current"] if deployment.is_current else []
        if deployment.status:
            facts.append(deployment.status)
        return f"{what} of deployment {short_id(deployment.id)}" + (f" ({', '.join(facts)})" if facts else "")


def short_id(deployment_id: str) -> str:
    """Railway's UUIDs by their first 8 characters (enough for `--deployment`); others whole."""
    if len(deployment_id) == 36 and deployment_id.count("-") == 4:
        return deployment_id[:8]
    return deployment_id


@dataclass(frozen=True)
class LogsResult:
    """What `/logs` found, every string in it masked.

    `mode` says which of `records` (lines, oldest first), `groups` (for `--top`, largest first) or
    `slow` (for `--slow`) holds the answer. `scanned` lines were read from the provider (at most
    `fetch_limit`), `matched` of them passed the filter; `shown` is what the result holds.
    """

    service: str
    asked: str  # the request as typed after `/logs`, masked
    args: LogsArgs
    source: LogSource
    fetched_at: datetime
    records: tuple[LogRecord, ...] = ()
    groups: tuple[Group, ...] = ()
    distinct_groups: int = 0
    slow: SlowQueries | None = None
    scanned: int = 0
    matched: int = 0
    fetch_limit: int = 0
    notes: tuple[str, ...] = field(default=())
    masked_by_name: int = 0  # variables whose value could not be read, masked only where a line names them

    @property
    def mode(self) -> Literal["lines", "top", "slow"]:
        if self.slow is not None:
            return "slow"
        return "top" if self.args.top else "lines"

    @property
    def shown(self) -> int:
        if self.mode == "slow" and self.slow is not None:
            return len(self.slow.statements) or len(self.slow.running)
        return len(self.groups) if self.mode == "top" else len(self.records)

    @property
    def truncated(self) -> bool:
        """More matched than the result holds (lines beyond `--lines`, groups beyond the top ones)."""
        if self.mode == "top":
            return self.distinct_groups > len(self.groups)
        return self.mode == "lines" and self.matched > len(self.records)

    @property
    def window_full(self) -> bool:
        """The provider gave as many lines as were asked for: older ones were not read."""
        return self.mode != "slow" and self.fetch_limit > 0 and self.scanned >= self.fetch_limit

    def summary(self) -> str:
        """One line for the audit trail and for notifications."""
        where = self.source.describe(self.service)
        if self.mode == "slow":
            source = self.slow.source if self.slow is not None else "?"
            return f"{self.shown} slow queries of {self.service} from {source}"
        if self.mode == "top":
            return (f"{len(self.groups)} of {self.distinct_groups} kinds of line in {self.matched} matching lines "
                    f"of {self.service}, {where}")
        return f"{len(self.records)} of {self.matched} matching lines ({self.scanned} read) of {self.service}, {where}"


# ---- the flow -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveTail:
    """A live tail is about to start: the edge says so at once ("tailing web for 20 s…"), as the
    answer comes only when the tail is over."""

    service: str
    seconds: float
    deployment: Deployment


OnTail = Callable[[LiveTail], Awaitable[None]]


async def fetch_logs(
    deps: Deps,
    args: LogsArgs,
    *,
    provider_timeout_s: float = PROVIDER_TIMEOUT_S,
    tail_seconds: float | None = None,
    on_tail: OnTail | None = None,
) -> LogsResult:
    """The logs `args` ask for. Raises UnknownService (the catalog's, naming the known services),
    LogsUnavailable for a request this service cannot answer, LogsFetchFailed for a provider failure.

    `tail_seconds` (default `logs.tail_seconds`) is how long a Vercel live tail listens; `on_tail` is
    told before one starts."""
    service = deps.catalog.service(args.service)
    tail = tail_seconds if tail_seconds is not None else deps.catalog.logs.tail_seconds
    ctx = _Context(deps, args, deps.clock(), provider_timeout_s, tail, on_tail)
    if args.slow and service.provider != "postgres":
        raise LogsUnavailable(
            f"`--slow` lists a Postgres database's slowest queries; {args.service} is a {service.provider} service."
        )
    if service.provider == "railway" and service.railway is not None:
        return await _railway(ctx, service.railway)
    if service.provider == "vercel" and service.vercel is not None:
        return await _vercel(ctx, service.vercel)
    if service.provider == "postgres" and service.railway is not None and not args.slow:
        # A Railway-hosted PostgreSQL: its server's own log is its Railway deployment's log.
        return await _railway(ctx, service.railway)
    if service.provider == "postgres" and service.postgres is not None:
        return await _postgres(ctx, service.postgres)
    raise LogsUnavailable(
        f"{args.service} is checked over HTTP only (provider: {service.provider}): pitcrew has no access to its "
        "logs. Give it a Railway or Vercel block in pitcrew.yml to read them here."
    )


@dataclass
class _Context:
    deps: Deps
    args: LogsArgs
    now: datetime
    timeout_s: float
    tail_s: float
    on_tail: OnTail | None = None

    def own_secrets(self) -> dict[str, str]:
        """pitcrew's own tokens, named so that `Masker.for_variables` takes each for a secret (a name must
        end with the secret word: `PITCREW_1_SECRET`, not `PITCREW_SECRET_1`)."""
        return {f"PITCREW_{n}_SECRET": value for n, value in enumerate(self.deps.secret_values())}

    def masker(self, variables: Mapping[str, str] | ServiceVariables | None = None) -> Masker:
        if isinstance(variables, ServiceVariables):
            pairs = [*variables.values, *self.own_secrets().items()]
            return Masker.for_variables(pairs, unreadable=variables.unreadable)
        return Masker.for_variables({**(variables or {}), **self.own_secrets()})

    def log_filter(self) -> LogFilter:
        # The deployment is chosen by which log is read, not by a per-line attribute (Vercel's lines have none).
        return replace(self.args.log_filter(self.now), deployment_id=None)

    @property
    def since_start(self) -> datetime | None:
        return self.now - self.args.since if self.args.since is not None else None


async def _railway(ctx: _Context, ref: RailwayRef) -> LogsResult:
    client = ctx.deps.railway
    if client is None:
        raise LogsUnavailable(RAILWAY_TOKENS_MISSING)
    args, timeout_s = ctx.args, ctx.timeout_s
    masker, deployment, variables = await _masker_and_deployment(
        ctx, _railway_variables(client, ref, timeout_s), _railway_deployment(client, ref, ctx)
    )
    notes = (*_deployment_notes(deployment, args), *_unreadable_notes(variables, "sealed on Railway"))
    if args.build:
        limit = MAX_LINES if _filters_lines(args) else args.lines
        source = LogSource("railway", "build", deployment)
        lines = await _guard(client.build_logs(deployment.id, limit, ref=ref, timeout_s=timeout_s), masker)
        return _collect(ctx, source, lines, limit, masker, notes=notes, variables=variables)

    server_filter = _railway_filter(args)
    limit = args.lines if _railway_covers(args, server_filter) else MAX_LINES
    if _use_environment_log(ctx, deployment):
        source = LogSource("railway", "environment", None)
        call = client.environment_logs(ref, filter=server_filter, start=ctx.since_start, limit=limit,
                                       timeout_s=timeout_s)
    else:
        source = LogSource("railway", "runtime", deployment)
        call = client.deployment_logs(deployment.id, filter=server_filter, start=ctx.since_start, limit=limit,
                                      ref=ref, timeout_s=timeout_s)
    lines = await _guard(call, masker)
    return _collect(ctx, source, lines, limit, masker, notes=notes, variables=variables)


async def _railway_variables(client: RailwayClient, ref: RailwayRef, timeout_s: float) -> ServiceVariables:
    """Railway's variables; a sealed one comes back as null (its value cannot be read by anyone)."""
    return ServiceVariables.from_mapping(await client.service_variables(ref, timeout_s=timeout_s))


def _unreadable_notes(variables: ServiceVariables, why: str) -> tuple[str, ...]:
    """What the footer says of the variables whose value pitcrew could not read, so nobody takes
    the lines for fully masked: their value is hidden only where a line names them."""
    names = sorted(variables.masked_by_name_only)
    if not names:
        return ()
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    one = len(names) == 1
    return (
        f"{len(names)} variable{'' if one else 's'} ({shown}) {'is' if one else 'are'} {why}: pitcrew cannot "
        f"read {'its value' if one else 'their values'}, so {'it is' if one else 'they are'} masked by name only "
        "(`NAME=...`, `\"NAME\": \"...\"`), not where a line prints the value alone.",
    )


VARIABLES_HINT = (
    " (pitcrew reads the service's variables to mask their values in the log, and shows no line without them)"
)


async def _railway_deployment(client: RailwayClient, ref: RailwayRef, ctx: _Context) -> Deployment:
    """The deployment whose log is read: the one named, else the newest for `--build` and the serving one
    (else the newest) for runtime logs."""
    args, timeout_s = ctx.args, ctx.timeout_s
    if args.deployment_id:
        found = await client.deployments(ref, DEPLOYMENTS_SEARCHED, timeout_s=timeout_s)
        chosen = _by_id(found, args.deployment_id, ctx.args.service)
        return chosen or await client.deployment(ref, args.deployment_id, timeout_s=timeout_s)
    found = await client.deployments(ref, 20, timeout_s=timeout_s)
    if not found:
        raise LogsUnavailable(f"{args.service} has no deployments on Railway yet: there is no log to read.")
    if args.build:
        return found[0]
    current = next((d for d in found if d.is_current), None)
    return current or next((d for d in found if d.status in _RAILWAY_SERVING), found[0])


def _use_environment_log(ctx: _Context, deployment: Deployment) -> bool:
    """Without `--deployment`, a `--since` reaching back before the serving deployment started asks about
    the service, not one deployment: Railway's environment log has the lines of every deployment."""
    if ctx.args.deployment_id or ctx.since_start is None:
        return False
    started = deployment.created_at
    return started is None or ctx.since_start < started or not deployment.is_current


def _railway_filter(args: LogsArgs) -> str | None:
    """Railway's own filter for what it can decide as the core would: severity at or above, and text
    (when the text has no double quote, which Railway's syntax cannot carry)."""
    parts: list[str] = []
    words = _RAILWAY_SEVERITIES.get(args.level or "")
    if words:
        terms = [railway_log_filter(level=word) or "" for word in words]
        parts.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    if args.grep and '"' not in args.grep and args.grep.strip():
        parts.append(railway_log_filter(text=args.grep) or "")
    return " AND ".join(p for p in parts if p) or None


def _railway_covers(args: LogsArgs, server_filter: str | None) -> bool:
    """True when Railway's filter and time bounds already pick the lines the core will keep, so that
    asking for `--lines` lines is enough; otherwise the most Railway gives is read and filtered here."""
    if args.top or args.request_id:
        return False
    if args.level is not None and args.level not in _RAILWAY_SEVERITIES:
        return False
    if args.grep and (server_filter is None or '"' in args.grep):
        return False
    return True


def _filters_lines(args: LogsArgs) -> bool:
    return bool(args.top or args.level or args.grep or args.request_id or args.since)


DRAIN_HINT = ("Vercel's API keeps no history of runtime logs: it streams only what is logged after the "
              "request. A log drain to pitcrew (POST /drains/vercel, see docs/webhooks.md) gives /logs a history.")


async def _vercel(ctx: _Context, ref: VercelRef) -> LogsResult:
    """Build events for `--build` or a deployment that failed to build; the drain's history when a
    drain is configured; otherwise a live tail of `tail_s` seconds, said to be one."""
    client = ctx.deps.vercel
    args, timeout_s = ctx.args, ctx.timeout_s
    drain = ctx.deps.settings.VERCEL_DRAIN_SECRET
    if not args.build and drain is not None and drain.get_secret_value():
        return await _vercel_drain(ctx, ref)
    if client is None:
        raise LogsUnavailable(VERCEL_TOKEN_MISSING)
    # The variables of the deployment's own target (a preview build has preview values): the list
    # and the deployment are asked for at once, then each of that target's encrypted entries is read.
    entries, deployment = await _variables_and_deployment(
        ctx, client.env_entries(ref, timeout_s=timeout_s), _vercel_deployment(client, ref, ctx)
    )
    target = str(deployment.meta.get("target") or "preview")
    variables = await _guard(
        client.env_values(ref, target=target, entries=entries, timeout_s=timeout_s), ctx.masker(), hint=VARIABLES_HINT
    )
    masker = ctx.masker(variables)
    notes = (*_deployment_notes(deployment, args), *_unreadable_notes(variables, "sensitive on Vercel"))
    failed = deployment.status == "ERROR"
    if args.build or failed:
        if failed and not args.build:
            notes += (f"Deployment {short_id(deployment.id)} failed to build (ERROR): it never ran, so it has "
                      "no runtime log. These are its build events.",)
        limit = MAX_LINES if _filters_lines(args) else args.lines
        source = LogSource("vercel", "build", deployment)
        lines = await _guard(client.build_events(deployment.id, limit=limit, ref=ref, timeout_s=timeout_s), masker)
        return _collect(ctx, source, lines, limit, masker, notes=notes, variables=variables)
    if ctx.on_tail is not None:
        await ctx.on_tail(LiveTail(args.service, ctx.tail_s, deployment))
    source = LogSource("vercel", "live tail", deployment, tail_seconds=ctx.tail_s)
    lines = await _guard(
        client.runtime_logs(ref, deployment.id, limit=MAX_LINES, tail_s=ctx.tail_s, timeout_s=timeout_s), masker
    )
    notes += (("`--since` asks for history, which this live tail does not have. " + DRAIN_HINT,)
              if args.since is not None else (DRAIN_HINT,))
    return _collect(ctx, source, lines, MAX_LINES, masker, notes=notes, variables=variables)


async def _vercel_drain(ctx: _Context, ref: VercelRef) -> LogsResult:
    """The lines the log drain delivered (masked when they arrived), newest `MAX_LINES` of the window."""
    args = ctx.args
    masker = ctx.masker()
    retention = ctx.deps.catalog.logs.retention_hours
    since = ctx.since_start
    async with ctx.deps.sessions() as session:
        lines = await drain_lines.newest(
            session, ref.project_id, since=since, deployment_id=args.deployment_id, limit=MAX_LINES
        )
        last = await drain_lines.last_received(session, ref.project_id)
    found = [LogLine(timestamp=line.at, level=line.level, message=line.message, attributes=line.attributes)
             for line in lines]
    if last is None:
        notes: tuple[str, ...] = (f"The Vercel log drain has delivered no line of {args.service} in the last "
                                  f"{retention:g} h: check that the drain includes this project (docs/webhooks.md).",)
    else:
        notes = (f"Last drain delivery {last.strftime('%H:%M:%S')} UTC.",)
    if since is not None and args.since is not None and args.since > timedelta(hours=retention):
        notes += (f"Drained lines are kept {retention:g} h (`logs.retention_hours`); older ones are gone.",)
    source = LogSource("vercel", "drain", None, retention_hours=retention)
    return _collect(ctx, source, found, MAX_LINES, masker, notes=notes)


async def _vercel_deployment(client: VercelClient, ref: VercelRef, ctx: _Context) -> Deployment:
    args, timeout_s = ctx.args, ctx.timeout_s
    if args.deployment_id:
        found = await client.deployments(ref, DEPLOYMENTS_SEARCHED, target=None, timeout_s=timeout_s)
        chosen = _by_id(found, args.deployment_id, args.service)
        return chosen or await client.deployment(ref, args.deployment_id, timeout_s=timeout_s)
    found = await client.deployments(ref, 20, timeout_s=timeout_s)
    if not found:
        raise LogsUnavailable(f"{args.service} has no production deployment on Vercel yet: there is no log to read.")
    if args.build:
        return found[0]
    current = next((d for d in found if d.is_current), None)
    return current or next((d for d in found if d.status == "READY"), found[0])


def _by_id(found: Sequence[Deployment], wanted: str, service: str) -> Deployment | None:
    """The deployment `wanted` names, whole or by the start of its id; None when none of `found` does."""
    exact = [d for d in found if d.id == wanted]
    if exact:
        return exact[0]
    lowered = wanted.lower()
    prefixed = [d for d in found if d.id.lower().startswith(lowered)]
    if len(prefixed) > 1:
        shown = ", ".join(short_id(d.id) for d in prefixed[:5])
        raise LogsUnavailable(
            f"`--deployment {wanted}` could be any of {len(prefixed)} deployments of {service} ({shown}); "
            "give more of the id."
        )
    return prefixed[0] if prefixed else None


def _deployment_notes(deployment: Deployment | None, args: LogsArgs) -> tuple[str, ...]:
    if deployment is None or args.deployment_id or args.build or deployment.is_current:
        return ()
    return (f"No deployment is serving {args.service} now; this is the log of the newest one.",)


async def _postgres(ctx: _Context, ref: PostgresRef) -> LogsResult:
    args = ctx.args
    if not args.slow:
        raise LogsUnavailable(
            f"{args.service} is a Postgres database: pitcrew reads its slowest queries with "
            f"`/logs {args.service} --slow` (with `--lines N` for how many). The database server's own log "
            "is not readable over SQL; look at it with your database host."
        )
    dsn = ctx.deps.environ.get(ref.dsn_env, "")
    if not dsn.strip():
        raise LogsUnavailable(f"The environment variable {ref.dsn_env} (the DSN of {args.service}) is not set.")
    masker = ctx.masker({ref.dsn_env: dsn})
    wanted = min(args.lines, MAX_SLOW_QUERIES)
    found = await _guard(slow_queries(dsn, limit=wanted, timeout_s=ref.timeout_s), masker)
    notes: list[str] = []
    if args.lines > MAX_SLOW_QUERIES:
        notes.append(f"At most {MAX_SLOW_QUERIES} queries are listed.")
    if args.since is not None:
        notes.append("`--since` does not apply to `--slow`: pg_stat_statements counts since its statistics were "
                     "last reset, pg_stat_activity shows what runs now.")
    return LogsResult(
        service=args.service,
        asked=masker.mask(describe_args(args)),
        args=args,
        source=LogSource("postgres", "slow queries"),
        fetched_at=ctx.now,
        slow=_masked_slow(found, masker),
        notes=tuple(notes),
    )


def _masked_slow(found: SlowQueries, masker: Masker) -> SlowQueries:
    """Query texts keep their literals (a password in `ALTER ROLE ... PASSWORD '...'`): mask them."""
    return replace(
        found,
        statements=tuple(replace(s, query=masker.mask_sql(s.query)) for s in found.statements),
        running=tuple(
            replace(q, query=masker.mask_sql(q.query) if q.query is not None else None,
                    application_name=masker.mask(q.application_name) if q.application_name else None)
            for q in found.running
        ),
        note=masker.mask(found.note) if found.note else None,
    )


# ---- lines through the core -----------------------------------------------------------------


class _Counted:
    """Provider lines as core records, built one at a time as `process` asks, and counted."""

    def __init__(self, lines: Iterable[LogLine]) -> None:
        self._lines = lines
        self.count = 0

    def __iter__(self) -> Iterator[LogRecord]:
        for line in self._lines:
            self.count += 1
            yield make_record(line.message, timestamp=line.timestamp, level=line.level, attributes=line.attributes)


def _collect(
    ctx: _Context,
    source: LogSource,
    lines: Iterable[LogLine],
    fetch_limit: int,
    masker: Masker,
    *,
    notes: tuple[str, ...] = (),
    variables: ServiceVariables | None = None,
) -> LogsResult:
    """Filter, mask and keep (the newest `--lines` matches, or the `--top` groups), counting as it goes."""
    args = ctx.args
    counted = _Counted(lines)
    matches = process(counted, ctx.log_filter(), masker, None, keep="first")
    records: tuple[LogRecord, ...] = ()
    groups: tuple[Group, ...] = ()
    distinct = matched = 0
    if args.top:
        tally = TopGroups()
        for record in matches:
            tally.add(record)
        matched = tally.total
        groups = tuple(tally.groups(min(args.lines, TOP_GROUPS)))
        # the "other patterns" group, when lines went there, counts as one more kind
        distinct = tally.distinct + sum(1 for g in groups if g.pattern == OTHER_PATTERN)
    else:
        window: deque[LogRecord] = deque(maxlen=args.lines)
        for record in matches:
            window.append(record)
            matched += 1
        records = tuple(window)
    deployment = source.deployment
    if deployment is not None and deployment.commit_message:
        deployment = replace(deployment, commit_message=masker.mask(deployment.commit_message))
        source = replace(source, deployment=deployment)
    return LogsResult(
        service=args.service,
        asked=masker.mask(describe_args(args)),
        args=args,
        source=source,
        fetched_at=ctx.now,
        records=records,
        groups=groups,
        distinct_groups=distinct,
        scanned=counted.count,
        matched=matched,
        fetch_limit=fetch_limit,
        notes=notes,
        masked_by_name=len(variables.masked_by_name_only) if variables is not None else 0,
    )


def describe_args(args: LogsArgs) -> str:
    """The request as one would type it after `/logs`: `api --since 30m --level error --grep "db timeout"`."""
    parts = [args.service]
    if args.since is not None:
        parts.append(f"--since {_duration(args.since)}")
    if args.lines != DEFAULT_LINES:
        parts.append(f"--lines {args.lines}")
    for option, value in (("--level", args.level), ("--grep", args.grep), ("--request-id", args.request_id),
                          ("--deployment", args.deployment_id)):
        if value:
            parts.append(f"{option} {_quoted(value)}")
    parts.extend(flag for flag, on in (("--top", args.top), ("--build", args.build), ("--slow", args.slow)) if on)
    return " ".join(parts)


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0s"


def _quoted(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) or not value else value


# ---- provider calls -------------------------------------------------------------------------


async def _guard(call: Awaitable[T], masker: Masker, *, hint: str = "") -> T:
    """Await a provider call; its failure as a LogsError that names the call, with secrets masked."""
    try:
        return await call
    except LogsError:
        raise
    except UnknownDeployment as err:
        raise LogsUnavailable(masker.mask(f"{err.reason}.")) from None
    except ProviderError as err:
        raise LogsFetchFailed(err.call, masker.mask(err.reason) + hint) from None
    except InvalidIdentifier as err:
        raise LogsUnavailable(masker.mask(str(err))) from None
    except TimeoutError:
        raise LogsFetchFailed("provider call", "no answer in time") from None


async def _masker_and_deployment(
    ctx: _Context, variables: Awaitable[ServiceVariables], deployment: Awaitable[Deployment]
) -> tuple[Masker, Deployment, ServiceVariables]:
    """The service's variables and its deployment, asked for at once; the masker built from the
    variables. When either call fails, the variables' error wins (no line is shown without them)."""
    found, chosen = await _variables_and_deployment(ctx, variables, deployment)
    return ctx.masker(found), chosen, found


async def _variables_and_deployment(
    ctx: _Context, variables: Awaitable[V], deployment: Awaitable[Deployment]
) -> tuple[V, Deployment]:
    """Both at once; when either call fails, the variables' error wins."""
    fallback = ctx.masker()
    results = await asyncio.gather(
        _guard(variables, fallback, hint=VARIABLES_HINT), _guard(deployment, fallback), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    found, chosen = results
    return found, chosen  # type: ignore[return-value]
