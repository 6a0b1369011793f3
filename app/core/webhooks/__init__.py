"""Turning a monitoring tool's webhook body into normalised Alerts, one module per source.

`parse` is the only entry point the web edge needs. It raises nothing but WebhookBodyError
(for any input at all), which the edge answers with 400 and the reason. An empty list is a
readable body that is not an alert (a deployment that is still building, an issue being
assigned): the edge answers 2xx and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from app.core.alerts import Alert, WebhookBodyError
from app.core.webhooks import alertmanager, betterstack, generic, railway, sentry, uptimerobot, vercel

Parser = Callable[[bytes, str | None], list[Alert]]

PARSERS: dict[str, Parser] = {
    "alertmanager": alertmanager.parse,
    "uptimerobot": uptimerobot.parse,
    "betterstack": betterstack.parse,
    "sentry": sentry.parse,
    "railway": railway.parse,
    "vercel": vercel.parse,
    "generic": generic.parse,
}
SOURCES = tuple(PARSERS)


class UnknownWebhookSource(WebhookBodyError):
    """A `/webhooks/{source}` that pitcrew has no parser for; the edge may prefer 404 for it."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(f"unknown webhook source {source[:50]!r}; known sources: {', '.join(SOURCES)}")


def parse(source: str, body: bytes, content_type: str | None) -> list[Alert]:
    """The alerts in `body` as sent by `source`; raises WebhookBodyError saying what is wrong."""
    parser = PARSERS.get(source.strip().lower())
    if parser is None:
        raise UnknownWebhookSource(source)
    return parser(body, content_type)


__all__ = ["SOURCES", "UnknownWebhookSource", "WebhookBodyError", "parse"]
