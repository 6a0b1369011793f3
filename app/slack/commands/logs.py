"""`/logs <service> [options]` and `@pitcrew logs <service> [options]`: parse, call the flow, deliver.

Reading logs can take seconds (a provider's page of 5,000 lines, a Vercel live tail of
`logs.tail_seconds`), so the command is acknowledged first and answered when the lines are in. A
live tail is announced at once ("tailing web for 20 s…") and that message is replaced by the
answer when the tail is over. The answer goes where the question was asked (into the channel for
`/logs`, into the thread for a mention) when pitcrew answers in public there (the alerts channel,
incident threads, slack.channels); anywhere else, a direct message or a Slack Connect channel, only
the asker sees it, and no file is attached. Usage, unknown
services and failures are told privately to whoever asked. A result too long for a message is
uploaded as a file (files.getUploadURLExternal + upload + files.completeUploadExternal, which
slack-sdk's `files_upload_v2` does against SLACK_API_URL and the URL Slack hands back). Slack takes a
file only in a conversation the bot is in (app/slack/membership.py): in a public channel it was never
invited to, pitcrew joins and attaches it; where it cannot join, the file goes to the asker's DM with
the bot; either way the asker is told, and where neither works, to `/invite @pitcrew`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from app.catalog import UnknownService
from app.core.logs_args import LogsArgs, LogsUsageError
from app.core.secrets import mask_values
from app.deps import Deps
from app.flows.logs import LiveTail, LogsError, LogsResult, fetch_logs
from app.flows.responders import answers_publicly
from app.slack.context import deps_of
from app.slack.deferral import deferred
from app.slack.membership import INVITE_HINT, is_user, join, not_a_member, post_to_dm, slack_error
from app.slack.render.logs import (
    LogsFile,
    file_in_dm_note,
    file_sent_to_dm,
    file_withheld,
    joined_to_attach,
    logs_delivery,
    logs_error,
    logs_usage,
    tailing_message,
    unknown_service,
    upload_comment,
)
from app.slack.render.logs import upload_failed as upload_failed_message
from app.slack.replays import rerunnable

log = logging.getLogger("pitcrew.logs")

Post = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Place:
    """Where one `/logs` is answered: the answer's post and private posts, and the channel (and thread)
    for the file; `in_public` false where the answer is private (slack.channels), and no file is attached."""

    public: Post
    private: Post
    channel: str
    thread_ts: str | None
    client: AsyncWebClient
    in_public: bool = True
    # Post a notice that the next `replace` call turns into the answer (a live tail's "tailing…").
    notice: Post | None = None
    replace: Post | None = None
    asker: str | None = None  # whose DM with the bot takes the file when the channel cannot


@dataclass(frozen=True)
class Answered:
    """How a request ended, for the audit trail: the outcome, and the request as it may be recorded."""

    outcome: str
    text: str


async def answer_logs(deps: Deps, text: str, place: Place) -> Answered:
    """Run one `/logs` request from its text to the messages (and file) in Slack."""
    try:
        args = LogsArgs.parse(text)
    except LogsUsageError as err:
        if err.message:  # it may quote what was typed: mask that as any text pitcrew posts
            err = LogsUsageError(mask_values(err.message, deps.secret_values()))
        await place.private(logs_usage(err))
        return Answered("usage", text)
    noticed = False

    async def on_tail(tail: LiveTail) -> None:
        nonlocal noticed
        if place.notice is not None:
            await place.notice(tailing_message(tail))
            noticed = True

    try:
        result = await fetch_logs(deps, args, on_tail=on_tail)
    except UnknownService as err:
        await place.private(unknown_service(err))
        return Answered("unknown service", text)
    except LogsError as err:
        if noticed and place.replace is not None:  # the "tailing…" notice says what became of it
            await place.replace(logs_error(args.service, err))
        else:
            await place.private(logs_error(args.service, err))
        return Answered(f"no logs: {err.reason}", text)
    except Exception as err:  # a bug must still get an answer, and no traceback to Slack
        log.exception("/logs %s failed", args.service)
        reason = mask_values(f"unexpected {type(err).__name__}", deps.secret_values())
        await place.private(logs_error(args.service, LogsError(f"pitcrew failed ({reason}); see its log.")))
        return Answered(f"failed: {reason}", text)
    delivered = await deliver(result, place, replace_notice=noticed)
    return Answered(delivered, result.asked)


async def deliver(result: LogsResult, place: Place, *, replace_notice: bool = False) -> str:
    """Post the result (in place of the "tailing…" notice when one was posted), then its file when it
    has one; a file that cannot be attached is said so."""
    delivery = logs_delivery(result)
    if replace_notice and place.replace is not None:
        await place.replace(delivery.message)
    else:
        await place.public(delivery.message)
    outcome = f"ok: {result.summary()}"
    if delivery.file is None:
        return outcome
    if not place.in_public:
        await place.private(file_withheld(delivery.file))
        return f"{outcome}; file withheld (not answering in public here)"
    comment = upload_comment(result, delivery.file)
    try:
        await upload(place, delivery.file, comment)
    except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as err:
        if isinstance(err, SlackApiError) and not_a_member(err):
            return await _upload_elsewhere(place, delivery.file, comment, outcome, slack_error(err))
        reason = _slack_reason(err)
        await place.public(upload_failed_message(delivery.file, reason))
        return f"{outcome}; file not attached: {reason}"
    return f"{outcome}; file {delivery.file.filename}"


async def _upload_elsewhere(place: Place, file: LogsFile, comment: str, outcome: str, refused: str) -> str:
    """The bot is not in the channel: join it when Slack lets it, else the asker's DM, and say which."""
    errors = (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError)
    if await join(place.client, place.channel):
        try:
            await upload(place, file, comment)
        except errors as err:
            refused = _slack_reason(err)
        else:
            await place.private(joined_to_attach(file))
            return f"{outcome}; joined {place.channel}; file {file.filename}"
    if place.asker and is_user(place.asker):
        try:
            dm, _ = await post_to_dm(place.client, place.asker, **file_in_dm_note(file, place.channel))
            await upload(replace(place, channel=dm, thread_ts=None), file, comment)
        except errors as err:
            refused = _slack_reason(err)
        else:
            await place.private(file_sent_to_dm(file))
            return f"{outcome}; file {file.filename} sent to the asker's DM (not a member of {place.channel})"
    await place.public(upload_failed_message(file, f"Slack said {refused}; {INVITE_HINT}"))
    return f"{outcome}; file not attached: {refused}"


