"""Reading untrusted webhook bodies without tripping over them.

Every parser reads JSON that anyone on the internet may have written. These helpers turn the
ways that can go wrong (not JSON, nested too deep, a number where a string belongs, a null in
the middle of a path) into either a WebhookBodyError with a reason, or a plain "absent".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from app.core.alerts import WebhookBodyError

JsonObject = dict[str, Any]


def load_json(source: str, body: bytes) -> Any:
    """The parsed body, or WebhookBodyError saying why it is not JSON."""
    if not body or not body.strip():
        raise WebhookBodyError(f"{source}: the body is empty; expected a JSON object")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise WebhookBodyError(f"{source}: not JSON: the body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        raise WebhookBodyError(f"{source}: not JSON: {err.msg} at {where}") from None
    except RecursionError:
        raise WebhookBodyError(f"{source}: not JSON we can read: nested too deeply") from None
    except ValueError as err:  # e.g. an integer with more digits than Python will convert
        raise WebhookBodyError(f"{source}: not JSON we can read: {err}") from None


def load_object(source: str, body: bytes) -> JsonObject:
    """The parsed body, which must be a JSON object (every source sends one)."""
    doc = load_json(source, body)
    if not isinstance(doc, dict):
        raise WebhookBodyError(f"{source}: the body must be a JSON object, got {kind_of(doc)}")
    return doc


def kind_of(value: Any) -> str:
    """How a JSON value is described in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def dig(value: Any, *path: str) -> Any:
    """The value at `path` through nested objects, or None where any step is missing or not an object."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def obj(value: Any) -> JsonObject:
    """`value` if it is an object, else an empty one: optional parts of a body are read leniently."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A non-blank string, or a number written as one (ids arrive as either); anything else is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text or Unix seconds/milliseconds; None when unreadable."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) > 1e11 else value  # past 1e11 s is year 5138: it is ms
            return datetime.fromtimestamp(seconds, tz=UTC)
        if isinstance(value, str) and value.strip():
            raw = value.strip()
            if raw.isdigit():
                return timestamp(int(raw))
            parsed = datetime.fromisoformat(raw.replace("z", "Z"))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
