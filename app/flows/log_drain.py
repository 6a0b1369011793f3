"""`POST /drains/vercel`: Vercel's log drain batches, verified, masked on arrival and kept per project.

Vercel's runtime-logs API streams only what is logged after the request, so a drain is the only way
for `/logs <vercel service> --since 30m` to have a history. A delivery is a batch of entries, as
NDJSON or as a JSON array (vercel.com/docs/drains/reference/logs), signed in `x-vercel-signature`
with HMAC-SHA1 of the raw body and the drain's secret (vercel.com/docs/drains/security).

Masking happens before anything is stored, with pitcrew's own secrets, the secret shapes (tokens,
JWTs, passwords in URLs...) and the values of the project's variables. Those values are read from
Vercel's environment API at most once per `MASKER_TTL` per project and instance and kept in this
process only: a drain delivers many batches a second and must not cost a provider call each, and
the values are secrets that pitcrew does not write to its database. A restart loses nothing but the
cache. When the variables cannot be read (and no copy younger than `MASKER_STALE_OK` is at hand),
the batch is refused with a 503 rather than stored with the project's secrets unmasked.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.catalog import Catalog, VercelRef
from app.core.masking import Masker
from app.core.variables import ServiceVariables
from app.providers.base import InvalidIdentifier, ProviderError
from app.providers.logs_model import normalise_level, parse_timestamp
from app.store import drain_lines
from app.store.db import transaction

if TYPE_CHECKING:
    from app.deps import Deps

MASKER_TTL_S = 300.0  # how long the project's variables are trusted before they are read again
MASKER_STALE_OK_S = 3600.0  # when Vercel cannot answer, an older copy still masks for this long
MAX_MESSAGE_CHARS = 32_768  # a drained message may reach 256 KB (Vercel truncates beyond); we keep the end
# Drain fields kept beside the message, under the names the runtime-logs stream uses. Free text (a
# path, an entrypoint, a request id) is masked; Vercel's enumerations and host names are kept if
# they look like one (a short word), else masked as text.
_FREE_TEXT = (("path", "requestPath"), ("entrypoint", "entrypoint"), ("requestId", "requestId"))
_WORDS = (("executionRegion", "executionRegion"), ("host", "domain"))
_ENUMS = (("source", "source"), ("type", "type"), ("environment", "environment"))
_KNOWN_WORDS = frozenset((  # the values vercel.com/docs/drains/reference/logs lists for those fields
    "build", "edge", "lambda", "static", "external", "firewall", "redirect",
    "command", "stdout", "stderr", "exit", "deployment-state", "delimiter", "middleware",
    "middleware-invocation", "edge-function-invocation", "metric", "report", "fatal",
    "production", "preview", "development",
))
_WORD = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class DrainRefused(Exception):
    """Why a delivery is not stored; `reason` is for pitcrew's log, `status` for the sender."""

    status = 400

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DrainUnauthorized(DrainRefused):
    status = 401


class DrainBodyError(DrainRefused):
    status = 400


class DrainMaskUnavailable(DrainRefused):
    status = 503


@dataclass(frozen=True)
class DrainReceipt:
    received: int  # entries in the batch
    stored: int  # lines kept (of projects a service of pitcrew.yml names)
    skipped: int  # entries of other projects, or that are not log lines

    def as_json(self) -> dict[str, int]:
        return {"received": self.received, "stored": self.stored, "skipped": self.skipped}


