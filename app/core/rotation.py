"""Secret rotation's pure rules: which services share a variable, in what order they change, and the
new value's shape.

`@pitcrew rotate NAME` (app/flows/rotation.py) reads NAME on every Railway and Vercel service and
hands the readings here as fingerprints (never values). Services whose fingerprints agree share the
secret and are rotated together; a service whose value cannot be read (Railway sealed, Vercel
sensitive) cannot be compared, so it is named and left to the asker (`rotate NAME svc ...`), never
guessed. The order follows `depends_on` from pitcrew.yml: a service changes after what it depends on
(the backend that issues tokens before the frontend that checks them). Pure: no I/O.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_LENGTH = 48
MIN_LENGTH = 16  # a secret shorter than this is not worth keeping: rotate to at least 16 characters
MAX_LENGTH = 4096


# A value that is one reference to a shared variable and nothing else (Railway's template syntax,
# docs.railway.com/variables/reference: "For a shared variable, the namespace is \"shared\"").
_SHARED_ONLY = re.compile(r"^\$\{\{\s*shared\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_SHARED_ANYWHERE = re.compile(r"\$\{\{\s*shared\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class RotationRefused(ValueError):
    """Nothing can be rotated as asked; the message says why and what to type instead."""


@dataclass(frozen=True)
class Holder:
    """NAME as one service holds it: its fingerprint and length, or unreadable (sealed, sensitive)."""

    service: str
    fingerprint: str | None
    length: int | None
    unreadable: bool = False


def new_value(length: int) -> str:
    """A fresh secret of `length` URL-safe characters (secrets.token_urlsafe: 6 bits a character)."""
    length = max(MIN_LENGTH, min(MAX_LENGTH, length))
    return secrets.token_urlsafe(length)[:length]


def choose(
    name: str, holders: Sequence[Holder], named: Sequence[str] = ()
) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """The services sharing `name`, the new value's length, and the services that could not be compared.

    Without `named`: every readable holder, provided they all hold the same value (else refused, naming
    the groups); unreadable holders are reported, not included. With `named`: exactly those services,
    each of which must hold `name`.
    """
    by_service = {h.service: h for h in holders}
    if not holders:
        raise RotationRefused(f"no Railway or Vercel service has a variable {name}")
    if named:
        missing = [s for s in named if s not in by_service]
        if missing:
            raise RotationRefused(f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no variable {name}")
        chosen = [by_service[s] for s in dict.fromkeys(named)]
        return tuple(h.service for h in chosen), _length(chosen), ()
    readable = [h for h in holders if not h.unreadable]
    unreadable = tuple(h.service for h in holders if h.unreadable)
    groups: dict[str | None, list[str]] = {}
    for h in readable:
        groups.setdefault(h.fingerprint, []).append(h.service)
    if len(groups) > 1:
        said = "; ".join(f"{', '.join(s)} ({fp or 'no fingerprint'})" for fp, s in groups.items())
        raise RotationRefused(
            f"{name} differs between services ({said}): pitcrew will not guess which share it. "
            f"Name them: `rotate {name} <service> <service> ...`"
        )
    if not readable:
        raise RotationRefused(
            f"{name} cannot be read on {', '.join(unreadable)} (sealed or sensitive), so pitcrew cannot tell "
            f"which services share it. Name them: `rotate {name} <service> <service> ...`"
        )
    return tuple(h.service for h in readable), _length(readable), unreadable


def shared_name(unrendered: str | None) -> str | None:
    """The shared variable a Railway value is a bare reference to (`${{shared.JWT_SECRET}}` gives
    JWT_SECRET), else None. Such a service takes its value from the environment, so a rotation sets
    the shared variable once and redeploys each service referencing it, never a copy on the service
    (which would cut it off from the shared one)."""
    if unrendered is None:
        return None
    match = _SHARED_ONLY.match(unrendered.strip())
    return match.group(1) if match else None


def references_shared(values: Mapping[str, str | None], shared: str) -> bool:
    """Whether any of a service's variables (as set, unrendered) references the shared variable `shared`,
    alone or inside a longer value: that service takes its new value at its next deployment."""
    return any(
        m.group(1) == shared for value in values.values() if value for m in _SHARED_ANYWHERE.finditer(value)
    )


def same_value_names(
    name: str, rendered: Mapping[str, str | None], unrendered: Mapping[str, str | None]
) -> tuple[str, ...]:
    """The other names of one service holding the very value `name` holds, each set on the service
    itself (a reference follows what it references and is left alone): a secret kept under two names
    (JWT_SECRET and NEXTAUTH_SECRET) is rotated under both in one change, or the second keeps the old."""
    value = rendered.get(name)
    if value is None:
        return ()
    return tuple(
        other for other, held in rendered.items()
        if other != name and held == value and unrendered.get(other) == held
    )


def _length(holders: Sequence[Holder]) -> int:
    lengths = [h.length for h in holders if h.length]
    return max(MIN_LENGTH, min(MAX_LENGTH, max(lengths))) if lengths else DEFAULT_LENGTH


def order(services: Sequence[str], depends_on: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """`services` with each after those it depends on (directly or through services not rotated);
    otherwise in the order given. pitcrew.yml's dependencies have no cycles (the catalog checks)."""
    wanted = list(dict.fromkeys(services))

    def upstream(service: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        for dep in depends_on.get(service, ()):
            if dep not in seen:
                found |= {dep} | upstream(dep, seen | {service})
        return found

    before = {s: upstream(s) & set(wanted) for s in wanted}
    done: list[str] = []
    while len(done) < len(wanted):
        ready = [s for s in wanted if s not in done and before[s] <= set(done)]
        done.append(ready[0] if ready else next(s for s in wanted if s not in done))
    return tuple(done)
