"""`/logs` as Slack messages: a short result as a code block, a long one as a file with its first lines.

Every line shows time, level and message. What is shown was masked by the flow; here it is only
escaped (`&`, `<`, `>`, so a log line `<!channel>` pings nobody) and laid out within Slack's limits:
a section holds at most 3,000 characters, so lines are packed into code blocks of that size; a
result that needs more than `MAX_CODE_SECTIONS` of them goes into a file instead, and the message
keeps the first lines that fit in one block. A triple backtick inside a line would close the code
block early, so it is broken up with zero-width spaces (the file keeps the line as it was).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.catalog import UnknownService
from app.core.chat_text import counted
from app.core.logs import OTHER_PATTERN, Group, LogRecord, format_line
from app.core.logs_args import MAX_LINES, USAGE, LogsUsageError
from app.core.observations import SlowQueries
from app.flows.logs import LiveTail, LogsError, LogsFetchFailed, LogsResult, short_id
from app.slack.render.common import (
    MAX_SECTION_TEXT,
    context,
    escape,
    message,
    section,
    truncate,
)

MAX_CODE_SECTIONS = 3  # more than this many code blocks of lines, and the result goes into a file
PREVIEW_LINES = 20  # at most this many lines above the file
MESSAGE_LINE_WIDTH = 180
FILE_LINE_WIDTH = 4000
_FENCE = "```"
_PROVIDER_NAMES = {"railway": "Railway", "vercel": "Vercel", "postgres": "Postgres"}


@dataclass(frozen=True)
class LogsFile:
    """A text file to upload beside the message: the whole result, one line per log line."""

    filename: str
    title: str
    content: str
    lines: int


@dataclass(frozen=True)
class LogsDelivery:
    """The message to post, and the file to upload after it when the result is too long for a message."""

    message: dict[str, Any]
    file: LogsFile | None = None


def logs_delivery(result: LogsResult) -> LogsDelivery:
    """The message (and file) for one result; the message is within Slack's limits whatever the result."""
    shown = _message_lines(result)
    title = _title(result)
    facts = _facts(result)
    if not shown:
        empty = _nothing_found(result)
        blocks = [section(title), section(escape(empty)), context(*facts)]
        return LogsDelivery(message(escape(f"{_plain_title(result)}: {empty}"), blocks))
    chunks = _code_chunks(shown)
    if len(chunks) <= MAX_CODE_SECTIONS:
        blocks = [section(title), *(section(chunk) for chunk in chunks), context(*facts)]
        text = "\n".join([f"{_plain_title(result)}: {result.summary()}", *shown])
        return LogsDelivery(message(escape(text), blocks))
    file = logs_file(result)
    preview = _code_chunks(shown[:PREVIEW_LINES])[0]
    previewed = preview.count("\n") - 1
    note = (f"The first {previewed} of {len(shown)} lines. All of them are in the file `{file.filename}` "
            "below.")
    blocks = [section(title), section(preview), context(escape(note), *facts)]
    text = "\n".join([f"{_plain_title(result)}: {result.summary()} (in the file {file.filename})",
                      *shown[:previewed]])
    return LogsDelivery(message(escape(text), blocks), file)


def logs_file(result: LogsResult) -> LogsFile:
    """The whole result as text: a `#` header saying what it is, then one line per log line."""
    lines = _file_lines(result)
    stamp = result.fetched_at.strftime("%Y%m%d-%H%M%S")
    header = [
        f"# /logs {result.asked}",
        f"# {_PROVIDER_NAMES[result.source.provider]}: {result.source.describe(result.service)}",
        f"# {result.summary()}; read at {result.fetched_at.strftime('%Y-%m-%d %H:%M:%S')} UTC",
        *(f"# {note}" for note in result.notes),
    ]
    content = "\n".join([*header, "", *lines]) + "\n"
    return LogsFile(
        filename=f"logs-{result.service}-{stamp}.txt",
        title=f"Logs of {result.service}: {len(lines)} lines",
        content=content,
        lines=len(lines),
    )


def upload_comment(result: LogsResult, file: LogsFile) -> str:
    """What Slack shows above the uploaded file."""
    return escape(f"/logs {result.asked}: the whole result, {file.lines} lines")


def upload_failed(file: LogsFile, reason: str) -> dict[str, Any]:
    text = (f":warning: Could not attach `{escape(file.filename)}` ({escape(reason)}); "
            "the message above has its first lines.")
    return message(text, [section(text)])


def joined_to_attach(file: LogsFile) -> dict[str, Any]:
    """Told privately to the asker: pitcrew joined this public channel to attach the file."""
    text = (f":inbox_tray: pitcrew joined this channel to attach `{escape(file.filename)}` (Slack takes files "
            "only from members); remove it with `/kick @pitcrew` if it should not be here.")
    return message(text, [section(text)])


