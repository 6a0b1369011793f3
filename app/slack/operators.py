"""Operator groups read from Slack (`usergroups.users.list`), cached briefly.

Confirming an action must not wait on Slack for every click of a burst, yet a person removed from
the on-call group must lose the right soon: a minute of cache is both. A destructive confirm reads
Slack every time (`fresh`), so removing someone from the group takes their right to confirm at once;
the cache serves the checks that change nothing irreversible (who may cancel, who is a responder).
The cache belongs to one app instance; the flow only sees the `GroupMembers` protocol.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from slack_sdk.web.async_client import AsyncWebClient

DEFAULT_TTL_S = 60.0


class GroupCache:
    """Members per group id, each kept for `ttl_s` seconds."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, frozenset[str]]] = {}

    def get(self, group_id: str) -> frozenset[str] | None:
        entry = self._entries.get(group_id)
        if entry is None or self._clock() - entry[0] > self.ttl_s:
            return None
        return entry[1]

    def put(self, group_id: str, members: Collection[str]) -> frozenset[str]:
        found = frozenset(members)
        self._entries[group_id] = (self._clock(), found)
        return found


class SlackGroupMembers:
    """`GroupMembers` over Slack's Web API; a group Slack will not list raises (and grants nothing).
    `fresh` reads Slack whatever the cache holds (and refreshes it)."""

    def __init__(self, client: AsyncWebClient, cache: GroupCache, *, fresh: bool = False) -> None:
        self.client = client
        self.cache = cache
        self.fresh = fresh

    async def members(self, group_id: str) -> Collection[str]:
        cached = None if self.fresh else self.cache.get(group_id)
        if cached is not None:
            return cached
        response = await self.client.usergroups_users_list(usergroup=group_id)
        users = response.get("users")
        return self.cache.put(group_id, [u for u in users if isinstance(u, str)] if isinstance(users, list) else [])
