"""An open proposal's secret inputs, sealed in its row and opened only for the provider call.

A value typed into the `set` form waits in the proposal until an operator confirms it (up to its
expiry); kept as it was typed, anyone reading the proposals table (a backup, a replica, a support
dump) would read it. So each secret input is stored AES-GCM sealed (app/core/value_vault.py), bound
to the proposal's id and the input's name, and opened only by the code that needs the value: the
provider call, the masking of its error, and the settle job comparing what the provider now holds.
The row is masked (`***`) once the proposal ends, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.actions import ActionSpec
from app.core.value_vault import input_key, seal, unseal
from app.deps import Deps

SEALED = "sealed"


def _key(deps: Deps) -> bytes | None:
    return input_key(*deps.settings.key_secrets())


def _bound(proposal_id: str, name: str) -> str:
    return f"{proposal_id}:{name}"


def seal_inputs(deps: Deps, spec: ActionSpec, proposal_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`inputs` as stored: each secret one replaced by `{"sealed": ...}`.

    Without a key (no AUDIT_KEY and no signing secret, which `serve` does not allow) a secret input
    cannot be kept safely, so it is refused rather than stored in the clear."""
    stored = dict(inputs)
    secret = [k for k in spec.secret if isinstance(stored.get(k), str) and stored[k]]
    if not secret:
        return stored
    key = _key(deps)
    if key is None:
        raise ValueError("pitcrew has no key to keep a secret value with: set AUDIT_KEY")
    for name in secret:
        stored[name] = {SEALED: seal(key, stored[name], _bound(proposal_id, name))}
    return stored


def open_inputs(deps: Deps, spec: ActionSpec, proposal_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs with each sealed secret opened; one that does not open (another key, another row,
    or already forgotten as `***`) becomes None, so the caller refuses instead of sending garbage."""
    opened = dict(inputs)
    key = _key(deps)
    for name in spec.secret:
        value = opened.get(name)
        if isinstance(value, Mapping) and isinstance(value.get(SEALED), str):
            opened[name] = unseal(key, value[SEALED], _bound(proposal_id, name)) if key else None
    return opened
