"""Planning a variable's change: read what the provider holds now, check the new value, and say what the
proposal card shows (exists, old and new fingerprints, length, what redeploys) without any value.

`propose_set_variable` / `propose_unset_variable` (app/flows/actions.py) build their inputs here; the
revert reminders (app/flows/variable_changes.py) read the fingerprint of what is set now here too.
The old value read for a revert reminder leaves this module only sealed (app/core/value_vault.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from app.catalog import Service
from app.core.actions import InvalidActionParams
from app.core.observations import Deployment
from app.core.rollback import current_deployment
from app.core.rotation import references_shared, shared_name
from app.core.value_fingerprints import fingerprint, fingerprint_key
from app.core.variable_changes import ChangePreview, check_name, check_value
from app.flows import action_calls as calls
from app.flows.action_views import DeploymentView

if TYPE_CHECKING:
    from app.deps import Deps

LIST_LIMIT = 10
VERCEL_TARGETS = ("production", "preview", "development")


@dataclass(frozen=True)
class Current:
    """What the provider holds now for one name: whether it exists, its value if readable (a secret:
    used only to fingerprint and, for a revert reminder, to seal), and its Vercel type."""

    exists: bool
    value: str | None
    unreadable: bool = False
    type: str = "encrypted"


def key_of(deps: Deps) -> bytes | None:
    """The fingerprint key, from AUDIT_KEY or else the Slack signing secret."""
    return fingerprint_key(*deps.settings.key_secrets())


def fingerprint_of(deps: Deps, value: str | None) -> str | None:
    key = key_of(deps)
    return fingerprint(key, value) if key is not None and value is not None else None


async def read_current(deps: Deps, service: Service, name: str, targets: tuple[str, ...] = ("production",)) -> Current:
    """The variable as the provider holds it now (Vercel: the entry of the first target asked)."""
    if service.provider == "railway" and service.railway is not None:
        values = await calls.railway(deps).service_variables(service.railway)
        if name not in values:
            return Current(False, None)
        return Current(True, values[name], unreadable=values[name] is None)
    if service.provider == "vercel" and service.vercel is not None:
        client = calls.vercel(deps)
        entries = [e for e in await client.env_entries(service.vercel) if e["key"] == name]
        target = targets[0]
        mine = [e for e in entries if target in _targets(e)]
        if not mine:
            return Current(False, None)
        kind = str(mine[0].get("type") or "encrypted")
        if kind in ("sensitive", "secret"):
            return Current(True, None, unreadable=True, type="sensitive")
        read = await client.env_values(service.vercel, target=target, entries=mine)
        value = next((v for n, v in read if n == name), None)
        return Current(True, value, unreadable=value is None, type=kind)
    raise InvalidActionParams(f"{service.provider} services have no variables pitcrew can change")


def _targets(entry: dict[str, Any]) -> tuple[str, ...]:
    raw = entry.get("target")
    return tuple(raw) if isinstance(raw, list) else ((raw,) if isinstance(raw, str) else ())


def check_targets(service: Service, targets: object) -> tuple[str, ...]:
    if service.provider != "vercel" or not targets:
        return ("production",)
    chosen = tuple(str(t) for t in targets) if isinstance(targets, list | tuple) else (str(targets),)
    if not chosen or not set(chosen) <= set(VERCEL_TARGETS):
        raise InvalidActionParams(f"Vercel targets are {', '.join(VERCEL_TARGETS)}")
    return chosen


async def _referencing(deps: Deps, service_name: str, service: Service, shared: str) -> tuple[str, ...]:
    """The other Railway services of pitcrew.yml, in `service`'s environment, whose variables reference
    the shared variable `shared`: changing it reaches each of them at its next deployment."""
    ref = service.railway
    assert ref is not None
    found: list[str] = []
    for name, other in deps.catalog.services.items():
        there = other.railway
        if name == service_name or other.provider != "railway" or there is None:
            continue
        if (there.project_id, there.environment_id) != (ref.project_id, ref.environment_id):
            continue
        if references_shared(await calls.railway(deps).unrendered_variables(there), shared):
            found.append(name)
    return tuple(found)


@dataclass(frozen=True)
class ChangePlan:
    inputs: dict[str, Any]
    plan: dict[str, Any]
    current: Current


async def read_shared(deps: Deps, service: Service, shared: str) -> Current:
    """The shared variable `shared` of a Railway service's environment as Railway holds it now."""
    if service.provider != "railway" or service.railway is None:
        raise InvalidActionParams(f"shared variables are Railway's; {service.provider} services have none")
    values = await calls.railway(deps).shared_variables(service.railway)
    if shared not in values:
        return Current(False, None)
    return Current(True, values[shared], unreadable=values[shared] is None)


