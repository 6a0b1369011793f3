"""A stand-in for UptimeRobot: watches a URL over HTTP and posts its webhook to pitcrew on every change.

`pitcrew demo` uses it so that an incident opens the way it does in production: the monitor sees the
health URL fail and POSTs the body a team's UptimeRobot "alert contact" would send, to pitcrew's
real `/webhooks/uptimerobot` route, with the shared secret in `?token=`. The body is the template
of docs/webhooks.md with UptimeRobot's `*placeholders*` filled in, so the docs, the demo and the
parser agree on one shape.

Like UptimeRobot, it sends only on a change: a monitor that stays down does not alert again.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

import httpx

# The "POST value" to paste into UptimeRobot's webhook alert contact (with "Send as JSON" ticked).
# docs/webhooks.md shows exactly this; the docs test checks both are the same.
UPTIMEROBOT_TEMPLATE = {
    "monitorID": "*monitorID*",
    "monitorURL": "*monitorURL*",
    "monitorFriendlyName": "*monitorFriendlyName*",
    "alertType": "*alertType*",
    "alertTypeFriendlyName": "*alertTypeFriendlyName*",
    "alertDetails": "*alertDetails*",
    "alertDuration": "*alertDuration*",
    "alertDateTime": "*alertDateTime*",
}

State = Literal["up", "down"]


def fill_template(template: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """The template with each `*name*` placeholder replaced as UptimeRobot does (unknown ones are left as they are)."""
    filled = {}
    for key, value in template.items():
        name = value.strip("*") if value.startswith("*") and value.endswith("*") else None
        filled[key] = values.get(name, value) if name else value
    return filled


@dataclass(frozen=True)
class SentAlert:
    """One webhook the monitor sent, and how pitcrew answered it."""

    state: State
    body: dict[str, str]
    status_code: int
    answer: str


class UptimeMonitor:
    """An HTTP monitor of `url` that alerts `webhook_url` (pitcrew's route, with its `?token=`) on changes.

    `check()` probes once and alerts if the state changed; whoever runs the monitor calls it every
    `interval_s`. A lock keeps a check asked for at once and a periodic one from both alerting.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        name: str,
        webhook_url: str,
        token: str,
        monitor_id: str = "797001",
        interval_s: float = 1.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.http = http
        self.url = url
        self.name = name
        self.webhook_url = webhook_url
        self._token = token
        self.monitor_id = monitor_id
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.state: State = "up"  # the sandbox starts healthy; a first failure is a change
        self.sent: list[SentAlert] = []
        self._since = time.time()
        self._lock = asyncio.Lock()

    async def probe(self) -> tuple[State, str]:
        """Up when the URL answers 2xx or 3xx in time, as UptimeRobot's HTTP monitors judge; and the detail."""
        try:
            response = await self.http.get(self.url, timeout=self.timeout_s)
        except httpx.TimeoutException:
            return "down", "Connection Timeout"
        except httpx.HTTPError as err:
            return "down", f"Connection Failure ({type(err).__name__})"
        reason = response.reason_phrase or ""
        detail = f"HTTP {response.status_code} - {reason}".rstrip(" -")
        return ("up" if response.status_code < 400 else "down"), detail

    async def check(self) -> SentAlert | None:
        """Probe once; when the state changed, send the alert and return it."""
        async with self._lock:
            state, detail = await self.probe()
            if state == self.state:
                return None
            now = time.time()
            duration = int(now - self._since)
            self.state, self._since = state, now
            return await self._send(state, detail, duration, now)

    async def _send(self, state: State, detail: str, duration_s: int, at: float) -> SentAlert:
        down = state == "down"
        body = fill_template(
            UPTIMEROBOT_TEMPLATE,
            {
                "monitorID": self.monitor_id,
                "monitorURL": self.url,
                "monitorFriendlyName": self.name,
                "alertType": "1" if down else "2",
                "alertTypeFriendlyName": "Down" if down else "Up",
                "alertDetails": detail,
                "alertDuration": "" if down else str(duration_s),  # UptimeRobot: seconds down, on Up alerts only
                "alertDateTime": str(int(at)),
            },
        )
        target = f"{self.webhook_url}?{urlencode({'token': self._token})}"
        try:
            response = await self.http.post(
                target, content=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=10.0
            )
            sent = SentAlert(state, body, response.status_code, response.text[:300])
        except httpx.HTTPError as err:
            sent = SentAlert(state, body, 0, f"{type(err).__name__}: {err}")
        self.sent.append(sent)
        return sent
