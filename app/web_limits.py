"""What the web edge refuses before it reads, and how long and how much it reads.

Anyone on the internet can open a connection to pitcrew, so nothing unauthenticated may cost it
memory or hold up its work:
- a Slack request without a signature, or with a timestamp that is not digits or is more than
  5 minutes away, is refused from its headers (401), its body never read;
- a body is read up to 1 MiB (413 beyond, as soon as Content-Length says so or the count passes
  it, whatever Content-Length claimed) and within `BODY_DEADLINE_S` (408 after: a client that
  trickles its body does not keep a request open);
- uvicorn closes idle kept-alive connections after `KEEP_ALIVE_S`, closes a connection whose
  request headers have not arrived within `HEADERS_DEADLINE_S`, and answers 503 beyond
  `LIMIT_CONCURRENCY` connections (high, so that held connections do not turn Slack away);
- a refusal sent before the body has all arrived reaches the client (see `GuardedH11`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import h11
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import Message
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("pitcrew.web")

MAX_BODY_BYTES = 1024 * 1024
BODY_DEADLINE_S = 10.0
HEADERS_DEADLINE_S = 10.0
KEEP_ALIVE_S = 5
LINGER_S = 2.0
LINGER_BYTES = 64 * 1024 * 1024
LIMIT_CONCURRENCY = 1000
SLACK_MAX_SKEW_S = 5 * 60


class BodyRefused(Exception):
    """A request refused before its body was read to its end: from its headers, too large, too
    slow, or cut off by its client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> JSONResponse:
        # The rest of the body is not read: the connection cannot carry another request.
        return JSONResponse({"error": self.reason}, status_code=self.status, headers={"connection": "close"})


def too_large(limit: int = MAX_BODY_BYTES) -> BodyRefused:
    return BodyRefused(413, f"the body is larger than {limit // 1024} KiB, the most pitcrew reads")


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES, deadline_s: float | None = None) -> bytes:
    """The body, refused as soon as it passes `limit` bytes or takes longer than `deadline_s`
    (`BODY_DEADLINE_S` unless given)."""
    deadline_s = BODY_DEADLINE_S if deadline_s is None else deadline_s
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise BodyRefused(408, f"the body did not arrive within {deadline_s:g} s") from None
    except ClientDisconnect:
        # One line, not a traceback per hang-up (a scanner or a flaky proxy would fill the log).
        client = request.client.host if request.client else "unknown"
        log.info("client %s disconnected before %s %s was read", client, request.method, request.url.path)
        raise BodyRefused(400, "the request ended before its body did") from None
    return b"".join(chunks)


def with_body(request: Request, body: bytes) -> Request:
    """The same request, its body already read: what Bolt's adapter reads again comes from memory."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()  # after the body: the disconnect, when it comes

    return Request(request.scope, replay)


def slack_refusal(headers: Mapping[str, str], now: float | None = None) -> str | None:
    """Why a request to /slack/events cannot be Slack's, from its headers alone; None when it may be.

    The signature itself covers the body, so it is checked after the (bounded) read; what is
    refused here never costs more than its headers."""
    if not headers.get("x-slack-signature"):
        return "the X-Slack-Signature header is missing"
    timestamp = headers.get("x-slack-request-timestamp", "")
    if not timestamp.isdigit():
        return "the X-Slack-Request-Timestamp header is missing or not a number of seconds"
    if abs((time.time() if now is None else now) - int(timestamp)) > SLACK_MAX_SKEW_S:
        return "the X-Slack-Request-Timestamp header is more than 5 minutes away from now"
    return None


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with two guards it lacks.

    - A deadline on request headers: uvicorn times out a connection idle between requests
      (keep-alive), but not one that sends its headers a byte at a time or not at all, which is
      otherwise held open for as long as its sender likes.
    - A lingering close: when pitcrew answers before a body has all arrived (401 from the
      headers, 413, 408), uvicorn closes at once, and closing a socket with unread bytes sends a
      reset that can destroy the answer before the client reads it. Instead the answer is sent,
      followed by the end of our side of the stream, and what the client still sends is read and
      dropped (never kept) for at most `LINGER_S` or `LINGER_BYTES`, then the connection closes.
    """

    _headers_timer: asyncio.TimerHandle | None = None
    _lingering: _LingeringTransport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_LingeringTransport(transport, self))  # type: ignore[arg-type]
        self._arm_headers_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_headers_timer()
        if self._lingering is not None:
            self._lingering.stop()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._lingering.dropped(len(data))
            return
        super().data_received(data)
        if self._between_requests():
            self._arm_headers_timer()  # bytes of the next request's headers: the clock runs
        else:
            self._disarm_headers_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm_headers_timer()  # idle from here on: the keep-alive timeout applies

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_headers_timer(self) -> None:
        if self._headers_timer is None:
            self._headers_timer = self.loop.call_later(HEADERS_DEADLINE_S, self._headers_too_slow)

    def _disarm_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_too_slow(self) -> None:
        self._headers_timer = None
        if self._between_requests() and not self.transport.is_closing():
            self.transport.close()


class _LingeringTransport:
    """The socket's transport as uvicorn sees it: `close()` lingers while the client still sends a body."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedH11) -> None:
        self._transport = transport
        self._protocol = protocol
        self._timer: asyncio.TimerHandle | None = None
        self._dropped = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self._timer is not None or self._transport.is_closing()

    def close(self) -> None:
        if self._timer is not None or self._transport.is_closing():
            return
        if self._protocol.conn.their_state is not h11.SEND_BODY or not self._transport.can_write_eof():
            self._transport.close()
            return
        self._transport.write_eof()  # after the answer already written
        self._transport.resume_reading()
        self._timer = self._protocol.loop.call_later(LINGER_S, self._transport.close)
        self._protocol._lingering = self

    def dropped(self, size: int) -> None:
        self._dropped += size
        if self._dropped > LINGER_BYTES:
            self.stop()
            self._transport.close()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def uvicorn_limits() -> dict[str, Any]:
    """The uvicorn options that bound what one client can hold: `pitcrew serve` and the tests' server."""
    return {
        "http": GuardedH11,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "limit_concurrency": LIMIT_CONCURRENCY,
    }
