"""Reading the members of Slack user groups for a guard: operators, responders.

Groups are read concurrently (a refusal must not wait for one group after another), and a group
that cannot be read is recorded as None: the guards in core/ grant nothing through it and say so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable

from app.flows.action_ports import GroupMembers

log = logging.getLogger("pitcrew.guard")


async def read_groups(members: GroupMembers, groups: Iterable[str]) -> dict[str, Collection[str] | None]:
    """Each group's members; None for a group Slack would not list."""
    wanted = tuple(dict.fromkeys(groups))
    found = await asyncio.gather(*(members.members(g) for g in wanted), return_exceptions=True)
    read: dict[str, Collection[str] | None] = {}
    for group, result in zip(wanted, found, strict=True):
        if isinstance(result, BaseException):
            log.warning("could not read the members of user group %s: %s", group, result)
            read[group] = None
        else:
            read[group] = frozenset(result)
    return read
