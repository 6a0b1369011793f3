"""Capacity changes and backups in words: `scale <service> memory 2GB|cpu 2|replicas 3`, parsed strictly.

A scale raises the bill and restarts the service on a new deployment, so a typo must never turn into
a change: units are exact (`2GB`, `512MB`, `1.5GB`; `2 gigs` or `2G` is refused with the usage),
numbers are bounded by what Railway's API can take at all (the plan's own limits are Railway's to
enforce: its error is shown as it comes). Also the words for a backup's age. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SCALE_USAGE = (
    "Usage: `@pitcrew scale <service> memory <size>` (such as `2GB` or `512MB`), "
    "`@pitcrew scale <service> cpu <vCPUs>` (such as `2`) or "
    "`@pitcrew scale <service> replicas <count>` (such as `3`); `x2` doubles the memory or CPU, `+1` adds a replica"
)
BACKUP_USAGE = "Usage: `@pitcrew backup <service>`: takes a backup of the service's Railway volume, once confirmed"
RESOURCES = ("memory", "cpu", "replicas")
MAX_REPLICAS = 50  # railway scale: "A maximum of 50 total replicas is supported" (docs.railway.com/cli/scale)
MAX_VCPUS = 64.0
MAX_MEMORY_GB = 1024.0
DEFAULT_BACKUP_MAX_AGE_HOURS = 24.0

_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(GB|MB)$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_COUNT = re.compile(r"^\d+$")


class ScaleUsage(ValueError):
    """The words do not make a scale; the message says what was wrong (the usage is added by the edge)."""


@dataclass(frozen=True)
class ScaleRequest:
    service: str
    resource: str  # memory | cpu | replicas
    value: str  # as typed and checked: 2GB, 512MB, 2, 3, or a change: x2, +1


def parse_memory(text: str) -> float:
    """`2GB` -> 2.0, `512MB` -> 0.5 (Railway counts memory in GB, 1 GB = 1000 MB as it bills)."""
    found = _MEMORY.match(text.strip())
    if found is None:
        raise ScaleUsage(f"memory must be a size such as 2GB or 512MB, got {text!r}")
    amount = float(found.group(1))
    gb = amount if found.group(2) == "GB" else amount / 1000
    if not 0 < gb <= MAX_MEMORY_GB:
        raise ScaleUsage(f"memory must be more than 0 and at most {MAX_MEMORY_GB:g}GB, got {text!r}")
    return gb


_FACTOR = re.compile(r"^x(\d+(?:\.\d+)?)$")  # memory x2, cpu x1.5: a multiple of the current limit
_MORE = re.compile(r"^\+(\d+)$")  # replicas +1: that many more than now


def is_relative(resource: str, text: str) -> bool:
    """`x2` (memory, cpu) or `+1` (replicas): a change from the current value, which a built-in runbook
    can say without knowing the team's plan ("add RAM or a replica", seeds 001 and 004)."""
    return bool((_MORE if resource == "replicas" else _FACTOR).match(text.strip()))


def validate_value(resource: str, text: str) -> None:
    """ScaleUsage unless `text` is an absolute value or a relative change of `resource`."""
    if resource in RESOURCES and is_relative(resource, text):
        found = (_MORE if resource == "replicas" else _FACTOR).match(text.strip())
        assert found is not None
        if float(found.group(1)) <= (0 if resource == "replicas" else 1):
            raise ScaleUsage(f"{text!r} would not add any {resource}")
        return
    parse_value(resource, text)


def parse_value(resource: str, text: str, current: float | None = None) -> float:
    """The value of one resource, strictly; ScaleUsage naming what was expected. A relative change
    (`x2`, `+1`) is applied to `current`, and needs it."""
    if resource in RESOURCES and is_relative(resource, text):
        validate_value(resource, text)
        if current is None:
            raise ScaleUsage(f"Railway did not say the current {resource}, so {text!r} cannot be applied; give a value")
        step = float(text.strip()[1:])
        new = current + step if resource == "replicas" else round(current * step, 3)
        return parse_value(resource, _absolute(resource, new))
    match resource:
        case "memory":
            return parse_memory(text)
        case "cpu":
            if not _NUMBER.match(text) or not 0 < float(text) <= MAX_VCPUS:
                raise ScaleUsage(f"cpu must be a number of vCPUs between 0 and {MAX_VCPUS:g}, such as 2, got {text!r}")
            return float(text)
        case "replicas":
            if not _COUNT.match(text) or not 1 <= int(text) <= MAX_REPLICAS:
                raise ScaleUsage(f"replicas must be a whole number from 1 to {MAX_REPLICAS}, got {text!r}")
            return float(int(text))
    raise ScaleUsage(f"pitcrew scales {', '.join(RESOURCES)}; not {resource!r}")


