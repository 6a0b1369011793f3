"""The arguments of `/health [service ...]` (and of `@pitcrew health ...` in a thread).

Parsed before any probe starts, so a mistyped name is answered at once, privately, with the
names that would have worked, instead of a card that says nothing about the service meant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

USAGE = (
    "Usage: `/health [service ...]`: probe every service of pitcrew.yml, or only those named "
    "(separated by spaces or commas). `/health help` shows this."
)
_SEPARATORS = re.compile(r"[\s,]+")


class HealthUsage(Exception):
    """The user asked for help (or got the arguments wrong): answer with the usage and the known services."""

    def __init__(self, known: Iterable[str], message: str | None = None) -> None:
        self.known = tuple(sorted(known))
        self.usage = USAGE
        super().__init__(message or f"{USAGE}\n{known_services(self.known)}")


class HealthUsageError(HealthUsage):
    """Names that are not services of the catalog; a subclass so an edge catching HealthUsage answers both."""

    def __init__(self, unknown: Iterable[str], known: Iterable[str]) -> None:
        self.unknown = tuple(unknown)
        known = tuple(sorted(known))
        label = "unknown service" if len(self.unknown) == 1 else "unknown services"
        super().__init__(known, f"{label}: {', '.join(self.unknown)}\n{USAGE}\n{known_services(known)}")


def known_services(known: Iterable[str]) -> str:
    names = ", ".join(known)
    return f"known services: {names}" if names else "known services: none (pitcrew.yml lists no services)"


@dataclass(frozen=True)
class HealthArgs:
    """Which services to probe: `services` is None for all of them, else the names in the order typed."""

    services: tuple[str, ...] | None

    @classmethod
    def parse(cls, text: str | None, known: Iterable[str]) -> HealthArgs:
        return cls(parse_health_args(text, known))


def parse_health_args(text: str | None, known: Iterable[str]) -> tuple[str, ...] | None:
    """None (every service) for empty text; else the named services, each once, in the order typed.

    Names are matched case-insensitively because service names are lower-case by rule and a
    phone keyboard capitalises the first word. Raises HealthUsage for `help`, HealthUsageError
    naming every unknown name at once.
    """
    known = tuple(known)
    words = [w for w in _SEPARATORS.split((text or "").strip()) if w]
    if not words:
        return None
    if len(words) == 1 and words[0].lower() in ("help", "-h", "--help", "?") and "help" not in known:
        raise HealthUsage(known)
    names = tuple(dict.fromkeys(w.lower() for w in words))
    known_set = set(known)
    unknown = [n for n in names if n not in known_set]
    if unknown:
        raise HealthUsageError(unknown, known)
    return names
