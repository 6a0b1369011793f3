"""The HTTP probe: one request to a health URL, measured and described as an HttpObservation.

It observes rather than judges: a 503, a redirect or a body that is not JSON are all answers worth
reporting, so only a request that got no answer at all (refused, timed out, TLS failure) is an error.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import ssl
import time
import zlib
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from app.core.observations import HttpObservation
from app.core.secrets import MASK, SECRET_KEY_NAME
from app.providers.base import ProviderError

MAX_BODY_BYTES = 1024 * 1024  # a health body is small; anything bigger is not read whole, whatever it is
_GZIP_OR_ZLIB = 47  # zlib wbits: accept both gzip and zlib framing


async def probe_http(
    client: httpx.AsyncClient,
    *,
    url: str,
    method: str = "GET",
    timeout_s: float = 5.0,
    body: bytes | None = None,
    content_type: str | None = None,
    origin: str | None = None,
    keep_headers: tuple[str, ...] = (),
) -> HttpObservation:
    """Request `url` once and report what came back, within `timeout_s` whatever the server does.

    Latency runs from sending the request to the end of the (bounded) body, as a user would wait
    for it. Redirects are not followed: a health URL that redirects is itself worth seeing. The
    observation's url has credentials and secret-looking query values masked, as it ends up in
    messages. `body` (a POST's, a test login) is sent and never part of any message; `origin`
    becomes the `Origin` request header, as a browser's cross-origin request sends it; of the
    response headers, only `keep_headers` (lower case) are kept.
    """
    request_headers = {"Accept-Encoding": "identity"}  # the body limit then bounds what we hold too
    if body is not None:
        request_headers["Content-Type"] = content_type or "application/octet-stream"
    if origin:
        request_headers["Origin"] = origin
    method = method.upper()
    shown_url = safe_url(url)
    call = f"{method} {shown_url}"
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream(
                method,
                url,
                headers=request_headers,
                content=body,
                follow_redirects=False,
                timeout=timeout_s,
            ) as response:
                cert_days_left = _cert_days_left(response)
                body = b"" if method == "HEAD" else await _read_bounded(response, MAX_BODY_BYTES)
        latency_ms = (time.perf_counter() - started) * 1000
    except (TimeoutError, httpx.TimeoutException):
        raise ProviderError(call, f"timed out after {timeout_s:g} s") from None
    except httpx.InvalidURL:
        raise ProviderError(call, "not a valid URL (expected http:// or https:// with a host)") from None
    except httpx.HTTPError as err:
        reason = _reason(err, url)
        raise ProviderError(call, reason.replace(url, shown_url) if url else reason) from None

    json_body, body_is_json = _parse_json(body, response.headers)
    return HttpObservation(
        url=shown_url,
        method=method,
        status=response.status_code,
        latency_ms=latency_ms,
        json_body=json_body,
        body_is_json=body_is_json,
        cert_days_left=cert_days_left,
        headers={name: response.headers[name] for name in keep_headers if name in response.headers},
    )


def safe_url(url: str) -> str:
    """`url` fit for a message: no `user:password@`, and values of `token=`-like query keys masked."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = parts.query
        if any(SECRET_KEY_NAME.search(key) for key, _ in pairs):
            query = urlencode([(k, MASK if SECRET_KEY_NAME.search(k) else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable URL>"


async def _read_bounded(response: httpx.Response, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (so an endless body costs `limit`, not memory)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    raw = b"".join(chunks)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip", "deflate"):
        # The server compressed although we asked it not to: inflate, but never past the limit.
        try:
            inflater = zlib.decompressobj(_GZIP_OR_ZLIB)
            body = inflater.decompress(raw, limit + 1)
        except zlib.error:
            return None
        return body if len(body) <= limit and not inflater.unconsumed_tail else None
    return None  # br, zstd, ...: not worth a dependency for a health body


def _parse_json(body: bytes | None, headers: httpx.Headers) -> tuple[Any | None, bool]:
    """Parse the body when it says it is JSON, or when it plainly is one (`{...}` served as text/plain)."""
    if not body:
        return None, False
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    declared = media_type == "application/json" or media_type.endswith("+json")
    if not declared and body.lstrip()[:1] not in (b"{", b"["):
        return None, False
    try:
        return json.loads(body), True
    except (ValueError, RecursionError):
        return None, False


def _cert_days_left(response: httpx.Response) -> int | None:
    """Whole days until the server certificate expires, read from the TLS connection that answered.

    Python exposes the parsed certificate only when it was verified, so a client created with
    verify=False gets None here rather than a date nobody checked.
    """
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    not_after = cert.get("notAfter") if cert else None
    if not isinstance(not_after, str):
        return None
    try:
        expires_at = ssl.cert_time_to_seconds(not_after)
    except ValueError:
        return None
    return math.floor((expires_at - time.time()) / 86400)


def _reason(err: httpx.HTTPError, url: str) -> str:
    """Say in words why no answer came, from the OS or TLS error underneath httpx's."""
    for cause in _causes(err):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate verify failed: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {cause.reason or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host {urlsplit(url).hostname}: {cause.strerror or cause}"
    if isinstance(err, httpx.UnsupportedProtocol):
        return "not an http:// or https:// URL with a host"
    if isinstance(err, httpx.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {err or 'closed the connection without answering'}"
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect: {err or 'connection failed'}"
    if isinstance(err, httpx.ReadError):
        return f"connection lost while reading the answer: {err or 'read failed'}"
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _causes(err: BaseException) -> list[BaseException]:
    """The chain of exceptions behind `err` (httpx wraps httpcore wraps the OS error)."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
