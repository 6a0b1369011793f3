"""What people type, as Slack delivers it, turned back into what they meant.

Slack escapes `&`, `<` and `>` in command and message text as HTML entities, and writes mentions,
channels and links as control sequences (`<@U123|ana>`, `<#C123|ops>`, `<https://x|x>`) when a
command has `should_escape` on. Titles and updates are stored and shown to people outside Slack
(the status page, the post-mortem), so they are kept as plain text.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # &amp; last: "&amp;lt;" means "&lt;"


def unescape(text: str) -> str:
    """Slack's three entities back to their characters."""
    for escaped, plain in _ENTITIES:
        text = text.replace(escaped, plain)
    return text


def _readable(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target[:1] in ("@", "#"):  # a user or a channel: its name when Slack gave it
        return target[0] + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S123|@oncall>
        return label or "@" + target[1:].split("^")[0]
    return target if not label or label == target else f"{label} ({target})"


def plain_text(text: str) -> str:
    """Mentions, channels and links as people read them, and the entities unescaped."""
    return unescape(_CONTROL.sub(_readable, text))


def counted(count: int, noun: str) -> str:
    """`1 alert`, `2 alerts`, `1 matching line`: a count people read without stumbling."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
