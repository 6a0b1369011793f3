"""Slack requests whose work is handed over to the job runners instead of running while Slack waits.

A listener marked `@deferred` is not run when its request arrives: the request is stored as a job
(one group-committed insert), Slack gets its empty 200, and a job runner dispatches the stored
request through the same Bolt app again, where the listener runs from start to end (its `ack()`
then answers no one). So under a burst an ack costs what a bare Bolt app's costs, and the work
waits in the database for a quiet moment, on this instance or another; a restart loses none of it.

Not for a listener whose ack carries an answer (a form's validation errors) or whose work must
start within Slack's 3 s (opening a form with the request's `trigger_id`): `unless` names the
requests of a listener that must run at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from app.deps import Deps
from app.flows.known_secrets import known_masker
from app.jobs.runner import Handler, last_try
from app.slack import replays
from app.slack.context import deps_of
from app.slack.stored_requests import refuse_unless_sealed, sealed_payload
from app.store import jobs as job_store
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.slack")

SLACK_REQUEST_JOB = "slack.request"
REPLAYED = "pitcrew_replayed"  # context key of a request dispatched from its job
_MARK = "__pitcrew_deferred_unless__"

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


def _never(body: dict[str, Any]) -> bool:
    return False


def deferred(unless: Callable[[dict[str, Any]], bool] = _never) -> Callable[[Listener], Listener]:
    """Mark a listener whose work may wait for a job runner; `unless(body)` true runs it at once."""

    def mark(listener: Listener) -> Listener:
        setattr(listener, _MARK, unless)
        return listener

    return mark


def deferral_of(listener: Callable[..., Any]) -> Callable[[dict[str, Any]], bool] | None:
    """The `unless` of a listener marked @deferred; None for one that always runs at once."""
    unless: Callable[[dict[str, Any]], bool] | None = getattr(listener, _MARK, None)
    return unless


def should_defer(listener: AsyncListener, request: AsyncBoltRequest) -> bool:
    if request.context.get(REPLAYED):
        return False
    unless = deferral_of(listener.ack_function)
    return unless is not None and not unless(request.body)


async def store_request(deps: Deps, body: dict[str, Any]) -> bool:
    """Store a verified request's body as a job; False when it could not be stored (the caller then
    runs the listener at once, as without deferral, rather than lose the request).

    An event Slack delivers again (it heard no 200 in time: X-Slack-Retry-Num) carries the same
    event_id; stored under that key, the repeat is dropped and the mention acted on once. Slack's
    deprecated verification `token` is not stored: the request was verified by its signature, and
    the replay needs nothing of it.
    """
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    kept = {key: value for key, value in body.items() if key != "token"}
    payload = sealed_payload(deps, SLACK_REQUEST_JOB, kept)  # body and MAC, checked before the replay
    if payload is None:
        return False
    try:
        await deps.run_soon(
            SLACK_REQUEST_JOB, payload, dedupe_key=f"slack.event:{event_id}"[:200] if event_id else None
        )
    except Exception as err:
        log.warning("could not hand the request over to the job runners (%s); running it now", err)
        return False
    return True


async def defer(request: AsyncBoltRequest) -> BoltResponse | None:
    """Store the request as a job and return the ack; None when it could not be stored."""
    if not await store_request(deps_of(request.context), request.body):
        return None
    return BoltResponse(status=200, body="")


async def keep_masked(deps: Deps, job: ClaimedJob) -> None:
    """Once a request has run, what stays of it (a week if done, `retention_days` if it failed) holds
    no secret someone typed or pasted: masked as alerts are. Not before: the request must run as sent,
    and a retry must see it whole. Most requests hold none, and cost no write."""
    masked = known_masker(deps).mask_mapping(job.payload)
    if masked != job.payload:
        try:
            await job_store.replace_payload(deps.sessions, job.id, masked)
        except Exception as err:  # the request was answered; a failed clean-up is said, not raised
            log.warning("could not mask the stored request of job %s (%s)", job.id, type(err).__name__)


def slack_job_handlers(app: AsyncApp) -> dict[str, Handler]:
    """The job that runs a stored request through `app`. It was verified when it arrived: a
    body given as a dict is what Bolt takes from Socket Mode, and it skips the signature check;
    the MAC made when it was stored stands in for it (app/slack/stored_requests.py). A click come
    too late is refused; a run that fails is retried or given up (app/slack/replays.py)."""

    async def replay(deps: Deps, job: ClaimedJob) -> None:
        await refuse_unless_sealed(deps, job)
        body = job.payload["body"]
        if await replays.refused_as_late(deps, app.client, body, job.created_at):
            return
        outcome = replays.ReplayOutcome()
        request = AsyncBoltRequest(
            body=body, mode="socket_mode", context={REPLAYED: True, replays.REPLAY_OUTCOME: outcome}
        )
        response = await app.async_dispatch(request)
        # Bolt answers whatever happened inside: what went wrong is in `outcome` (app/slack/replays.py).
        await replays.settle(
            deps, app.client, body, job.created_at, outcome, response, attempt=job.attempts, final=last_try(job)
        )
        await keep_masked(deps, job)

    return {SLACK_REQUEST_JOB: replay}
