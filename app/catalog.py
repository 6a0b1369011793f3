"""pitcrew.yml: services, channels, operators and escalation, as pydantic models.

A wrong file is refused whole at start, with the key path and the reason of every mistake
(`services.api.health.url: not a URL`), because a half-read catalog would make pitcrew act on
the wrong service at the worst moment.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.core.actions import ACTION_KINDS
from app.core.calendars import Calendar, CalendarError, parse_calendar
from app.core.correlation import dependency_problems
from app.core.deploy_watch import DEFAULT_MINUTES as DEFAULT_WATCH_MINUTES
from app.core.deploy_watch import MAX_MINUTES as MAX_WATCH_MINUTES
from app.core.durations import BadDuration, parse_duration
from app.core.metrics import DefaultThresholds
from app.core.migrations import QUERY_NAME, query_problem, table_problem
from app.core.postgres_dsn import PLATFORM_ROLES
from app.core.schedules import CHECK_KEYS, CHECKS, LIMIT_KEYS, Limits, ServiceKind, misfit

SLACK_USER_OR_GROUP = r"^[USW][A-Z0-9]{2,}$"
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SLACK_CHANNEL = r"^[CGD][A-Z0-9]{2,}$"
SLACK_USER = r"^[UW][A-Z0-9]{2,}$"
SLACK_GROUP = r"^S[A-Z0-9]{2,}$"
SLACK_USER_GROUP_OR_ONCALL = r"^(?:[USW][A-Z0-9]{2,}|oncall:[a-z0-9][a-z0-9_-]{0,30})$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
_PATTERN_MEANING = {
    SLACK_USER_OR_GROUP: "a Slack user id (U...) or user group id (S...)",
    SLACK_CHANNEL: "a Slack channel id (C...)",
    ENV_NAME: "an environment variable name",
    SLACK_USER: "a Slack user id (U...)",
    SLACK_GROUP: "a Slack user group id (S...)",
    SLACK_USER_GROUP_OR_ONCALL: "a Slack user id (U...), user group id (S...) or oncall:<rotation>",
}


class CatalogError(Exception):
    """The catalog cannot be used; `problems` lists each mistake as `key.path: reason`."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationStep(_Strict):
    after_minutes: int = Field(ge=0)
    notify: list[Annotated[str, Field(pattern=SLACK_USER_GROUP_OR_ONCALL)]] = Field(min_length=1)
    """Slack users or groups, or `oncall:<rotation>`: whoever that rotation has on call when the step
    runs (app/flows/oncall.py); the rotation must be one of `oncall.rotations`."""
    severities: list[Literal["SEV1", "SEV2", "SEV3", "SEV4"]] | None = None


class SlackConfig(_Strict):
    alerts_channel: str = Field(pattern=SLACK_CHANNEL)
    updates_channel: str | None = Field(default=None, pattern=SLACK_CHANNEL)
    operators: list[Annotated[str, Field(pattern=SLACK_USER_OR_GROUP)]] = Field(default_factory=list)
    responders: list[Annotated[str, Field(pattern=SLACK_USER_OR_GROUP)]] | None = None
    """Who may declare, update, ack and resolve incidents (operators always may); None: anyone acting
    in the alerts channel or an incident thread, as before the key existed."""
    channels: list[Annotated[str, Field(pattern=SLACK_CHANNEL)]] = Field(default_factory=list)
    """Channels where pitcrew answers in public, besides the alerts channel and incident threads."""
    escalation: list[EscalationStep] = Field(default_factory=list)


Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]


class LogsConfig(_Strict):
    """`logs:` in pitcrew.yml: how long a Vercel live tail lasts, and how long drained lines are kept.

    Vercel's runtime-logs API only streams what is logged after the request, so `/logs` of a Vercel
    service without a log drain listens for `tail_seconds`; lines a drain delivers are kept
    `retention_hours`, and at most `max_rows_per_project` of them per project (the oldest go first).
    """

    tail_seconds: float = Field(default=20, gt=0, le=300)  # Vercel ends its stream after 5 minutes
    retention_hours: float = Field(default=24, gt=0, le=24 * 30)
    max_rows_per_project: int = Field(default=100_000, ge=10, le=10_000_000)


