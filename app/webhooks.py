"""`POST /webhooks/{source}`: monitoring tools' alerts, answered with a status they understand.

404 for a source pitcrew has no parser for, 401 when the sender is not proven (a token source's
token before its body is read), 413 for a body over 1 MiB (counted while reading, as
Content-Length may be absent or lie), 408 for a body that takes over 10 s, 400 with the reason for
a body that cannot be read (kept for inspection), 202 once stored. Never a 500: a database that
cannot be reached is a 503 (the tool retries), anything else unexpected too, with the body kept
when the database allows. The Slack work an alert causes is scheduled as jobs; when some is due at
once (a new incident's root message), this instance's job runner is woken, and runs it as soon as
no request is waiting for an answer.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.core.alerts import WebhookBodyError
from app.core.webhooks import UnknownWebhookSource
from app.deps import Deps
from app.flows.alerts import (
    MAX_BODY_BYTES,
    AlertWriter,
    WebhookCredentials,
    WebhookDuplicate,
    WebhookNotProcessed,
    WebhookTooLarge,
    WebhookUnauthorized,
    authenticate,
    authenticated_by_body,
    known_source,
    receive_webhook,
)
from app.web_limits import BodyRefused, read_body

log = logging.getLogger("pitcrew.webhooks")

DUPLICATE = {"stored": False, "duplicate": True, "ignored": True}
UNAUTHORIZED = "not authorized: the request carries no valid secret or signature for this source"


def credentials_of(request: Request) -> WebhookCredentials:
    return WebhookCredentials(
        authorization=request.headers.get("authorization"),
        token=request.query_params.get("token"),
        sentry_signature=request.headers.get("sentry-hook-signature"),
        vercel_signature=request.headers.get("x-vercel-signature"),
    )


def webhook_route(deps: Deps) -> Route:
    writer = AlertWriter(deps)  # this instance's group commit: bodies arriving together share a transaction

    async def receive(request: Request) -> Response:
        source = request.path_params["source"]
        try:
            name = known_source(source)
        except UnknownWebhookSource as err:
            return _error(404, err.reason)
        credentials = credentials_of(request)
        if not authenticated_by_body(deps, name):
            try:  # a token source: its sender is proven (or refused) before its body is read
                authenticate(deps, name, b"", credentials)
            except WebhookUnauthorized as err:
                log.warning("webhook %s refused (401) before its body: %s", name, err.reason)
                return BodyRefused(401, UNAUTHORIZED).response()
        try:
            body = await read_body(request, limit=MAX_BODY_BYTES)
        except BodyRefused as refused:
            if refused.status == 413:
                return BodyRefused(413, str(WebhookTooLarge())).response()
            return refused.response()
        try:
            receipt = await receive_webhook(
                deps, name, body, request.headers.get("content-type"), credentials, writer=writer
            )
        except WebhookUnauthorized as err:
            # The reason names pitcrew's configuration (which secret is unset, which header is
            # checked): it is for whoever reads the log, not for whoever sent the request.
            log.warning("webhook %s refused (401): %s", name, err.reason)
            return _error(401, UNAUTHORIZED)
        except WebhookTooLarge as err:
            return _error(413, str(err))
        except WebhookDuplicate:
            # 2xx: a sender that sees an error may retry or, as Sentry does after enough of them,
            # disable the webhook; the repeat is audited and not acted on.
            return JSONResponse(DUPLICATE, status_code=200)
        except WebhookBodyError as err:
            return JSONResponse({"error": err.reason, "stored": True}, status_code=400)
        except WebhookNotProcessed as err:
            log.warning("webhook %s stored but not processed: %s", name, err)
            return JSONResponse({"stored": True, "processed": False, "error": "kept for inspection"}, status_code=202)
        except Exception:  # the database is away: the sender should retry; never a 500
            log.exception("webhook %s could not be stored", name)
            return _error(503, "could not store the alert; please retry")
        if receipt.has_due_work:  # a new incident's root message: now rather than at the next poll
            deps.job_signal.notify()
        return JSONResponse(receipt.as_json(), status_code=202)

    return Route("/webhooks/{source}", receive, methods=["POST"])



def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)
