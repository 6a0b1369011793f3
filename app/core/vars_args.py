"""The arguments of `@pitcrew vars ...`: `vars <service> [NAME ...]` and `vars compare <a> <b>`.

Parsed before any provider is asked, so a mistyped service or a name no provider would accept is
answered at once, privately, with the usage and the names that would have worked.

`<b>` of a compare is another service of pitcrew.yml, or, for a Vercel service, another of its
targets (`vars compare web preview`: web's production entries against its preview ones). A Railway
environment other than the service's own is not something pitcrew.yml knows: catalog the staging
service as a service of its own (`api-staging`, its `environment_id`) and compare the two services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.core.var_inventory import VARIABLE_NAME

USAGE = (
    "Usage: `@pitcrew vars <service> [NAME ...]`: the service's variables, values masked (length and "
    "fingerprint); `@pitcrew vars compare <service> <service|production|preview>`: which names and "
    "values differ."
)
VERCEL_TARGETS = ("production", "preview", "development")
MAX_NAMES = 20


class VarsUsage(Exception):
    """What was wrong with the arguments (or `help`); the message carries the usage."""

    def __init__(self, problem: str | None, known: Iterable[str] = ()) -> None:
        self.problem = problem
        names = ", ".join(sorted(known)) or "none"
        text = f"{problem}\n{USAGE}" if problem else USAGE
        super().__init__(f"{text}\nServices: {names}")


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a service, and for a Vercel one the target (None: production)."""

    service: str
    target: str | None = None

    @property
    def label(self) -> str:
        return f"{self.service} ({self.target})" if self.target else self.service


@dataclass(frozen=True)
class VarsArgs:
    """`service` and the names asked for (empty: all); or `compare` with its two sides."""

    service: str | None = None
    names: tuple[str, ...] = ()
    compare: tuple[Side, Side] | None = None


def parse_vars_args(text: str | None, providers: Mapping[str, str]) -> VarsArgs:
    """`providers`: each service of pitcrew.yml and its provider. Raises VarsUsage."""
    words = (text or "").split()
    known = sorted(providers)
    if not words or words[0].lower() in ("help", "-h", "--help"):
        raise VarsUsage(None, known)
    if words[0].lower() == "compare":
        return VarsArgs(compare=_sides(words[1:], providers))
    service = _service(words[0], providers)
    names = tuple(dict.fromkeys(words[1:]))
    wrong = [n for n in names if not VARIABLE_NAME.match(n)]
    if wrong:
        raise VarsUsage(f"`{wrong[0][:64]}` is not a variable name (letters, digits and _, not starting with a digit)",
                        known)
    if len(names) > MAX_NAMES:
        raise VarsUsage(f"at most {MAX_NAMES} names at once", known)
    return VarsArgs(service=service, names=names)


def _service(word: str, providers: Mapping[str, str]) -> str:
    name = word.lower()
    if name not in providers:
        raise VarsUsage(f"unknown service `{word[:64]}`", providers)
    if providers[name] not in ("railway", "vercel"):
        raise VarsUsage(
            f"{name} is a {providers[name]} service: pitcrew reads the variables of Railway and Vercel services",
            providers,
        )
    return name


def _sides(words: list[str], providers: Mapping[str, str]) -> tuple[Side, Side]:
    if len(words) != 2:
        raise VarsUsage("compare takes two names: a service and another service or a Vercel target", providers)
    left = _service(words[0], providers)
    other = words[1].lower()
    if other in VERCEL_TARGETS and other not in providers:
        if providers[left] != "vercel":
            raise VarsUsage(
                f"{left} is a Railway service: it has no `{other}` target. pitcrew.yml names one Railway "
                "environment per service; catalog the other environment's service and compare the two",
                providers,
            )
        if other == "production":
            raise VarsUsage(f"{left} (production) against itself: name `preview` or another service", providers)
        return Side(left, "production"), Side(left, other)
    right = _service(other, providers)
    if right == left:
        raise VarsUsage(f"{left} against itself: name another service, or `preview` for a Vercel one", providers)
    return (
        Side(left, "production" if providers[left] == "vercel" else None),
        Side(right, "production" if providers[right] == "vercel" else None),
    )
