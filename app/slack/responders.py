"""The responder check and the public-or-private choice as the Slack listeners use them.

`refuse_unless_responder` is the one call each incident listener makes before a verb of
RESPONDER_VERBS (app/core/responders.py) reaches a flow: it returns the private refusal to show,
or None to go on. Group members are read through one cache per app (app/slack/operators.py), the
same as the operators' guard uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.responders import Place
from app.flows.responders import check_speaker
from app.slack.context import deps_of
from app.slack.operators import GroupCache, SlackGroupMembers
from app.slack.render.responders import refusal

GROUP_CACHE = "pitcrew_group_cache"  # context key: the app's GroupCache, set by a middleware


def members_of(context: Any, client: Any) -> SlackGroupMembers:
    cache = context.get(GROUP_CACHE)
    if not isinstance(cache, GroupCache):  # an app built without the middleware: read Slack each time
        cache = GroupCache(ttl_s=0)
    return SlackGroupMembers(client, cache)


@dataclass(frozen=True)
class Refusal:
    """What to show the person privately, and the outcome to audit."""

    message: dict[str, Any]
    outcome: str


async def refuse_unless_responder(
    context: Any, client: Any, *, user: str, verb: str, ref: str | None, place: Place
) -> Refusal | None:
    """None when `user` may `verb` at `place`; else the refusal naming who may."""
    check = await check_speaker(deps_of(context), members_of(context, client), user=user, place=place)
    if check.allowed:
        return None
    return Refusal(
        refusal(verb, ref, check.responders, check.unreadable),
        f"refused: only responders may {verb} ({check.decision.reason})",
    )
