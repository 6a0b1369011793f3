"""Unauthenticated uploads must not cost `pitcrew serve` memory: 20 at once, each announcing
200 MiB, against the real server process, its resident memory read from /proc.

Each client sends its body until it is answered (at most 24 MiB, so that a server that reads
everything shows it without exhausting the machine) and reads the answer while sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sandbox import slack_payloads as payloads
from app.settings import Settings
from app.store.migrate import upgrade_async
from tests.e2e.raw_http_support import head, upload

REPO = Path(__file__).resolve().parents[2]
ANNOUNCED = 200 * 1024 * 1024
SEND_AT_MOST = 24 * 1024 * 1024
UPLOADS = 20
RSS_SLACK_MIB = 50

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def pitcrew_serve(tmp: Path, db_url: str, slack_api_url: str, secret: str) -> Iterator[tuple[int, int]]:
    """`python -m app serve` on a free loopback port: (port, pid), stopped at the end."""
    (tmp / "pitcrew.yml").write_text(
        "slack: {alerts_channel: C0ALERTS, operators: [U0OPS1]}\n"
        "services:\n  api: {provider: http, health: {url: 'http://127.0.0.1:9/health'}}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env |= {
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": db_url,
        "PITCREW_CONFIG": str(tmp / "pitcrew.yml"),
        "SLACK_BOT_TOKEN": "xoxb-sandbox-token",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": slack_api_url,
        "WEBHOOK_SECRET": "whsec-memory-test-0123456789",
    }
    port = free_port()
    log = tmp / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "pitcrew serve did not listen within 30 s"
            with contextlib.suppress(OSError):
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def request_heads(secret: str) -> list[tuple[bytes, bool]]:
    """The four kinds of upload, each refused differently: (head, chunked)."""
    body = payloads.slash_command("/health", "", user_id="U0OPS1", channel_id="C0ALERTS", response_url="http://x/")
    forged = payloads.signed_headers(body, "not-the-signing-secret", content_type=payloads.FORM)
    length = {"content-length": str(ANNOUNCED)}
    return [
        (head("POST", "/slack/events", {"content-type": payloads.FORM, **length}), False),  # no signature
        (head("POST", "/slack/events", {**forged, **length}), False),  # signed-looking, announced too large
        (head("POST", "/slack/events", {**forged, "transfer-encoding": "chunked"}), True),  # counted while read
        (head("POST", "/webhooks/generic", {"content-type": "application/json", **length}), False),  # no token
    ]


async def test_unsigned_uploads_leave_memory_alone_and_are_refused(tmp_path, fake_slack):
    db_url = f"sqlite:///{tmp_path / 'pitcrew.db'}"
    await upgrade_async(db_url)
    with pitcrew_serve(tmp_path, db_url, fake_slack.api_url, fake_slack.signing_secret) as (port, pid):
        kinds = request_heads(fake_slack.signing_secret)
        for request_head, chunked in kinds:  # warm-up: every path taken once, small
            await upload(port, request_head, chunked=chunked, up_to=2 * 1024 * 1024, timeout_s=20)
        await asyncio.sleep(0.5)
        idle = rss_mib(pid)

        peak = idle
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_mib(pid))
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        uploads = [
            upload(port, request_head, chunked=chunked, up_to=SEND_AT_MOST, timeout_s=20)
            for request_head, chunked in (kinds[n % len(kinds)] for n in range(UPLOADS))
        ]
        results = await asyncio.gather(*uploads)
        await asyncio.sleep(0.2)
        done.set()
        await sampler
        peak = max(peak, rss_mib(pid))

    statuses = [status for status, _ in results]
    assert all(status in (401, 413) for status in statuses), statuses
    assert statuses[0::4] == [401] * 5 and statuses[3::4] == [401] * 5
    assert peak - idle < RSS_SLACK_MIB, f"RSS went from {idle:.0f} MiB to {peak:.0f} MiB"
