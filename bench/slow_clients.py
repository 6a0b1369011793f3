"""Slow clients held open against a server while a benchmark runs (`bench_ack.py --slow-clients N`).

Half of them stop in the middle of their request headers, the other half send signed headers
announcing a 100-byte body and one byte of it. A server may close them (pitcrew does, after its
headers and body deadlines); each one then reconnects at once, so that N are held throughout, as
a patient attacker would. They run on their own event loop in a thread of the benchmark process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from app.sandbox import slack_payloads as payloads


class SlowClients:
    def __init__(self, port: int, count: int, signing_secret: str) -> None:
        self.port = port
        self.count = count
        self.signing_secret = signing_secret
        self.connections = 0  # how many were opened in all, reconnections included
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self._ready = threading.Event()

    def __enter__(self) -> SlowClients:
        if self.count > 0:
            self._thread.start()
            self._ready.wait(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.count > 0 and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        self._loop.run_until_complete(self._hold_all())
        self._loop.close()

    async def _hold_all(self) -> None:
        self._stop = asyncio.Event()
        opened = [asyncio.Event() for _ in range(self.count)]
        tasks = [asyncio.create_task(self._hold(n, opened[n])) for n in range(self.count)]
        await asyncio.gather(*(event.wait() for event in opened))
        self._ready.set()
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _partial_request(self, n: int) -> bytes:
        if n % 2 == 0:
            return b"POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-le"
        body = b"command=%2Fhealth&text="
        headers = payloads.signed_headers(body, self.signing_secret, content_type=payloads.FORM)
        lines = ["POST /slack/events HTTP/1.1", "host: 127.0.0.1", "content-length: 100"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body[:1]

    async def _hold(self, n: int, opened: asyncio.Event) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            self.connections += 1
            try:
                writer.write(self._partial_request(n))
                await writer.drain()
                opened.set()
                while await reader.read(65536):  # until the server closes it
                    pass
            except OSError:
                pass
            finally:
                with contextlib.suppress(Exception):
                    writer.close()
