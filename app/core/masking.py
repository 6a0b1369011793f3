"""Masking secrets in text before it reaches Slack, a log or the audit trail.

Log lines are the leakiest thing pitcrew shows: a crashing app prints its connection string, an HTTP
client dumps its headers, a debug line echoes a whole config. `Masker` finds secrets by their shape
(passwords in URLs, `Bearer` tokens, JWTs, provider keys, `*_SECRET=`/`"password":` key-values) and by
their exact value (the service's own variables), and replaces them with `***`.

Why a class: the patterns are compiled once and a service's known values are folded into one
regular expression once, and most log lines hold no secret at all, so `Masker.mask` first asks a
cached, cheap question ("could this line hold a secret?") before it runs any pattern (see `_SHAPE`).

Decisions worth knowing:
- Stripe *publishable* keys (`pk_live_`, `pk_test_`) are left visible: Stripe ships them to every
  browser by design, and "which Stripe account is the frontend talking to?" is a real debugging question.
  Secret and restricted keys (`sk_`, `rk_`) and webhook secrets (`whsec_`) are masked.
- The masker prefers a false positive to a leak: `password: reset` loses the word `reset`.
- Known values shorter than 6 characters are ignored (a variable `1` or `true` would mask every digit).
- Bare `key=value` values end at whitespace, a quote, `, ; &` or a bracket; a password containing one
  of those is only partly caught by shape, which is why the exact known values are masked first.
- Matching is ASCII-only (`re.ASCII`): `PASSWORD` and `password` are one key, but a look-alike such as
  the Kelvin sign is not folded to `k`, which keeps the prefilter and the patterns in exact agreement.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
MIN_SECRET_LENGTH = 6

_FLAGS = re.ASCII | re.IGNORECASE

# Key names, as data so the pattern and its prefilter cannot disagree. "Strong" words mark a secret
# whatever comes before them (`dbpassword`, `csrftoken`); "weak" words only at the start of a name, after
# a separator or at a camelCase boundary (`X-Amz-Signature`, `sessionId`), so that `bypass=1` and
# `oauth=...` stay visible; `key` needs something before it (`api_key`, `apiKey`), because
# `key=user:42` in a cache log is no secret.
_STRONG_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "credential", "credentials",
    "authorization",
    *(f"{first}{sep}{second}" for first, second in (("private", "key"), ("access", "key"), ("secret", "key"),
                                                    ("client", "secret")) for sep in ("", "_", "-")),
    *(f"secret{a}key{b}base" for a in ("", "_", "-") for b in ("", "_", "-")),
)
_WEAK_WORDS = ("pass", "pwd", "auth", "signature", "sig", "session", "sessionid", "session_id", "session-id",
               "jwt", "dsn", "cookie")
_PREFIXED_WORDS = ("key",)
_KEY_WORDS = tuple(sorted({*_STRONG_WORDS, *_WEAK_WORDS, *_PREFIXED_WORDS}, key=lambda w: (-len(w), w)))


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=lambda w: (-len(w), w)))


_SEPARATED = r"(?:(?<=[_.-])|(?<=(?-i:[a-z0-9]))(?=(?-i:[A-Z])))"
_KEY = (
    rf"(?:(?:{_alternatives(_STRONG_WORDS)})"
    rf"|(?:(?<![A-Za-z0-9])|{_SEPARATED})(?:{_alternatives(_WEAK_WORDS)})"
    rf"|{_SEPARATED}(?:{_alternatives(_PREFIXED_WORDS)}))"
)
# What may follow a key name before its value: a closing quote, a blank, `=`, `:`.
_AFTER_KEY = frozenset("=:\"'\\ \t")
_NAME_PREFIX = r"(?:[\w.-]*[_.-]|[\w.-]*(?-i:[a-z0-9](?=[A-Z])))"
_SECRET_NAME = re.compile(
    rf"[\w.-]*(?:{_alternatives(_STRONG_WORDS)})|{_NAME_PREFIX}?(?:{_alternatives(_WEAK_WORDS)})"
    rf"|{_NAME_PREFIX}(?:{_alternatives(_PREFIXED_WORDS)})",
    _FLAGS,
)

# Values that are not secrets even under a secret-looking key: keep them, they say something useful.
_HARMLESS_VALUES = frozenset({"", MASK, "null", "none", "nil", "true", "false", "undefined", "[redacted]",
                              "[filtered]", "<redacted>", "redacted"})
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "ntlm", "apikey", "key",
                           "aws4-hmac-sha256", "hmac", "otp"})


def is_secret_name(name: str) -> bool:
    """True for names such as `DB_PASSWORD`, `apiKey`, `x-api-key`, `SENTRY_DSN`, `session_id`.

    Why it matters: a value under such a name is masked whole, whatever it looks like; the name must
    *end* with the secret word, so `token_type`, `tokens_used` and `password_reset_sent` stay visible.
    """
    return _SECRET_NAME.fullmatch(name) is not None


def _keep_key_mask_value(match: re.Match[str]) -> str:
    """Replacement for key-value secrets: keep the key and the quotes, mask what is between them."""
    value = match.group("value")
    if value.startswith('\\"'):
        inner, left, right = value[2:-2], '\\"', '\\"'
    elif value[:1] in "\"'" and len(value) >= 2 and value[-1] == value[0]:
        inner, left, right = value[1:-1], value[0], value[0]
    else:
        inner, left, right = value, "", ""
    lowered = inner.strip().lower()
    if lowered in _HARMLESS_VALUES or lowered in _AUTH_SCHEMES or lowered.startswith(MASK):
        return match.group(0)  # nothing secret, or an earlier rule already masked it (`token:***@host`)
    scheme, _, rest = lowered.partition(" ")
    if scheme in _AUTH_SCHEMES and rest.strip() == MASK:
        return match.group(0)
    return f"{match.group('head')}{left}{MASK}{right}"


_Replacement = str | Callable[[re.Match[str]], str]

# The prefilter works on a "shape" of the text: ASCII letters lower-cased, and every hex character
# (0-9, a-f) turned into `0`. Lines that differ only in ids, hashes, numbers and letter case share a
# shape, so one cached answer serves them all; and since a literal that occurs in a text also occurs
# (shaped) in its shape, "no shaped trigger in the shape" proves "no trigger in the text".
_SHAPE = bytes(
    ord("0") if chr(b).lower() in "0123456789abcdef" else ord(chr(b).lower()) if b < 128 else b
    for b in range(256)
)


def _shape_of(text: str) -> bytes:
    try:
        return text.encode().translate(_SHAPE)
    except UnicodeEncodeError:  # a lone surrogate from a badly decoded line
        return text.encode("utf-8", "surrogatepass").translate(_SHAPE)


def _shaped(literal: str) -> bytes:
    return literal.lower().encode("utf-8", "surrogatepass").translate(_SHAPE)


class _Rule:
    """One shape of secret: the pattern, what replaces it, and the literal strings without which it
    cannot match (the prefilter looks for those; a rule none of whose triggers occurs is not run)."""

    __slots__ = ("_shaped_triggers", "name", "pattern", "replacement")

    def __init__(self, name: str, pattern: str, replacement: _Replacement, triggers: Iterable[str],
                 flags: int = _FLAGS) -> None:
        self.name = name
        self.pattern = re.compile(pattern, flags)
        self.replacement = replacement
        self._shaped_triggers = tuple({_shaped(t) for t in triggers})

    def hint(self, shape: bytes) -> object:
        """None when the rule cannot match a text of this shape; else what `apply` may use."""
        return True if any(t in shape for t in self._shaped_triggers) else None

    def apply(self, text: str, hint: object) -> str:
        return self.pattern.sub(self.replacement, text)


class _KeyValueRule(_Rule):
    """`password=...`, `"apiKey": "..."`: found from the key words outward, not by scanning with the pattern.

    The pattern alone tries every key word at every position of the line, tens of microseconds a
    line; a match can only start where a key word is followed by what follows a key (`_AFTER_KEY`),
    so `apply` looks for the key words the shape says may be there (`hint`) with `str.find`, and
    tries the pattern at those places only. `tests/unit/test_masking.py` checks both ways agree.
    """

    __slots__ = ("_words",)

    def __init__(self, name: str, pattern: str, replacement: _Replacement, flags: int) -> None:
        super().__init__(name, pattern, replacement, (), flags)
        self._words = tuple(
            (word, _shaped(word), tuple(_shaped(word + gap) for gap in _AFTER_KEY)) for word in _KEY_WORDS
        )

    def hint(self, shape: bytes) -> object:
        words = tuple(
            word for word, alone, followed in self._words if alone in shape and any(f in shape for f in followed)
        )
        return words or None

    def apply(self, text: str, hint: object) -> str:
        if not isinstance(hint, tuple) or not text.isascii():  # lower() could shift non-ASCII positions
            return self.pattern.sub(self.replacement, text)
        lowered = text.lower()
        size = len(lowered)
        starts: set[int] = set()
        for word in hint:
            found = lowered.find(word)
            while found != -1:
                after = found + len(word)
                if after < size and lowered[after] in _AFTER_KEY:
                    starts.add(found)
                found = lowered.find(word, found + 1)
        pieces: list[str] = []
        done = 0
        for start in sorted(starts):
            if start < done:
                continue
            match = self.pattern.match(text, start)
            if match is None:
                continue
            pieces.append(text[done:start])
            pieces.append(_keep_key_mask_value(match))
            done = match.end()
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)


_VALUE = r"""(?P<value>
      \\"(?:[^"\\]|\\(?!")|\\$)*\\"              # \"...\"  inside a JSON string that holds JSON
    | "(?:[^"\\]|\\.)*"                          # "..."
    | '(?:[^'\\]|\\.)*'                          # '...'
    | (?:[^\s"',;&<>(){}\[\]\\]|\\(?!"))+        # bare, up to whitespace, a quote or a separator
)"""

_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private key block",
        r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)",
        f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----",
        ("-----begin",),
        _FLAGS | re.DOTALL,
    ),
    _Rule("jwt", r"\beyJ[\w-]{5,}\.[\w-]{5,}(?:\.[\w-]*)?", MASK, ("eyj",), re.ASCII),
    _Rule(
        "slack token",
        r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[0-9A-Za-z-]{6,}",
        MASK,
        ("xox", "xapp-"),
        re.ASCII,
    ),
    _Rule(
        "slack webhook",
        r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[\w/-]+",
        rf"\g<1>{MASK}",
        ("hooks.slack.com/",),
    ),
    _Rule(
        "stripe key",
        r"\b(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{8,}|whsec_[0-9A-Za-z]{16,})",
        MASK,
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"),
        re.ASCII,
    ),
    _Rule("aws access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", MASK, ("akia", "asia"), re.ASCII),
    _Rule(
        "github token",
        r"\b(?:gh[pousr]_[0-9A-Za-z]{20,}|github_pat_[0-9A-Za-z_]{20,})",
        MASK,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.ASCII,
    ),
    _Rule("sendgrid key", r"\bSG\.[\w-]{8,}\.[\w-]{8,}", MASK, ("sg.",), re.ASCII),
    _Rule("google api key", r"\bAIza[\w-]{30,}", MASK, ("aiza",), re.ASCII),
    _Rule("npm token", r"\bnpm_[0-9A-Za-z]{30,}", MASK, ("npm_",), re.ASCII),
    _Rule("openai/anthropic key", r"\bsk-(?:proj-|ant-)[\w-]{16,}", MASK, ("sk-proj-", "sk-ant-"), re.ASCII),
    _Rule("resend key", r"\bre_[0-9A-Za-z]{6,}_[0-9A-Za-z_]{12,}", MASK, ("re_",), re.ASCII),
    _Rule(
        "password in url",
        r"(://[^\s:/?#@\"'<>\[\]]*:)[^\s/?#\"'<>]+@",
        rf"\g<1>{MASK}@",
        ("://",),
    ),
    _Rule(
        "password in encoded url",
        r"(%3A%2F%2F(?:[\w.~-]|%(?!3A)[0-9A-F]{2})*%3A)(?:[^\s&%]|%(?!2F)[0-9A-F]{2})+(?=%40)",
        rf"\g<1>{MASK}",
        ("%3a%2f%2f",),
    ),
    _Rule(
        "authorization header",
        r"(?P<head>\b(?:proxy-)?authorization\\?[\"']?\s*[:=]\s*\\?[\"']?\s*"
        r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey|key|aws4-hmac-sha256|hmac)\s+)?)"
        r"[^\s\"'\\,;&]+",
        rf"\g<head>{MASK}",
        ("authorization",),
    ),
    _Rule(
        "bearer token",
        r"\b(bearer\s+)(?=[A-Za-z]*[0-9._~+/=-]|[A-Za-z]{20})[\w.~+/-]{8,}=*(?![\w.~+/=-])",
        rf"\g<1>{MASK}",
        ("bearer",),
    ),
    _Rule(
        "basic credentials",
        r"\b(basic\s+)(?=[A-Za-z]*[0-9+/=]|[A-Za-z]{20})[A-Za-z0-9+/]{8,}=*(?![\w.~+/=-])",
        rf"\g<1>{MASK}",
        ("basic",),
    ),
    _Rule(
        "cookie header",
        r"(?P<head>\b(?:set-)?cookie\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\"'\r\n\\]+",
        rf"\g<head>{MASK}",
        ("cookie",),
    ),
    _KeyValueRule(
        "secret key-value",
        rf"(?P<head>{_KEY}(?:\\?[\"'])?[ \t]*(?:=>|:=|[:=])[ \t]*){_VALUE}",
        _keep_key_mask_value,
        _FLAGS | re.VERBOSE,
    ),
)

# A variable's name as providers allow it (Vercel and Railway: letters, digits, `_`; a few `.`/`-`).
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,255}")


def _named_value_rule(names: list[str]) -> _Rule:
    """`NAME=value`, `NAME: value`, `"NAME": "value"` for names whose value cannot be read: the name is
    the only thing known of such a secret, so the value beside it is masked (the key stays)."""
    alternatives = "|".join(re.escape(name) for name in names)
    return _Rule(
        "value of a named variable",
        rf"(?P<head>(?<![\w.-])(?:{alternatives})(?![\w.-])(?:\\?[\"'])?[ \t]*(?:=>|:=|[:=])[ \t]*){_VALUE}",
        _keep_key_mask_value,
        names,
        _FLAGS | re.VERBOSE,
    )


_MAX_CACHED_LINE = 1024
_CACHE_SIZE = 8192


# `CREATE ROLE ... PASSWORD 'x'`: SQL puts no `=` or `:` between the key and the value.
_SQL_PASSWORD = re.compile(r"(\bPASSWORD\s+)'(?:[^']|'')*'", re.IGNORECASE)


class Masker:
    """Masks the secrets of one service in any text; build it once, use it for every line.

    `Masker(secrets)` masks the given exact values (and their URL-encoded and JSON-escaped forms)
    as well as everything the patterns catch. `Masker()` masks by pattern only.
    """

    def __init__(
        self, secrets: Iterable[str] = (), *, names: Iterable[str] = (), min_length: int = MIN_SECRET_LENGTH
    ) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if not isinstance(secret, str) or len(secret) < min_length:
                continue
            variants.update((secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]))
        ordered = sorted((v for v in variants if len(v) >= min_length), key=lambda v: (-len(v), v))
        rules: list[_Rule] = []
        if ordered:
            rules.append(_Rule("known value", "|".join(map(re.escape, ordered)), MASK, ordered, re.ASCII))
        valid = {n for n in names if isinstance(n, str) and _VARIABLE_NAME.fullmatch(n)}
        named = sorted(valid, key=lambda n: (-len(n), n))
        if named:
            rules.append(_named_value_rule(named))
        rules.extend(_RULES)
        self._rules = tuple(rules)
        self._cache: dict[bytes, tuple[tuple[_Rule, object], ...]] = {}

    @classmethod
    def for_variables(
        cls,
        variables: Mapping[str, str] | Iterable[tuple[str, str]],
        *,
        unreadable: Iterable[str] = (),
        min_length: int = MIN_SECRET_LENGTH,
    ) -> Masker:
        """A masker for a service given all its variables: which of them are secrets is decided here.

        `variables` may repeat a name (one value per Vercel target): every value counts. `unreadable`
        names have no value pitcrew can read (Vercel's sensitive, Railway's sealed variables): their
        value is masked wherever a line names them (`NAME=...`, `"NAME": "..."`), whatever the name.

        A value counts as a known secret when its name looks secret (`*_KEY`, `*_TOKEN`, `PASSWORD`,
        `SENTRY_DSN`...) or when the value itself looks like one (the patterns would mask it). Of a
        URL with a password (`DATABASE_URL`) only the password is, so the host stays readable and a
        line that prints the password alone is still caught. Ordinary values (`NODE_ENV=production`)
        are not masked.
        """
        pattern_only = cls()
        known: list[str] = []
        pairs = variables.items() if isinstance(variables, Mapping) else variables
        for name, value in pairs:
            if not isinstance(value, str) or not value:
                continue
            password = _url_password(value)
            if is_secret_name(name):
                known.append(value)
            elif password:  # mask the password, keep `postgresql://app:***@db.internal:5432/app` readable
                pass
            elif pattern_only.mask(value) != value:
                known.append(value)
            if password:
                known.extend((password, unquote(password)))
        return cls(known, names=unreadable, min_length=min_length)

    def _decide(self, shape: bytes) -> tuple[tuple[_Rule, object], ...]:
        """The rules that may match a text of this `shape` (with their hints), remembered for the shape."""
        rules = tuple((rule, hint) for rule in self._rules if (hint := rule.hint(shape)) is not None)
        if len(shape) <= _MAX_CACHED_LINE:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[shape] = rules
        return rules

    def could_hold_secret(self, text: str) -> bool:
        """False when no rule can match `text` (then `mask(text)` is `text`); cheap, usually cached."""
        shape = _shape_of(text)
        rules = self._cache.get(shape)
        if rules is None:
            rules = self._decide(shape)
        return bool(rules)

    def mask(self, text: str) -> str:
        """`text` with every secret replaced by `***`; the very same object when there was none."""
        shape = _shape_of(text)
        rules = self._cache.get(shape)
        if rules is None:
            rules = self._decide(shape)
        for rule, hint in rules:
            text = rule.apply(text, hint)
        return text

    def mask_sql(self, text: str) -> str:
        """A query's text: also its `PASSWORD '...'` literal, which pg_stat_statements and
        pg_stat_activity keep verbatim and which has no `=` or `:` for the key-value rule to see."""
        return self.mask(_SQL_PASSWORD.sub(r"\1'***'", text))

    def mask_mapping(self, mapping: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `mapping` fit to show: values under secret names masked whole, strings masked,
        nested mappings and lists walked."""
        return {str(key): self._mask_value(str(key), value) for key, value in mapping.items()}

    def _mask_value(self, key: str, value: Any) -> Any:
        if is_secret_name(key) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return self.mask_mapping(value)
        if isinstance(value, list | tuple):
            return [self._mask_value(key, item) for item in value]
        return value


def _url_password(value: str) -> str | None:
    if "://" not in value or "@" not in value:
        return None
    try:
        return urlsplit(value.strip()).password or None
    except ValueError:
        return None


@functools.cache
def _patterns_only() -> Masker:
    return Masker()


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask `text` once; for many lines build a `Masker` and reuse it (it compiles the known values)."""
    known = list(secrets)
    return (Masker(known) if known else _patterns_only()).mask(text)