async def upload(place: Place, file: LogsFile, comment: str) -> None:
    await place.client.files_upload_v2(
        channel=place.channel,
        thread_ts=place.thread_ts,
        content=file.content,
        filename=file.filename,
        title=file.title,
        initial_comment=comment,
        snippet_type="text",
    )


def _slack_reason(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return f"Slack said {err.response.get('error', 'an error')}"
    return f"{type(err).__name__}: {str(err)[:200]}"


# ---- the slash command ------------------------------------------------------------------------


@rerunnable  # reads and answers only: run again after Slack was away
@deferred()
async def on_logs(ack: Any, command: dict[str, Any], respond: Any, client: AsyncWebClient, context: Any) -> None:
    await ack()
    deps = deps_of(context)

    in_public = await answers_publicly(deps, command.get("channel_id"))

    async def public(message: dict[str, Any]) -> None:
        await respond(**message, response_type="in_channel" if in_public else "ephemeral")

    async def private(message: dict[str, Any]) -> None:
        await respond(**message, response_type="ephemeral")

    async def replace(message: dict[str, Any]) -> None:
        # A slash command's response_url edits the message that command produced.
        await respond(**message, response_type="in_channel" if in_public else "ephemeral", replace_original=True)

    channel = command.get("channel_id", "")
    place = Place(public, private, channel, None, client, in_public, notice=public, replace=replace,
                  asker=command.get("user_id"))
    answered = await answer_logs(deps, command.get("text", ""), place)
    await deps.audit(
        actor=command.get("user_id", "unknown"),
        action="command /logs",
        target=command.get("channel_id"),
        params={"text": answered.text},
        outcome=answered.outcome,
    )


# ---- the mention ------------------------------------------------------------------------------


class MentionLike(Protocol):
    """What a mention verb is given (app/slack/mentions.py `Mention`)."""

    user: str
    channel: str
    thread_ts: str | None
    args: str

    @property
    def reply_ts(self) -> str: ...


async def logs_verb(mention: MentionLike, context: Any, reply: Callable[..., Awaitable[Any]]) -> str:
    """`@pitcrew logs api --level error` in a thread: the lines go to that thread; mistakes to the asker."""
    deps = deps_of(context)
    client: AsyncWebClient = context.client

    async def public(message: dict[str, Any]) -> None:
        await reply(**message)

    async def private(message: dict[str, Any]) -> None:
        await client.chat_postEphemeral(
            channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **message
        )

    in_public = await answers_publicly(deps, mention.channel, mention.thread_ts)
    notice_ts: list[str] = []

    async def notice(message: dict[str, Any]) -> None:
        posted = await reply(**message)
        ts = posted.get("ts") if posted is not None and hasattr(posted, "get") else None
        if isinstance(ts, str):
            notice_ts.append(ts)

    async def replace(message: dict[str, Any]) -> None:
        if notice_ts:
            await client.chat_update(channel=mention.channel, ts=notice_ts[-1], **message)
        else:
            await reply(**message)

    # An ephemeral reply cannot be edited: where the answer is private, it comes once, at the end.
    place = Place(
        public, private, mention.channel, mention.reply_ts, client, in_public,
        notice=notice if in_public else None, replace=replace if in_public else None, asker=mention.user,
    )
    answered = await answer_logs(deps, mention.args, place)
    return answered.outcome
