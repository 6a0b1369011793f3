"""Reading what follows `/logs` (or `@pitcrew logs`): `api --since 30m --level error --grep "db timeout"`.

Every mistake is a `LogsUsageError` whose message names the bad part and what is expected; the
edges show it with `USAGE`, privately. Whether the service exists, or is a Postgres service for
`--slow`, is for the flow to say: it knows the catalog, this module does not.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.chat_text import unescape
from app.core.durations import BadDuration, looks_like_duration, parse_duration
from app.core.logs import LogFilter

USAGE = """\
Usage: /logs <service> [options]
  --since 30m         how far back: 30s, 15m, 2h, 1d, up to 7d (also 1h30m)
  --lines 50          how many lines, 1 to 5000 (default 50)
  --level error       this level and above: debug, info, warn, error, fatal
  --grep TEXT         lines containing TEXT, any case; quote it for spaces: --grep "db timeout"
  --request-id ID     lines of one request
  --deployment ID     lines of one deployment
  --top               the most frequent kinds of line, counted, instead of the lines
  --build             the build logs of the deployment instead of its runtime logs
  --slow              Postgres services: the slowest queries
Examples: /logs api --level error --since 1h   ·   /logs api --grep "timeout" --top   ·   /logs db --slow"""

DEFAULT_LINES = 50
MAX_LINES = 5000
MAX_SINCE = timedelta(days=7)
LEVEL_CHOICES = ("debug", "info", "warn", "warning", "error", "fatal")
MAX_GREP_LENGTH = 200

_VALUE_OPTIONS = ("--since", "--lines", "--level", "--grep", "--request-id", "--deployment")
_FLAG_OPTIONS = ("--top", "--build", "--slow")
_HELP_WORDS = frozenset({"help", "--help", "-h", "?"})
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}")
# Slack and phones turn quotes into curly ones (and Slack escapes &, < and >: core/chat_text.py).
_TYPOGRAPHY = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "\u00a0": " "})
# --slow reads pg_stat_statements, not log lines: only these make sense beside it.
_WITH_SLOW = frozenset({"--slow", "--lines", "--since"})


class LogsUsageError(ValueError):
    """A `/logs` command that cannot be run as typed. `message` says what was wrong and what is
    expected; it is empty for `help`, which is not a mistake but still answers with `USAGE`."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "usage")
        self.message = message
        self.usage = USAGE

    def __str__(self) -> str:
        return f"{self.message}\n\n{USAGE}" if self.message else USAGE


@dataclass(frozen=True)
class LogsArgs:
    """A valid `/logs` request. `level` is normalised (`warning` → `warn`); `since` is a duration back from now."""

    service: str
    since: timedelta | None = None
    lines: int = DEFAULT_LINES
    level: str | None = None
    grep: str | None = None
    request_id: str | None = None
    deployment_id: str | None = None
    top: bool = False
    build: bool = False
    slow: bool = False

    @classmethod
    def parse(cls, text: str) -> LogsArgs:
        return parse_logs_args(text)

    def log_filter(self, now: datetime) -> LogFilter:
        """The `LogFilter` these arguments ask for, `since` counted back from `now`."""
        return LogFilter(
            since=now - self.since if self.since is not None else None,
            level=self.level,
            grep=self.grep,
            request_id=self.request_id,
            deployment_id=self.deployment_id,
        )


def parse_logs_args(text: str) -> LogsArgs:
    """`LogsArgs` from the text after `/logs`; `LogsUsageError` for `help` or anything wrong."""
    tokens = _split(text)
    if not tokens or tokens[0].lower() in _HELP_WORDS:
        if not tokens:
            raise LogsUsageError("Which service? Name one, e.g. `/logs api`.")
        raise LogsUsageError()
    if any(token.lower() in ("--help", "-h") for token in tokens):
        raise LogsUsageError()

    service = tokens[0]
    if service.startswith("-"):
        raise LogsUsageError(f"Name the service first, then the options: `/logs <service> {_show(service)} ...`.")
    if not _SERVICE_NAME.fullmatch(service):
        raise LogsUsageError(
            f"`{_show(service)}` is not a service name: letters, digits, `-`, `_` and `.`, up to 63 characters."
        )

    values: dict[str, str] = {}
    flags: set[str] = set()
    position = 1
    while position < len(tokens):
        token = tokens[position]
        position += 1
        name, has_inline, inline = token.partition("=") if token.startswith("--") else (token, False, "")
        name = name.lower()
        if not token.startswith("-"):
            raise LogsUsageError(
                f"Unexpected `{_show(token)}` after the service name. To search for text use "
                f"`--grep {_quote(token)}`; one service per command."
            )
        if name in _FLAG_OPTIONS:
            if has_inline:
                raise LogsUsageError(f"`{name}` takes no value; write just `{name}`.")
            if name in flags:
                raise LogsUsageError(f"`{name}` is given twice; once is enough.")
            flags.add(name)
            continue
        if name not in _VALUE_OPTIONS:
            raise LogsUsageError(_unknown_option(token))
        if name in values:
            raise LogsUsageError(f"`{name}` is given twice; give it once.")
        if has_inline:
            value = inline
        elif position < len(tokens) and not tokens[position].startswith("--"):
            value = tokens[position]
            position += 1
        else:
            value = ""
        if value == "":
            raise LogsUsageError(f"`{name}` needs a value, e.g. `{name} {_EXAMPLES[name]}`.")
        values[name] = value

    used = set(values) | flags
    if "--slow" in used and used - _WITH_SLOW:
        others = ", ".join(f"`{option}`" for option in sorted(used - _WITH_SLOW))
        raise LogsUsageError(f"`--slow` lists slow queries, not log lines: it goes with `--lines` and "
                             f"`--since` only, not with {others}.")
    if "--build" in flags and "--request-id" in values:
        raise LogsUsageError("Build logs have no requests: use `--request-id` without `--build`.")

    return LogsArgs(
        service=service,
        since=_since(values["--since"]) if "--since" in values else None,
        lines=_lines(values["--lines"]) if "--lines" in values else DEFAULT_LINES,
        level=_level(values["--level"]) if "--level" in values else None,
        grep=_grep(values["--grep"]) if "--grep" in values else None,
        request_id=_identifier("--request-id", values["--request-id"]) if "--request-id" in values else None,
        deployment_id=_identifier("--deployment", values["--deployment"]) if "--deployment" in values else None,
        top="--top" in flags,
        build="--build" in flags,
        slow="--slow" in flags,
    )


