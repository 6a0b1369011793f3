"""`pitcrew serve` as a platform runs it, in a real subprocess: it waits for a database that is down
when it starts, and no log line it writes (uvicorn's access log included) carries a webhook secret."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.store.migrate import upgrade
from tests.test_cli import CATALOG, REPO

SECRET = "whsec-serve-test-8a7b6c5d"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, database_url: str, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAILWAY_", "VERCEL_"))}
    environment.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="signing-secret-test",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        WEBHOOK_SECRET=SECRET,
    )
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", *args, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            yield process, f"http://127.0.0.1:{port}", log_path
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(predicate, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_waits_for_a_database_that_is_down_at_start(tmp_path):
    ready, later = tmp_path / "ready", tmp_path / "later"
    database_url = f"sqlite:///{later / 'pitcrew.db'}"  # its directory does not exist yet: unreachable
    with serving(tmp_path, database_url) as (process, url, log_path):
        _wait_for(lambda: log_path.read_text().count("cannot reach the database") >= 2)
        assert process.poll() is None, log_path.read_text()  # still trying, not exited
        ready.mkdir()
        upgrade(f"sqlite:///{ready / 'pitcrew.db'}")
        ready.rename(later)  # the database appears, migrated, all at once
        _wait_for(lambda: _healthy(url))
        text = log_path.read_text()
    attempts = [line for line in text.splitlines() if "cannot reach the database" in line]
    assert attempts[0].endswith("attempt 1, trying again in 1 s"), attempts
    assert attempts[1].endswith("attempt 2, trying again in 2 s"), attempts
    assert "Traceback" not in text


def test_no_log_line_carries_the_webhook_secret(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'pitcrew.db'}"
    upgrade(database_url)
    with serving(tmp_path, database_url, "--verbose") as (_process, url, log_path):
        _wait_for(lambda: _healthy(url))
        body = {"title": "Checkout failing", "status": "firing"}
        accepted = httpx.post(f"{url}/webhooks/generic", params={"token": SECRET}, json=body, timeout=10)
        assert accepted.status_code == 202, accepted.text
        refused = httpx.post(f"{url}/webhooks/generic", params={"token": "a-wrong-guess-1234"}, json=body, timeout=10)
        assert refused.status_code == 401
        _wait_for(lambda: log_path.read_text().count("/webhooks/generic") >= 2)  # the access log's lines
        text = log_path.read_text()
    assert SECRET not in text
    assert "a-wrong-guess-1234" not in text
    assert "/webhooks/generic?token=***" in text


def test_serve_says_where_it_listens_in_one_line_and_nothing_of_bolts_token(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'pitcrew.db'}"
    upgrade(database_url)
    with serving(tmp_path, database_url) as (process, url, log_path):
        _wait_for(lambda: _healthy(url))
        text = log_path.read_text()
    [line] = [line for line in text.splitlines() if line.startswith("pitcrew serving")]
    assert f"on {url}" in line and f"database sqlite+aiosqlite:///{tmp_path / 'pitcrew.db'}" in line
    assert f":{process.pid}" in line  # the instance id, as the job runner names it (host:pid)
    assert "will be unused" not in text


def test_the_serving_line_masks_the_database_password():
    from app.cli import serving_line

    line = serving_line("http://0.0.0.0:3000", "postgres://pitcrew:s3cr3t-pw@db.internal:5432/app", "web-1:7")
    assert "s3cr3t-pw" not in line
    assert line == (
        "pitcrew serving on http://0.0.0.0:3000, database postgresql+psycopg://pitcrew:***@db.internal:5432/app, "
        "instance web-1:7"
    )
