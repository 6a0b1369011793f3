"""Railway's log rules, as far as the sandbox understands them: level normalisation and filter syntax.

The log answers (app/sandbox/railway/bodies.py) choose lines with `parse_filter` and give each its
`railway_severity`; a new filter key or level alias goes here, with its source.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from app.sandbox.railway.world import FakeLog

# Railway's levels: "Levels are lowercased and matched to the closest of `debug`, `info`, `warn`,
# `error`" (railwayapp/docs content/docs/observability/logs.md, "Normalization strategy").
_CLOSEST_LEVEL = {
    "trace": "debug", "debug": "debug", "info": "info", "notice": "info", "warn": "warn", "warning": "warn",
    "error": "error", "err": "error", "fatal": "error", "critical": "error", "crit": "error", "panic": "error",
}


def railway_severity(level: str) -> str:
    """The level Railway gives a line: the closest of debug/info/warn/error (see `_CLOSEST_LEVEL`)."""
    return _CLOSEST_LEVEL.get(level.strip().lower(), "info")


_TAG_KEYS = {"service": "serviceId", "deployment": "deploymentId", "replica": "deploymentInstanceId"}
_TOKEN = re.compile(r'\s*(\(|\)|-?"[^"]*"|-?@[A-Za-z_]+:[^\s()]+|[^\s()]+)')


def parse_filter(text: str) -> Callable[[FakeLog, dict[str, Any]], bool]:
    """A predicate for `@level:error AND "timeout"`, `@service:<id>`, OR, -negation and parentheses.

    Bare words and quoted phrases match the message, case-insensitively; `@key:value` matches the
    level, the service / deployment / replica tags or a structured attribute.
    """
    tokens = [t for t in _TOKEN.findall(text or "") if t.strip()]
    position = 0

    def peek() -> str:
        return tokens[position].upper() if position < len(tokens) else ""

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def expression() -> Callable[[FakeLog, dict[str, Any]], bool]:
        alternatives = [conjunction()]
        while peek() == "OR":
            take()
            alternatives.append(conjunction())
        return lambda line, tags: any(alt(line, tags) for alt in alternatives)

    def conjunction() -> Callable[[FakeLog, dict[str, Any]], bool]:
        parts = []
        while peek() not in ("", ")", "OR"):
            if peek() == "AND":
                take()
                continue
            parts.append(factor())
        return lambda line, tags: all(part(line, tags) for part in parts)

    def factor() -> Callable[[FakeLog, dict[str, Any]], bool]:
        token = take()
        if token == "(":
            inner = expression()
            if peek() == ")":
                take()
            return inner
        if token.startswith("-") and len(token) > 1:
            positive = _atom(token[1:])
            return lambda line, tags: not positive(line, tags)
        return _atom(token)

    return expression() if tokens else (lambda line, tags: True)


def _atom(token: str) -> Callable[[FakeLog, dict[str, Any]], bool]:
    if token.startswith("@") and ":" in token:
        key, _, value = token[1:].partition(":")
        value = value.strip('"').lower()
        tag = _TAG_KEYS.get(key)
        if key == "level":  # against the normalised level: `@level:warning` matches nothing
            return lambda line, tags: railway_severity(line.level) == value
        if tag is not None:
            return lambda line, tags: str(tags.get(tag) or "").lower() == value
        return lambda line, tags: str(line.attributes.get(key, "")).lower() == value
    needle = token.strip('"').lower()
    return lambda line, tags: needle in line.message.lower()

