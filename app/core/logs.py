"""The pure core of `/logs`: log records, filtering, masking as a stream, and grouping for `--top`.

What the runbooks do by hand (`railway logs | grep ERROR`, `grep ERROR | sort | uniq -c | sort -nr`,
searching for a request id) is done here on plain values: a provider turns its lines into
`LogRecord`s, `process` filters and masks them as they stream past, `TopGroups` counts lines that
differ only by numbers and ids, and `format_line` makes one compact line of each record.

Memory never grows with the number of lines read: `process` keeps at most `limit` records, and
`TopGroups` keeps at most `max_patterns` groups (10,000 by default; further patterns are counted in
one "other" group) plus a bounded cache.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from app.core.masking import MASK, Masker, is_secret_name

LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
# A line whose level nobody could tell counts as `info` when filtering: `--level warn` hides it,
# `--level debug` shows it. That is what `grep ERROR` does too: an unmarked line is not an error.
UNKNOWN_LEVEL_RANK = LEVEL_RANK["info"]

_LEVEL_WORDS = {
    **{word: "trace" for word in ("trace", "trc", "verbose", "silly", "finest", "finer", "10", "t")},
    **{word: "debug" for word in ("debug", "dbg", "fine", "20", "d")},
    **{word: "info" for word in ("info", "inf", "information", "informational", "notice", "log", "http",
                                  "30", "i")},
    **{word: "warn" for word in ("warn", "warning", "wrn", "40", "w")},
    **{word: "error" for word in ("error", "err", "severe", "50", "e")},
    **{word: "fatal" for word in ("fatal", "critical", "crit", "panic", "emerg", "emergency", "alert", "60", "f")},
}
# Keys under which structured loggers (pino, winston, zap, python, Railway attributes) put the level.
_LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel")


def normalise_level(word: object) -> str | None:
    """`ERROR`, `err`, `Warning`, `CRITICAL`, pino's `50`, Railway's `err` → one of `LEVELS`; else None."""
    if word is None or isinstance(word, bool):
        return None
    return _LEVEL_WORDS.get(str(word).strip().lower())


# Level detection runs on every record a provider builds, so each marker is a pattern that begins with
# a literal (the regex engine then skips ahead to that character) behind a cheap substring guard.
_EXPLICIT_LEVEL = re.compile(  # searched in the lower-cased line
    r"""(?:level|lvl|severity|levelname|loglevel|log\.level)(?<![a-z0-9_]level)(?<![a-z0-9_]lvl)"""
    r"""(?<![a-z0-9_]severity)["']?\s*[:=]\s*["']?(?P<word>[a-z]+|\d{2})\b""",
    re.ASCII,
)
_UPPER_WORDS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "WARN", "ERROR", "ERR", "FATAL", "CRITICAL", "CRIT",
                "PANIC", "SEVERE", "EMERG")
_LEVEL_WORD = r"(?i:trace|debug|info|notice|warning|warn|error|err|fatal|critical|crit|panic)"
_BRACKETED = re.compile(rf"\[(?P<word>{_LEVEL_WORD})\]", re.ASCII)
_UPPER = re.compile("|".join(rf"{w}(?<![\w./-]{w})(?![\w./-])" for w in _UPPER_WORDS) + r"|LOG(?=:)")
_ERROR_WORDS = ("Error:", "Exception:", "Traceback (most recent call last)", "Unhandled")
_ERROR = re.compile(r"(?:Error|Exception):|Traceback \(most recent call last\)|\bUnhandled")
_LEADING_LEVEL = re.compile(rf"\W{{0,3}}(?P<word>{_LEVEL_WORD})[ \t]{{0,3}}:", re.ASCII)  # winston: `error: ...`
_DETECT_CHARS = 400  # markers sit at the start of a line; only an explicit field is looked for further