class IncidentsConfig(_Strict):
    """Deadlines and alert rules of the incident process (`incidents:` in pitcrew.yml); every key optional.

    The defaults are the seeds' severity table: response within 15 min / 1 h / 4 h / 24 h, a status
    update every 30 min for SEV1 and every hour for SEV2, and 30 quiet minutes before an incident
    whose alerts have all recovered resolves by itself.
    """

    response_minutes: dict[Severity, float] = Field(
        default_factory=lambda: {"SEV1": 15, "SEV2": 60, "SEV3": 240, "SEV4": 1440}
    )
    update_cadence_minutes: dict[Severity, float] = Field(default_factory=lambda: {"SEV1": 30, "SEV2": 60})
    quiet_minutes: float = Field(default=30, ge=0)
    severity_map: dict[str, Severity] = Field(default_factory=dict)
    default_severity: Severity = "SEV3"
    postmortem_severities: list[Severity] = Field(default_factory=lambda: ["SEV1", "SEV2"])
    root_edit_interval_seconds: int = Field(default=20, ge=1, le=3600)
    correlate_minutes: float = Field(default=10, ge=0, le=24 * 60)
    """An alert for a service with an open incident joins it if the incident was active within this
    many minutes (app/core/correlation.py); 0 turns correlation off (one incident per alert key)."""

    @field_validator("response_minutes", "update_cadence_minutes")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for severity, minutes in value.items():
            if minutes <= 0:
                raise ValueError(f"{severity}: minutes must be more than 0, got {minutes}")
        return value


HTTP_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")  # RFC 9110 5.1: a token
REDIRECT_STATUSES = (301, 308)  # permanent: browsers and search engines remember them (RFC 9110 15.4)


