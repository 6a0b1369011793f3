"""While pitcrew cannot reach its database, Slack requests are answered with that, not lost.

Every command, click and mention is stored or audited in the database; acked with an empty 200
while the database is away, it would vanish without a word. So Bolt asks first (a cached probe,
app/store/reachability.py) and answers what each kind of request allows: a slash command's ack
carries an ephemeral message; a click gets an ephemeral message through its response_url; a
form keeps open with the note on its first field; a mention gets an ephemeral reply in its thread.
Requests replayed from a job skip the question: the job was claimed from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

from app.deps import Deps
from app.slack.deferral import REPLAYED
from app.slack.request_shape import shape_of

log = logging.getLogger("pitcrew.slack")

NOTE = "pitcrew cannot reach its database right now, so nothing was done. Please try again in a minute."
NOTE_TIMEOUT_S = 5.0

_notes: set[asyncio.Task[None]] = set()  # the private notes being sent, kept from the collector


def database_gate(deps: Deps) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def gate(
        body: dict[str, Any], context: Any, client: Any, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        if context.get(REPLAYED) or await deps.database_reachable():
            return await next()
        shape = shape_of(body)
        log.warning("answered %s from %s with 'cannot reach the database'", shape.label, shape.user_id)
        if shape.kind == "command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": NOTE})
        if shape.kind == "view_submission":
            field = _first_input(body)
            if field:
                return BoltResponse(status=200, body={"response_action": "errors", "errors": {field: NOTE}})
        elif shape.kind == "block_actions" and context.get("respond") is not None:
            respond = context["respond"]
            _send(respond(text=NOTE, response_type="ephemeral", replace_original=False))
        elif shape.kind == "event_callback" and shape.name == "app_mention" and shape.channel_id:
            event = body.get("event") or {}
            _send(
                client.chat_postEphemeral(
                    channel=shape.channel_id,
                    user=shape.user_id,
                    text=NOTE,
                    **({"thread_ts": event["thread_ts"]} if event.get("thread_ts") else {}),
                )
            )
        return BoltResponse(status=200, body="")

    return gate


def _first_input(body: dict[str, Any]) -> str | None:
    for block in (body.get("view") or {}).get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def _send(call: Awaitable[Any]) -> None:
    """Send the note after the ack: Slack waits for the 200, not for the note."""

    async def send() -> None:
        try:
            async with asyncio.timeout(NOTE_TIMEOUT_S):
                await call
        except Exception as err:  # a note that cannot be sent is only logged: nothing else depends on it
            log.warning("could not send the 'cannot reach the database' note (%s)", err)

    task = asyncio.create_task(send(), name="pitcrew-db-note")
    _notes.add(task)
    task.add_done_callback(_notes.discard)
