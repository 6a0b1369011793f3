"""`@pitcrew vars <service> [NAME ...]` and `@pitcrew vars compare <a> <b>`: parse, check, read, answer.

Reading variables changes nothing, but the names, lengths and fingerprints still tell an outsider
what a service holds, so only responders may ask (app/core/responders.py: the people of
`slack.responders` and the operators, or, without that key, whoever acts in the alerts channel or
an incident thread). A refusal, a mistake or a provider's failure is told to the asker alone; the
answer goes where pitcrew answers (the thread for all, else to the asker: the `reply` it is given).
"""

from __future__ import annotations

from typing import Any

from app.catalog import UnknownService
from app.core.secrets import mask_values
from app.core.vars_args import USAGE, VarsUsage, parse_vars_args
from app.flows import variables
from app.flows.responders import place_of
from app.providers.base import InvalidIdentifier, ProviderError
from app.slack.context import deps_of
from app.slack.mention_verbs import Mention, Reply
from app.slack.render import variables as render
from app.slack.render.common import message, section
from app.slack.responders import refuse_unless_responder


async def vars_verb(mention: Mention, context: Any, reply: Reply) -> str:
    deps = deps_of(context)
    client = context.client

    async def private(answer: dict[str, Any]) -> None:
        await client.chat_postEphemeral(
            channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **answer
        )

    place = await place_of(deps, mention.channel, mention.thread_ts)
    refused = await refuse_unless_responder(context, client, user=mention.user, verb="vars", ref=None, place=place)
    if refused is not None:
        text = refused.message["text"] + f"\n{USAGE}"
        await private(message(text, [*refused.message["blocks"], section(USAGE)]))
        return refused.outcome
    providers = {name: service.provider for name, service in deps.catalog.services.items()}
    try:
        args = parse_vars_args(mention.args, providers)
    except VarsUsage as err:
        await private(render.usage(str(err)))
        return "usage" if err.problem is None else f"refused: {err.problem}"
    about = args.service or (args.compare[0].service if args.compare else None)
    try:
        if args.compare is not None:
            left, right = args.compare
            comparison = await variables.compare_sides(deps, left, right)
            await reply(**render.comparison_card(comparison))
            return f"compared {left.label} and {right.label}"
        assert args.service is not None
        if args.names:
            named = await variables.named_variables(deps, args.service, args.names)
            unknown = [p.name for p in named.found if p.state == "missing"]
            if unknown:
                await private(render.unknown_names(args.service, unknown))
                return f"refused: unknown variable {', '.join(unknown)}"
            await reply(**render.named_card(named))
            return f"{args.service}: {len(args.names)} named"
        found = await variables.service_inventory(deps, args.service)
        await reply(**render.inventory_card(found))
        return f"{args.service}: {found.count} variables"
    except (UnknownService, variables.VariablesUnavailable) as err:
        await private(render.problem(about, str(err)))
        return f"refused: {err}"
    except (ProviderError, InvalidIdentifier, TimeoutError) as err:
        reason = mask_values(str(err) or "no answer in time", deps.secret_values())
        await private(render.problem(about, reason))
        return f"failed: {reason}"
