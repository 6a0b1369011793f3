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
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from app.catalog import VercelRef
from app.core.observations import Deployment, DeploymentObservation
from app.providers.base import InvalidIdentifier, ProviderError, UnknownDeployment
from app.providers.logs_model import LogLine, normalise_level, parse_timestamp
from app.providers.rate_limits import RateLimited, decide, note_budget

__all__ = ["InvalidIdentifier", "UnknownDeployment", "VercelClient"]

log = logging.getLogger("pitcrew.providers.vercel")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_QUIET_S = 1.5
MAX_DEPLOYMENTS = 100
_REASON_CHARS = 300

# Deployment ids (dpl_...), project ids (prj_...) or names, team ids (team_...), deployment hostnames.
_VERCEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_GIT_HOSTS = ("github", "gitlab", "bitbucket")


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
        body, production_id = await _both(
            self._get_json(call, path, self._with_team(ref, {}), timeout_s, deployment_id=deployment_id),
            self._production_id(call, ref, timeout_s),
        )
        if not isinstance(body, dict):
            raise ProviderError(call, "unexpected answer: not a deployment")
        project = body.get("project") if isinstance(body.get("project"), dict) else {}
        owner = body.get("projectId") or project.get("id")
        if owner != ref.project_id:
            reason = f"deployment {deployment_id!r} belongs to another project"
            raise UnknownDeployment(call, deployment_id, reason)
        return _to_deployment(body, production_id)

    # ---- variables ---------------------------------------------------------------------------

    async def env_values(self, ref: VercelRef, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, str]:
        """The project's environment variables, decrypted, so their values can be masked in logs.

        The values are secrets: callers must use them only for masking, never show or store them.
        Vercel never returns the value of a "sensitive" variable; such a one comes with an empty
        value, and only its name can be used (a `NAME=...` pair in a line).
        """
        call = "vercel environment variables"
        path = "/v10/projects/" + _project_part(ref) + "/env"
        body = await self._get_json(call, path, self._with_team(ref, {"decrypt": "true"}), timeout_s)
        envs = body.get("envs") if isinstance(body, dict) and "envs" in body else [body]
        if not isinstance(envs, list):
            raise ProviderError(call, "Vercel's answer was not a list of environment variables")
        found: dict[str, str] = {}
        for env in envs:
            if isinstance(env, dict) and isinstance(env.get("key"), str):
                value = env.get("value")
                found[env["key"]] = value if isinstance(value, str) else ""
        return found

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
        path = f"/v1/projects/{_project_part(ref)}/rollback/{_deployment_part(deployment_id)}"
        return await self._project_action(call, path, ref, deployment_id, params, timeout_s)

    async def promote(
        self, ref: VercelRef, deployment_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Point all production domains at `deployment_id` (also undoes a rollback)."""
        call = "vercel promote"
        path = f"/v10/projects/{_project_part(ref)}/promote/{_deployment_part(deployment_id)}"
        return await self._project_action(call, path, ref, deployment_id, {}, timeout_s)

    # ---- logs --------------------------------------------------------------------------------

    async def runtime_logs(
        self,
        ref: VercelRef,
        deployment_id: str,
        *,
        limit: int = 100,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        quiet_s: float = DEFAULT_QUIET_S,
    ) -> list[LogLine]:
        """Up to `limit` runtime log lines, read from Vercel's live stream of JSON lines.

        The stream stays open for new lines, so reading stops at `limit`, after `quiet_s` without a
        new line, or at the `timeout_s` deadline, whichever comes first; what arrived is the answer.
        Only a stream that never answered is an error.
        """
        call = "vercel runtime logs"
        path = f"/v1/projects/{_project_part(ref)}/deployments/{_deployment_part(deployment_id)}/runtime-logs"
        wanted = max(1, int(limit))
        lines: list[LogLine] = []
        answered = False
        try:
            async with asyncio.timeout(timeout_s):
                async with self._http.stream(
                    "GET",
                    self._base + path,
                    params=self._with_team(ref, {}),
                    headers=self._auth(),
                    timeout=timeout_s,
                ) as response:
                    answered = True
                    if response.status_code >= 400:
                        await response.aread()
                        raise _failure(call, response, deployment_id=deployment_id)
                    rows = aiter(response.aiter_lines())
                    while len(lines) < wanted:
                        try:
                            async with asyncio.timeout(quiet_s):
                                raw = await anext(rows)
                        except (StopAsyncIteration, TimeoutError):
                            break  # the stream ended, or went quiet
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
        self, call: str, method: str, path: str, params: Mapping[str, Any], timeout_s: float
    ) -> httpx.Response:
        """One request; a 429 asking for a few seconds is retried once, a longer one is RateLimited
        (app/providers/rate_limits.py)."""
        retried = False
        while True:
            response = await self._send_once(call, method, path, params, timeout_s)
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
        self, call: str, method: str, path: str, params: Mapping[str, Any], timeout_s: float
    ) -> httpx.Response:
        try:
            async with asyncio.timeout(timeout_s):
                return await self._http.request(
                    method, self._base + path, params=dict(params), headers=self._auth(), timeout=timeout_s
                )
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderError(call, f"no answer within {timeout_s:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise ProviderError(call, f"could not reach Vercel ({type(err).__name__}: {err})") from None


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