def signature_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """`x-vercel-signature` is the hex HMAC-SHA1 of the raw body with the drain secret."""
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def parse_entries(body: bytes) -> list[dict[str, Any]]:
    """The entries of a batch: a JSON array (`json` drains), one object a line (`ndjson`), or one object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DrainBodyError("the body is not UTF-8 text") from None
    stripped = text.strip()
    if not stripped:
        return []
    try:
        if stripped.startswith("["):
            found = json.loads(stripped)
        else:  # one parse of the whole batch as an array is several times faster than one per line
            lines = [line for line in stripped.splitlines() if line.strip()]
            try:
                found = json.loads("[" + ",".join(lines) + "]")
            except json.JSONDecodeError:
                found = [json.loads(line) for line in lines]  # names the line that is wrong
    except json.JSONDecodeError as err:
        raise DrainBodyError(f"not a JSON array nor NDJSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(found, list):
        raise DrainBodyError("a JSON body must be an array of log entries")
    return [entry for entry in found if isinstance(entry, dict)]


@dataclass
class DrainMaskers:
    """The masker of each drained project, built from its variables and cached (see the module's doc)."""

    ttl_s: float = MASKER_TTL_S
    stale_ok_s: float = MASKER_STALE_OK_S
    _cached: dict[str, tuple[Masker, float]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def masker(self, deps: Deps, ref: VercelRef) -> Masker:
        now = time.monotonic()
        cached = self._cached.get(ref.project_id)
        if cached is not None and now - cached[1] < self.ttl_s:
            return cached[0]
        lock = self._locks.setdefault(ref.project_id, asyncio.Lock())
        async with lock:
            cached = self._cached.get(ref.project_id)
            if cached is not None and time.monotonic() - cached[1] < self.ttl_s:
                return cached[0]
            try:
                variables = await _variables(deps, ref)
            except DrainMaskUnavailable:
                if cached is not None and time.monotonic() - cached[1] < self.stale_ok_s:
                    return cached[0]
                raise
            pairs = [*variables.values, *own_secrets(deps).items()]
            masker = Masker.for_variables(pairs, unreadable=variables.unreadable)
            self._cached[ref.project_id] = (masker, time.monotonic())
            return masker


def own_secrets(deps: Deps) -> dict[str, str]:
    """pitcrew's own tokens, named so that `Masker.for_variables` takes each for a secret."""
    return {f"PITCREW_{n}_SECRET": value for n, value in enumerate(deps.secret_values())}


async def _variables(deps: Deps, ref: VercelRef) -> ServiceVariables:
    client = deps.vercel
    if client is None:
        raise DrainMaskUnavailable(
            "VERCEL_TOKEN is not set: pitcrew cannot read the project's variables to mask drained lines"
        )
    try:
        return await client.env_values(ref, target=None)  # a drain carries every target's lines
    except (ProviderError, InvalidIdentifier, TimeoutError) as err:
        reason = f"could not read the variables of {ref.project_id} to mask its lines: {err}"
        raise DrainMaskUnavailable(reason) from None


def drained_refs(catalog: Catalog) -> dict[str, VercelRef]:
    """The Vercel projects of pitcrew.yml, by the id or name their `project_id` gives."""
    return {s.vercel.project_id: s.vercel for s in catalog.services.values() if s.vercel is not None}


async def receive_drain(
    deps: Deps, body: bytes, signature: str | None, maskers: DrainMaskers, *, signed_bodies: Iterable[bytes] = ()
) -> DrainReceipt:
    """Verify, parse, mask and store one delivery. `signed_bodies` are other forms of the body the
    signature may be over (the compressed bytes, when the drain gzips)."""
    secret = deps.settings.VERCEL_DRAIN_SECRET.get_secret_value() if deps.settings.VERCEL_DRAIN_SECRET else ""
    if not secret:
        raise DrainUnauthorized("VERCEL_DRAIN_SECRET is not set, so no drain delivery can be verified")
    if not any(signature_valid(secret, candidate, signature) for candidate in (body, *signed_bodies)):
        raise DrainUnauthorized("x-vercel-signature is missing or does not match VERCEL_DRAIN_SECRET")
    entries = parse_entries(body)
    refs = drained_refs(deps.catalog)
    by_project: dict[str, list[dict[str, Any]]] = {}
    skipped = 0
    for entry in entries:
        ref = refs.get(str(entry.get("projectId") or "")) or refs.get(str(entry.get("projectName") or ""))
        if ref is None or entry.get("source") == "delimiter":
            skipped += 1
            continue
        by_project.setdefault(ref.project_id, []).append(entry)
    now = deps.clock()
    rows: list[dict[str, Any]] = []
    for project_id, found in by_project.items():
        masker = await maskers.masker(deps, refs[project_id])
        rows.extend(_row(project_id, entry, masker, now) for entry in found)
    if rows:
        async with transaction(deps.sessions) as session:
            await drain_lines.add(session, rows, max_rows=deps.catalog.logs.max_rows_per_project)
    return DrainReceipt(received=len(entries), stored=len(rows), skipped=skipped)


def _row(project_id: str, entry: Mapping[str, Any], masker: Masker, now: Any) -> dict[str, Any]:
    message = entry.get("message")
    text = message if isinstance(message, str) else ("" if message is None else json.dumps(message))
    if len(text) > MAX_MESSAGE_CHARS:
        text = "…" + text[-MAX_MESSAGE_CHARS:]
    level = normalise_level(entry.get("level"))
    if level is None:
        level = "error" if entry.get("type") in ("stderr", "fatal") else "info"
    attributes: dict[str, Any] = {}
    for key, name in _FREE_TEXT:
        value = entry.get(key)
        if value:
            attributes[name] = masker.mask(str(value)[:500])
    for key, name in _ENUMS:
        value = entry.get(key)
        if value:
            attributes[name] = value if value in _KNOWN_WORDS else masker.mask(str(value)[:100])
    for key, name in _WORDS:
        value = entry.get(key)
        if value:
            word = str(value)
            attributes[name] = word if _WORD.match(word) and not masker.could_hold_secret(word) else masker.mask(
                word[:500])
    status = entry.get("statusCode")
    if isinstance(status, int) and not isinstance(status, bool):
        attributes["responseStatusCode"] = status
    proxy = entry.get("proxy")
    if isinstance(proxy, Mapping) and isinstance(proxy.get("method"), str):
        attributes["requestMethod"] = proxy["method"][:10]
    deployment = entry.get("deploymentId")
    return {
        "project_id": project_id,
        "deployment_id": str(deployment)[:100] if deployment else None,
        "at": parse_timestamp(entry.get("timestamp")) or now,
        "received_at": now,
        "level": level[:10],
        "message": masker.mask(text),
        "attributes": attributes,
    }
