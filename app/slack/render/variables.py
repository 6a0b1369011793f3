"""Block Kit for `@pitcrew vars`: a service's variables by source, a comparison, named variables.

Everything shown comes from app/core/var_inventory.py's masked results: names, lengths, keyed
fingerprints and URL shapes, never a value. Names come from a provider and are escaped all the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core.var_inventory import Comparison, Difference, Inventory
from app.core.vars_args import USAGE
from app.flows.variables import NamedVariables
from app.slack.render.common import MAX_SECTION_TEXT, Block, context, escape, message, section

SOURCE_TITLES = {
    "service": "Set on the service",
    "shared": "Shared variables (`${{shared.…}}`)",
    "reference": "References to other services (`${{service.…}}`)",
    "railway": "Provided by Railway",
    "production": "Production",
    "preview": "Preview",
    "development": "Development",
}
FINGERPRINT_NOTE = (
    "Values are never shown: each is its length and `fp`, the first 8 hex digits of an HMAC-SHA256 keyed "
    "by pitcrew (equal values, equal fingerprints). URLs show scheme, host, port and database only."
)
NO_KEY_NOTE = (
    "Values are never shown. No fingerprints: pitcrew has neither AUDIT_KEY nor SLACK_SIGNING_SECRET to key them."
)
SECTION_BUDGET = MAX_SECTION_TEXT - 100


def _name(name: str) -> str:
    return f"`{escape(name)}`"


def _sections(title: str, lines: Iterable[str]) -> list[Block]:
    """`title` and its lines in as many sections as Slack's 3000 characters per section need."""
    blocks: list[Block] = []
    text = f"*{title}*"
    for line in lines:
        if len(text) + len(line) + 1 > SECTION_BUDGET:
            blocks.append(section(text))
            text = f"*{title}* (continued)"
        text += "\n" + line
    blocks.append(section(text))
    return blocks


def _note(fingerprinted: bool) -> str:
    return FINGERPRINT_NOTE if fingerprinted else NO_KEY_NOTE


def inventory_card(found: Inventory) -> dict[str, Any]:
    provider = "Railway" if found.provider == "railway" else "Vercel"
    counted = f"{found.count} variable{'s' if found.count != 1 else ''}"
    blocks: list[Block] = [section(f"Variables of *{escape(found.service)}* ({provider}): {counted}")]
    text_lines = [f"Variables of {found.service} ({provider}): {counted}"]
    for group in found.groups:
        title = SOURCE_TITLES.get(group.source, escape(group.source))
        lines = [f"{_name(e.name)} → {escape(e.masked.describe())}" for e in group.entries]
        blocks += _sections(title, lines)
        text_lines.append(f"{title.replace('`', '')}: " + ", ".join(e.name for e in group.entries))
    if not found.groups:
        blocks.append(section("_No variables._"))
    blocks.append(context(_note(found.fingerprinted)))
    return message(escape("\n".join(text_lines)), blocks)


def named_card(found: NamedVariables) -> dict[str, Any]:
    title = f"Variables of {found.service}" + (" (production)" if found.provider == "vercel" else "")
    lines = [
        f"{_name(p.name)}: {escape(p.masked.describe())}" if p.state == "set" and p.masked is not None
        else f"{_name(p.name)}: *{p.state}*"
        for p in found.found
    ]
    blocks = [*_sections(escape(title), lines), context(_note(found.fingerprinted))]
    return message(escape(f"{title}: " + "; ".join(p.describe() for p in found.found)), blocks)


def unknown_names(service: str, unknown: Iterable[str]) -> dict[str, Any]:
    names = ", ".join(_name(n) for n in unknown)
    text = f"{escape(service)} has no variable {names}. {USAGE}"
    return message(text, [section(f":warning: {text}")])


def _pair(cmp: Comparison, d: Difference) -> str:
    return (f"{_name(d.name)}: {escape(cmp.left)} {escape(d.left.describe())} · "
            f"{escape(cmp.right)} {escape(d.right.describe())}")


def comparison_card(cmp: Comparison) -> dict[str, Any]:
    left, right = escape(cmp.left), escape(cmp.right)
    counts = (
        f"{len(cmp.same)} the same, {len(cmp.different)} different, "
        f"{len(cmp.only_left) + len(cmp.only_right)} on one side only, {len(cmp.cannot_compare)} cannot compare"
    )
    intro = f"Variables of *{left}* and *{right}*: {counts}"
    blocks: list[Block] = [section(intro)]
    text = [intro.replace("*", "")]
    if cmp.only_left:
        blocks += _sections(f"Only on {left}", [", ".join(_name(n) for n in cmp.only_left)])
        text.append(f"only on {left}: {', '.join(map(escape, cmp.only_left))}")
    if cmp.only_right:
        blocks += _sections(f"Only on {right}", [", ".join(_name(n) for n in cmp.only_right)])
        text.append(f"only on {right}: {', '.join(map(escape, cmp.only_right))}")
    if cmp.different:
        blocks += _sections("Different values", [_pair(cmp, d) for d in cmp.different])
        text.append(f"different: {', '.join(escape(d.name) for d in cmp.different)}")
    if cmp.cannot_compare:
        lines = [f"{_pair(cmp, d)} (cannot compare)" for d in cmp.cannot_compare]
        blocks += _sections("Cannot compare (sensitive or sealed)", lines)
        text.append(f"cannot compare: {', '.join(escape(d.name) for d in cmp.cannot_compare)}")
    if cmp.same:
        blocks += _sections("The same", [", ".join(_name(n) for n in cmp.same)])
    blocks.append(context(_note(cmp.fingerprinted)))
    return message("\n".join(text), blocks)


def usage(text: str) -> dict[str, Any]:
    return message(escape(text), [section(escape(text))])


def problem(service: str | None, reason: str) -> dict[str, Any]:
    about = f" of {escape(service)}" if service else ""
    text = f"Could not read the variables{about}: {escape(reason)}"
    return message(text, [section(f":warning: {text}")])
