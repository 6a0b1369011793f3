"""The outgoing webhook page's one HTTP call: POST the signed body, and say whether to try again.

A 2xx is delivered; a 5xx, 429, a timeout or a refused connection is worth another try later (the
receiver may be restarting); any other 4xx will not get better by repeating it.
"""

from __future__ import annotations

import httpx

from app.core.page_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from app.providers.base import ProviderError

TIMEOUT_S = 10.0
CALL = "page webhook POST"  # never the URL: it may hold a token of the receiver's


class PageNotDelivered(ProviderError):
    """Try again later (5xx, 429, timeout, connection refused)."""


class PageRefused(ProviderError):
    """The receiver refused the page (a 4xx other than 429): repeating it will not help."""


async def post_page(client: httpx.AsyncClient, url: str, body: bytes, *, signature: str, timestamp: int) -> int:
    """POST the page; its status when delivered. The URL is not in any error (it may hold a token)."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: str(timestamp),
               "User-Agent": "pitcrew-pager"}
    try:
        response = await client.post(url, content=body, headers=headers, timeout=TIMEOUT_S, follow_redirects=False)
    except httpx.TimeoutException as err:
        raise PageNotDelivered(CALL, f"no answer within {TIMEOUT_S:g} s") from err
    except httpx.TransportError as err:
        raise PageNotDelivered(CALL, f"not reached ({type(err).__name__})") from err
    if response.status_code >= 500 or response.status_code == 429:
        raise PageNotDelivered(CALL, f"answered {response.status_code}")
    if response.status_code >= 300:
        raise PageRefused(CALL, f"refused the page ({response.status_code}); not retried")
    return response.status_code