class HealthCheck(_Strict):
    """One HTTP check of a service, with its own thresholds.

    Beyond a GET, the seeds' auth and security checks are probes too (seed 000's test login, the
    OAuth callback's 302, HSTS, CORS, http → https): `method: POST` sends the body held in the
    environment variable `body_env` (never in this file, never shown: it is a test user's login);
    `expect_status` may list several statuses; `expect_headers` names response headers that must be
    present (a mapping also gives the value expected); `origin` sends an `Origin` request header and
    requires `access-control-allow-origin` to answer it; `https_redirect: true` makes the check a
    redirect check: the http:// form of `url` is requested, unfollowed, and must answer 301 or 308
    to an https:// location.
    """

    url: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: int | tuple[int, ...] = 200
    expect_json: dict[str, Any] | None = None
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    degraded_latency_ms: int = Field(default=2000, gt=0)
    cert_min_days: int = Field(default=30, ge=0)
    body_env: str | None = Field(default=None, pattern=ENV_NAME)
    content_type: str | None = Field(default=None, min_length=1, max_length=200)  # None: JSON
    expect_headers: dict[str, str | None] = Field(default_factory=dict)
    origin: str | None = None
    https_redirect: bool = False

    @field_validator("expect_status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        listed = list(value) if isinstance(value, list | tuple) else [value]
        if not listed:
            raise ValueError("expected an HTTP status such as 200, or a list such as [200, 302]")
        for status in listed:
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ValueError(f"{status!r} is not an HTTP status (a whole number from 100 to 599)")
        return listed[0] if len(listed) == 1 else tuple(dict.fromkeys(listed))

    @field_validator("expect_headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            value = dict.fromkeys(value)
        if not isinstance(value, dict):
            raise ValueError("expected a list of header names, or a mapping of header name to expected value")
        headers: dict[str, str | None] = {}
        for name, expected in value.items():
            if not isinstance(name, str) or not HTTP_HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if expected is not None and not isinstance(expected, str | int):
                raise ValueError(f"{name}: expected a header value (text), got {type(expected).__name__}")
            headers[name.lower()] = None if expected is None else str(expected)
        return headers

    @field_validator("origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ValueError("not an origin (expected scheme and host, such as https://app.example.com)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> HealthCheck:
        if self.body_env is not None and self.method != "POST":
            raise ValueError(f"body_env: a body is only sent with method: POST, not {self.method}")
        if self.https_redirect:
            if self.method == "POST" or self.expect_json is not None or self.expect_status != 200:
                raise ValueError(
                    "https_redirect: a redirect check expects 301 or 308 to https:// by itself;"
                    " remove method: POST, expect_status and expect_json from it"
                )
        return self

    @property
    def expected_statuses(self) -> tuple[int, ...]:
        """Every status that passes: `expect_status` as a tuple, whether one was given or several."""
        if self.https_redirect:
            return REDIRECT_STATUSES
        return self.expect_status if isinstance(self.expect_status, tuple) else (self.expect_status,)

    @property
    def probe_url(self) -> str:
        """The URL requested: `url`, or its http:// form for a redirect check."""
        if self.https_redirect and self.url.startswith("https://"):
            return "http://" + self.url[len("https://"):]
        return self.url

    @property
    def wanted_headers(self) -> tuple[str, ...]:
        """The response headers the judge reads (lower case): no other header is kept."""
        wanted = [*self.expect_headers]
        if self.origin:
            wanted.append("access-control-allow-origin")
        if self.https_redirect:
            wanted.append("location")
        return tuple(dict.fromkeys(wanted))

    @field_validator("url")
    @classmethod
    def _is_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not a URL (expected http:// or https:// with a host)")
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class RailwayRef(_Strict):
    project_id: str = Field(min_length=1)
    environment_id: str = Field(min_length=1)
    service_id: str = Field(min_length=1)


VERCEL_TARGETS = ("production", "preview")


class VercelRef(_Strict):
    """A Vercel project (its `prj_` id, or its name: pitcrew looks the id up once) and its team.

    `alert_targets`: which deployments' failed builds open an incident. Production only by default:
    every push to any branch builds a preview, and a broken feature branch is its author's business,
    not the on-call's. `[production, preview]` pages on both.
    """

    project_id: str = Field(min_length=1)
    team_id: str | None = None
    alert_targets: list[str] = Field(default_factory=lambda: ["production"])

    @field_validator("alert_targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("expected a list of Vercel targets, such as [production] or [production, preview]")
        wrong = [v for v in value if v not in VERCEL_TARGETS]
        if wrong:
            raise ValueError(f"unknown Vercel target {wrong[0]!r}: expected production or preview")
        return list(dict.fromkeys(value))


class PostgresRef(_Strict):
    """Where the database's DSN is found (an environment variable, never the file) and its thresholds.

    `direct_dsn_env` names a DSN that reaches PostgreSQL without the pooler, for the idle cleanup:
    through a pooler it would end the pooler's server connections, never the application's leak.
    `roles` are the application's own roles: the cleanup ends sessions of these roles only.
    """

    dsn_env: str = Field(pattern=ENV_NAME)
    direct_dsn_env: str | None = Field(default=None, pattern=ENV_NAME)
    roles: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    max_connections_pct: float = Field(default=80.0, gt=0, le=100)
    long_query_s: float = Field(default=5.0, gt=0)
    max_idle_in_transaction: int = Field(default=0, ge=0)
    # The team's migration table (app/core/migrations.py has a reader per tool); None: look for them.
    migrations_table: str | None = None
    # The team's command that lists pending migrations (`pnpm run migrate:status`): the migration table
    # cannot show them, so the migrations line names this (else the tool's own, such as `npx prisma migrate status`).
    migrations_status_command: str | None = Field(default=None, min_length=1, max_length=200)
    # Named read-only queries that verify a restore (`users: select count(*) from users`): SELECT only.
    verify_queries: dict[str, str] = Field(default_factory=dict)

    @field_validator("migrations_table")
    @classmethod
    def _migrations_table(cls, value: str | None) -> str | None:
        problem = table_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("verify_queries")
    @classmethod
    def _verify_queries(cls, value: dict[str, str]) -> dict[str, str]:
        for name, query in value.items():
            if not QUERY_NAME.match(name):
                raise ValueError(f"{name!r}: a query's name is lower-case letters, digits, - and _")
            problem = query_problem(query)
            if problem:
                raise ValueError(f"{name}: {problem}")
        return {name: query.strip().rstrip(";").strip() for name, query in value.items()}

    @field_validator("roles", mode="before")
    @classmethod
    def _app_roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError("expected a list of PostgreSQL role names, such as [app]")
        platform = [v for v in value if v in PLATFORM_ROLES]
        if platform:
            raise ValueError(
                f"{', '.join(platform)}: a hosting platform's own role (Supabase's authenticator serves its API);"
                " pitcrew never ends its sessions, list the application's roles only"
            )
        return list(dict.fromkeys(value))


class VerifyConfig(_Strict):
    """How long and how often a rollback, restart or redeploy is watched afterwards (unset: inherited)."""

    interval_s: int | None = Field(default=None, ge=1, le=3600)
    window_minutes: float | None = Field(default=None, gt=0, le=24 * 60)


class ActionsConfig(_Strict):
    """`actions:` at the top level and per service (a service's keys win): policy of destructive actions.

    `second_approver` is true/false for every action, or the list of action kinds that need one.
    """

    expire_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    second_approver: bool | tuple[str, ...] | None = None
    verify: VerifyConfig = Field(default_factory=VerifyConfig)

    @field_validator("second_approver", mode="before")
    @classmethod
    def _action_kinds(cls, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            unknown = [v for v in value if v not in ACTION_KINDS]
            if unknown:
                raise ValueError(f"unknown action {', '.join(map(repr, unknown))}; actions: {', '.join(ACTION_KINDS)}")
            return tuple(value)
        raise ValueError("expected true, false or a list of actions such as [rollback, stop]")


class AuditConfig(_Strict):
    """`audit:`: where and how often the head of the audit trail is posted (docs/audit.md, "Anchors").

    Without `anchor_channel`, the updates channel, else the alerts channel: an anchor is one short
    line a day, and it is worth something only where people other than pitcrew keep it."""

    anchor_channel: str | None = Field(default=None, pattern=SLACK_CHANNEL)
    anchor_every_hours: int = Field(default=24, ge=0, le=24 * 7)

    def channel(self, slack: SlackConfig) -> str:
        return self.anchor_channel or slack.updates_channel or slack.alerts_channel


_SEEDS = DefaultThresholds()


class MetricThresholds(_Strict):
    """`thresholds:` at the top level: when a metric makes a service degraded, over the last 15 minutes.
    The defaults are the seeds' numbers (app/core/metrics.DefaultThresholds): CPU over 70% of its limit,
    memory over 85% of its limit, a volume over 85% full, more than 1% of requests answered 5xx, p95
    latency over 2000 ms."""

    cpu_percent: float = Field(default=_SEEDS.cpu_percent, gt=0, le=100)
    memory_percent: float = Field(default=_SEEDS.memory_percent, gt=0, le=100)
    disk_percent: float = Field(default=_SEEDS.disk_percent, gt=0, le=100)
    error_ratio: float = Field(default=_SEEDS.error_ratio, ge=0, lt=1)
    p95_ms: float = Field(default=_SEEDS.p95_ms, gt=0, le=600_000)


class ServiceThresholds(_Strict):
    """`thresholds:` of one service: each key given wins over the top level's, the others are inherited."""

    cpu_percent: float | None = Field(default=None, gt=0, le=100)
    memory_percent: float | None = Field(default=None, gt=0, le=100)
    disk_percent: float | None = Field(default=None, gt=0, le=100)
    error_ratio: float | None = Field(default=None, ge=0, lt=1)
    p95_ms: float | None = Field(default=None, gt=0, le=600_000)

    def over(self, base: MetricThresholds) -> MetricThresholds:
        """These keys where set, `base`'s elsewhere (both validated by the same bounds)."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


class Service(_Strict):
    provider: Literal["railway", "vercel", "postgres", "http"]
    railway: RailwayRef | None = None
    vercel: VercelRef | None = None
    postgres: PostgresRef | None = None
    health: list[HealthCheck] = Field(default_factory=list)
    runbooks: list[str] = Field(default_factory=list)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    thresholds: ServiceThresholds = Field(default_factory=ServiceThresholds)
    depends_on: list[str] = Field(default_factory=list)
    """Services this one needs (web on api, api on db): their open incident takes this one's alerts."""
    # Variables the service cannot work without: `/health` reports the service degraded, naming
    # each one that is missing or empty (one pitcrew cannot read, sealed or sensitive, is present).
    required_vars: list[str] = Field(default_factory=list)
    # Secrets to rotate regularly, with their longest age in days (`{JWT_SECRET: 90}`): `/health` warns
    # when pitcrew's last rotation of one (`@pitcrew rotate`, app/flows/rotation.py) is older.
    rotate_after_days: dict[str, int] = Field(default_factory=dict)
    # How long pitcrew watches the service after a production deploy (a Railway or Vercel webhook, or
    # pitcrew's own rollback, restart, variable change or scale): app/flows/deploy_watch.py. 0 is off.
    watch_minutes: float = DEFAULT_WATCH_MINUTES

    @field_validator("watch_minutes", mode="before")
    @classmethod
    def _watch_minutes(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_WATCH_MINUTES:
            raise ValueError(
                f"expected minutes from 0 (no watch) to {MAX_WATCH_MINUTES:g}, such as 15; got {value!r}"
            )
        return value

    @field_validator("rotate_after_days", mode="before")
    @classmethod
    def _rotation_ages(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected variable names with a number of days, such as {JWT_SECRET: 90}")
        for name, days in value.items():
            if not isinstance(name, str) or not re.match(ENV_NAME, name):
                raise ValueError(f"{name!r} is not a variable name: letters, digits and _, not starting with a digit")
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
                raise ValueError(f"{name}: expected a whole number of days from 1 to 3650, got {days!r}")
        return value

    @field_validator("health", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("required_vars", mode="before")
    @classmethod
    def _variable_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of variable names, such as [DATABASE_URL, JWT_SECRET]")
        wrong = [v for v in value if not re.match(ENV_NAME, v)]
        if wrong:
            raise ValueError(f"{wrong[0]!r} is not a variable name: letters, digits and _, not starting with a digit")
        return list(dict.fromkeys(value))

    @property
    def deploys(self) -> bool:
        """Whether the service has deployments pitcrew can see (and so watch after a deploy)."""
        return (self.provider in ("railway", "vercel") and getattr(self, self.provider) is not None) or (
            self.provider == "postgres" and self.railway is not None
        )

    @model_validator(mode="after")
    def _provider_block(self) -> Service:
        if self.provider in ("railway", "vercel", "postgres") and getattr(self, self.provider) is None:
            raise ValueError(f"provider is {self.provider} but the `{self.provider}:` block is missing")
        if self.provider == "http" and not self.health:
            raise ValueError("provider http needs at least one `health:` check")
        if self.required_vars and self.provider not in ("railway", "vercel"):
            raise ValueError(
                "required_vars: pitcrew reads the variables of railway and vercel services, "
                f"not of {self.provider} ones"
            )
        # The default is let through: a catalog dumped and read back (model_dump, then model_validate)
        # carries every service's default as if written, and an http service watches nothing anyway.
        if self.watch_minutes not in (0, DEFAULT_WATCH_MINUTES) and not self.deploys:
            raise ValueError(
                "watch_minutes: pitcrew watches the deploys of railway and vercel services (and of a postgres "
                f"service with a `railway:` block), not of {self.provider} ones"
            )
        if self.rotate_after_days and self.provider not in ("railway", "vercel"):
            raise ValueError(
                "rotate_after_days: pitcrew rotates the variables of railway and vercel services, "
                f"not of {self.provider} ones"
            )
        return self


Visibility = Literal["public", "private"]


class StatusPageConfig(_Strict):
    """`status_page:` in pitcrew.yml: what the public page at /status shows, and to whom.

    `components` maps catalog services to the names the public may read (`api: Public API`); unset,
    every service is a component under its own name. An incident on a service that is not a
    component is private unless someone marks it public. `require_token` keeps the page for people
    who hold STATUS_PAGE_TOKEN (`?token=` or `Authorization: Bearer`), for a page only the company sees.
    """

    enabled: bool = True
    name: str = Field(default="Service status", min_length=1, max_length=100)
    components: dict[str, Annotated[str, Field(min_length=1, max_length=100)]] | None = None
    require_token: bool = False
    default_visibility: Visibility = "public"

    @field_validator("components", mode="before")
    @classmethod
    def _list_or_mapping(cls, value: Any) -> Any:
        """`[api, web]` (public names as the services') or `{api: Public API}`."""
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise ValueError("expected service names, or a mapping of service name to public name")
            return {v: v for v in value}
        return value


class WeeklyReportConfig(_Strict):
    """`reports.weekly:` when the weekly report is posted: a weekday and an hour in `timezone`.

    Posted to the updates channel (else the alerts channel), once for all instances."""

    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    hour: int = Field(default=9, ge=0, le=23)
    timezone: str = "UTC"
    days: Literal[7, 30] = 7  # the period the post covers

    @field_validator("day", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Paris or UTC") from None
        return value

    def channel(self, slack: SlackConfig) -> str:
        return slack.updates_channel or slack.alerts_channel


ROTATION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,30}$")
_WEEKDAY_WORDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hh_mm(value: str) -> str:
    """`09:00`: a local time of day, 00:00 to 23:59 (24:00 for the end of a restriction)."""
    match = re.fullmatch(r"([01]?[0-9]|2[0-4]):([0-5][0-9])", str(value).strip())
    if match is None or (int(match.group(1)) == 24 and match.group(2) != "00"):
        raise ValueError(f"{value!r} is not a time of day (HH:MM, e.g. 09:00)")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Paris or UTC") from None
    return value


class RestrictConfig(_Strict):
    """`restrict:` working hours of a daytime rotation: on the listed days from `from` to `to`, local
    time; outside them nobody from the rotation is on call."""

    days: list[str] = Field(default_factory=lambda: list(_WEEKDAY_WORDS[:5]), min_length=1)
    start: str = Field(default="09:00", validation_alias=AliasChoices("from", "start"))
    end: str = Field(default="18:00", validation_alias=AliasChoices("to", "end"))

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        """`[mon, tue]`, or a range `[mon..fri]` as written in the issue."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return value
        days: list[str] = []
        for item in value:
            word = str(item).strip().lower()
            first, dots, last = word.partition("..")
            ends = [first[:3], last[:3]] if dots else [word[:3]]
            for end in ends:
                if end not in _WEEKDAY_WORDS:
                    raise ValueError(f"{item!r} is not a weekday (mon, tue, ... sun, or a range mon..fri)")
            if dots:
                a, b = _WEEKDAY_WORDS.index(ends[0]), _WEEKDAY_WORDS.index(ends[1])
                days += [_WEEKDAY_WORDS[i % 7] for i in range(a, a + (b - a) % 7 + 1)]
            else:
                days.append(ends[0])
        return list(dict.fromkeys(days))

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _hh_mm(value)

    @model_validator(mode="after")
    def _ordered(self) -> RestrictConfig:
        if self.start >= self.end:
            raise ValueError(f"restrict: `from` ({self.start}) must come before `to` ({self.end})")
        return self


class RotationConfig(_Strict):
    """One rotation: its members take turns of `length` (daily, weekly or a number of hours),
    handing off at `handoff` local time in `timezone`, counted from `anchor` (the date the first
    member's first shift starts), so who is on call is computed, never stored."""

    members: list[Annotated[str, Field(pattern=SLACK_USER)]] = Field(min_length=1)
    length: Literal["daily", "weekly"] | int = "weekly"
    handoff: str = "09:00"
    timezone: str = "UTC"
    anchor: date
    restrict: RestrictConfig | None = None

    @field_validator("members", mode="after")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a member is listed twice")
        return value

    @field_validator("length", mode="before")
    @classmethod
    def _length(cls, value: Any) -> Any:
        """`daily`, `weekly`, or hours: `12`, `12h`."""
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("daily", "weekly"):
                return word
            match = re.fullmatch(r"([0-9]+)\s*h?", word)
            if match is None:
                raise ValueError(f"{value!r} is not a length: daily, weekly or a number of hours (12h)")
            value = int(match.group(1))
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= 24 * 28:
            raise ValueError(f"{value} hours: a shift lasts 1 to {24 * 28} hours")
        return value

    @field_validator("handoff", mode="before")
    @classmethod
    def _handoff(cls, value: Any) -> Any:
        text = _hh_mm(value)
        if text == "24:00":
            raise ValueError("24:00 is not a hand-off time: use 00:00")
        return text

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)


class ReportsConfig(_Strict):
    """`reports:` the managers' view of a period. Off by default: no `weekly` key, no weekly post
    (`/incident report` works regardless)."""

    weekly: WeeklyReportConfig | None = None


class PageWebhookConfig(_Strict):
    """`oncall.page_webhook`: where each page is POSTed (ntfy, Pushover, a phone-call service) and the
    environment variable holding the HMAC key that signs it (never the key itself: the yml is read by
    anyone who reads the repository). https only, but for http on loopback (tests, a local relay)."""

    url: str
    secret_env: str = Field(pattern=ENV_NAME)

    @field_validator("url")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise ValueError(f"page_webhook.url {value!r}: use an https:// URL (http only on 127.0.0.1/localhost)")
        if parts.username or parts.password:
            raise ValueError("page_webhook.url: no credentials in the URL; the page is signed with secret_env")
        return value


class OncallConfig(_Strict):
    """`oncall:` the rotations (app/core/oncall.py computes who is on call from them; nothing about a
    shift is stored but overrides), the user group kept pointing at the primary, and where the
    hand-off summary goes (the alerts channel)."""

    rotations: dict[str, RotationConfig] = Field(min_length=1)
    slack_group: str | None = Field(default=None, pattern=SLACK_GROUP)
    """A Slack user group (S...) set to whoever `group_rotation` has on call at each hand-off, so
    `@oncall` reaches the right person."""
    group_rotation: str = "primary"
    page_webhook: PageWebhookConfig | None = None
    """Each escalation's page also POSTed here, signed, with an ack link (app/flows/page_webhook.py)."""

    @field_validator("rotations")
    @classmethod
    def _rotation_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not ROTATION_NAME.match(name):
                raise ValueError(f"rotation name {name!r}: use lowercase letters, digits, - and _")
        return value

    @model_validator(mode="after")
    def _group_rotation_known(self) -> OncallConfig:
        if self.slack_group is not None and self.group_rotation not in self.rotations:
            raise ValueError(
                f"oncall.group_rotation: unknown rotation {self.group_rotation!r}; "
                f"known rotations: {', '.join(sorted(self.rotations))}"
            )
        return self


# 28 at most: an occurrence's key (`schedule:<name>:2026-12-08T08:00+01:00`) must fit report_runs.key's 60.
SCHEDULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,27}$")


class ScheduleConfig(_Strict):
    """One entry of `schedules:`: run `check` on `service` (or each of `services`) `every` calendar
    period, in `timezone`, and post what it found to `channel` when something is wrong (`post:
    problems`) or every time (`post: always`). The check's own keys (`days`, `max_age_hours`,
    `period`, `max_errors`, `slow_ms`) are its thresholds (app/core/schedules.py)."""

    name: str
    check: Literal["tls", "backup", "health", "errors", "slow_queries", "migrations", "metrics", "variables",
                   "rotation"]
    service: str | None = None
    services: list[str] | None = None
    every: str
    timezone: str | None = None
    """None: `reports.weekly.timezone`, else the first on-call rotation's, else UTC (`Catalog.schedule_zone`)."""
    post: Literal["problems", "always"] = "problems"
    channel: str | None = Field(default=None, pattern=SLACK_CHANNEL)
    days: int | None = Field(default=None, ge=1, le=365)
    max_age_hours: int | None = Field(default=None, ge=1, le=24 * 90)
    period: str | None = None
    max_errors: int | None = Field(default=None, ge=0)
    slow_ms: float | None = Field(default=None, gt=0, le=3_600_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not SCHEDULE_NAME.match(value):
            raise ValueError(f"{value!r}: a schedule's name is lowercase letters, digits, - and _ (28 at most)")
        return value

    @field_validator("check", mode="before")
    @classmethod
    def _known_check(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in CHECKS:
            raise ValueError(f"unknown check {value!r}; checks: {', '.join(CHECKS)}")
        return value

    @field_validator("every", mode="before")
    @classmethod
    def _calendar(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            try:
                parse_calendar(value, ZoneInfo("UTC"))
            except CalendarError as err:
                raise ValueError(str(err)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_duration(value, limit=timedelta(days=7), what="`period`")
            except BadDuration as err:
                raise ValueError(str(err)) from None
        return value

    @field_validator("services", mode="before")
    @classmethod
    def _service_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and not value:
            raise ValueError("expected at least one service, such as [api, web]")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleConfig:
        if (self.service is None) == (self.services is None):
            raise ValueError("name the services to check with `service:` or `services:` (one of the two)")
        for key in LIMIT_KEYS:
            if getattr(self, key) is not None and key not in CHECK_KEYS.get(self.check, ()):
                owners = [check for check, keys in CHECK_KEYS.items() if key in keys]
                raise ValueError(f"`{key}` only applies to `check: {' or '.join(owners)}`, not to {self.check}")
        return self

    @property
    def targets(self) -> list[str]:
        return [self.service] if self.service is not None else list(dict.fromkeys(self.services or ()))

    @property
    def limits(self) -> Limits:
        given = {key: getattr(self, key) for key in LIMIT_KEYS if getattr(self, key) is not None}
        if "period" in given:
            given["period"] = parse_duration(given["period"], limit=timedelta(days=7))
        return Limits(**given)


class Catalog(_Strict):
    slack: SlackConfig
    runbooks_dir: str | None = None
    services: dict[str, Service] = Field(default_factory=dict)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    status_page: StatusPageConfig = Field(default_factory=StatusPageConfig)
    retention_days: int = Field(default=30, ge=1, le=3650)
    logs: LogsConfig = Field(default_factory=LogsConfig)
    thresholds: MetricThresholds = Field(default_factory=MetricThresholds)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    oncall: OncallConfig | None = None
    schedules: list[ScheduleConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _schedules_fit(self) -> Catalog:
        """Each schedule names services pitcrew.yml has, of a kind its check can look at, and a name no
        other schedule has: a schedule that would fail every time is refused at start instead."""
        seen: set[str] = set()
        for index, schedule in enumerate(self.schedules):
            if schedule.name in seen:
                raise ValueError(f"schedules.{index}.name: another schedule is named {schedule.name!r}")
            seen.add(schedule.name)
            key = "service" if schedule.service is not None else "services"
            for name in schedule.targets:
                service = self.services.get(name)
                if service is None:
                    raise ValueError(
                        f"schedules.{index}.{key}: unknown service {name!r}; "
                        f"known services: {', '.join(sorted(self.services)) or 'none'}"
                    )
                reason = misfit(schedule.check, name, service_kind(service))
                if reason is not None:
                    raise ValueError(f"schedules.{index}.{key}: check {schedule.check} cannot run on {name}: {reason}")
        return self

    def schedule_zone(self, schedule: ScheduleConfig) -> ZoneInfo:
        """The schedule's `timezone`, else the one the team's other calendars use: the weekly report's,
        else the first on-call rotation's, else UTC."""
        if schedule.timezone is not None:
            return ZoneInfo(schedule.timezone)
        if self.reports.weekly is not None:
            return ZoneInfo(self.reports.weekly.timezone)
        if self.oncall is not None:
            return ZoneInfo(next(iter(self.oncall.rotations.values())).timezone)
        return ZoneInfo("UTC")

    def schedule_calendar(self, schedule: ScheduleConfig) -> Calendar:
        return parse_calendar(schedule.every, self.schedule_zone(schedule))

    def schedule(self, name: str) -> ScheduleConfig | None:
        return next((s for s in self.schedules if s.name == name), None)

    @model_validator(mode="after")
    def _oncall_rotations_known(self) -> Catalog:
        """`oncall:<rotation>` in an escalation step names a rotation of `oncall.rotations`."""
        known = set(self.oncall.rotations) if self.oncall is not None else set()
        for index, step in enumerate(self.slack.escalation):
            for who in step.notify:
                if who.startswith("oncall:") and who.removeprefix("oncall:") not in known:
                    raise ValueError(
                        f"slack.escalation.{index}.notify: {who!r} names no rotation of oncall.rotations "
                        f"(known: {', '.join(sorted(known)) or 'none, add an oncall: block'})"
                    )
        return self

    @field_validator("services")
    @classmethod
    def _names(cls, value: dict[str, Service]) -> dict[str, Service]:
        for name in value:
            if not SERVICE_NAME.match(name):
                raise ValueError(f"service name {name!r}: use lowercase letters, digits, - and _")
        return value

    @model_validator(mode="after")
    def _components_are_services(self) -> Catalog:
        unknown = sorted(set(self.status_page.components or {}) - set(self.services))
        if unknown:
            raise ValueError(
                f"status_page.components: unknown service {', '.join(map(repr, unknown))}; "
                f"known services: {', '.join(sorted(self.services)) or 'none'}"
            )
        return self

    def thresholds_for(self, service: Service) -> MetricThresholds:
        """The metric thresholds of a service: its own keys, else the top level's (the seeds' by default)."""
        return service.thresholds.over(self.thresholds)

    @model_validator(mode="after")
    def _dependencies(self) -> Catalog:
        problems = dependency_problems({name: svc.depends_on for name, svc in self.services.items()})
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def depends_on(self) -> dict[str, list[str]]:
        """Each service's `depends_on`, for the correlation rules of app/core/correlation.py."""
        return {name: list(svc.depends_on) for name, svc in self.services.items()}

    def service(self, name: str) -> Service:
        """The named service; raises UnknownService naming the known ones."""
        try:
            return self.services[name]
        except KeyError:
            raise UnknownService(name, sorted(self.services)) from None


def service_kind(service: Service) -> ServiceKind:
    """What app/core/schedules.py needs of a service to say whether a check fits it."""
    return ServiceKind(
        provider=service.provider,
        railway=service.railway is not None,
        https_checks=sum(1 for check in service.health if check.url.startswith("https://")),
        required_vars=bool(service.required_vars),
        rotate_after_days=bool(service.rotate_after_days),
    )


class UnknownService(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown service {name!r}; known services: {', '.join(known) or 'none'}")


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate pitcrew.yml, or raise CatalogError listing every mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(str(path), ["file not found (set PITCREW_CONFIG or create pitcrew.yml)"]) from None
    except OSError as err:
        raise CatalogError(str(path), [f"cannot read: {err.strerror}"]) from None
    return parse_catalog(text, str(path))


def parse_catalog(text: str, source: str = "pitcrew.yml") -> Catalog:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise CatalogError(source, [f"{where}: not valid YAML ({getattr(err, 'problem', err)})"]) from None
    if not isinstance(raw, dict):
        raise CatalogError(source, ["the file must be a mapping with `slack:` and `services:`"])
    try:
        catalog = Catalog.model_validate(raw)
    except ValidationError as err:
        raise CatalogError(source, [_describe(e, raw) for e in err.errors()]) from None
    if catalog.runbooks_dir is not None and not Path(catalog.runbooks_dir).is_absolute():
        base = Path(source).parent
        catalog = catalog.model_copy(update={"runbooks_dir": str(base / catalog.runbooks_dir)})
    return catalog


def _describe(error: Any, raw: dict[str, Any]) -> str:
    """`key.path: reason`, written as the user wrote the file (a single health check has no index)."""
    loc: list[Any] = list(error["loc"])
    shown: list[str] = []
    node: Any = raw
    for part in loc:
        if isinstance(part, int) and not isinstance(node, list):
            continue  # the one-check form of `health:` was wrapped in a list by us, not by the user
        shown.append(str(part))
        node = (
            node.get(part)
            if isinstance(node, dict)
            else (node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
        )
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required"
    elif error["type"] == "string_pattern_mismatch":
        expected = _PATTERN_MEANING.get(error["ctx"]["pattern"], f"text matching {error['ctx']['pattern']}")
        given = error["input"]
        if error["ctx"]["pattern"] == ENV_NAME and isinstance(given, str) and ("://" in given or "=" in given):
            # A DSN pasted where its variable's name belongs: never echo it, it carries a password.
            message = f"a DSN is not {expected}: put the DSN in an environment variable and name the variable here"
        else:
            message = f"{given!r} is not {expected}"
    if not shown and re.match(r"^[\w.]+: ", message):  # a rule across keys names its own key path
        return message
    return f"{'.'.join(shown) or '(top)'}: {message}"