def file_in_dm_note(file: LogsFile, channel: str) -> dict[str, Any]:
    """The message in the asker's DM that the file follows."""
    text = (f"`{escape(file.filename)}`, the whole result of your /logs in <#{channel}>: pitcrew is not a "
            "member there, so it is here.")
    return message(text, [section(text)])


def file_sent_to_dm(file: LogsFile) -> dict[str, Any]:
    """Told privately to the asker when the file went to their DM instead of this channel."""
    text = (f":envelope: pitcrew is not a member of this channel, so `{escape(file.filename)}` is in your "
            "direct messages with @pitcrew. `/invite @pitcrew` here to have files attached in this channel.")
    return message(text, [section(text)])


def file_withheld(file: LogsFile) -> dict[str, Any]:
    """Said instead of attaching the file where pitcrew answers privately: a file would be seen by all."""
    text = (f":lock: `{escape(file.filename)}` is not attached here: pitcrew attaches log files only where it "
            "answers in public (the alerts channel, incident threads, slack.channels). The message above has "
            "the first lines; ask there, or narrow it with --lines, --level or --grep.")
    return message(text, [section(text)])


def tailing_message(tail: LiveTail) -> dict[str, Any]:
    """Posted when a Vercel live tail starts, and replaced by the answer when it is over."""
    said = (f":hourglass_flowing_sand: tailing {tail.service} for {tail.seconds:g} s… (deployment "
            f"{short_id(tail.deployment.id)}; Vercel shows only lines logged from now on)")
    return message(escape(said), [section(escape(said))])


def logs_usage(err: LogsUsageError) -> dict[str, Any]:
    """The private answer to `/logs help` or to a request that cannot be read."""
    lines = [f":warning: {escape(err.message)}"] if err.message else []
    blocks = [*(section(line) for line in lines), section(_code(escape(USAGE)))]
    return message("\n".join([*lines, USAGE]), blocks)


def unknown_service(err: UnknownService) -> dict[str, Any]:
    """The private answer to a service name pitcrew.yml does not have, with the ones it has."""
    known = ", ".join(f"`{escape(name)}`" for name in err.known) or "none (add some to pitcrew.yml)"
    said = f":warning: There is no service `{escape(err.name)}`. Known services: {known}."
    return message(f"{said}\n{USAGE}", [section(said), section(_code(escape(USAGE)))])


def logs_error(service: str, err: LogsError) -> dict[str, Any]:
    """Why there are no lines: which provider call failed and why, or what this service cannot give."""
    if isinstance(err, LogsFetchFailed):
        said = f":warning: Could not read the logs of `{escape(service)}`: {escape(err.reason)}"
    else:
        said = f":information_source: {escape(err.reason)}"
    hint = "`/logs help` lists the options."
    return message(f"{said}\n{hint}", [section(said), context(hint)])


# ---- the parts ------------------------------------------------------------------------------


def _title(result: LogsResult) -> str:
    provider = _PROVIDER_NAMES[result.source.provider]
    return (f":scroll: *`/logs {escape(result.asked)}`*\n"
            f"{provider} · {escape(result.source.describe(result.service))}")


def _plain_title(result: LogsResult) -> str:
    return f"/logs {result.asked}"


def _facts(result: LogsResult) -> list[str]:
    """The context line: counts and windows, then the flow's notes (each its own element)."""
    if result.mode == "slow":
        facts = [_slow_source(result.slow)] if result.slow is not None else []
    elif result.mode == "top":
        facts = [f"{len(result.groups)} of {result.distinct_groups} kinds of line, "
                 f"in {counted(result.matched, 'matching line')} of {result.scanned:,} read"]
    else:
        shown = len(result.records)
        if result.truncated:
            facts = [f"the newest {shown:,} of {result.matched:,} matching lines ({result.scanned:,} read)"]
        elif result.scanned != shown:
            facts = [f"{counted(shown, 'matching line')} ({result.scanned:,} read)"]
        else:
            facts = [counted(shown, 'line')]
    if result.window_full and result.fetch_limit >= MAX_LINES:
        facts.append(f"only the newest {result.fetch_limit:,} lines were read (the most pitcrew asks for); "
                     "older ones were not searched")
    elif result.window_full:
        facts.append("older lines were not read: `--lines` asks for more")
    deployment = result.source.deployment
    if deployment is not None and deployment.commit_message:
        first = deployment.commit_message.splitlines()[0] if deployment.commit_message.strip() else ""
        if first:
            facts.append(f"deployment {short_id(deployment.id)}: “{truncate(first, 80)}”")
    facts.append(f"times in UTC, read at {result.fetched_at.strftime('%H:%M:%S')}")
    return [escape(fact) for fact in [*facts, *result.notes]][:10]