def _absolute(resource: str, value: float) -> str:
    if resource == "memory":
        return f"{value:g}GB"
    return f"{int(value)}" if resource == "replicas" else f"{value:g}"


def parse_scale_args(args: str) -> ScaleRequest:
    """`api memory 2GB` -> ScaleRequest; anything else (extra words, `2 gigs`) -> ScaleUsage."""
    words = args.split()
    if len(words) < 3:
        raise ScaleUsage("say the service, what to scale and the new value")
    if len(words) > 3:
        if words[1].lower() == "memory":  # `2 gigs`, `2 GB`: a size in two words is not one pitcrew reads
            raise ScaleUsage(f"{' '.join(words[2:])!r} is not a size: write it in one word, such as 2GB or 512MB")
        raise ScaleUsage(f"too many words: {' '.join(words[3:])!r}")
    service, resource, value = words[0], words[1].lower(), words[2]
    if resource not in RESOURCES:
        raise ScaleUsage(f"pitcrew scales {', '.join(RESOURCES)}; not {resource!r}")
    validate_value(resource, value)
    return ScaleRequest(service, resource, value)


def parse_backup_args(args: str) -> str:
    """`db` -> "db"; nothing or more than one word -> ScaleUsage."""
    words = args.split()
    if len(words) != 1:
        raise ScaleUsage("name one service" if not words else f"too many words: {' '.join(words[1:])!r}")
    return words[0]


def amount(resource: str, value: Any) -> str:
    """A value as people say it: `2GB`, `512MB`, `2 vCPUs`, `3 replicas`; `unknown` for None."""
    if value is None:
        return "unknown"
    number = float(value)
    match resource:
        case "memory":
            return f"{number:g}GB" if number >= 1 else f"{number * 1000:g}MB"
        case "cpu":
            return f"{number:g} vCPU" + ("" if number == 1 else "s")
        case "replicas":
            return f"{int(number)} replica" + ("" if int(number) == 1 else "s")
    return str(value)


def raises_bill(resource: str, current: Any, new: float) -> bool:
    """More of a resource costs more (Railway bills used memory and CPU, per replica)."""
    return current is None or float(new) > float(current)


def describe_scale(service: str, resource: str, current: Any, new: float) -> str:
    """The proposal's one sentence: what changes, from what, and what it costs."""
    what = "" if resource == "replicas" else f"{resource} "  # `3 replicas → 1 replica` names itself
    change = f"Scale {service}: {what}{amount(resource, current)} → {amount(resource, new)}"
    if raises_bill(resource, current, new):
        return change + " (this raises the Railway bill; the service redeploys)"
    return change + " (less than now: less headroom if the load comes back; the service redeploys)"


def backup_age(newest: datetime | None, now: datetime) -> timedelta | None:
    return None if newest is None else max(now - newest, timedelta(0))


def age_words(age: timedelta | None) -> str:
    """`3 h ago`, `2 d ago`, or `none taken`."""
    if age is None:
        return "none taken"
    hours = age.total_seconds() / 3600
    if hours < 1:
        return f"{int(age.total_seconds() // 60)} min ago"
    if hours < 48:
        return f"{hours:.0f} h ago"
    return f"{hours / 24:.0f} d ago"


def backup_is_recent(newest: datetime | None, now: datetime, max_age_hours: float) -> bool:
    return newest is not None and now - newest <= timedelta(hours=max_age_hours)


BACKUPS_CHECK = "backups"


def backup_state(newest: datetime | None, schedules: Sequence[str], now: datetime) -> str:
    """`newest backup 26 h ago; schedule: daily` (or `no backup taken yet; no backup schedule`): what
    `/health`, a backup's proposal and a runbook's backup check all say of a volume's restore points,
    in the same words, so a person confirming a backup knows what it adds."""
    schedule = f"schedule: {', '.join(s.lower() for s in schedules)}" if schedules else "no backup schedule"
    taken = "no backup taken yet" if newest is None else f"newest backup {age_words(backup_age(newest, now))}"
    return f"{taken}; {schedule}"


def backup_summary(newest: datetime | None, schedules: tuple[str, ...], now: datetime, volume: str) -> tuple[bool, str]:
    """(fine, the line `/health` shows): the newest backup's age and whether a schedule exists.

    Fine when a schedule exists or a backup is less than a day old (seed 003: "is there a backup
    from today?"); without either, the database has no recent restore point and says so.
    """
    line = f"volume {volume}: {backup_state(newest, schedules, now)}"
    fine = bool(schedules) or backup_is_recent(newest, now, DEFAULT_BACKUP_MAX_AGE_HOURS)
    return fine, line
