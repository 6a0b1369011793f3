"""What becomes of a stored Slack request that cannot be run as it was asked (app/slack/deferral.py
stores them and replays them from a job).

- A click on a button that reaches its run more than a minute after Slack delivered it is refused,
  not acted on late: the message it was pressed on may have changed since, and "Roll back" pressed
  at 14:02 must not roll back at 14:09. The person is told privately and may press again. Slash
  commands and mentions still run late: their answer is still worth having.
- A run that fails for a reason that may pass (Slack's API away: its `auth.test` or a later call
  answered 5xx or not at all, a network error) is raised to the job runner, which tries again with
  backoff and keeps the error on the job: when no listener ran at all (Bolt's authorization failed
  before it), or when the listener is marked `@rerunnable` (it only reads and answers: /health,
  /logs). A listener that may have changed something before failing (declared an incident, made a
  proposal) is not run twice: a second incident or a second "Roll back" button is worse than one
  clear message. After the last try, or at once when it is not tried again, the person is told
  privately (through the request's `response_url` while Slack still accepts it, else an ephemeral
  message) and the audit trail records it.

Bolt's `async_dispatch` answers a request whatever happens inside (a listener's exception is logged
and swallowed; a failed `auth.test` becomes a 200 with an apology, a failed middleware a 500), so
the replay learns what happened from a `ReplayOutcome` the listener runner fills in
(app/slack/ack_runner.py), not from the response.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import httpx
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from app.core.secrets import mask_values
from app.deps import Deps
from app.jobs.runner import GiveUp
from app.slack.render.replays import click_too_late, could_not_run

log = logging.getLogger("pitcrew.slack")

REPLAY_OUTCOME = "pitcrew_replay_outcome"  # context key of the ReplayOutcome of a replayed request
_RERUNNABLE = "__pitcrew_rerunnable__"
CLICK_TTL = timedelta(seconds=60)
RESPONSE_URL_TTL = timedelta(minutes=30)  # Slack accepts a response_url's answers for 30 minutes
# Slack's own words for "try again later" (https://api.slack.com/methods/api.test lists internal_error
# and fatal_error as transient; ratelimited and request_timeout say the same).
_TRANSIENT_SLACK_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}


class NotRun(Exception):
    """No listener ran the replayed request: Bolt answered it before (authorization with Slack failed,
    or no listener matches it any more)."""

    def __init__(self, status: int) -> None:
        self.status = status
        if status == 404:
            super().__init__("no listener handles this request any more")
        else:
            super().__init__(f"not run: Slack's auth.test failed or did not answer (Bolt answered HTTP {status})")


Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


def rerunnable(listener: Listener) -> Listener:
    """Mark a listener that may run again from the start after failing half-way: it changes nothing,
    only reads and answers (so a second run at worst answers twice)."""
    setattr(listener, _RERUNNABLE, True)
    return listener


def is_rerunnable(listener: Callable[..., Any]) -> bool:
    return bool(getattr(listener, _RERUNNABLE, False))


@dataclass
class ReplayOutcome:
    """Filled in by the listener runner while a replayed request is dispatched."""

    ran: bool = False
    rerunnable: bool = False  # the listener that ran is marked @rerunnable
    error: Exception | None = None

    def may_retry(self, error: Exception) -> bool:
        """Whether running the request again is both useful (the error may pass) and harmless."""
        return transient(error) and (isinstance(error, NotRun) or self.rerunnable)

    def failure(self, response: BoltResponse | None) -> Exception | None:
        """Why the request was not run to its end, or None when it was."""
        if self.error is not None:
            return self.error
        if self.ran:
            return None
        return NotRun(response.status if response is not None else 500)


def transient(error: BaseException) -> bool:
    """Whether trying again later may succeed: Slack or the network away, not a bug or a refusal."""
    if isinstance(error, NotRun):
        return error.status != 404
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = error.response.get("error") if hasattr(error.response, "get") else None
        return status >= 500 or status == 429 or code in _TRANSIENT_SLACK_ERRORS
    return isinstance(error, aiohttp.ClientError | httpx.TransportError | ConnectionError | TimeoutError)


@dataclass(frozen=True)
class StoredRequest:
    """Who sent a stored request, what they asked, and where they can be answered privately."""

    kind: str  # "command" | "click" | "mention"
    user: str
    channel: str | None
    action: str  # as the listener audits it: "command /health", "click actions.confirm", "mention health"
    label: str  # as the person would recognise it: "/health api", "Confirm" (a button), "@pitcrew health api"
    response_url: str | None
    thread_ts: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> StoredRequest:
        if body.get("type") == "block_actions":
            action = (body.get("actions") or [{}])[0]
            label = ((action.get("text") or {}).get("text") or action.get("action_id") or "a button")
            container = body.get("container") or {}
            return cls(
                kind="click",
                user=(body.get("user") or {}).get("id", "unknown"),
                channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
                action=f"click {action.get('action_id', '?')}",
                label=str(label),
                response_url=body.get("response_url"),
                thread_ts=container.get("thread_ts") or (body.get("message") or {}).get("thread_ts"),
            )
        if body.get("type") == "event_callback":
            event = body.get("event") or {}
            words = str(event.get("text", "")).split()
            verb = words[1].lower() if len(words) > 1 else "help"
            return cls(
                kind="mention",
                user=event.get("user", "unknown"),
                channel=event.get("channel"),
                action=f"mention {verb}",
                label=f"@pitcrew {' '.join(words[1:])}",
                response_url=None,
                thread_ts=event.get("thread_ts") or event.get("ts"),
            )
        text = f"{body.get('command', '?')} {body.get('text', '')}".strip()
        return cls(
            kind="command",
            user=body.get("user_id", "unknown"),
            channel=body.get("channel_id"),
            action=f"command {body.get('command', '?')}",
            label=text,
            response_url=body.get("response_url"),
            thread_ts=None,
        )


async def refused_as_late(deps: Deps, client: AsyncWebClient, body: dict[str, Any], received_at: datetime) -> bool:
    """Refuse a click on a button that reaches its run more than CLICK_TTL after Slack delivered it:
    tell the clicker privately, audit it, and say True (the job is then done)."""
    if body.get("type") != "block_actions":
        return False
    late = deps.clock() - received_at
    if late <= CLICK_TTL:
        return False
    request = StoredRequest.of(body)
    log.warning("%s by %s arrived %s ago: refused as late", request.action, request.user, late)
    await _tell(deps, client, request, received_at, click_too_late(received_at))
    await deps.audit(
        actor=request.user,
        action=request.action,
        target=request.channel,
        params={"received_at": received_at.isoformat(), "late_s": round(late.total_seconds())},
        outcome=f"refused: arrived at {received_at:%H:%M:%S} UTC, {round(late.total_seconds())} s before it could run",
    )
    return True


async def settle(
    deps: Deps, client: AsyncWebClient, body: dict[str, Any], received_at: datetime, outcome: ReplayOutcome,
    response: BoltResponse | None, *, attempt: int, final: bool,
) -> None:
    """Return when the request ran; raise for the job runner to try again (see the module's docstring);
    tell the person, audit it and raise GiveUp when it will not run."""
    error = outcome.failure(response)
    if error is None:
        return
    retry = outcome.may_retry(error)
    if retry and not final:
        raise error
    reason = mask_values(_describe(error), deps.secret_values())
    request = StoredRequest.of(body)
    tries = f"{attempt} tries" if attempt > 1 else "1 try"
    log.error("%s by %s given up after %s: %s", request.action, request.user, tries, reason)
    partly = outcome.ran and not outcome.rerunnable
    told = could_not_run(request.kind, request.label, reason, transient=transient(error), partly=partly)
    await _tell(deps, client, request, received_at, told)
    await deps.audit(
        actor=request.user,
        action=request.action,
        target=request.channel,
        params={"text": request.label, "received_at": received_at.isoformat(), "tries": attempt},
        outcome=f"failed: {reason}"[:500],
    )
    raise GiveUp(f"{reason} (after {tries})")


def _describe(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", "?")
        return f"Slack answered HTTP {status} {error.response.get('error', '')}".strip()
    return f"{type(error).__name__}: {error}" if not isinstance(error, NotRun) else str(error)


async def _tell(
    deps: Deps, client: AsyncWebClient, request: StoredRequest, received_at: datetime, text: str
) -> None:
    """Say `text` to the person privately: through the response_url while Slack still takes it, else an
    ephemeral message. Best effort: Slack may well be the thing that is away."""
    try:
        async with asyncio.timeout(15):
            if request.response_url and deps.clock() - received_at < RESPONSE_URL_TTL:
                answer = await AsyncWebhookClient(request.response_url).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                if answer.status_code < 300:
                    return
            if request.channel:
                await client.chat_postEphemeral(
                    channel=request.channel, user=request.user, text=text,
                    **({"thread_ts": request.thread_ts} if request.thread_ts else {}),
                )
    except Exception as err:
        log.warning("could not tell %s that %s was not run: %s", request.user, request.action, err)
