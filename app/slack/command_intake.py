"""The front door of slash commands whose work is deferred: verified, stored and acked before Bolt.

A deferred command's ack carries nothing, and its listener runs later from the stored request
(app/slack/deferral.py), so Bolt's dispatch (parsing, context, middleware chain, listener
matching) has nothing to do while Slack waits. Here the ack costs a signature check, a form
parse and a share of one group-committed insert: less than a bare Bolt app's ack. Everything
else (other commands, the same command when it must run at once, buttons, events, anything that
fails the checks here: another workspace's command, a database that cannot be reached) goes to
Bolt, which answers as before, a bad signature included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier

from app.deps import Deps
from app.slack.commands import LISTENERS
from app.slack.deferral import deferral_of, store_request
from app.slack.workspace_guard import refusal

FORM = "application/x-www-form-urlencoded"


class CommandIntake:
    def __init__(self, deps: Deps) -> None:
        secret = deps.settings.SLACK_SIGNING_SECRET
        self._deps = deps
        self._verifier = SignatureVerifier(secret.get_secret_value()) if secret else None
        self._unless: dict[str, Callable[[dict[str, Any]], bool]] = {
            command: unless for command, listener in LISTENERS.items() if (unless := deferral_of(listener)) is not None
        }

    async def acked(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """True when `body` was a deferred slash command and is now stored: answer Slack's empty 200."""
        if self._verifier is None or not headers.get("content-type", "").startswith(FORM):
            return False
        if not (body.startswith(b"command=") or b"&command=" in body):  # buttons and forms: `payload=`
            return False
        timestamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        if not timestamp.isdigit() or not self._verifier.is_valid(body, timestamp, signature):
            return False
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        unless = self._unless.get(form.get("command", ""))
        if unless is None or unless(form):
            return False
        # Another workspace's command, or no database to keep it in: Bolt answers it (and audits
        # the refusal), as for a command that is never deferred.
        if refusal(self._deps.settings, form) is not None or not await self._deps.database_reachable():
            return False
        if await store_request(self._deps, form):
            return True
        self._deps.database_suspect()
        return False