def detect_level(message: str) -> str | None:
    """The level a line announces in its text, for providers that give none.

    An explicit `level=`/`"level":` field wins wherever it is (the logger said so); otherwise the
    first marker in the line: `error:` at the start, `[error]`, `ERROR`, `TypeError:`, `Warning:`,
    `panic:`. Lower-case words in prose ("no error found") are not markers.
    """
    lowered = message.lower()
    if "level" in lowered or "lvl" in lowered or "severity" in lowered:
        explicit = _EXPLICIT_LEVEL.search(lowered)
        if explicit:
            level = normalise_level(explicit.group("word"))
            if level:
                return level
    head = message[:_DETECT_CHARS]
    if head.startswith("panic:"):
        return "fatal"
    if ":" in head[:18]:
        leading = _LEADING_LEVEL.match(head)
        if leading:
            return normalise_level(leading.group("word"))
    # the leftmost of the remaining markers wins
    found: list[tuple[int, str | None]] = []
    if "[" in head and (match := _BRACKETED.search(head)):
        found.append((match.start(), normalise_level(match.group("word"))))
    if match := _UPPER.search(head):
        found.append((match.start(), normalise_level(match.group())))
    if any(word in head for word in _ERROR_WORDS) and (match := _ERROR.search(head)):
        found.append((match.start(), "error"))
    if "Warning:" in head:
        found.append((head.index("Warning:"), "warn"))
    return min(found, key=lambda item: item[0])[1] if found else None


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log line as any provider gives it.

    Built with `level=None`, the level is taken from a `level`/`severity` attribute or read from the
    message; a naive timestamp is taken as UTC. So every record compares and filters the same way,
    whichever provider made it.
    """

    timestamp: datetime | None
    level: str | None
    message: str
    attributes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timestamp is not None and self.timestamp.tzinfo is None:
            object.__setattr__(self, "timestamp", self.timestamp.replace(tzinfo=UTC))
        level = normalise_level(self.level)
        if level is None:
            for key in _LEVEL_KEYS:
                if key in self.attributes:
                    level = normalise_level(self.attributes[key])
                    if level:
                        break
            else:
                level = detect_level(self.message)
        if level != self.level:
            object.__setattr__(self, "level", level)


def parse_timestamp(value: object) -> datetime | None:
    """RFC 3339 (with nanoseconds, as Railway sends), ISO 8601, or epoch seconds/milliseconds → aware UTC."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):  # epoch seconds, or milli-, micro-, nanoseconds told by their size
        divisor = 1e9 if value > 1e17 else 1e6 if value > 1e14 else 1e3 if value > 1e11 else 1
        seconds = value / divisor
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return parse_timestamp(int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def make_record(
    message: str,
    *,
    timestamp: object = None,
    level: object = None,
    attributes: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
) -> LogRecord:
    """A `LogRecord` from what a provider hands over: string timestamps, any level word, attribute
    pairs (Railway gives a list of `{key, value}`) with values of any type."""
    pairs = attributes.items() if isinstance(attributes, Mapping) else (attributes or ())
    attrs = {str(key): value if isinstance(value, str) else "" if value is None else str(value) for key, value in pairs}
    return LogRecord(parse_timestamp(timestamp), normalise_level(level), str(message), attrs)


# Attribute names that carry a deployment id, compared without case, `_`, `-` or `.`.
_DEPLOYMENT_KEYS = frozenset({"deploymentid", "deployment", "deployid"})


def _squash(key: str) -> str:
    return key.replace("_", "").replace("-", "").replace(".", "").lower()


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LogFilter:
    """Which lines `/logs` shows. Every criterion left as None lets every line through.

    - `since`/`until`: inclusive bounds; a line without a timestamp passes (the provider already
      asked for the window, and hiding an undated crash line would be worse).
    - `level`: at or above; lines of unknown level count as `info`.
    - `grep`: case-insensitive substring of the message or of an attribute value.
    - `request_id`: case-insensitive substring of the message or of any attribute value.
    - `deployment_id`: a `deploymentId`-like attribute equal to it or starting with it (short ids work);
      a line with no such attribute is left out.

    `grep` and `request_id` look at the *masked* line (see `process`): otherwise
    `--grep sk_live_4eC39` would answer whether that secret appears, one guess at a time.
    """

    since: datetime | None = None
    until: datetime | None = None
    level: str | None = None
    grep: str | None = None
    request_id: str | None = None
    deployment_id: str | None = None
    _needles: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "since", _as_utc(self.since))
        object.__setattr__(self, "until", _as_utc(self.until))
        if self.level is not None:
            level = normalise_level(self.level)
            if level is None:
                raise ValueError(f"unknown log level {self.level!r}; expected one of {', '.join(LEVELS)}")
            object.__setattr__(self, "level", level)
        for name in ("grep", "request_id", "deployment_id"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        # folded once here rather than once per line
        object.__setattr__(self, "_needles", tuple(n.casefold() for n in (self.grep, self.request_id) if n))

    @property
    def has_meta(self) -> bool:
        """Criteria that masking cannot change: time, level, deployment."""
        return any(v is not None for v in (self.since, self.until, self.level, self.deployment_id))

    @property
    def has_text(self) -> bool:
        """Criteria on the text, checked after masking."""
        return self.grep is not None or self.request_id is not None

    def matches(self, record: LogRecord) -> bool:
        return self.matches_meta(record) and self.matches_text(record)

    def matches_meta(self, record: LogRecord) -> bool:
        if self.since is not None or self.until is not None:
            moment = _as_utc(record.timestamp)
            if moment is not None:
                if self.since is not None and moment < self.since:
                    return False
                if self.until is not None and moment > self.until:
                    return False
        if self.level is not None:
            rank = LEVEL_RANK.get(record.level, UNKNOWN_LEVEL_RANK) if record.level else UNKNOWN_LEVEL_RANK
            if rank < LEVEL_RANK[self.level]:
                return False
        if self.deployment_id is not None:
            wanted = self.deployment_id.lower()
            if not any(
                _squash(key) in _DEPLOYMENT_KEYS and str(value).lower().startswith(wanted)
                for key, value in record.attributes.items()
            ):
                return False
        return True

    def matches_text(self, record: LogRecord) -> bool:
        for needle in self._needles:
            if needle in record.message.casefold():
                continue
            if any(needle in str(value).casefold() for value in record.attributes.values()):
                continue
            return False
        return True


_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """Colour codes mean nothing in Slack, and a code in the middle of a token would hide it from masking."""
    return _ANSI_ESCAPE.sub("", text) if "\x1b" in text else text


_is_secret_attribute = functools.lru_cache(maxsize=4096)(is_secret_name)


def mask_record(record: LogRecord, masker: Masker) -> LogRecord:
    """The record with its message and every attribute value masked; the same object if nothing changed.

    Attribute values under secret-looking names (`authorization`, `apiKey`) are masked whole. The
    message, the values and the names (as `name=`, which is what a secret name needs to be noticed)
    are first looked at together, joined, which settles the usual case (nothing to mask) in one
    cheap question instead of one per string.
    """
    message = record.message
    if "\x1b" in message:
        message = strip_ansi(message)
    attributes = record.attributes
    if attributes:
        names = "=\x1f".join(attributes)
        try:
            probe = "\x1f".join((message, *attributes.values(), names, "="))
        except TypeError:
            probe = "\x1f".join((message, *map(str, attributes.values()), names, "="))
        if not masker.could_hold_secret(probe):
            if message is record.message:
                return record
            return LogRecord(record.timestamp, record.level, message, attributes)
    masked = masker.mask(message)
    new_attributes: dict[str, str] | None = None
    if attributes:
        for key, value in attributes.items():
            if _is_secret_attribute(key) and value:
                clean = MASK
            else:
                clean = masker.mask(value) if isinstance(value, str) else value
            if clean is not value and clean != value:
                if new_attributes is None:
                    new_attributes = dict(attributes)
                new_attributes[key] = clean
    if masked is record.message and new_attributes is None:
        return record
    return LogRecord(record.timestamp, record.level, masked,
                     attributes if new_attributes is None else new_attributes)


def process(
    records: Iterable[LogRecord],
    filt: LogFilter,
    masker: Masker,
    limit: int | None = None,
    *,
    keep: Literal["last", "first"] = "last",
) -> Iterator[LogRecord]:
    """The records that pass `filt`, masked, at most `limit` of them (None: all, for `--top`).

    `keep="last"` gives the most recent `limit` matches in their original order, what
    `railway logs | grep ERROR | tail -n 50` gives; providers must hand records oldest first.
    It holds at most `limit` records and yields once the input is exhausted. `keep="first"` yields
    each match as it is found and stops reading after `limit`.

    Masking happens before the text criteria are checked (see `LogFilter`); with no text criterion,
    only the records that are returned get masked, which is what makes `/logs api` cheap.
    """
    if keep not in ("last", "first"):
        raise ValueError(f"keep must be 'last' or 'first', not {keep!r}")
    if limit is not None and limit <= 0:
        return
    meta = filt.matches_meta if filt.has_meta else None
    text = filt.matches_text if filt.has_text else None
    if keep == "last" and limit is not None:
        window: deque[LogRecord] = deque(maxlen=limit)
        if text is None:
            for record in records:
                if meta is None or meta(record):
                    window.append(record)
            for record in window:
                yield mask_record(record, masker)
            return
        for record in records:
            if meta is not None and not meta(record):
                continue
            masked = mask_record(record, masker)
            if text(masked):
                window.append(masked)
        yield from window
        return
    count = 0
    for record in records:
        if meta is not None and not meta(record):
            continue
        masked = mask_record(record, masker)
        if text is not None and not text(masked):
            continue
        yield masked
        count += 1
        if limit is not None and count >= limit:
            return


# --- folding: lines that differ only by numbers and ids become one pattern -------------------------

_FOLD_RULES = r"""
    (?P<ts>\b\d{4}-\d{2}-\d{2}(?:[T\x20]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?
          |\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?)
  | (?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)
  | (?P<email>(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)
  | (?P<ip>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.]))
  QUOTED
  | (?P<hex>\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b)
  | (?P<id>\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])(?!\d+(?:\.\d+)?[A-Za-z]{1,4}\b)[A-Za-z0-9][\w-]{5,}\b)
  | (?P<num>\d+(?:\.\d+)?)
"""
_QUOTED = r"""
  | (?P<key>"(?:[^"\\\n]|\\.){0,200}"(?=\s*:)|(?<![\w'])'[^'\n]{0,200}'(?=\s*:))
  | (?P<str>"(?:[^"\\\n]|\\.){0,200}"|(?<![\w'])'[^'\n]{0,200}'(?!\w))
"""
_FOLD = re.compile(_FOLD_RULES.replace("QUOTED", _QUOTED), re.VERBOSE | re.ASCII)
_FOLD_INSIDE_QUOTES = re.compile(_FOLD_RULES.replace("QUOTED", ""), re.VERBOSE | re.ASCII)
_PLACEHOLDERS = {"ts": "<ts>", "uuid": "<uuid>", "email": "<email>", "ip": "<ip>", "hex": "<hex>",
                 "id": "<id>", "num": "<num>"}
# Quoted values under these JSON keys are the text of the line, not a variable: they stay (their
# numbers and ids are still folded), or every JSON line would fold to the same pattern.
_TEXT_KEY_BEFORE = re.compile(
    r"""["'](?:msg|message|error|err|level|severity|lvl|event|type|name|logger|method|path|route|url|status)["']\s*:\s*\Z""",
    re.IGNORECASE | re.ASCII,
)


def _fold(message: str) -> tuple[str, list[tuple[int, int]]]:
    """The folded message and the spans of `message` that were folded (the variable parts), with their kind."""
    spans: list[tuple[int, int, str]] = []

    def replace(match: re.Match[str]) -> str:
        kind = match.lastgroup or "num"
        start, end = match.span()
        if kind == "key":
            return match.group()
        if kind != "str":
            spans.append((start, end, kind))
            return _PLACEHOLDERS[kind]
        quote = message[start]
        if _TEXT_KEY_BEFORE.search(message, max(0, start - 16), start):
            inner = _FOLD_INSIDE_QUOTES.sub(lambda m: _inner(m, start + 1), message[start + 1:end - 1])
            return f"{quote}{inner}{quote}"
        spans.append((start, end, kind))
        return f"{quote}<str>{quote}"

    def _inner(match: re.Match[str], offset: int) -> str:
        kind = match.lastgroup or "num"
        spans.append((match.start() + offset, match.end() + offset, kind))
        return _PLACEHOLDERS[kind]

    return _FOLD.sub(replace, message), spans


def fold_message(message: str) -> str:
    """`GET /users/42 in 15ms` and `GET /users/7 in 230ms` both become `GET /users/<num> in <num>ms`.

    Folded into placeholders: timestamps `<ts>`, UUIDs `<uuid>`, emails `<email>`, IPv4 addresses
    `<ip>`, quoted values `"<str>"` (not JSON keys, nor the text of a `"msg"`), hex ids and hashes
    `<hex>`, tokens mixing letters and digits `<id>`, and numbers `<num>` (units stay: `<num>ms`).
    """
    return _fold(message)[0]


@dataclass(frozen=True)
class Group:
    """Lines that fold to one pattern: how many, one real (masked) example, when, the worst level."""

    pattern: str
    count: int
    example: str
    first_seen: datetime | None
    last_seen: datetime | None
    level: str | None


OTHER_PATTERN = "(other patterns, past the limit of distinct patterns)"
_GROUP_CHARS = 300  # a line is grouped by its first line, up to this many characters
_EXAMPLE_CHARS = 1000
_SHAPE_CACHE_SIZE = 8192
_EXAMPLES_PER_SHAPE = 4
# Every hex character (digits, a-f, A-F) becomes `0`: lines that differ only by ids and numbers
# share a shape; see TopGroups.add.
_GROUP_SHAPE = bytes(ord("0") if chr(b) in "0123456789abcdefABCDEF" else b for b in range(256))


class _Tally:
    __slots__ = ("count", "example", "first_seen", "last_seen", "level", "order", "pattern")

    def __init__(self, pattern: str, example: str, order: int) -> None:
        self.pattern = pattern
        self.example = example
        self.order = order
        self.count = 0
        self.first_seen: datetime | None = None
        self.last_seen: datetime | None = None
        self.level: str | None = None

    def freeze(self) -> Group:
        return Group(self.pattern, self.count, self.example, self.first_seen, self.last_seen, self.level)


class TopGroups:
    """`sort | uniq -c | sort -nr` for log lines: counts lines per folded pattern as they stream past.

    Memory is bounded by the number of distinct patterns: past `max_patterns`, lines of new patterns
    are counted in one group whose pattern is `OTHER_PATTERN` (listed last by `groups`). A line is
    grouped by its first line (a stack trace by its message), up to 300 characters.

    Why the cache: folding a line takes a few regular expressions, too slow for hundreds of
    thousands of lines. Most lines differ from one already seen only inside its folded parts (a new
    request id, another duration), so each folded line is remembered, under its shape (every hex
    character made `0`), with bit masks of its variable bytes; a later line of the same shape that
    differs only under those masks, and whose numbers are still numbers, joins the same group
    without being folded. Any other line is folded. One approximation remains: a hex id or an id
    whose digits all became letters (`deadbeef` where `5f2c9a1e` was) still joins its group.
    """

    def __init__(self, max_patterns: int = 10_000) -> None:
        if max_patterns < 1:
            raise ValueError("max_patterns must be at least 1")
        self.max_patterns = max_patterns
        self.total = 0
        self._by_pattern: dict[str, _Tally] = {}
        self._other: _Tally | None = None
        self._shapes: dict[bytes, list[tuple[int, int, int, _Tally]]] = {}

    def add(self, record: LogRecord) -> None:
        self.total += 1
        text = record.message
        if "\n" in text:
            text = text[: text.index("\n")]
        if len(text) > _GROUP_CHARS:
            text = text[:_GROUP_CHARS]
        try:
            raw = text.encode()
        except UnicodeEncodeError:  # a lone surrogate from a badly decoded line
            raw = text.encode("utf-8", "surrogatepass")
        shape = raw.translate(_GROUP_SHAPE)
        tally = None
        seen = self._shapes.get(shape)
        if seen is not None:
            value = int.from_bytes(raw)
            for example, fixed, digits, candidate in seen:
                if not (value ^ example) & fixed and not value & digits:
                    tally = candidate
                    break
        if tally is None:
            tally = self._fold_and_remember(text, raw, shape, seen, record)
        tally.count += 1
        moment = record.timestamp
        if moment is not None:
            if tally.first_seen is None or moment < tally.first_seen:
                tally.first_seen = moment
            if tally.last_seen is None or moment > tally.last_seen:
                tally.last_seen = moment
        level = record.level
        if level != tally.level and level is not None and (
            tally.level is None or LEVEL_RANK.get(level, -1) > LEVEL_RANK.get(tally.level, -1)
        ):
            tally.level = level

    def _fold_and_remember(self, text: str, raw: bytes, shape: bytes,
                           seen: list[tuple[int, int, int, _Tally]] | None, record: LogRecord) -> _Tally:
        pattern, spans = _fold(text)
        tally = self._by_pattern.get(pattern)
        if tally is None:
            example = record.message[:_EXAMPLE_CHARS]
            if len(self._by_pattern) < self.max_patterns:
                tally = self._by_pattern[pattern] = _Tally(pattern, example, len(self._by_pattern))
            else:
                if self._other is None:
                    self._other = _Tally(OTHER_PATTERN, example, self.max_patterns)
                tally = self._other
        if seen is None:
            if len(self._shapes) >= _SHAPE_CACHE_SIZE:
                self._shapes.clear()
            seen = self._shapes[shape] = []
        if len(seen) < _EXAMPLES_PER_SHAPE:
            seen.append((int.from_bytes(raw), *_example_masks(text, raw, spans), tally))
        return tally

    @property
    def distinct(self) -> int:
        """How many patterns were seen (the "other" group not counted)."""
        return len(self._by_pattern)

    def groups(self, limit: int | None = 10) -> list[Group]:
        """The `limit` largest groups, largest first, ties in the order first seen; the "other"
        group, if any line went there, comes after them."""
        ranked = sorted(self._by_pattern.values(), key=lambda t: (-t.count, t.order))
        if limit is not None:
            ranked = ranked[: max(limit, 0)]
        result = [t.freeze() for t in ranked]
        if self._other is not None and self._other.count:
            result.append(self._other.freeze())
        return result


# Folded parts whose digits must stay digits for a line to fold alike: `user 42` and `user ab` have
# one shape, but only the first is `user <num>`. (Hex ids, UUIDs and ids may trade digits for letters.)
_DIGITS_REQUIRED = frozenset({"num", "ts", "ip"})


def _example_masks(text: str, raw: bytes, spans: list[tuple[int, int, str]]) -> tuple[int, int]:
    """Two integers over the bytes of `raw`: 0xFF on every byte outside the folded spans (bytes a line
    must share with this example), and 0x40 on every digit that must remain a digit. Among the hex
    characters a shape allows at a position, the 0x40 bit is clear exactly for the digits."""
    if len(raw) != len(text):
        spans = [(len(text[:s].encode("utf-8", "surrogatepass")), len(text[:e].encode("utf-8", "surrogatepass")), k)
                 for s, e, k in spans]
    fixed = bytearray(b"\xff" * len(raw))
    digits = bytearray(len(raw))
    for start, end, kind in spans:
        fixed[start:end] = bytes(end - start)
        if kind in _DIGITS_REQUIRED:
            for position in range(start, end):
                if 48 <= raw[position] <= 57:
                    digits[position] = 0x40
    return int.from_bytes(fixed), int.from_bytes(digits)


# --- one compact line per record ---------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LEVEL_LABEL = {"trace": "TRACE", "debug": "DEBUG", "info": "INFO ", "warn": "WARN ", "error": "ERROR",
                "fatal": "FATAL"}
DEFAULT_WIDTH = 200


def format_line(record: LogRecord, width: int = DEFAULT_WIDTH) -> str:
    """`HH:MM:SS LEVEL message` on one line, at most `width` characters (an ellipsis says it was cut).

    Times are UTC. Newlines become ` ⏎ ` so a stack trace stays one line; colour codes and other
    control characters are dropped. Escaping for Slack (`&`, `<`, `>`) is the renderer's job.
    """
    moment = record.timestamp
    clock = moment.astimezone(UTC).strftime("%H:%M:%S") if moment is not None else "--:--:--"
    label = _LEVEL_LABEL.get(record.level or "", "-    ")
    message = strip_ansi(record.message).replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\t", " ")
    message = _CONTROL.sub("", message).strip()
    line = f"{clock} {label} {message}".rstrip()
    if len(line) > width:
        line = line[: max(width - 1, 0)] + "…"
    return line
