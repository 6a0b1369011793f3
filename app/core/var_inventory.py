"""A service's variables shown without their values: `@pitcrew vars`, `vars compare`, `check: variables`
and `required_vars` in `/health`.

The providers' answers come in as plain `Reading`s (a name, where it comes from, its value or why
it cannot be read); what goes out never holds a value: its length, a keyed fingerprint
(app/core/value_fingerprints.py) and, for a value that is a URL, its scheme, host, port and
database (`postgresql://***@db.internal:5432/app`), never its credentials, path or query. Nothing
else of a value is ever shown, so a result object of this module may be rendered, logged or
audited as it is.

Where a variable comes from is the source: on Railway `service` (set on the service), `shared`
(a `${{shared.X}}` reference to the environment's shared variables), `reference` (a reference to
another service's variable, `${{api.X}}`; Railway's template syntax, docs.railway.com/variables/
reference) and `railway` (provided by Railway itself: `RAILWAY_*`); on Vercel the target the entry
is for (`production`, `preview`, `development`). A value pitcrew cannot read counts as present:
Vercel's sensitive variables are write-only, Railway's sealed ones are never returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.core.value_fingerprints import fingerprint

RAILWAY_SOURCES = ("service", "shared", "reference", "railway")
VERCEL_SOURCES = ("production", "preview", "development")
SEALED = "sealed"
SENSITIVE = "sensitive (write-only)"
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""What Railway and Vercel accept as a name: letters, digits and underscores, not starting with a digit."""

# A database's URL names the database in its path; any other URL's path may carry a token
# (`https://hooks.slack.com/services/T000/B000/XXXX`) and is never shown.
_DATABASE_SCHEMES = frozenset({
    "postgres", "postgresql", "postgresql+asyncpg", "mysql", "mariadb", "mongodb", "mongodb+srv",
    "redis", "rediss", "amqp", "amqps",
})
_REFERENCE = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+?)\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}")
_SAFE_PART = re.compile(r"^[A-Za-z0-9._-]{1,253}$")


@dataclass(frozen=True)
class Reading:
    """One variable as the provider let pitcrew read it. `value` None: unreadable, `unreadable` says why."""

    name: str
    source: str
    value: str | None
    unreadable: str | None = None


@dataclass(frozen=True)
class Masked:
    """What may be shown of a value: never the value itself."""

    length: int | None = None
    fingerprint: str | None = None  # None when pitcrew has no key to make one with
    shape: str | None = None  # a URL's scheme, host, port and database
    unreadable: str | None = None  # SEALED or SENSITIVE

    @property
    def empty(self) -> bool:
        return self.length == 0

    def describe(self) -> str:
        """`32 chars · fp 1a2b3c4d`, `sealed`, `empty`, `postgresql://***@db:5432/app · 71 chars · fp ...`."""
        if self.unreadable:
            return self.unreadable
        if self.empty:
            return "empty"
        parts = [self.shape] if self.shape else []
        parts.append(f"{self.length} chars")
        if self.fingerprint:
            parts.append(f"fp {self.fingerprint}")
        return " · ".join(parts)


@dataclass(frozen=True)
class Entry:
    name: str
    masked: Masked


@dataclass(frozen=True)
class Group:
    source: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Inventory:
    """`@pitcrew vars <service>`: the service's variables by source, masked."""

    service: str
    provider: str
    groups: tuple[Group, ...]
    fingerprinted: bool  # False when pitcrew has neither AUDIT_KEY nor the signing secret

    @property
    def count(self) -> int:
        return len({e.name for g in self.groups for e in g.entries})


def mask(value: str | None, key: bytes | None, unreadable: str | None = None) -> Masked:
    """What may be shown of one value (None: unreadable, for `unreadable`'s reason, sealed by default)."""
    if value is None:
        return Masked(unreadable=unreadable or SEALED)
    return Masked(
        length=len(value),
        fingerprint=fingerprint(key, value) if key is not None and value else None,
        shape=url_shape(value),
    )


def url_shape(value: str) -> str | None:
    """`postgresql://***@db.internal:5432/app` for a URL: scheme, host, port, and the database of a
    database URL; `***@` where it had credentials. None for anything that is not plainly a URL."""
    text = value.strip()
    if "://" not in text or any(c.isspace() for c in text) or len(text) > 4096:
        return None
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if "@" in text.split("://", 1)[1] and "@" not in parts.netloc:
        return None  # a password with `/`, `?` or `#` in it ends the host early: what looks like a host is not
    scheme = parts.scheme.lower()
    if not scheme or not host or not _SAFE_PART.match(host) or not re.match(r"^[a-z][a-z0-9+.-]*$", scheme):
        return None
    shape = f"{scheme}://" + ("***@" if "@" in parts.netloc else "") + host + (f":{port}" if port else "")
    if scheme in _DATABASE_SCHEMES:
        database = parts.path.lstrip("/").split("/", 1)[0]
        if database and _SAFE_PART.match(database):
            shape += f"/{database}"
    return shape


