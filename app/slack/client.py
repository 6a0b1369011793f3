"""The Slack Web API client pitcrew posts with."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from app.settings import Settings


def web_client(settings: Settings) -> AsyncWebClient:
    """Honours SLACK_API_URL (tests, the console and the demo point it at the fake) and retries 429s.

    Slack answers bursts with HTTP 429 and a Retry-After header; the SDK's handler waits that long
    and retries, so a busy incident never loses a message to rate limiting.
    """
    token = settings.SLACK_BOT_TOKEN.get_secret_value() if settings.SLACK_BOT_TOKEN else None
    base_url = settings.SLACK_API_URL if settings.SLACK_API_URL.endswith("/") else settings.SLACK_API_URL + "/"
    client = AsyncWebClient(token=token, base_url=base_url, timeout=15)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=5))
    return client
