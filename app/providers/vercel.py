"""Vercel's REST API: a project's deployments, their logs, and rollback / promote.

Ids from users and the catalog only reach a URL after matching a safe pattern and being
percent-encoded, so `/rollback web ../../v2/user` is refused with a message, never sent. The team id
goes as `teamId` on every call for a team project, as Vercel requires. Every failure comes out as a
`ProviderError` naming the call.

Vercel's deployment list does not say which deployment serves production (after a rollback it is
not the newest), so listing also reads the project's `targets.production`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from app.catalog import VercelRef
from app.core.observations import Deployment, DeploymentObservation
from app.core.variables import ServiceVariables
from app.providers.base import InvalidIdentifier, ProviderError, UnknownDeployment
from app.providers.logs_model import LogLine, normalise_level, parse_timestamp
from app.providers.rate_limits import RateLimited, decide, note_budget

__all__ = ["InvalidIdentifier", "UnknownDeployment", "VercelClient"]

log = logging.getLogger("pitcrew.providers.vercel")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_TAIL_S = 20.0
MAX_DEPLOYMENTS = 100
_REASON_CHARS = 300
ENV_READS_AT_ONCE = 5  # decrypted values read concurrently, bounded (Vercel rate-limits per token)

# Deployment ids (dpl_...), project ids (prj_...) or names, team ids (team_...), deployment hostnames.
_VERCEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_GIT_HOSTS = ("github", "gitlab", "bitbucket")

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")


def _check(what: str, value: object, example: str) -> str:
    if not isinstance(value, str) or not _VERCEL_ID.match(value) or ".." in value:
        raise InvalidIdentifier(what, value, f"a Vercel id such as {example}")
    return value


def _part(what: str, value: object, example: str) -> str:
    """A checked id, percent-encoded for a path segment (the check already rules out `/`: belt and braces)."""
    return quote(_check(what, value, example), safe="")


def _project_part(ref: VercelRef) -> str:
    return _part("Vercel project id", ref.project_id, "prj_2Wjyh...")


def _deployment_part(deployment_id: object) -> str:
    return _part("Vercel deployment id", deployment_id, "dpl_89qyp1cskz...")


class VercelClient:
    """One Vercel account or team token, reached over the process's shared httpx client."""

    def __init__(
        self, http: httpx.AsyncClient, *, url: str, token: str, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._http = http
        self._base = url.rstrip("/")
        self._token = token
        # A project named by its name (`web`) in pitcrew.yml: its `prj_` id, asked for once. Vercel
        # answers with the id (a deployment's `projectId`), and paths such as promote and rollback
        # take `projectId` (an id), where `/v9/projects/{idOrName}` takes either. An id never
        # changes, so remembering it here is a lookup, not state.
        self._project_ids: dict[tuple[str | None, str], str] = {}
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:  # never show the token
        return f"VercelClient(url={self._base!r})"

    # ---- deployments -------------------------------------------------------------------------

    async def deployments(
        self,
        ref: VercelRef,
        limit: int = 10,
        target: str | None = "production",
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> list[Deployment]:
        """The project's latest deployments (of `target`; None for all), newest first."""
        return await self._list("vercel deployments", ref, limit, target, timeout_s)

    async def latest_deployment(self, ref: VercelRef, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> DeploymentObservation:
        """The newest production deployment (READY, ERROR, BUILDING, ...); `is_current` if it serves now."""
        found = await self._list("vercel latest deployment", ref, 1, "production", timeout_s)
        return DeploymentObservation(provider="vercel", deployment=found[0] if found else None)

    async def deployment(
        self, ref: VercelRef, deployment_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Deployment:
        """One deployment of this project; UnknownDeployment if none has that id or it is another's."""
        call = "vercel deployment"
        path = "/v13/deployments/" + _deployment_part(deployment_id)
        project_id = await self._project_id(call, ref, timeout_s)
        body, production_id = await _both(
            self._get_json(call, path, self._with_team(ref, {}), timeout_s, deployment_id=deployment_id),
            self._production_id(call, ref, timeout_s),
        )
        if not isinstance(body, dict):
            raise ProviderError(call, "unexpected answer: not a deployment")
        project = body.get("project") if isinstance(body.get("project"), dict) else {}
        owner = body.get("projectId") or project.get("id")
        if owner != project_id:
            reason = f"deployment {deployment_id!r} belongs to another project"
            raise UnknownDeployment(call, deployment_id, reason)
        return _to_deployment(body, production_id)

    # ---- variables ---------------------------------------------------------------------------

    async def env_values(
        self,
        ref: VercelRef,
        *,
        target: str | None = "production",
        entries: list[dict[str, Any]] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> ServiceVariables:
        """The values of the project's variables for `target` (None: every target), to mask them in logs.

        The values are secrets: callers must use them only for masking, never show or store them.
        A key may have one entry per target, each with its own value: all are kept (`env_readings`).
        `entries`: the list, when already read (`env_entries`), so that it can be asked for at the
        same time as something else.
        """
        readings = await self.env_readings(ref, target=target, entries=entries, timeout_s=timeout_s)
        values = [(r.key, r.value) for r in readings if r.value is not None]
        hidden = [r.key for r in readings if r.value is None and r.type in ("sensitive", "secret", "encrypted")]
        return ServiceVariables.of(values, hidden)

    async def env_readings(
        self,
        ref: VercelRef,
        *,
        target: str | None = None,
        entries: list[dict[str, Any]] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> list[EnvReading]:
        """Each entry of `target` (None: every target) with its targets, type and value (None: unreadable).

        The values are secrets: callers may mask or fingerprint them, never show or store them.
        Vercel's list (`GET /v10/projects/{id}/env`) does not decrypt: an `encrypted` entry comes
        with `decrypted: false` and its ciphertext as `value`, whatever `decrypt=true` says
        (vercel/vercel#9072, vercel/sdk#118), so each encrypted entry is read on its own
        (`GET /v1/projects/{id}/env/{envId}`, "Retrieve the decrypted value", vercel/sdk
        `getProjectEnv`), a few at a time. A `sensitive` entry never comes with a value: only its
        name is known.
        """
        call = "vercel environment variables"
        project = await self._project_part_resolved(call, ref, timeout_s)
        if entries is None:
            entries = await self.env_entries(ref, timeout_s=timeout_s)
        wanted = [env for env in entries if target is None or target in _targets_of(env)]
        limit = asyncio.Semaphore(ENV_READS_AT_ONCE)

        async def read(env: dict[str, Any]) -> EnvReading:
            kind = str(env.get("type") or "")
            value = env.get("value")
            reading = EnvReading(env["key"], _targets_of(env), kind, None)
            if kind in ("sensitive", "secret") or (kind == "encrypted" and not isinstance(env.get("id"), str)):
                return reading
            if kind == "encrypted" and env.get("decrypted") is not True:  # `value` is ciphertext
                async with limit:
                    found = await self._decrypted(call, project, ref, str(env["id"]), timeout_s)
                return replace(reading, value=found)
            return replace(reading, value=value) if isinstance(value, str) else reading

        return list(await asyncio.gather(*(read(env) for env in wanted)))

    async def env_entries(self, ref: VercelRef, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[dict[str, Any]]:
        """The project's environment variable entries as Vercel lists them (encrypted values unread)."""
        call = "vercel environment variables"
        project = await self._project_part_resolved(call, ref, timeout_s)
        body = await self._get_json(call, f"/v10/projects/{project}/env", self._with_team(ref, {}), timeout_s)
        envs = body.get("envs") if isinstance(body, dict) and "envs" in body else [body]
        if not isinstance(envs, list):
            raise ProviderError(call, "Vercel's answer was not a list of environment variables")
        return [env for env in envs if isinstance(env, dict) and isinstance(env.get("key"), str) and env["key"]]

    async def _decrypted(self, call: str, project: str, ref: VercelRef, env_id: str, timeout_s: float) -> str | None:
        """One entry's value, decrypted; None when Vercel still gives no readable value (sensitive)."""
        path = f"/v1/projects/{project}/env/{_part('Vercel environment variable id', env_id, 'G43g2zxrf9Ldc5TW')}"
        body = await self._get_json(call, path, self._with_team(ref, {}), timeout_s)
        if not isinstance(body, dict):
            raise ProviderError(call, "Vercel's answer was not an environment variable")
        value = body.get("value")
        if body.get("type") == "sensitive" or not isinstance(value, str):
            return None
        if body.get("type") == "encrypted" and body.get("decrypted") is False:
            return None
        return value

    # ---- changing variables ------------------------------------------------------------------

    async def set_env(
        self,
        ref: VercelRef,
        name: str,
        value: str,
        *,
        targets: tuple[str, ...] = ("production",),
        kind: str = "encrypted",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Create or replace the entry of `name` for `targets` (`POST /v10/projects/{id}/env?upsert=true`,
        createProjectEnv). Takes effect at the next deployment. The value goes in the request body and
        nowhere else: not into the answer, an error or a log."""
        call = "vercel env set"
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise InvalidIdentifier("variable name", name, "letters, digits and _, not starting with a digit")
        if kind not in ("encrypted", "sensitive", "plain"):
            kind = "encrypted"
        project = await self._project_part_resolved(call, ref, timeout_s)
        body = {"key": name, "value": value, "type": kind, "target": list(targets)}
        params = self._with_team(ref, {"upsert": "true"})
        response = await self._send(call, "POST", f"/v10/projects/{project}/env", params, timeout_s, body)
        if response.status_code >= 400:
            raise _failure(call, response)
        return {"action": "env_set", "project_id": ref.project_id, "name": name, "targets": list(targets)}

    async def delete_env(
        self, ref: VercelRef, name: str, *, targets: tuple[str, ...] = ("production",),
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Remove the entries of `name` for `targets` (`DELETE /v9/projects/{id}/env/{envId}`, removeProjectEnv)."""
        call = "vercel env remove"
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise InvalidIdentifier("variable name", name, "letters, digits and _, not starting with a digit")
        project = await self._project_part_resolved(call, ref, timeout_s)
        entries = [
            e for e in await self.env_entries(ref, timeout_s=timeout_s)
            if e["key"] == name and set(_targets_of(e)) & set(targets) and isinstance(e.get("id"), str)
        ]
        if not entries:
            raise ProviderError(call, f"{name} is not set on Vercel for {', '.join(targets)}")
        for entry in entries:
            env_id = _part("Vercel environment variable id", entry["id"], "G43g2zxrf9Ldc5TW")
            response = await self._send(
                call, "DELETE", f"/v9/projects/{project}/env/{env_id}", self._with_team(ref, {}), timeout_s
            )
            if response.status_code >= 400:
                raise _failure(call, response)
        return {"action": "env_remove", "project_id": ref.project_id, "name": name, "removed": len(entries)}

    async def redeploy(
        self, ref: VercelRef, deployment_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """A new production build of `deployment_id` (`POST /v13/deployments` with `deploymentId` and
        `target: production`, what `vercel redeploy` sends): it picks up the variables as they are now."""
        call = "vercel redeploy"
        path = "/v9/projects/" + _project_part(ref)
        project = await self._get_json(call, path, self._with_team(ref, {}), timeout_s)
        name = project.get("name") if isinstance(project, dict) else None
        if not isinstance(name, str) or not name:
            raise ProviderError(call, "Vercel gave no name for the project")
        body = {"name": name, "deploymentId": _deployment_part(deployment_id), "target": "production"}
        response = await self._send(call, "POST", "/v13/deployments", self._with_team(ref, {}), timeout_s, body)
        if response.status_code >= 400:
            raise _failure(call, response, deployment_id=deployment_id)
        try:
            answer = response.json()
        except ValueError:
            raise ProviderError(call, "the answer was not JSON") from None
        new_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise ProviderError(call, "Vercel did not say which deployment it started")
        return {
            "action": "redeploy",
            "deployment_id": deployment_id,
            "new_deployment_id": new_id,
            "status": answer.get("readyState") or answer.get("status"),
        }

    # ---- actions -----------------------------------------------------------------------------

    async def rollback(
        self,
        ref: VercelRef,
        deployment_id: str,
        *,
        description: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Point production back at an earlier deployment (instant rollback; nothing is rebuilt).

        `POST /v1/projects/{projectId}/rollback/{deploymentId}` is missing from the OpenAPI file we
        hold; vercel/sdk documents it as `requestRollback` (refdata/vercel/SOURCES.md).
        """
        call = "vercel rollback"
        params: dict[str, Any] = {"description": description[:200]} if description else {}
        project = await self._project_part_resolved(call, ref, timeout_s)
        path = f"/v1/projects/{project}/rollback/{_deployment_part(deployment_id)}"
        return await self._project_action(call, path, ref, deployment_id, params, timeout_s)

    async def promote(
        self, ref: VercelRef, deployment_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Point all production domains at `deployment_id` (also undoes a rollback)."""
        call = "vercel promote"
        project = await self._project_part_resolved(call, ref, timeout_s)
        path = f"/v10/projects/{project}/promote/{_deployment_part(deployment_id)}"
        return await self._project_action(call, path, ref, deployment_id, {}, timeout_s)

    # ---- logs --------------------------------------------------------------------------------

    async def runtime_logs(
        self,
        ref: VercelRef,
        deployment_id: str,
        *,
        limit: int = 100,
        tail_s: float = DEFAULT_TAIL_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> list[LogLine]:
        """The runtime log lines `deployment_id` writes during the next `tail_s` seconds (at most `limit`).

        This endpoint is a live tail, not a history: it streams only lines logged after the request,
        for five minutes at most, and takes no time parameter (OpenAPI "Returns a stream of logs for
        a given deployment", no query but teamId/slug; `vercel logs` help up to CLI v50: "Display
        runtime logs for a deployment in ready state, from now and for 5 minutes at most"). So
        reading stops at `limit`, when the stream ends, or when `tail_s` is over; what arrived is the
        answer. `timeout_s` bounds the wait for Vercel's first answer; only no answer is an error.
        """
        call = "vercel runtime logs"
        project = await self._project_part_resolved(call, ref, timeout_s)
        path = f"/v1/projects/{project}/deployments/{_deployment_part(deployment_id)}/runtime-logs"
        wanted = max(1, int(limit))
        lines: list[LogLine] = []
        answered = False
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(timeout_s + tail_s):
                async with self._http.stream(
                    "GET",
                    self._base + path,
                    params=self._with_team(ref, {}),
                    headers=self._auth(),
                    timeout=httpx.Timeout(timeout_s, read=max(timeout_s, tail_s + 1.0)),
                ) as response:
                    answered = True
                    note_budget("Vercel", response.headers)
                    if response.status_code == 429:  # a stream is not retried: say until when
                        await response.aread()
                        raise RateLimited(call, "Vercel", decide(response.headers, self._clock(), retried=True).until)
                    if response.status_code >= 400:
                        await response.aread()
                        raise _failure(call, response, deployment_id=deployment_id)
                    rows = aiter(response.aiter_lines())
                    while len(lines) < wanted:
                        left = started + tail_s - loop.time()
                        if left <= 0:
                            break
                        try:
                            async with asyncio.timeout(left):
                                raw = await anext(rows)
                        except (StopAsyncIteration, TimeoutError):
                            break  # the stream ended, or the tail is over
                        line = _runtime_line(raw)
                        if line is not None:
                            lines.append(line)
        except (TimeoutError, httpx.TimeoutException):
            if not answered:
                raise ProviderError(call, f"no answer within {timeout_s:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            if not answered:
                raise ProviderError(call, f"could not reach Vercel ({type(err).__name__}: {err})") from None
        return lines

    async def build_events(
        self,
        deployment_id: str,
        *,
        limit: int = 100,
        ref: VercelRef | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> list[LogLine]:
        """The last `limit` lines of the build, oldest first (a failed build says why at the end).

        Pass `ref` for a team project: without its `teamId` Vercel cannot find the deployment.
        """
        call = "vercel build events"
        path = f"/v3/deployments/{_deployment_part(deployment_id)}/events"
        params: dict[str, Any] = {"limit": max(1, int(limit)), "direction": "backward", "follow": 0}
        if ref is not None:
            params = self._with_team(ref, params)
        body = await self._get_json(call, path, params, timeout_s, deployment_id=deployment_id)
        if not isinstance(body, list):
            raise ProviderError(call, "unexpected answer: not a list of events")
        lines = [line for line in (_event_line(e) for e in body if isinstance(e, dict)) if line is not None]
        lines.sort(key=lambda line: line.timestamp.timestamp() if line.timestamp else 0.0)
        return lines

    # ---- plumbing ----------------------------------------------------------------------------

    async def _list(
        self, call: str, ref: VercelRef, limit: int, target: str | None, timeout_s: float
    ) -> list[Deployment]:
        wanted = max(1, min(int(limit), MAX_DEPLOYMENTS))
        params: dict[str, Any] = {
            "projectId": _check("Vercel project id", ref.project_id, "prj_2Wjyh..."),
            "limit": wanted,
        }
        if target is not None:
            params["target"] = _check("Vercel target", target, "production or preview")
        listing, production_id = await _both(
            self._get_json(call, "/v6/deployments", self._with_team(ref, params), timeout_s),
            self._production_id(call, ref, timeout_s),
        )
        items = listing.get("deployments") if isinstance(listing, dict) else None
        if not isinstance(items, list):
            raise ProviderError(call, "unexpected answer: no `deployments` list")
        found = [_to_deployment(item, production_id) for item in items if isinstance(item, dict)]
        found.sort(key=lambda d: d.created_at.timestamp() if d.created_at else 0.0, reverse=True)
        return found[:wanted]

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _with_team(self, ref: VercelRef, params: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(params)
        if ref.team_id:
            merged["teamId"] = _check("Vercel team id", ref.team_id, "team_1a2b3c...")
        return merged

    async def _project_id(self, call: str, ref: VercelRef, timeout_s: float) -> str:
        """The project's `prj_` id: the catalog's own, or the one its name has (asked for once)."""
        given = _check("Vercel project id", ref.project_id, "prj_2Wjyh...")
        if given.startswith("prj_"):
            return given
        key = (ref.team_id, given)
        found = self._project_ids.get(key)
        if found is None:
            path = "/v9/projects/" + _project_part(ref)
            project = await self._get_json(call, path, self._with_team(ref, {}), timeout_s)
            found = project.get("id") if isinstance(project, dict) else None
            if not isinstance(found, str) or not found:
                raise ProviderError(call, f"Vercel gave no id for the project named {given!r}")
            self._project_ids[key] = found
        return found

    async def _project_part_resolved(self, call: str, ref: VercelRef, timeout_s: float) -> str:
        return _part("Vercel project id", await self._project_id(call, ref, timeout_s), "prj_2Wjyh...")

    async def _production_id(self, call: str, ref: VercelRef, timeout_s: float) -> str | None:
        path = "/v9/projects/" + _project_part(ref)
        project = await self._get_json(call, path, self._with_team(ref, {}), timeout_s)
        targets = project.get("targets") if isinstance(project, dict) else None
        production = targets.get("production") if isinstance(targets, dict) else None
        found = production.get("id") if isinstance(production, dict) else None
        return found if isinstance(found, str) else None

    async def _project_action(
        self,
        call: str,
        path: str,
        ref: VercelRef,
        deployment_id: str,
        params: dict[str, Any],
        timeout_s: float,
    ) -> dict[str, Any]:
        response = await self._send(call, "POST", path, self._with_team(ref, params), timeout_s)
        if response.status_code >= 400:
            raise _failure(call, response, deployment_id=deployment_id)
        return {
            "action": call.removeprefix("vercel "),
            "project_id": ref.project_id,
            "deployment_id": deployment_id,
            "status": response.status_code,
        }

    async def _get_json(
        self,
        call: str,
        path: str,
        params: Mapping[str, Any],
        timeout_s: float,
        *,
        deployment_id: str | None = None,
    ) -> Any:
        response = await self._send(call, "GET", path, params, timeout_s)
        if response.status_code >= 400:
            raise _failure(call, response, deployment_id=deployment_id)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            said = _excerpt(response.text) or "empty"
            raise ProviderError(call, f"the answer was not JSON ({said})") from None

    async def _send(
        self, call: str, method: str, path: str, params: Mapping[str, Any], timeout_s: float, body: Any = None
    ) -> httpx.Response:
        """One request; a 429 asking for a few seconds is retried once, a longer one is RateLimited
        (app/providers/rate_limits.py)."""
        retried = False
        while True:
            response = await self._send_once(call, method, path, params, timeout_s, body)
            note_budget("Vercel", response.headers)
            if response.status_code != 429:
                return response
            decision = decide(response.headers, self._clock(), retried=retried)
            if not decision.retry:
                raise RateLimited(call, "Vercel", decision.until)
            log.info("%s: Vercel asked to wait %.1f s; retrying once", call, decision.wait_s)
            await asyncio.sleep(decision.wait_s)
            retried = True

    async def _send_once(
        self, call: str, method: str, path: str, params: Mapping[str, Any], timeout_s: float, body: Any = None
    ) -> httpx.Response:
        try:
            async with asyncio.timeout(timeout_s):
                return await self._http.request(
                    method, self._base + path, params=dict(params), headers=self._auth(), timeout=timeout_s,
                    json=body,
                )
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderError(call, f"no answer within {timeout_s:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise ProviderError(call, f"could not reach Vercel ({type(err).__name__}: {err})") from None


@dataclass(frozen=True)
class EnvReading:
    """One environment variable entry: its key, targets, Vercel `type` and value (None: unreadable)."""

    key: str
    targets: tuple[str, ...]
    type: str
    value: str | None


def _targets_of(env: dict[str, Any]) -> tuple[str, ...]:
    """An entry's targets: Vercel sends a list, or one string (the spec allows both)."""
    target = env.get("target")
    if isinstance(target, str):
        return (target,)
    return tuple(t for t in target if isinstance(t, str)) if isinstance(target, list) else ()


# ---- reading Vercel's answers -------------------------------------------------------------------


async def _both(first: Any, second: Any) -> tuple[Any, Any]:
    """Two requests at once; if either fails, its error (the first one's when both do)."""
    results = await asyncio.gather(first, second, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results[0], results[1]


def _failure(call: str, response: httpx.Response, *, deployment_id: str | None = None) -> ProviderError:
    said = _excerpt(response.text)
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        said = _excerpt(str(error["message"]))
        if error.get("code"):
            said += f" ({error['code']})"
    reason = f"HTTP {response.status_code}: {said}" if said else f"HTTP {response.status_code}"
    if response.status_code == 404 and deployment_id is not None:
        return UnknownDeployment(call, deployment_id, reason)
    return ProviderError(call, reason)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."


def _to_deployment(item: dict[str, Any], production_id: str | None) -> Deployment:
    """A deployment from either of Vercel's shapes: the list's (`uid`, `created`) or the single one's."""
    deployment_id = str(item.get("uid") or item.get("id") or "")
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    creator = item.get("creator") if isinstance(item.get("creator"), dict) else {}
    host = next((h for h in _GIT_HOSTS if meta.get(f"{h}CommitSha")), None)
    git = (lambda key: _text(meta.get(f"{host}{key}"))) if host else (lambda key: None)
    url = _text(item.get("url"))
    if url and "://" not in url:
        url = f"https://{url}"
    state = item.get("readyState") or item.get("state") or "UNKNOWN"
    kept = {
        "target": item.get("target"),
        "branch": git("CommitRef"),
        "inspector_url": _text(item.get("inspectorUrl")),
        "ready_substate": _text(item.get("readySubstate")),
        "error_code": _text(item.get("errorCode")),
        "error_message": _text(item.get("errorMessage")),
    }
    return Deployment(
        id=deployment_id,
        status=str(state).upper(),
        created_at=parse_timestamp(item.get("createdAt") or item.get("created")),
        commit_hash=git("CommitSha"),
        commit_message=git("CommitMessage"),
        author=git("CommitAuthorName") or git("CommitAuthorLogin") or _text(creator.get("username")),
        url=url,
        can_rollback=candidate if isinstance(candidate := item.get("isRollbackCandidate"), bool) else None,
        is_current=production_id is not None and deployment_id == production_id,
        meta={k: v for k, v in kept.items() if v is not None},
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _runtime_line(raw: str) -> LogLine | None:
    if not raw.strip():
        return None
    try:
        item = json.loads(raw)
    except json.JSONDecodeError:
        return LogLine(timestamp=None, level=None, message=raw)
    if not isinstance(item, dict) or item.get("source") == "delimiter":
        return None
    attributes = {
        key: item[key]
        for key in ("source", "requestMethod", "requestPath", "responseStatusCode", "domain", "rowId")
        if item.get(key) not in (None, "")
    }
    if item.get("messageTruncated"):
        attributes["messageTruncated"] = True
    return LogLine(
        timestamp=parse_timestamp(item.get("timestampInMs")),
        level=normalise_level(item.get("level")),
        message=str(item.get("message") or ""),
        attributes=attributes,
    )


def _event_line(event: dict[str, Any]) -> LogLine | None:
    """A build event of either shape Vercel sends (with a `payload`, or flat)."""
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else event
    text = payload.get("text")
    if not isinstance(text, str):
        return None
    kind = str(event.get("type") or "")
    level = normalise_level(event.get("level") or payload.get("level"))
    if level is None:
        level = "error" if kind in ("stderr", "fatal") else "info"
    attributes: dict[str, Any] = {"type": kind} if kind else {}
    info = payload.get("info") if isinstance(payload.get("info"), dict) else {}
    if info.get("step"):
        attributes["step"] = info["step"]
    return LogLine(
        timestamp=parse_timestamp(payload.get("date") or event.get("created")),
        level=level,
        message=text,
        attributes=attributes,
    )