async def plan_change(
    deps: Deps, service: Service, service_name: str, name: str, value: str | None, *, redeploy: bool,
    revert_after: timedelta | None, targets: object = None, shared: str | None = None, also: Sequence[str] = (),
) -> ChangePlan:
    """Inputs and card of a set (`value`) or an unset (`value` None); InvalidActionParams when refused.

    `shared` (Railway, a set): the service takes `name` from the environment's shared variable `shared`
    (`${{shared.X}}`), which is what is set, without deploying the other services referencing it; then
    this service redeploys (a rotation redeploys the others one by one, app/flows/rotation.py).
    `also` (Railway, a set): more names of the same service set to the same value, in one change
    (`variableCollectionUpsert`)."""
    check_name(name)
    if value is not None:
        check_value(value, service.provider)
    also = tuple(dict.fromkeys(n for n in also if n != name))
    for other in also:
        check_name(other)
    if (shared or also) and (service.provider != "railway" or value is None):
        raise InvalidActionParams("only a Railway set changes a shared variable or several names at once")
    if shared:
        check_name(shared)
        redeploy = True  # the shared change deploys nothing by itself: this service's redeploy is the change
    chosen = check_targets(service, targets)
    current = await (read_shared(deps, service, shared) if shared else read_current(deps, service, name, chosen))
    if value is None and not current.exists:
        raise InvalidActionParams(f"{name} is not set on {service_name}; there is nothing to unset")
    shared_with = await _referencing(deps, service_name, service, shared) if shared else ()
    replaces = None
    if service.provider == "railway" and service.railway is not None and value is not None and not shared:
        raw = (await calls.railway(deps).unrendered_variables(service.railway)).get(name)
        if raw is not None and "${{" in raw:
            named = shared_name(raw)
            replaces = f"shared {named}" if named else "a reference"
    history: list[Deployment] = await calls.history(deps, service, LIST_LIMIT)
    serving = current_deployment(history)
    if service.provider == "railway" and value is None:
        redeploy = True  # Railway's variableDelete has no skipDeploys: the service redeploys
    inputs: dict[str, Any] = {"name": name, "redeploy": bool(redeploy)}
    if value is not None:
        inputs["value"] = value
    if also:
        inputs["also"] = list(also)
    if shared:
        if serving is None:
            raise InvalidActionParams(f"{service_name} has no deployment serving to redeploy with the shared {shared}")
        inputs.update({"shared": shared, "deployment_id": serving.id})
    if service.provider == "vercel":
        if redeploy and serving is None:
            raise InvalidActionParams(f"{service_name} has no production deployment serving to redeploy")
        inputs.update(
            {"targets": list(chosen), "deployment_id": serving.id if serving else None, "type": current.type}
        )
        what = (
            f"a new production build of {serving.id}" if redeploy and serving
            else "nothing (Vercel applies it at the next deploy)"
        )
    elif shared:
        what = (
            f"{service_name} alone (a new deployment of {serving.id if serving else '?'}); other services "
            f"referencing shared {shared} keep the old value until they redeploy (skipDeploys)"
        )
    else:
        what = f"{service_name} (Railway deploys the change)" if redeploy else "nothing (skipDeploys)"
    preview = ChangePreview(
        name=name,
        exists=current.exists,
        old_fingerprint=fingerprint_of(deps, current.value),
        new_fingerprint=fingerprint_of(deps, value),
        new_length=len(value) if value is not None else None,
        redeploys=what,
        revert_after_s=int(revert_after.total_seconds()) if revert_after else None,
        unreadable=current.unreadable,
        also=also,
        shared=shared,
        replaces_reference=replaces,
        shared_with=shared_with,
    )
    shown = DeploymentView.of(serving).to_dict() if serving else None
    plan = {"current": shown, "target": None, "why": None, "variable": preview.to_dict()}
    return ChangePlan(inputs, plan, current)
