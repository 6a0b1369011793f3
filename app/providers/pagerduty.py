"""The PagerDuty Events API v2 client: one POST of one event to `/v2/enqueue`.

PagerDuty answers 202 when it took the event, 400 for an invalid one, 429 when the routing key
sends too fast and 5xx when it is away; its docs ask senders to retry 429 and 5xx with a backoff
(https://developer.pagerduty.com/docs/events-API-v2/02-Trigger-Events.md, "Response codes &
retry logic"). The routing key travels in the body; it is never logged or put in an error.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.providers.base import ProviderError

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDutyBusy(ProviderError):
    """429, 5xx or no answer: worth sending again later."""


async def send_event(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
    """POST one event; PagerDutyBusy to retry, ProviderError when PagerDuty refused it for good."""
    call = f"pagerduty {body.get('event_action', 'event')}"
    try:
        response = await http.post(url, json=body, timeout=10.0)
    except httpx.HTTPError as err:
        raise PagerDutyBusy(call, f"no answer ({type(err).__name__})") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise PagerDutyBusy(call, f"HTTP {response.status_code}")
    if response.status_code >= 400:
        try:
            errors = response.json().get("errors") or response.json().get("message")
        except ValueError:
            errors = None
        raise ProviderError(call, f"HTTP {response.status_code}: {str(errors)[:300]}")
