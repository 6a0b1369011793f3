"""`POST /webhooks/pagerduty`: PagerDuty's v3 webhooks, acknowledging or resolving what pitcrew paged.

Served before `/webhooks/{source}` (PagerDuty sends no alerts to open incidents: it answers
pitcrew's own pages). 401 for a missing or wrong `X-PagerDuty-Signature` (audited), 413/408/400
for a body the limits of app/web_limits.py refuse, 202 once the change is scheduled, 200 for an
event pitcrew has nothing to do with (PagerDuty disables subscriptions that keep failing).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.deps import Deps
from app.flows.alerts import MAX_BODY_BYTES
from app.flows.pagerduty import PagerDutyUnauthorized, receive_webhook
from app.web_limits import BodyRefused, read_body

log = logging.getLogger("pitcrew.webhooks")


def pagerduty_route(deps: Deps) -> Route:
    async def receive(request: Request) -> Response:
        try:
            body = await read_body(request, limit=MAX_BODY_BYTES)
        except BodyRefused as refused:
            return refused.response()
        try:
            scheduled = await receive_webhook(deps, body, request.headers.get("x-pagerduty-signature"))
        except PagerDutyUnauthorized:
            log.warning("webhook pagerduty refused (401): bad or missing X-PagerDuty-Signature")
            return JSONResponse({"error": "not authorized: bad or missing X-PagerDuty-Signature"}, status_code=401)
        except Exception:  # the database is away: PagerDuty retries; never a 500
            log.exception("webhook pagerduty could not be handled")
            return JSONResponse({"error": "could not handle the webhook; please retry"}, status_code=503)
        return JSONResponse({"scheduled": scheduled}, status_code=202 if scheduled else 200)

    return Route("/webhooks/pagerduty", receive, methods=["POST"])
