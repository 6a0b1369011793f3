"""`pitcrew serve --socket` in a real subprocess: HTTP is served beside Socket Mode on the port asked
for (webhooks, /healthz), and a Slack that cannot be reached is one log line per attempt, no traceback.

No real Slack is reachable here: SLACK_API_URL points at a closed port, so `apps.connections.open`
(the first step of every Socket Mode connection) fails each time, as it does while a laptop is offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from app.store.migrate import upgrade
from tests.test_cli import CATALOG, REPO
from tests.test_serve_start import SECRET, _free_port, _healthy, _wait_for


def test_serve_socket_serves_http_beside_it_and_logs_one_line_per_failed_attempt(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'pitcrew.db'}"
    upgrade(database_url)
    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAILWAY_", "VERCEL_"))}
    environment.update(
        PYTHONPATH=str(REPO), DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="signing-secret-test", SLACK_APP_TOKEN="xapp-1-socket-test-token",
        SLACK_API_URL="http://127.0.0.1:9/api/", WEBHOOK_SECRET=SECRET,
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--socket", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(lambda: _healthy(url) or process.poll() is not None)
            assert process.poll() is None, log_path.read_text()
            body = {"title": "Checkout failing", "status": "firing"}
            accepted = httpx.post(f"{url}/webhooks/generic", params={"token": SECRET}, json=body, timeout=10)
            assert accepted.status_code == 202, accepted.text
            assert httpx.get(f"{url}/status.json", timeout=10).status_code in (200, 404)
            _wait_for(lambda: log_path.read_text().count("could not connect to Slack") >= 2, timeout_s=60)
            assert _healthy(url)  # still serving while Slack is away
        finally:
            process.terminate()
            process.wait(timeout=20)
    lines = log_path.read_text().splitlines()
    attempts = [n for n, line in enumerate(lines) if "could not connect to Slack" in line]
    assert lines[attempts[0]].endswith("trying again in 10 s") and "ClientConnectorError" in lines[attempts[0]]
    # Each attempt is its line alone: no traceback after it (the incident's announcement, which cannot
    # reach Slack either, is the job runner's to log), and not the SDK's own lines for it.
    assert not [n for n in attempts if n + 1 < len(lines) and lines[n + 1].startswith("Traceback")], lines
    socket_lines = [line for line in lines if "pitcrew.socket" in line]
    assert len(socket_lines) == len(attempts), socket_lines
    assert not [line for line in lines if "Failed to retrieve WSS URL" in line or "Failed to connect" in line]
    assert not [line for line in lines if "xapp-1-socket-test-token" in line]