def _nothing_found(result: LogsResult) -> str:
    if result.mode == "slow":
        if result.slow is not None and result.slow.source == "pg_stat_activity":
            return ("No query is running now, and pg_stat_statements is not available in this database, so there "
                    "is no history of slow queries. `CREATE EXTENSION pg_stat_statements` (with the module in "
                    "shared_preload_libraries) keeps one.")
        return "pg_stat_statements has recorded no statement in this database yet."
    if result.source.kind == "live tail":
        return (f"Nothing was logged during the {result.source.tail_seconds or 0:g} s live tail. Vercel's API "
                "shows only lines written after the request, so this says nothing about earlier ones.")
    if result.source.kind == "drain" and result.scanned == 0:
        return f"The log drain holds no line of {result.service} for this window."
    if result.scanned == 0:
        return "The log is empty for this window."
    return f"None of the {result.scanned:,} lines read matched."


def _slow_source(slow: SlowQueries | None) -> str:
    if slow is None:
        return ""
    if slow.source == "pg_stat_statements":
        return "from pg_stat_statements: slowest by mean time, since its statistics were last reset"
    said = "from pg_stat_activity: the queries running now, longest first"
    return said + (f" ({slow.note})" if slow.note else "")


def _message_lines(result: LogsResult) -> list[str]:
    if result.mode == "slow":
        return _slow_lines(result.slow, MESSAGE_LINE_WIDTH)
    if result.mode == "top":
        return _group_lines(result.groups, MESSAGE_LINE_WIDTH)
    return [format_line(record, MESSAGE_LINE_WIDTH) for record in result.records]


def _file_lines(result: LogsResult) -> list[str]:
    if result.mode == "slow":
        return _slow_lines(result.slow, FILE_LINE_WIDTH)
    if result.mode == "top":
        return _group_lines(result.groups, FILE_LINE_WIDTH)
    return [_dated(record) for record in result.records]


def _dated(record: LogRecord) -> str:
    """A file may span days: its lines carry the date as well."""
    day = record.timestamp.strftime("%Y-%m-%d") if record.timestamp is not None else "----------"
    return f"{day} {format_line(record, FILE_LINE_WIDTH)}"


def _group_lines(groups: Sequence[Group], width: int) -> list[str]:
    """`   312  ERROR  Error: connect ECONNREFUSED <ip>`, then when it was last seen and one real example
    (unless the example reads just like the pattern)."""
    lines: list[str] = []
    for group in groups:
        level = (group.level or "-").upper()
        pattern = "(other kinds of line, past the limit)" if group.pattern == OTHER_PATTERN else group.pattern
        lines.append(_cut(f"{group.count:>6}  {level:<5}  {_one_line(pattern)}", width))
        when = group.last_seen.strftime("%H:%M:%S") if group.last_seen is not None else "--:--:--"
        example = _one_line(group.example)
        shown = f" · e.g. {example}" if example != _one_line(pattern) else ""
        lines.append(_cut(f"{'':>6}  last {when}{shown}", width))
    return lines


def _slow_lines(slow: SlowQueries | None, width: int) -> list[str]:
    if slow is None:
        return []
    if slow.statements:
        head = f"{'mean ms':>10} {'total ms':>12} {'calls':>8}  query"
        rows = [
            f"{s.mean_ms:>10.1f} {s.total_ms:>12.1f} {s.calls:>8}  {_one_line(s.query)}" for s in slow.statements
        ]
        return [head, *(_cut(row, width) for row in rows)]
    if slow.running:
        head = f"{'pid':>7} {'running':>9}  {'waiting on':<24} query"
        rows = [
            f"{q.pid:>7} {q.duration_s:>8.1f}s  {(q.wait_event or 'CPU'):<24} {_one_line(q.query or '(not visible)')}"
            for q in slow.running
        ]
        return [head, *(_cut(row, width) for row in rows)]
    return []


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _safe(line: str) -> str:
    """A line fit for a code block: escaped, and no ``` that would end the block."""
    return escape(line).replace(_FENCE, "`\u200b`\u200b`")


def _code(text: str) -> str:
    return f"{_FENCE}\n{text}\n{_FENCE}"


def _code_chunks(lines: Sequence[str]) -> list[str]:
    """The lines as code blocks of at most 3,000 characters each, none cut in the middle of a line."""
    budget = MAX_SECTION_TEXT - 2 * (len(_FENCE) + 1)
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        safe = _safe(line)
        if len(safe) > budget:  # only a line far wider than MESSAGE_LINE_WIDTH could be; cut it, not the block
            safe = truncate(safe, budget)
        if current and size + 1 + len(safe) > budget:
            chunks.append(_code("\n".join(current)))
            current, size = [], 0
        size += len(safe) + (1 if current else 0)
        current.append(safe)
    if current:
        chunks.append(_code("\n".join(current)))
    return chunks
