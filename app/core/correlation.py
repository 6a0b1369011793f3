"""Correlation: which alerts belong to one outage, and how the outage's alert list reads.

One outage makes several tools shout at once (UptimeRobot says api is down, Sentry sends its
errors, Railway says the deployment crashed). pitcrew keeps them in one incident: an alert for a
service that already has an open incident joins it as a *related alert*, and so does an alert for
a service whose dependency (`depends_on` in pitcrew.yml, followed transitively) or dependent has
one. This module decides on plain values only: the dependency graph and its mistakes, which
services an alert may join, the suspected cause of a multi-service incident, and the words of
the alert list on the root message ("UptimeRobot: down · Sentry: 212 events").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.chat_text import counted

SERVICE_KEY_PREFIX = "service:"
"""The open key of an incident an alert for a catalog service opened: one open incident per service
(the unique index on `incidents.open_key` makes that hold across instances)."""

SOURCE_NAMES = {
    "alertmanager": "Alertmanager",
    "betterstack": "Better Stack",
    "generic": "Generic",
    "pagerduty": "PagerDuty",
    "railway": "Railway",
    "sentry": "Sentry",
    "uptimerobot": "UptimeRobot",
    "vercel": "Vercel",
}

SPLIT_USAGE = (
    "Usage: `@pitcrew split <source|service|source:service>` in the incident's thread, e.g. "
    "`@pitcrew split sentry`, `@pitcrew split web`."
)
MERGE_USAGE = "Usage: `/incident <id> merge <other id>`, e.g. `/incident 3 merge 4` moves INC-4's alerts into INC-3."


class DependencyError(ValueError):
    """`depends_on` names a service that does not exist or makes a cycle; the message names the key path."""


@dataclass(frozen=True)
class RelatedAlert:
    """One alert (one source and fingerprint) joined to an incident, as the alert list shows it."""

    key: str
    source: str
    service: str | None
    title: str
    status: str  # firing | recovered
    events: int = 1

    @property
    def source_name(self) -> str:
        return source_name(self.source)


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def service_key(service: str) -> str:
    return f"{SERVICE_KEY_PREFIX}{service}"


# --- the dependency graph -------------------------------------------------------------------------


def dependency_problems(depends_on: Mapping[str, Sequence[str]]) -> list[str]:
    """Every mistake in the services' `depends_on`, as `services.<name>.depends_on: reason`.

    Unknown names and a service depending on itself are reported per key; a cycle once, naming
    its path, because a cycle would make every service of it the cause of every other's outage.
    """
    problems: list[str] = []
    known = sorted(depends_on)
    for name in known:
        for dep in depends_on[name]:
            if dep == name:
                problems.append(f"services.{name}.depends_on: a service cannot depend on itself")
            elif dep not in depends_on:
                problems.append(
                    f"services.{name}.depends_on: unknown service {dep!r}; known services: {', '.join(known)}"
                )
    if problems:
        return problems
    cycle = _find_cycle(depends_on)
    if cycle:
        problems.append(f"services.{cycle[0]}.depends_on: a dependency cycle: {' → '.join(cycle)}")
    return problems


def _find_cycle(depends_on: Mapping[str, Sequence[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in depends_on.get(node, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for name in sorted(depends_on):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


def dependencies(depends_on: Mapping[str, Sequence[str]], service: str) -> list[str]:
    """What `service` depends on, transitively, nearest first."""
    return _walk(service, lambda s: depends_on.get(s, ()))


def dependents(depends_on: Mapping[str, Sequence[str]], service: str) -> list[str]:
    """The services that depend on `service`, transitively, nearest first."""
    return _walk(service, lambda s: sorted(n for n, deps in depends_on.items() if s in deps))


def _walk(start: str, step: object) -> list[str]:
    seen: list[str] = []
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for node in frontier:
            for other in step(node):  # type: ignore[operator]
                if other != start and other not in seen:
                    seen.append(other)
                    nxt.append(other)
        frontier = nxt
    return seen


def related_services(depends_on: Mapping[str, Sequence[str]], service: str) -> list[str]:
    """The services whose open incident an alert for `service` may join, in order of preference:
    its own, then its dependencies (nearest first: the likely cause), then its dependents."""
    return [service, *dependencies(depends_on, service), *dependents(depends_on, service)]


def component(depends_on: Mapping[str, Sequence[str]], service: str) -> tuple[str, ...]:
    """Every service linked to `service` through `depends_on` in either direction, sorted: the
    services whose alerts may end up in one incident (instances opening one lock this set)."""
    linked = {service}
    frontier = [service]
    while frontier:
        node = frontier.pop()
        neighbours = set(depends_on.get(node, ())) | {n for n, deps in depends_on.items() if node in deps}
        for other in neighbours - linked:
            linked.add(other)
            frontier.append(other)
    return tuple(sorted(linked))


def cause_of(depends_on: Mapping[str, Sequence[str]], services: Iterable[str]) -> str | None:
    """The one service of these that every other one depends on (transitively); None with fewer than
    two services or no single such root."""
    named = list(dict.fromkeys(s for s in services if s))
    if len(named) < 2:
        return None
    roots = [s for s in named if all(s == o or s in dependencies(depends_on, o) for o in named)]
    return roots[0] if len(roots) == 1 else None


def suspected_cause(
    depends_on: Mapping[str, Sequence[str]], alerts: Iterable[RelatedAlert], service: str | None = None
) -> str | None:
    """"db is down; api and web alerts joined": the cause (`cause_of`) of the incident's services (its
    own `service`, declared for it or its cause already, and its alerts'), and the others. None when
    there is no single cause."""
    services = list(dict.fromkeys(s for s in (service, *(a.service for a in alerts)) if s))
    cause = cause_of(depends_on, services)
    if cause is None:
        return None
    others = [s for s in services if s != cause]
    return f"{cause_title(cause)}; {_and(others)} alerts joined"


def cause_title(cause: str) -> str:
    """What an incident is titled once its cause is known: `db is down`."""
    return f"{cause} is down"


def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# --- joining --------------------------------------------------------------------------------------


def fresh(last_activity: datetime, now: datetime, window: timedelta) -> bool:
    """Whether an incident last active at `last_activity` still takes new related alerts."""
    return last_activity >= now - window


# --- the alert list ---------------------------------------------------------------------------------


def alert_state(alert: RelatedAlert) -> str:
    """What the source says now, in a few words: `down`, `212 events`, `deployment crashed`, `recovered`."""
    if alert.status != "firing":
        return "recovered"
    title = alert.title.lower()
    if alert.source in ("uptimerobot", "betterstack"):
        return "down"
    if alert.source == "sentry":
        return counted(alert.events, "event")
    if alert.source == "railway":
        return "deployment crashed" if "crash" in title else "deployment failed"
    if alert.source == "vercel":
        return "deployment failed"
    return alert.title if alert.events == 1 else f"{alert.title} ({counted(alert.events, 'alert')})"


def alert_list(alerts: Sequence[RelatedAlert]) -> str:
    """`UptimeRobot: down · Sentry: 212 events · Railway: deployment crashed` (plain text).

    When the alerts are about more than one service (a `depends_on` outage), each names its service
    (`UptimeRobot (db): down · UptimeRobot (api): down`): one monitoring tool watching three
    services would otherwise read as the same alert three times."""
    several = len({a.service for a in alerts}) > 1
    return " · ".join(
        f"{a.source_name}{f' ({a.service})' if several and a.service else ''}: {alert_state(a)}" for a in alerts
    )


def split_choices(alerts: Sequence[RelatedAlert]) -> list[tuple[str, str]]:
    """What can be split out, as (word for `find_split`, label): one per source, or one per source
    and service when the alerts span several services (one tool watching db, api and web gives three)."""
    several = len({a.service for a in alerts}) > 1
    choices: dict[str, str] = {}
    for a in alerts:
        if several and a.service:
            choices.setdefault(f"{a.source}:{a.service}", f"{a.source_name} ({a.service})")
        else:
            choices.setdefault(a.source, a.source_name)
    return list(choices.items()) if len(choices) > 1 else []


def _squashed(text: str) -> str:
    return text.strip().lower().replace(" ", "")


def find_split(alerts: Sequence[RelatedAlert], word: str) -> list[RelatedAlert]:
    """The joined alerts `@pitcrew split <word>` means: by source (`sentry`, `Better Stack`), by
    service (`web`, for a service joined through `depends_on`), by `source:service`
    (`uptimerobot:web`, when one tool watches several) or by alert key."""
    wanted = _squashed(word)
    source, _, service = wanted.partition(":")

    def names_source(a: RelatedAlert) -> bool:
        return source in (a.source, _squashed(a.source_name))

    def matches(a: RelatedAlert) -> bool:
        if wanted == a.key.lower():
            return True
        if service:
            return names_source(a) and service == (a.service or "").lower()
        return names_source(a) or wanted == (a.service or "").lower()

    return [a for a in alerts if matches(a)]
