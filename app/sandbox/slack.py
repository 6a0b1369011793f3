"""A stand-in for Slack's Web API and response URLs, served over real HTTP on loopback.

It answers the methods pitcrew calls the way Slack does (`{"ok": true, ...}`, `ts` values,
`ok: false` errors, HTTP 429 with Retry-After when told to, and an outage's HTTP 5xx with
`service_unavailable` when told to), keeps the messages it was sent so
that `chat.update` edits them, and records every call. The console renders from it, and the
tests assert on what reached it.

Membership is Slack's: a channel declared with `channel(..., bot_member=False)` refuses what Slack
refuses a bot that was never invited (`not_in_channel` in a public channel, `channel_not_found` in
a private one, which a bot outside it cannot see), and `conversations.join` lets it into a public
one. Channels never declared are taken as channels the bot was invited to (the alerts and updates
channels of every test), and a user id as `channel` of `chat.postMessage` is the bot's direct
message with that user. The token carries the scopes of manifest.yml (`BOT_SCOPES`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox import slack_payloads as payloads
from app.sandbox.server import LoopbackServer

TEAM_ID = "T0PITCREW"
BOT_USER_ID = "U0PITCREW"
BOT_ID = "B0PITCREW"
_JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata")
# The bot scopes manifest.yml asks for (tests/e2e/test_slack_membership.py checks they agree).
BOT_SCOPES = frozenset({
    "commands", "chat:write", "chat:write.public", "channels:join", "app_mentions:read", "usergroups:read",
    "files:write", "usergroups:write",
})
ChannelKind = Literal["public", "private", "im", "mpim"]


@dataclass
class FakeChannel:
    """A conversation the bot may or may not be in: a public or private channel, a DM or a group DM."""

    kind: ChannelKind = "public"
    bot_member: bool = True


@dataclass
class SlackCall:
    """One request that reached the fake: a Web API method, or a post to a response URL."""

    method: str
    args: dict[str, Any]
    token: str | None = None


@dataclass
class SlackMessage:
    """A message as the fake holds it; `ephemeral_to` is set for messages only one user sees."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edits: int = 0


