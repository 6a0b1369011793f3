"""Changing a service's variable from Slack: what is a valid name, value and revert delay, what the
proposal card says about the change, and whether a revert reminder may still propose the old value.

Pure: plain values in, plain values or `InvalidActionParams` out. The provider rules cited here are
what Railway and Vercel refuse themselves; checking them first turns a provider error after the
confirmation into a clear private message before anything is proposed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.core.actions import InvalidActionParams

# Both providers take letters, digits and underscores, not starting with a digit (Railway's
# `railway variables` and Vercel's "can only contain letters, digits and underscores",
# vercel.com/docs/environment-variables).
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")
# "The total size of all Environment Variables for a Deployment cannot exceed 64 KB"
# (vercel.com/docs/environment-variables#environment-variable-size): one value can never be more.
VERCEL_TOTAL_LIMIT = 64 * 1024
MAX_REVERT_AFTER = timedelta(days=7)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)\s*$", re.I)
USAGE = {
    "set": "`@pitcrew set <service> NAME`: a form asks for the value (never typed in the channel)",
    "unset": "`@pitcrew unset <service> NAME`: removes the variable, then redeploys",
}


def check_name(name: object) -> str:
    """`name` when a variable may be called so, else InvalidActionParams saying what is allowed."""
    if not isinstance(name, str) or not VARIABLE_NAME.match(name):
        shown = str(name)[:60]
        raise InvalidActionParams(
            f"variable name {shown!r} is not valid: letters, digits and _, not starting with a digit"
        )
    return name


def check_value(value: object, provider: str) -> str:
    """`value` when the provider would take it: text, not empty, within Vercel's 64 KB."""
    if not isinstance(value, str):
        raise InvalidActionParams("a variable's value must be text")
    if value == "":
        raise InvalidActionParams("the value is empty; to remove the variable use `unset`")
    if provider == "vercel" and len(value.encode("utf-8")) > VERCEL_TOTAL_LIMIT:
        raise InvalidActionParams(
            "the value is over 64 KB, more than Vercel allows for all of a deployment's variables together"
        )
    return value


def parse_revert_after(text: object) -> timedelta | None:
    """"1h", "30m", "2 minutes", "1d" as a delay; empty means no revert; anything else is refused."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    match = _DURATION.match(str(text))
    if match is None:
        raise InvalidActionParams(f"revert after {str(text)[:30]!r} is not a duration: say 30m, 2h or 1d")
    count, unit = int(match.group(1)), match.group(2).lower()[0]
    delay = {"s": timedelta(seconds=count), "m": timedelta(minutes=count), "h": timedelta(hours=count),
             "d": timedelta(days=count)}[unit]
    if delay <= timedelta(0) or delay > MAX_REVERT_AFTER:
        raise InvalidActionParams("revert after must be more than 0 and at most 7 days")
    return delay


def describe_delay(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@dataclass(frozen=True)
class ChangePreview:
    """What the proposal card shows: never a value, only lengths and keyed fingerprints."""

    name: str
    exists: bool
    old_fingerprint: str | None  # None: absent, unreadable (sealed, sensitive) or no key
    new_fingerprint: str | None
    new_length: int | None  # None for an unset
    redeploys: str  # what deploys, in words
    revert_after_s: int | None = None
    unreadable: bool = False
    also: tuple[str, ...] = ()  # other names of the service set to the same value in the same change
    shared: str | None = None  # the environment's shared variable set (Railway), which the service references
    # What the set replaces when the name is now a Railway reference: "shared X" or "a reference" (never
    # the template itself, which may hold text of its own); None when it holds a value of its own.
    replaces_reference: str | None = None
    shared_with: tuple[str, ...] = ()  # the other services of pitcrew.yml referencing `shared`

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name, "exists": self.exists, "old_fingerprint": self.old_fingerprint,
            "new_fingerprint": self.new_fingerprint, "new_length": self.new_length, "redeploys": self.redeploys,
            "revert_after_s": self.revert_after_s, "unreadable": self.unreadable,
        }
        if self.also:
            found["also"] = list(self.also)
        if self.shared:
            found["shared"] = self.shared
        if self.shared_with:
            found["shared_with"] = list(self.shared_with)
        if self.replaces_reference:
            found["replaces_reference"] = self.replaces_reference
        return found


def changed_by_hand(now_fingerprint: str | None, set_fingerprint: str | None) -> bool:
    """Whether the variable no longer holds what pitcrew set (someone changed it since): then a revert
    would undo their change, so pitcrew proposes nothing. Unknown fingerprints count as changed."""
    return now_fingerprint is None or set_fingerprint is None or now_fingerprint != set_fingerprint
