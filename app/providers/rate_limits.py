"""What to do when a provider says "too many requests": wait a moment and try once more, or stop.

Railway and Vercel both answer HTTP 429 with `Retry-After` (and `X-RateLimit-*` on every answer).
Railway's budget is per hour (100 requests on Free, 1,000 on Hobby: docs.railway.com
integrations/api "Rate limits"), so a 429 there often means "come back in a quarter of an hour":
retrying in a loop would only spend the next window too. A short wait is worth one retry; a long one
is said to the person (`Railway's rate limit: retry after 14:05 UTC`) and jobs reschedule themselves
to that moment instead of asking again.

The decision is pure (`decide`), so that it is tested without a clock or a server; the clients apply it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from app.providers.base import ProviderError

# A wait this short is worth one retry inside the same request to pitcrew; longer, the person is told.
RETRY_WITHIN_S = 5.0
# When a provider gives no Retry-After with its 429, assume a minute rather than retrying blindly.
UNKNOWN_WAIT_S = 60.0
# Log the remaining budget once it falls to this fraction of the window's limit (or below 10 requests).
LOW_BUDGET_FRACTION = 0.1
LOW_BUDGET_REQUESTS = 10

log = logging.getLogger("pitcrew.providers")


class RateLimited(ProviderError):
    """The provider refuses requests until `until` (UTC); `provider` is its name as people say it."""

    def __init__(self, call: str, provider: str, until: datetime) -> None:
        self.provider = provider
        self.until = until.astimezone(UTC)
        super().__init__(call, f"{provider}'s rate limit: retry after {self.until:%H:%M} UTC")


@dataclass(frozen=True)
class Decision:
    """Retry after `wait_s` seconds (`retry`), or give up with RateLimited until `until`."""

    retry: bool
    wait_s: float
    until: datetime


def wait_seconds(headers: Mapping[str, str], now: datetime) -> float:
    """Seconds the provider asks us to wait: `Retry-After` as seconds or as an HTTP date.

    Falls back to `X-RateLimit-Reset` (epoch seconds) and then to a minute.
    """
    value = (headers.get("retry-after") or "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = (headers.get("x-ratelimit-reset") or "").strip()
    try:
        moment = datetime.fromtimestamp(float(reset), UTC)
        return max(0.0, (moment - now).total_seconds())
    except (ValueError, OverflowError, OSError):
        return UNKNOWN_WAIT_S


def decide(
    headers: Mapping[str, str], now: datetime, *, retried: bool, retry_within_s: float = RETRY_WITHIN_S
) -> Decision:
    """After a 429: retry once (never twice) when the wait is short, otherwise say until when."""
    wait = wait_seconds(headers, now)
    until = now + timedelta(seconds=wait)
    return Decision(retry=not retried and wait <= retry_within_s, wait_s=wait, until=until)


def note_budget(provider: str, headers: Mapping[str, str]) -> None:
    """Log the remaining budget when it runs low, so that an operator sees a 429 coming."""
    try:
        remaining = int(headers.get("x-ratelimit-remaining", ""))
    except ValueError:
        return
    try:
        limit: int | None = int(headers.get("x-ratelimit-limit", ""))
    except ValueError:
        limit = None
    low = remaining <= LOW_BUDGET_REQUESTS or (limit is not None and remaining <= limit * LOW_BUDGET_FRACTION)
    if low:
        log.warning(
            "%s API budget low: %d of %s requests left in this window (resets at %s)",
            provider,
            remaining,
            limit if limit is not None else "?",
            headers.get("x-ratelimit-reset", "?"),
        )
