"""Verdicts on what the probes observed: ok, degraded or down, each with the evidence that led to it.

Judging is kept apart from probing so that every threshold (status, JSON, latency, certificate,
deployment state, connection use) is decided by plain functions over plain values, testable in
isolation, and so that a `/health` card, a console line and a post-action verification all reach
the same verdict from the same observation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from app.core.observations import Deployment, DeploymentObservation, HttpObservation, PostgresObservation

_RANK = {"ok": 0, "degraded": 1, "down": 2}
POSTGRES_CHECK = "postgres"


def deployment_check_name(provider: str) -> str:
    """`railway deployment`: the name of the check of a provider's latest deployment."""
    return f"{provider} deployment"


# The check an action on a service of each provider goes through, and the provider as a card names it.
ACTION_CHECKS = {
    "railway": deployment_check_name("railway"),
    "vercel": deployment_check_name("vercel"),
    "postgres": POSTGRES_CHECK,
}
PROVIDER_NAMES = {"railway": "Railway", "vercel": "Vercel", "postgres": "The database"}


class Verdict(StrEnum):
    """How a check or a service fares, ordered by badness (`Verdict.OK < Verdict.DOWN`).

    The string values are what users read; the order is what `worst()` needs, so the comparison
    operators rank by badness instead of comparing the words alphabetically.
    """

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"

    @property
    def rank(self) -> int:
        return _RANK[self.value]

    def __lt__(self, other: object) -> bool:
        return self.rank < _rank_of(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _rank_of(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _rank_of(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _rank_of(other)


def _rank_of(other: object) -> int:
    if isinstance(other, Verdict):
        return other.rank
    raise TypeError(f"cannot compare a Verdict with {type(other).__name__}")


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst verdict of several; nothing to judge is ok."""
    return max(verdicts, default=Verdict.OK)


@dataclass(frozen=True)
class CheckResult:
    """One check of a service (an HTTP URL, the latest deployment, the database), and why this verdict."""

    name: str
    verdict: Verdict
    evidence: tuple[str, ...]
    latency_ms: float | None = None
    # False when the probe observed nothing (its call failed: unreachable, timed out, not configured):
    # an action through the same provider or connection could not work either, so none is offered.
    reached: bool = True


@dataclass(frozen=True)
class ServiceHealth:
    """A service's verdict (the worst of its checks), with what a later action needs to act on it.

    `provider` and `deployment` (the latest deployment seen, when the provider has deployments)
    let a card offer a restart or a rollback on a failing service without probing again.
    """

    service: str
    provider: str
    verdict: Verdict
    checks: tuple[CheckResult, ...]
    deployment: Deployment | None = None

    @property
    def unreached(self) -> str | None:
        """Why no action on this service can work, or None: the check an action would go through
        (the provider's deployment check, the database's) could not reach its provider.

        A restart sent to a Railway that did not answer the probe, or sessions ended on a database
        whose host does not resolve, would only fail after someone confirmed them.
        """
        carrier = ACTION_CHECKS.get(self.provider)
        check = next((c for c in self.checks if c.name == carrier), None)
        if check is None or check.reached:
            return None
        return f"{PROVIDER_NAMES[self.provider]} could not be reached"

    @classmethod
    def of(
        cls, service: str, provider: str, checks: Iterable[CheckResult], deployment: Deployment | None = None
    ) -> ServiceHealth:
        checks = tuple(checks)
        return cls(service, provider, worst(c.verdict for c in checks), checks, deployment)


@dataclass(frozen=True)
class HealthReport:
    """Every service probed by one `/health`, when, and how long the slowest probe made it take."""

    services: tuple[ServiceHealth, ...]
    checked_at: datetime
    elapsed_ms: float

    @property
    def overall(self) -> Verdict:
        return worst(s.verdict for s in self.services)

    @property
    def counts(self) -> dict[Verdict, int]:
        """How many services got each verdict, every verdict present (zero included), best first."""
        counts = dict.fromkeys(Verdict, 0)
        for service in self.services:
            counts[service.verdict] += 1
        return counts

    @property
    def failing(self) -> tuple[str, ...]:
        """Names of the services that are down: those a restart or a rollback might bring back."""
        return tuple(s.service for s in self.services if s.verdict is Verdict.DOWN)

    @property
    def degraded(self) -> tuple[str, ...]:
        return tuple(s.service for s in self.services if s.verdict is Verdict.DEGRADED)

    def service(self, name: str) -> ServiceHealth | None:
        return next((s for s in self.services if s.service == name), None)


class HttpExpectation(Protocol):
    """What judge_http needs of a health check (the catalog's HealthCheck has all of it)."""

    @property
    def method(self) -> str: ...
    @property
    def expected_statuses(self) -> tuple[int, ...]: ...
    @property
    def expect_headers(self) -> Mapping[str, str | None]: ...
    @property
    def origin(self) -> str | None: ...
    @property
    def https_redirect(self) -> bool: ...
    @property
    def expect_json(self) -> Mapping[str, Any] | None: ...
    @property
    def degraded_latency_ms(self) -> int: ...
    @property
    def cert_min_days(self) -> int: ...


class PostgresThresholds(Protocol):
    """What judge_postgres needs of the catalog's PostgresRef."""

    @property
    def max_connections_pct(self) -> float: ...
    @property
    def long_query_s(self) -> float: ...
    @property
    def max_idle_in_transaction(self) -> int: ...


MAX_JSON_MISMATCHES = 3
MAX_SHOWN_VALUE = 60


def http_check_name(method: str, url: str) -> str:
    """`GET https://host/path`: the name a check goes by on the card and in a failed call."""
    return f"{method.upper()} {url}"


def judge_http(obs: HttpObservation, check: HttpExpectation) -> CheckResult:
    """Status, JSON, required header, CORS or https redirect mismatch is down; slow or a certificate
    about to expire is degraded.

    A missing security header (HSTS) or a CORS answer that does not name the origin is down rather
    than degraded: the seeds' auth checks treat it as broken (browsers refuse the app's calls), not slow.
    """
    verdicts: list[Verdict] = []
    evidence: list[str] = []
    statuses = check.expected_statuses
    if obs.status in statuses:
        evidence.append(f"HTTP {obs.status}")
    else:
        verdicts.append(Verdict.DOWN)
        evidence.append(f"HTTP {obs.status}, expected {' or '.join(map(str, statuses))}")

    if check.https_redirect:
        location = obs.headers.get("location", "")
        if location.lower().startswith("https://"):
            evidence.append(f"redirects to {_show_header(location)}")
        else:
            verdicts.append(Verdict.DOWN)
            evidence.append(
                f"redirects to {_show_header(location)}, expected https://" if location else "no redirect to https://"
            )
    for name, expected in check.expect_headers.items():
        got = obs.headers.get(name)
        if got is None:
            verdicts.append(Verdict.DOWN)
            evidence.append(f"header {name} missing")
        elif expected is not None and got.strip() != expected:
            verdicts.append(Verdict.DOWN)
            evidence.append(f"header {name}: {_show_header(got)}, expected {_show_header(expected)}")
        else:
            evidence.append(f"header {name} present")
    if check.origin:
        allowed = obs.headers.get("access-control-allow-origin")
        if allowed is None:
            verdicts.append(Verdict.DOWN)
            evidence.append(f"CORS: no access-control-allow-origin for {check.origin}")
        elif allowed.strip() not in (check.origin, "*"):
            verdicts.append(Verdict.DOWN)
            evidence.append(f"CORS: access-control-allow-origin {_show_header(allowed)}, not {check.origin}")
        else:
            evidence.append(f"CORS allows {check.origin}")

    if check.expect_json:
        if obs.method.upper() == "HEAD":
            evidence.append("expected JSON not checked (a HEAD response has no body)")
        elif not obs.body_is_json:
            verdicts.append(Verdict.DOWN)
            evidence.append(f"body is not JSON, expected {_show(check.expect_json)}")
        else:
            mismatches = json_mismatches(check.expect_json, obs.json_body)
            if mismatches:
                verdicts.append(Verdict.DOWN)
                evidence.extend(mismatches[:MAX_JSON_MISMATCHES])
                if len(mismatches) > MAX_JSON_MISMATCHES:
                    evidence.append(f"and {len(mismatches) - MAX_JSON_MISMATCHES} more JSON mismatches")

    latency = f"{obs.latency_ms:.0f} ms"
    if obs.latency_ms > check.degraded_latency_ms:
        verdicts.append(Verdict.DEGRADED)
        latency += f", over {check.degraded_latency_ms} ms"
    evidence.append(latency)

    if obs.cert_days_left is not None:
        verdict, said = judge_certificate(obs.cert_days_left, check.cert_min_days)
        verdicts.append(verdict)
        evidence.append(said)

    return CheckResult(http_check_name(obs.method, obs.url), worst(verdicts), tuple(evidence), obs.latency_ms)


def judge_certificate(days: int, min_days: int) -> tuple[Verdict, str]:
    """A TLS certificate with `days` left: expired is down, fewer than `min_days` left degraded (the
    `/health` card and the scheduled `tls` check say it alike)."""
    if days < 0:
        return Verdict.DOWN, f"TLS certificate expired {-days} day{_s(-days)} ago"
    if days < min_days:
        return Verdict.DEGRADED, f"TLS certificate expires in {days} day{_s(days)} (under {min_days})"
    return Verdict.OK, f"TLS certificate {days} day{_s(days)} left"


def json_mismatches(expected: Any, got: Any, path: str = "") -> list[str]:
    """Where `got` fails to contain `expected`: dicts compare as subsets, key by key, the rest by value.

    Each mismatch names its key path (`checks.db: expected "ok", got "down"`) so the card says
    exactly which part of the health answer changed.
    """
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return [f"{path or 'body'}: expected an object, got {_show(got)}"]
        problems: list[str] = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in got:
                problems.append(f"{where}: missing, expected {_show(value)}")
            else:
                problems.extend(json_mismatches(value, got[key], where))
        return problems
    if not _same_json(expected, got):
        return [f"{path or 'body'}: expected {_show(expected)}, got {_show(got)}"]
    return []


def _same_json(expected: Any, got: Any) -> bool:
    # JSON has one kind of number but Python tells True from 1: `ok: true` must not accept `"ok": 1`.
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected == got
    return bool(expected == got)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 1] + "…"


def _show_header(value: str) -> str:
    """A header value as evidence: one line, bounded (a server's header is its text, not ours)."""
    text = " ".join(value.split())
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 1] + "…"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# Deployment states, by provider word. Railway: DeploymentStatus; Vercel: readyState.
_DEPLOY_OK = {"SUCCESS", "READY"}
_DEPLOY_DOWN = {"CRASHED", "FAILED", "ERROR", "REMOVED", "REMOVING", "DELETED"}
_DEPLOY_IN_PROGRESS = {"BUILDING", "DEPLOYING", "INITIALIZING", "QUEUED", "WAITING", "NEEDS_APPROVAL"}
# A latest deployment in these states has not replaced the one before it, which may still serve.
_DEPLOY_REPLACING = {"FAILED", *_DEPLOY_IN_PROGRESS}
_DEPLOY_NOTES = {
    "SLEEPING": (Verdict.OK, "sleeping, wakes on the next request"),
    "SKIPPED": (Verdict.DEGRADED, "skipped"),
    "CANCELED": (Verdict.DEGRADED, "canceled; the previous deployment may still serve"),
}
# Railway instance states: RUNNING serves, these are on their way, anything else does not serve.
_INSTANCE_STARTING = {"CREATED", "INITIALIZING", "RESTARTING"}
MAX_COMMIT_MESSAGE = 60


def judge_deployment(obs: DeploymentObservation) -> CheckResult:
    """The latest deployment's state, weighed against the instances serving the service now.

    A build that failed or is still in progress leaves the previous deployment serving (Railway
    reports the instances of the serving deployments), so it is degraded while an instance still
    runs, and down only when nothing does.
    """
    name = deployment_check_name(obs.provider)
    deployment = obs.deployment
    if deployment is None:
        return CheckResult(name, Verdict.DEGRADED, ("no deployment found",))

    status = deployment.status.upper()
    evidence = [f"latest deployment {deployment.id} {status}"]  # whole: `/rollback` takes it as it is
    if deployment.commit_hash or deployment.commit_message:
        evidence.append(_commit(deployment))
    previous_serves = status in _DEPLOY_REPLACING and any(s.upper() == "RUNNING" for s in obs.instance_states)

    if status in _DEPLOY_OK:
        verdict = Verdict.OK
    elif previous_serves:
        verdict = Verdict.DEGRADED
        evidence.append("the previous deployment still serves")
    elif status in _DEPLOY_DOWN:
        verdict = Verdict.DOWN
    elif status in _DEPLOY_IN_PROGRESS:
        verdict = Verdict.DEGRADED
        evidence.append("a new deployment is in progress")
    elif status in _DEPLOY_NOTES:
        verdict, note = _DEPLOY_NOTES[status]
        evidence.append(note)
    else:
        verdict = Verdict.DEGRADED
        evidence.append(f"unknown deployment status {status}")

    if obs.instance_states and (status not in _DEPLOY_DOWN or previous_serves):
        instance_verdict, instance_evidence = _judge_instances(obs.instance_states)
        verdict = worst((verdict, instance_verdict))
        evidence.append(instance_evidence)
    return CheckResult(name, verdict, tuple(evidence))


def _judge_instances(states: tuple[str, ...]) -> tuple[Verdict, str]:
    """All running is ok; none running nor starting is down (nothing serves); anything between is degraded."""
    upper = [s.upper() for s in states]
    running = upper.count("RUNNING")
    summary = _count_words(upper)
    if running == len(upper):
        return Verdict.OK, f"instances: {summary}"
    if running == 0 and not any(s in _INSTANCE_STARTING for s in upper):
        return Verdict.DOWN, f"no instance running ({summary})"
    return Verdict.DEGRADED, f"instances: {summary}"


def _count_words(words: list[str]) -> str:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def _commit(deployment: Deployment) -> str:
    parts = []
    if deployment.commit_hash:
        parts.append(deployment.commit_hash[:7])
    if deployment.commit_message:
        lines = deployment.commit_message.strip().splitlines()
        first_line = lines[0].strip() if lines else ""
        if len(first_line) > MAX_COMMIT_MESSAGE:
            first_line = first_line[: MAX_COMMIT_MESSAGE - 1] + "…"
        if first_line:
            parts.append(f'"{first_line}"')
    return "commit " + " ".join(parts)


def judge_postgres(obs: PostgresObservation, ref: PostgresThresholds) -> CheckResult:
    """Connections near the limit, long queries or idle-in-transaction sessions: degraded; none left: down."""
    verdicts: list[Verdict] = []
    evidence = [f"SELECT 1 in {obs.latency_ms:.0f} ms"]

    if obs.max_connections > 0:
        pct = 100.0 * obs.connections / obs.max_connections
        used = f"connections {obs.connections}/{obs.max_connections} ({pct:.0f}%)"
        if obs.connections >= obs.max_connections:
            verdicts.append(Verdict.DOWN)
            evidence.append(f"{used}, none left")
        elif pct > ref.max_connections_pct:
            verdicts.append(Verdict.DEGRADED)
            evidence.append(f"{used}, over {ref.max_connections_pct:g}%")
        else:
            evidence.append(used)
    else:
        evidence.append(f"connections {obs.connections} (max_connections unknown)")

    if obs.long_queries > 0:
        verdicts.append(Verdict.DEGRADED)
        evidence.append(
            f"{obs.long_queries} {'query' if obs.long_queries == 1 else 'queries'}"
            f" running over {ref.long_query_s:g} s"
            f" (longest {obs.longest_query_s:.1f} s)"
        )
    else:
        evidence.append(f"no query running over {ref.long_query_s:g} s")

    idle = obs.idle_in_transaction
    if idle > ref.max_idle_in_transaction:
        verdicts.append(Verdict.DEGRADED)
        evidence.append(
            f"{idle} session{_s(idle)} idle in transaction (over {ref.max_idle_in_transaction})"
        )
    elif idle:
        evidence.append(f"{idle} session{_s(idle)} idle in transaction")

    if obs.hidden_sessions:
        # Without pg_read_all_stats every number above misses these sessions' state: the database
        # may be anything but quiet. Degraded, never ok, so that a blind probe is not read as health.
        verdicts.append(Verdict.DEGRADED)
        evidence.append(hidden_sessions_note(obs.hidden_sessions, obs.role))
    if obs.pooler:
        evidence.append(
            f"through {obs.pooler}: the counts are the server's; clients waiting in the pooler are not seen"
        )

    return CheckResult(POSTGRES_CHECK, worst(verdicts), tuple(evidence), obs.latency_ms)


def hidden_sessions_note(count: int, role: str | None) -> str:
    """What a role without pg_read_all_stats misses, and the one GRANT that fixes it."""
    who = _identifier(role) if role else "<pitcrew's role>"
    return f"cannot see {count} session{_s(count)} of other roles: GRANT pg_monitor TO {who}"


def _identifier(name: str) -> str:
    """A role name as it must be typed in SQL: bare when it is a plain lower-case word, else quoted."""
    if name.isidentifier() and name == name.lower() and name.isascii():
        return name
    return '"' + name.replace('"', '""') + '"'


def failed_probe(name: str, error_call: str, error_reason: str) -> CheckResult:
    """A probe that could not observe anything: down, saying which call failed and why, and not reached."""
    return CheckResult(name, Verdict.DOWN, (f"{error_call} failed: {error_reason}",), reached=False)