class FakeSlack:
    """The Web API at `{url}/api/` and response URLs at `{url}/response/{id}`."""

    def __init__(self, token: str = "xoxb-sandbox-token", signing_secret: str | None = None) -> None:
        self.token = token
        self.signing_secret = signing_secret or secrets.token_hex(16)
        self._app_client: httpx.AsyncClient | None = None
        self._responses: dict[str, dict[str, str]] = {}
        self.calls: list[SlackCall] = []
        self.messages: list[SlackMessage] = []
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.scopes: set[str] = set(BOT_SCOPES)
        self.uploads: dict[str, dict[str, Any]] = {}
        self.listeners: list[asyncio.Queue[tuple[str, SlackMessage]]] = []
        self._rate_limited: list[int] = []
        self._outage: _Outage | None = None
        self._last_delivery: tuple[bytes, str] | None = None
        self._ts = itertools.count(1)
        self._server: LoopbackServer | None = None
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["POST", "GET"]),
                Route("/response/{key}", self._response, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
            ]
        )

    # --- serving -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "FakeSlack is not serving"
        return self._server.url

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[FakeSlack]:
        async with LoopbackServer(self.app) as server:
            self._server = server
            try:
                yield self
            finally:
                self._server = None

    # --- what tests and the console use ------------------------------------------------------
    def rate_limit(self, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` Web API calls with HTTP 429, as Slack does under load."""
        self._rate_limited.extend([retry_after] * times)

    def outage(
        self, times: int = 1_000_000, *, status: int = 503, error: str = "service_unavailable",
        methods: set[str] | None = None,
    ) -> None:
        """Answer the next `times` Web API calls (of `methods` only, when given) with HTTP `status` and
        `{"ok": false, "error": error}`, as Slack's API does while it is down: its documented errors
        say `internal_error` / `fatal_error` ("likely due to a transient issue on our end") and that
        "other errors can be returned in the case where the service is down" (https://api.slack.com/
        methods/api.test). Response URLs are not affected; `recover()` ends the outage."""
        self._outage = _Outage(times, status, error, frozenset(methods) if methods else None)

    def recover(self) -> None:
        """The Web API answers again."""
        self._outage = None

    def channel(self, channel_id: str, *, kind: ChannelKind = "public", bot_member: bool = False) -> FakeChannel:
        """Declare a conversation, by default a public channel nobody invited the bot to."""
        self.channels[channel_id] = FakeChannel(kind, bot_member)
        return self.channels[channel_id]

    def dm_with(self, user: str) -> str:
        """The id of the bot's direct message with `user` (a `D...` id, as Slack gives)."""
        return "D" + user[1:]

    def subscribe(self) -> asyncio.Queue[tuple[str, SlackMessage]]:
        """A queue of ("posted" | "updated" | "ephemeral" | "response", message) as they happen."""
        queue: asyncio.Queue[tuple[str, SlackMessage]] = asyncio.Queue()
        self.listeners.append(queue)
        return queue

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def messages_in_thread(self, thread_ts: str) -> list[SlackMessage]:
        """The bot's replies in a thread (the people's own mentions are not counted)."""
        return [m for m in self.messages if m.thread_ts == thread_ts and not m.text.startswith(f"<@{BOT_USER_ID}>")]

    def message(self, channel: str, ts: str) -> SlackMessage | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    async def wait_for(
        self, predicate: Callable[[SlackCall], bool], *, count: int = 1, timeout_s: float = 10.0
    ) -> list[SlackCall]:
        """The first `count` recorded calls matching `predicate`, waiting for slow work after an ack."""
        async with asyncio.timeout(timeout_s):
            while True:
                found = [call for call in self.calls if predicate(call)]
                if len(found) >= count:
                    return found[:count]
                await asyncio.sleep(0.01)

    def all_text(self) -> str:
        """Every string pitcrew sent to Slack, for assertions that something never reached it."""
        return "\n".join(json.dumps(call.args, ensure_ascii=False) for call in self.calls)

    # --- Slack calling the app, as it does when people type and click ---------------------------
    def connect_app(self, client: httpx.AsyncClient) -> None:
        """Where Slack delivers requests: `client` has the app's base URL (or an ASGI transport)."""
        self._app_client = client

    async def _deliver(self, body: bytes, content_type: str, retry: int = 0) -> httpx.Response:
        assert self._app_client is not None, "connect_app() first"
        headers = payloads.signed_headers(body, self.signing_secret, content_type=content_type)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        else:
            self._last_delivery = (body, content_type)
        return await self._app_client.post("/slack/events", content=body, headers=headers)

    async def deliver_again(self, retry: int = 1) -> httpx.Response:
        """Send the last event again, as Slack does when it did not hear a 200 within 3 s (up to 3 times)."""
        assert self._last_delivery is not None, "nothing delivered yet"
        return await self._deliver(*self._last_delivery, retry=retry)

    def _new_response_url(self, channel: str, user: str, ts: str | None = None, thread_ts: str | None = None) -> str:
        key = secrets.token_hex(8)
        self._responses[key] = {
            "channel": channel,
            "user": user,
            **({"ts": ts} if ts else {}),
            **({"thread_ts": thread_ts} if thread_ts else {}),
        }
        return self.response_url(key)

    async def slash(self, command: str, text: str, *, user: str, channel: str) -> httpx.Response:
        """Type `/command text` in `channel` as `user`."""
        body = payloads.slash_command(
            command, text, user_id=user, channel_id=channel, response_url=self._new_response_url(channel, user)
        )
        return await self._deliver(body, payloads.FORM)

    async def click(
        self, message: SlackMessage, action_id: str, *, user: str, value: str | None = None
    ) -> httpx.Response:
        """Press the button `action_id` of `message` (the first one, or the one carrying `value`)."""
        button = find_button(message, action_id, value)
        if button is None:
            raise LookupError(f"no button {action_id!r} in message {message.ts}")
        block_id, element = button
        action = {
            "type": "button",
            "action_id": element["action_id"],
            "block_id": block_id,
            "text": element.get("text"),
            "value": element.get("value", ""),
            **({"style": element["style"]} if "style" in element else {}),
        }
        body = payloads.block_action(
            action,
            user_id=user,
            channel_id=message.channel,
            message={"text": message.text, "blocks": message.blocks, "ts": message.ts},
            response_url=self._new_response_url(message.channel, user, message.ts, message.thread_ts),
            thread_ts=message.thread_ts,
        )
        return await self._deliver(body, payloads.FORM)

    async def submit(self, view: dict[str, Any], answers: dict[str, str | None], *, user: str) -> httpx.Response:
        """Press Submit on the modal `view` (as opened by `views.open`) filled in with `answers`
        ({block_id: text or option value}). The app's answer is in the response: an empty 200 closes
        the form; `{"response_action": "errors", ...}` keeps it open with a note under each field."""
        body = payloads.view_submission(view, answers, user_id=user, view_id=view.get("id") or "V0FORM")
        return await self._deliver(body, payloads.FORM)

    async def mention(self, text: str, *, user: str, channel: str, thread_ts: str | None = None) -> httpx.Response:
        """Write `@pitcrew text` in `channel` (inside the thread `thread_ts` when given)."""
        ts = self._next_ts()
        message = SlackMessage(channel=channel, ts=ts, text=f"<@{BOT_USER_ID}> {text}", thread_ts=thread_ts)
        self.messages.append(message)
        body = payloads.app_mention(text, user_id=user, channel_id=channel, ts=ts, thread_ts=thread_ts)
        return await self._deliver(body, payloads.JSON)

    # --- HTTP --------------------------------------------------------------------------------
    async def _args(self, request: Request) -> dict[str, Any]:
        body = await request.body()
        args: dict[str, Any] = dict(request.query_params)
        if body:
            if request.headers.get("content-type", "").startswith("application/json"):
                args.update(json.loads(body))
            else:
                args.update(dict(parse_qsl(body.decode(), keep_blank_values=True)))
        for key in _JSON_ARGS:
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    pass
        return args

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await self._args(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.pop("token", None)
        self.calls.append(SlackCall(method, args, token))
        if self._rate_limited:
            retry_after = self._rate_limited.pop(0)
            return JSONResponse(
                {"ok": False, "error": "ratelimited"}, status_code=429, headers={"Retry-After": str(retry_after)}
            )
        if self._outage is not None and self._outage.hits(method):
            return JSONResponse({"ok": False, "error": self._outage.error}, status_code=self._outage.status)
        if token != self.token:
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        return JSONResponse(await handler(args))

    async def _response(self, request: Request) -> Response:
        args = await self._args(request)
        key = request.path_params["key"]
        self.calls.append(SlackCall("response_url", {**args, "key": key}))
        origin = self._responses.get(key)
        if origin is None:
            return JSONResponse({"ok": False, "error": "expired_url"}, status_code=404)
        source = self.message(origin["channel"], origin.get("ts", ""))
        if source is not None and _truthy(args.get("replace_original")):
            source.text = args.get("text", source.text)
            source.blocks = args.get("blocks") or []
            source.edits += 1
            for queue in self.listeners:
                queue.put_nowait(("updated", source))
            return JSONResponse({"ok": True})
        in_channel = args.get("response_type") == "in_channel"
        message = SlackMessage(
            channel=origin["channel"],
            ts=self._next_ts(),
            text=args.get("text", ""),
            blocks=args.get("blocks") or [],
            thread_ts=origin.get("thread_ts") if in_channel else None,
            ephemeral_to=None if in_channel else origin["user"],
        )
        self._keep(message, "response")
        if "ts" not in origin:
            # A slash command's response_url edits the message that command produced
            # (api.slack.com/interactivity/handling#message_responses: `replace_original`).
            origin["ts"] = message.ts
        return JSONResponse({"ok": True})

    async def _upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        if file_id not in self.uploads:
            return Response("unknown upload", status_code=404)
        self.uploads[file_id]["content"] = await request.body()
        return Response("OK - uploaded")

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _keep(self, message: SlackMessage, kind: str) -> None:
        self.messages.append(message)
        for queue in self.listeners:
            queue.put_nowait((kind, message))

    # --- membership ------------------------------------------------------------------------------
    def _refusal(self, channel: str, *, posting_text: bool) -> str | None:
        """Why Slack refuses the bot `channel`, or None. Sources:
        - chat.postMessage lists `not_in_channel` and `channel_not_found` (https://docs.slack.dev/
          reference/methods/chat.postMessage#errors; web-api/slack_web_openapi_v2.json in
          /work/shared/refdata/slack); the `chat:write.public` scope "send messages to channels
          your Slack app isn't a member of" covers public channels only
          (https://docs.slack.dev/reference/scopes/chat.write.public);
        - files.completeUploadExternal needs membership whatever the scopes: it answers
          `not_in_channel` where chat.postMessage succeeds thanks to chat:write.public
          (github.com/getnao/nao/issues/1372);
        - a private channel is invisible to a bot outside it: `channel_not_found`, as for a DM or
          group DM between other people."""
        found = self.channels.get(channel)
        if found is None or found.bot_member:
            return None
        if found.kind != "public":
            return "channel_not_found"
        return None if posting_text and "chat:write.public" in self.scopes else "not_in_channel"

    def _conversation_of(self, channel: str) -> str:
        """A user id as `channel` of chat.postMessage posts in the bot's DM with that user, and the answer
        names that DM (https://docs.slack.dev/reference/methods/chat.postMessage, "Channels": a user's id
        posts in the app's DM with that user, its Messages tab)."""
        if channel[:1] in ("U", "W"):
            dm = self.dm_with(channel)
            self.channels.setdefault(dm, FakeChannel("im", True))
            return dm
        return channel

    # --- methods -----------------------------------------------------------------------------
    async def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://sandbox.slack.com/",
            "team": "sandbox",
            "user": "pitcrew",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        channel = self._conversation_of(args["channel"])
        refused = self._refusal(channel, posting_text=True)
        if refused:
            return {"ok": False, "error": refused}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        message = SlackMessage(
            channel=channel,
            ts=self._next_ts(),
            text=args.get("text", ""),
            blocks=args.get("blocks") or [],
            thread_ts=args.get("thread_ts"),
        )
        self._keep(message, "posted")
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "message": {"text": message.text, "blocks": message.blocks, "ts": message.ts},
        }

    async def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        message = SlackMessage(
            channel=args["channel"],
            ts=self._next_ts(),
            text=args.get("text", ""),
            blocks=args.get("blocks") or [],
            thread_ts=args.get("thread_ts"),
            ephemeral_to=args["user"],
        )
        self._keep(message, "ephemeral")
        return {"ok": True, "message_ts": message.ts}

    async def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.message(args.get("channel", ""), args.get("ts", ""))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" in args:
            message.text = args["text"]
        if "blocks" in args:
            message.blocks = args["blocks"] or []
        message.edits += 1
        for queue in self.listeners:
            queue.put_nowait(("updated", message))
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    async def _m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/conversations.join: a bot token needs `channels:join`
        (else `missing_scope`, with `needed`); a public channel is joined (`already_in_channel` as a
        warning when the bot was in it); a DM or group DM is `method_not_supported_for_channel_type`;
        a private channel the bot is not in cannot be seen: `channel_not_found`."""
        if "channels:join" not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": "channels:join",
                    "provided": ",".join(sorted(self.scopes))}
        channel_id = args.get("channel", "")
        if not channel_id:
            return {"ok": False, "error": "channel_not_found"}
        found = self.channels.get(channel_id)
        if found is not None and found.kind in ("im", "mpim"):
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        if found is not None and found.kind == "private" and not found.bot_member:
            return {"ok": False, "error": "channel_not_found"}
        already = found is None or found.bot_member
        if found is not None:
            found.bot_member = True
        answer: dict[str, Any] = {"ok": True, "channel": {"id": channel_id, "is_channel": True, "is_member": True,
                                                          "is_private": found is not None and found.kind == "private"}}
        if already:
            answer |= {"warning": "already_in_channel", "response_metadata": {"warnings": ["already_in_channel"]}}
        return answer

    async def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    async def _m_usergroups_users_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set a user group's members (the on-call group at a hand-off). As Slack's Web API spec says
        (/work/shared/refdata/slack/web-api/slack_web_openapi_v2.json, `/usergroups.users.update`;
        https://docs.slack.dev/reference/methods/usergroups.users.update): the token needs the
        `usergroups:write` scope; `usergroup` (the group's id) and `users` ("a comma separated string of
        encoded user IDs that represent the entire list of users") are required; the answer is `ok` and
        the `usergroup` object (objs_subteam, its `users` among them). An argument missing or not a
        user id is refused as `invalid_arg_name` (from the spec's error enum); an unknown group as
        `no_such_subteam`, as usergroups.users.list answers."""
        if "usergroups:write" not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": "usergroups:write",
                    "provided": ",".join(sorted(self.scopes))}
        group, users = str(args.get("usergroup", "")), str(args.get("users", ""))
        members = [u.strip() for u in users.split(",") if u.strip()]
        if not group or not members or not all(re.fullmatch(r"[UW][A-Z0-9]{2,}", u) for u in members):
            return {"ok": False, "error": "invalid_arg_name"}
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        self.usergroups[group] = members
        return {"ok": True, "usergroup": {"id": group, "team_id": TEAM_ID, "is_usergroup": True, "users": members,
                                          "user_count": len(members)}}

    async def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {**(args.get("view") or {}), "id": f"V{next(self._ts):08d}"}}

    async def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        """Step 1 of Slack's external upload (https://docs.slack.dev/reference/methods/files.getUploadURLExternal):
        `filename` and `length` (bytes) are required, `alt_txt` (an image's description for screen
        readers) and `snippet_type` optional; the answer is `upload_url` and `file_id`. Errors as listed
        there: `missing_argument` ("typically only occurs when the `length` provided is 0") and
        `alt_txt_too_large` (over 1000 characters). Step 2 is a POST of the bytes to `upload_url`
        (`_upload`), step 3 files.completeUploadExternal."""
        length = str(args.get("length") or "")
        if not args.get("filename") or not length.isdigit() or int(length) == 0:
            return {"ok": False, "error": "missing_argument"}
        if len(str(args.get("alt_txt") or "")) > 1000:
            return {"ok": False, "error": "alt_txt_too_large"}
        file_id = f"F{next(self._ts):08d}"
        self.uploads[file_id] = {
            "filename": args.get("filename"), "length": args.get("length"), "alt_txt": args.get("alt_txt"),
        }
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files") or []
        channel = args.get("channel_id") or ""
        if channel[:1] in ("U", "W"):  # only C/G/D/Z ids (github.com/slackapi/bolt-js/issues/2115)
            return {"ok": False, "error": "invalid_arguments"}
        refused = self._refusal(channel, posting_text=False) if channel else None
        if refused:
            return {"ok": False, "error": refused}
        for item in files:
            if item.get("id") not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            self.uploads[item["id"]].update(
                title=item.get("title"),
                channel=args.get("channel_id"),
                thread_ts=args.get("thread_ts"),
                initial_comment=args.get("initial_comment"),
            )
        if args.get("channel_id"):
            message = SlackMessage(
                channel=args["channel_id"],
                ts=self._next_ts(),
                text=args.get("initial_comment", ""),
                thread_ts=args.get("thread_ts"),
                blocks=[{"type": "file", "file_id": f.get("id"), "title": f.get("title")} for f in files],
            )
            self._keep(message, "posted")
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}


@dataclass
class _Outage:
    """Web API calls answered with an error, as while Slack is down: how many more, and which methods."""

    left: int
    status: int
    error: str
    methods: frozenset[str] | None

    def hits(self, method: str) -> bool:
        if self.left <= 0 or (self.methods is not None and method not in self.methods):
            return False
        self.left -= 1
        return True


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def find_button(message: SlackMessage, action_id: str, value: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the first button with `action_id` (and `value`, if given)."""
    return next(
        (
            (block_id, element)
            for block_id, element in buttons(message)
            if element.get("action_id") == action_id and (value is None or element.get("value") == value)
        ),
        None,
    )


def buttons(message: SlackMessage) -> list[tuple[str, dict[str, Any]]]:
    """Every button of a message in reading order, as (block_id, element): the console numbers these."""
    found = []
    for block in message.blocks:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") == "button":
                found.append((block.get("block_id", ""), element))
    return found
