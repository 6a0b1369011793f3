"""Raw HTTP/1.1 over asyncio sockets: the clients a library will not be (one that stops mid-header,
trickles its body, or announces 200 MiB), to test what the server does with them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None and urlsplit(url).hostname == "127.0.0.1"
    return port


async def connect(port: int) -> Connection:
    return await asyncio.open_connection("127.0.0.1", port)


def head(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def status_of(reader: asyncio.StreamReader, timeout_s: float) -> int | None:
    """The status of the answer that arrives within `timeout_s`; None if the server closed without one."""
    async with asyncio.timeout(timeout_s):
        line = await reader.readline()
    if not line:
        return None
    return int(line.split()[1])


async def closed_by_server(reader: asyncio.StreamReader, timeout_s: float) -> bool:
    """Whether the server closes the connection (EOF or reset) within `timeout_s`, reading what it sent."""
    try:
        async with asyncio.timeout(timeout_s):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


async def upload(
    port: int, request_head: bytes, *, chunked: bool, up_to: int, timeout_s: float, chunk: int = 64 * 1024
) -> tuple[int | None, int]:
    """Send `request_head`, then body bytes until the server answers, closes, or `up_to` bytes
    are sent; (the answer's status or None, bytes sent). The answer is read while sending, as a
    server that refuses a body answers before it ends and closes (a reset may follow)."""
    reader, writer = await connect(port)
    sent = 0
    answer = asyncio.create_task(status_of(reader, timeout_s))
    try:
        writer.write(request_head)
        piece = (f"{chunk:x}\r\n".encode() + b"a" * chunk + b"\r\n") if chunked else b"a" * chunk
        while sent < up_to and not answer.done():
            writer.write(piece)
            await writer.drain()
            sent += chunk
    except ConnectionError:
        pass  # the server closed its end: its answer, if any, is already in our buffer
    finally:
        try:
            status = await answer
        except (ConnectionError, TimeoutError, IndexError, ValueError):
            status = None
        close(writer)
    return status, sent