_EXAMPLES = {
    "--since": "30m",
    "--lines": "100",
    "--level": "error",
    "--grep": '"db timeout"',
    "--request-id": "7f3a9c2e",
    "--deployment": "d9e8f7a6",
}


def _split(text: str) -> list[str]:
    text = unescape((text or "").translate(_TYPOGRAPHY))
    try:
        return shlex.split(text)
    except ValueError as err:  # "No closing quotation", "No escaped character"
        raise LogsUsageError(
            f"Could not read the command: {str(err).lower()}. Close every quote: `--grep \"db timeout\"`."
        ) from None


def _since(value: str) -> timedelta:
    """`--since` through the one duration reader (app/core/durations.py), worded for `/logs`."""
    if not looks_like_duration(value):
        raise LogsUsageError(
            f"`--since {_show(value)}` is not a duration. Use a number and a unit: `30s`, `15m`, `2h`, `1d`, "
            f"`7d` (or `1h30m`)."
        )
    try:
        return parse_duration(value, limit=MAX_SINCE, what="`--since`")
    except BadDuration:
        if sum(int(n) for n in re.findall(r"\d+", value)) == 0:
            raise LogsUsageError(f"`--since {_show(value)}` is no time at all; use e.g. `--since 30m`.") from None
        raise LogsUsageError(f"`--since {_show(value)}` is too far back; the limit is 7 days (`--since 7d`).") from None


def _lines(value: str) -> int:
    if not value.isdigit() or not value.isascii():
        raise LogsUsageError(
            f"`--lines {_show(value)}` is not a whole number; use 1 to {MAX_LINES}, e.g. `--lines 100`."
        )
    lines = int(value)
    if not 1 <= lines <= MAX_LINES:
        raise LogsUsageError(f"`--lines {lines}` is out of range; use 1 to {MAX_LINES}.")
    return lines


def _level(value: str) -> str:
    level = value.strip().lower()
    if level not in LEVEL_CHOICES:
        raise LogsUsageError(f"`--level {_show(value)}` is not a level; use one of {', '.join(LEVEL_CHOICES)}.")
    return "warn" if level == "warning" else level


def _grep(value: str) -> str:
    if not value.strip():
        raise LogsUsageError('`--grep` needs some text to look for, e.g. `--grep "db timeout"`.')
    if len(value) > MAX_GREP_LENGTH:
        raise LogsUsageError(f"`--grep` text is {len(value)} characters; keep it under {MAX_GREP_LENGTH}.")
    if any(ord(char) < 32 for char in value):
        raise LogsUsageError("`--grep` text cannot hold control characters.")
    return value


def _identifier(option: str, value: str) -> str:
    if not _ID.fullmatch(value):
        raise LogsUsageError(
            f"`{option} {_show(value)}` is not an id: letters, digits and `-_.:/`, up to 128 characters, "
            f"e.g. `{option} {_EXAMPLES[option]}`."
        )
    return value


def _unknown_option(token: str) -> str:
    name = token.partition("=")[0].lower()
    known = [*_VALUE_OPTIONS, *_FLAG_OPTIONS]
    close = difflib.get_close_matches(name if name.startswith("--") else "-" + name, known, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return f"`{_show(token)}` is not an option of `/logs`.{hint} Options: {', '.join(known)}."


def _show(value: str, limit: int = 40) -> str:
    """A user's token as it can be echoed back: shortened, without backticks that would break the markup."""
    value = value.replace("`", "'")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _quote(value: str) -> str:
    return shlex.quote(value) if value else '""'
