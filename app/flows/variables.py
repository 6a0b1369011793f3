"""Reading a service's variables: `@pitcrew vars`, `vars compare`, the `check: variables` step and the
`required_vars` of `/health`.

The providers are asked for the values (Railway: the rendered set a deployment gets and the
unrendered set that says where each comes from; Vercel: each entry, per target, decrypted one by
one), the core (app/core/var_inventory.py) masks them, and only the masked result leaves this
module: the values themselves live in local variables for the length of one call and are never
logged, stored, audited or returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.catalog import Service
from app.core.value_fingerprints import fingerprint_key
from app.core.var_inventory import (
    SEALED,
    SENSITIVE,
    Comparison,
    Inventory,
    Presence,
    Reading,
    compare,
    inventory,
    missing_required,
    one_per_name,
    presence,
    railway_source,
)
from app.core.vars_args import Side

if TYPE_CHECKING:
    from app.deps import Deps

PROVIDER_TIMEOUT_S = 10.0
RAILWAY_TOKENS_MISSING = "RAILWAY_API_TOKEN or RAILWAY_PROJECT_TOKEN not set"
VERCEL_TOKEN_MISSING = "VERCEL_TOKEN not set"


class VariablesUnavailable(Exception):
    """pitcrew cannot read this service's variables (its provider has none, or no token is set)."""


@dataclass(frozen=True)
class NamedVariables:
    """`@pitcrew vars api JWT_SECRET`: the names asked for, each set (masked), empty or missing."""

    service: str
    provider: str
    found: tuple[Presence, ...]
    fingerprinted: bool


def key_of(deps: Deps) -> bytes | None:
    """The fingerprint key (app/core/value_fingerprints.py): from AUDIT_KEY, else the signing secret."""
    return fingerprint_key(*deps.settings.key_secrets())


async def readings(
    deps: Deps, name: str, *, timeout_s: float = PROVIDER_TIMEOUT_S
) -> tuple[Service, list[Reading]]:
    """The service's variables as plain readings; raises UnknownService, VariablesUnavailable, ProviderError."""
    service = deps.catalog.service(name)
    if service.provider == "railway" and service.railway is not None:
        if deps.railway is None:
            raise VariablesUnavailable(RAILWAY_TOKENS_MISSING)
        return service, await _railway(deps, service, timeout_s)
    if service.provider == "vercel" and service.vercel is not None:
        if deps.vercel is None:
            raise VariablesUnavailable(VERCEL_TOKEN_MISSING)
        return service, await _vercel(deps, service, timeout_s)
    raise VariablesUnavailable(
        f"{name} is a {service.provider} service: pitcrew reads the variables of Railway and Vercel services"
    )


async def _railway(deps: Deps, service: Service, timeout_s: float) -> list[Reading]:
    """Each variable a deployment gets, its value rendered, its source read off its unrendered value;
    a name Railway adds itself (`RAILWAY_*`: rendered, never set on the service) is Railway's."""
    assert deps.railway is not None and service.railway is not None
    ref = service.railway
    rendered, unrendered = await asyncio.gather(
        deps.railway.service_variables(ref, timeout_s=timeout_s),
        deps.railway.unrendered_variables(ref, timeout_s=timeout_s),
    )
    found: list[Reading] = []
    for name in sorted(set(rendered) | set(unrendered)):
        source = railway_source(unrendered[name]) if name in unrendered else "railway"
        value = rendered.get(name)
        found.append(Reading(name, source, value, SEALED if value is None else None))
    return found


async def _vercel(deps: Deps, service: Service, timeout_s: float) -> list[Reading]:
    """One reading per entry and target: a key set for production and preview is listed under both."""
    assert deps.vercel is not None and service.vercel is not None
    entries = await deps.vercel.env_readings(service.vercel, target=None, timeout_s=timeout_s)
    found: list[Reading] = []
    for entry in entries:
        why = None
        if entry.value is None:
            why = SENSITIVE if entry.type in ("sensitive", "secret") else "unreadable"
        found.extend(Reading(entry.key, target, entry.value, why) for target in entry.targets)
    return found


async def service_inventory(deps: Deps, name: str) -> Inventory:
    """`@pitcrew vars <service>`: every variable, grouped by source, masked."""
    service, found = await readings(deps, name)
    return inventory(name, service.provider, found, key_of(deps))


async def named_variables(deps: Deps, name: str, names: Sequence[str]) -> NamedVariables:
    """`@pitcrew vars <service> NAME ...` and `check: variables` with `names:`: each set, empty or missing
    (for a Vercel service, its production entries)."""
    service, found = await readings(deps, name)
    if service.provider == "vercel":
        found = [r for r in found if r.source == "production"]
    key = key_of(deps)
    return NamedVariables(name, service.provider, presence(names, found, key), key is not None)


async def compare_sides(deps: Deps, left: Side, right: Side) -> Comparison:
    """`@pitcrew vars compare`: the two sides read at once, compared by value, shown masked."""
    if left.service == right.service:
        _service, found = await readings(deps, left.service)
        a, b = found, found
    else:
        (_l, a), (_r, b) = await asyncio.gather(readings(deps, left.service), readings(deps, right.service))
    return compare(left.label, _side(a, left), right.label, _side(b, right), key_of(deps))


def _side(found: list[Reading], side: Side) -> dict[str, Reading]:
    return one_per_name(r for r in found if side.target is None or r.source == side.target)


async def required_missing(deps: Deps, name: str, required: Sequence[str], *, timeout_s: float) -> tuple[Presence, ...]:
    """The service's `required_vars` that are missing or empty (a Vercel service's production entries)."""
    service, found = await readings(deps, name, timeout_s=timeout_s)
    if service.provider == "vercel":
        found = [r for r in found if r.source == "production"]
    return missing_required(required, found)