def railway_source(unrendered: str | None) -> str:
    """Where a Railway service variable's value comes from, read off its unrendered value: a value that
    is a `${{shared.X}}` reference is shared, one referring to another service's variable a reference;
    anything else (a sealed one included: no value to read) the service's own."""
    if unrendered is None:
        return "service"
    namespaces = {m.group(1) for m in _REFERENCE.finditer(unrendered)}
    if not namespaces:
        return "service"
    if namespaces == {"shared"}:
        return "shared"
    return "reference"


def inventory(service: str, provider: str, readings: Iterable[Reading], key: bytes | None) -> Inventory:
    """Group and mask the readings: sources in the provider's order, names sorted within each."""
    by_source: dict[str, dict[str, Masked]] = {}
    for reading in readings:
        by_source.setdefault(reading.source, {})[reading.name] = mask(reading.value, key, reading.unreadable)
    order = RAILWAY_SOURCES if provider == "railway" else VERCEL_SOURCES
    sources = [s for s in order if s in by_source] + sorted(s for s in by_source if s not in order)
    groups = tuple(
        Group(source, tuple(Entry(name, by_source[source][name]) for name in sorted(by_source[source])))
        for source in sources
    )
    return Inventory(service, provider, groups, key is not None)


# ---- compare ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    name: str
    left: Masked
    right: Masked


@dataclass(frozen=True)
class Comparison:
    """`@pitcrew vars compare <a> <b>`: names on one side only, values that differ, values that cannot
    be compared (sensitive or sealed on either side), and how many are the same."""

    left: str
    right: str
    only_left: tuple[str, ...]
    only_right: tuple[str, ...]
    different: tuple[Difference, ...]
    cannot_compare: tuple[Difference, ...]
    same: tuple[str, ...]
    fingerprinted: bool


def compare(
    left: str, left_values: Mapping[str, Reading], right: str, right_values: Mapping[str, Reading], key: bytes | None
) -> Comparison:
    """Compare two sides' variables by name and value; the values are compared here and never leave."""
    only_left = tuple(sorted(set(left_values) - set(right_values)))
    only_right = tuple(sorted(set(right_values) - set(left_values)))
    different: list[Difference] = []
    unknown: list[Difference] = []
    same: list[str] = []
    for name in sorted(set(left_values) & set(right_values)):
        a, b = left_values[name], right_values[name]
        pair = Difference(name, mask(a.value, key, a.unreadable), mask(b.value, key, b.unreadable))
        if a.value is None or b.value is None:
            unknown.append(pair)
        elif a.value == b.value:
            same.append(name)
        else:
            different.append(pair)
    return Comparison(left, right, only_left, only_right, tuple(different), tuple(unknown), tuple(same),
                      key is not None)


def one_per_name(readings: Iterable[Reading]) -> dict[str, Reading]:
    """One reading per name (the readings of one side: a Railway service, or one Vercel target)."""
    return {r.name: r for r in readings}


# ---- required variables and named checks -----------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    """A named variable as a check or `/health` reports it: set (masked), empty, or missing."""

    name: str
    state: str  # "set", "empty", "missing"
    masked: Masked | None = None

    def describe(self) -> str:
        if self.state == "set" and self.masked is not None:
            return f"{self.name}: set ({self.masked.describe()})"
        return f"{self.name}: {self.state}"


def presence(names: Sequence[str], readings: Iterable[Reading], key: bytes | None) -> tuple[Presence, ...]:
    """Each of `names`: set, empty or missing. An unreadable value counts as set (it is there; pitcrew
    cannot see it), and a name set for any one source (one Vercel target of several) is set."""
    found: dict[str, list[Reading]] = {}
    for reading in readings:
        found.setdefault(reading.name, []).append(reading)
    out: list[Presence] = []
    for name in names:
        seen = found.get(name, [])
        present = [r for r in seen if r.value is None or r.value.strip()]
        if present:
            first = present[0]
            out.append(Presence(name, "set", mask(first.value, key, first.unreadable)))
        elif seen:
            out.append(Presence(name, "empty"))
        else:
            out.append(Presence(name, "missing"))
    return tuple(out)


def missing_required(required: Sequence[str], readings: Iterable[Reading]) -> tuple[Presence, ...]:
    """The required variables that are missing or empty (none: all there)."""
    return tuple(p for p in presence(required, readings, None) if p.state != "set")
