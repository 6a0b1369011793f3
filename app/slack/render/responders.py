"""The private refusal of someone who is not a responder: what they may not do, and who may.

Naming who may turns a dead end into a next step at 3 a.m.: ask one of these people, or have an
admin change pitcrew.yml. The names are Slack ids validated by the catalog, shown as mentions;
the message is ephemeral, so they ping nobody.
"""

from __future__ import annotations

from typing import Any

from app.core.responders import Responders
from app.slack.render.common import message, section
from app.slack.render.incidents import mention

_WHAT = {
    "declare": "declare an incident",
    "ack": "acknowledge {ref}",
    "update": "post updates to {ref}",
    "sev": "change the severity of {ref}",
    "state": "change the state of {ref}",
    "assign": "assign roles in {ref}",
    "keep": "keep {ref} open",
    "resolve": "resolve {ref}",
    "public": "show {ref} on the status page",
    "private": "take {ref} off the status page",
    "silence": "silence {ref}",
    "unsilence": "lift the silence of {ref}",
    "maintenance": "open, list or cancel maintenance windows",
    "merge": "merge incidents into {ref}",
    "split": "split alerts out of {ref}",
    "oncall_override": "override who is on call",
    "vars": "read the variables of services",
}


def what(verb: str, ref: str | None) -> str:
    """`resolve INC-3`, `declare an incident`: the verb as a person would say it."""
    return _WHAT.get(verb, f"{verb} {{ref}}").format(ref=ref or "this incident").strip()


def who_may(responders: Responders) -> str:
    """`<@U0ANA>, the <!subteam^S0ONCALL> group, or anyone who is an operator`."""
    names: list[str] = []
    if responders.listed is None:
        names.append(f"anyone acting in <#{responders.alerts_channel}> or in an incident's thread")
    else:
        names += [mention(u) for u in sorted(responders.listed.users)]
        names += [f"the {mention(g)} group" for g in responders.listed.groups]
    if not responders.operators.empty:
        names.append("anyone who is an operator")
    if not names:
        return "nobody (slack.responders and slack.operators are both empty)"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", or " + names[-1]


def refusal(verb: str, ref: str | None, responders: Responders, unreadable: tuple[str, ...] = ()) -> dict[str, Any]:
    """`Only responders may resolve INC-3: ... Ask one of them, or an admin to add you to slack.responders.`"""
    text = f"Only responders may {what(verb, ref)}: {who_may(responders)}."
    if unreadable:
        text += f" (pitcrew could not read the members of {', '.join(mention(g) for g in unreadable)}.)"
    if responders.listed is None:
        text += " Do it there, or ask one of them, or an admin to add you to slack.responders in pitcrew.yml."
    else:
        text += " Ask one of them, or an admin to add you to slack.responders in pitcrew.yml."
    return message(text, [section(f":no_entry: {text}")])
