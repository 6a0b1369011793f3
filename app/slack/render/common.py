"""Block Kit pieces every renderer shares, each keeping within Slack's limits by construction.

Slack rejects a whole message (`invalid_blocks`) when a single field is too long, which would
lose a health card or an incident update at the moment it matters; so every helper here cuts
its text to the limit instead, and `message()` never lets more than 50 blocks through.
Everything that people, alerts or providers supply goes through `escape()` first, so a title
such as `<!channel>` pings nobody and `<https://evil|click>` stays text.
"""

from __future__ import annotations

from typing import Any, Literal

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40_000  # Slack truncates `text` beyond this
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
ELLIPSIS = "…"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: `&`, `<` and `>` become entities, so control sequences stay text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with … when cut, never inside an `&amp;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    amp = cut.rfind("&", max(len(cut) - 5, 0))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, str]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    """A section of mrkdwn `text` (already escaped by the caller), cut to Slack's 3000 characters."""
    block: Block = {"type": "section", "text": mrkdwn(text, MAX_SECTION_TEXT)}
    if block_id:
        block["block_id"] = _checked_id(block_id, MAX_BLOCK_ID, "block_id")
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> Block:
    """Small grey mrkdwn lines; Slack takes at most 10 elements."""
    elements = [mrkdwn(t, MAX_CONTEXT_TEXT) for t in texts[:MAX_CONTEXT_ELEMENTS]]
    return {"type": "context", "elements": elements}


def header(text: str) -> Block:
    """A bold plain-text title (`:emoji:` codes render), cut to Slack's 150 characters."""
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def divider() -> Block:
    return {"type": "divider"}


def confirm_dialog(
    title: str, text: str, *, confirm: str = "Confirm", deny: str = "Cancel"
) -> dict[str, Any]:
    """The "are you sure?" dialog Slack shows before a button's action is sent."""
    return {
        "title": plain(title, MAX_CONFIRM_TITLE),
        "text": mrkdwn(text, MAX_CONFIRM_TEXT),
        "confirm": plain(confirm, MAX_CONFIRM_BUTTON),
        "deny": plain(deny, MAX_CONFIRM_BUTTON),
    }


def button(
    action_id: str, text: str, value: str, style: Literal["primary", "danger"] | None = None,
    confirm: dict[str, Any] | None = None,
) -> Block:
    """A button. Its text is cut to 75 characters; an action_id or value too long is a bug, so it raises.

    A value is data the click handler reads back (an id): cutting it would act on something else.
    """
    element: Block = {
        "type": "button",
        "action_id": _checked_id(action_id, MAX_ACTION_ID, "action_id"),
        "text": plain(text, MAX_BUTTON_TEXT),
        "value": _checked_id(value, MAX_BUTTON_VALUE, "button value"),
    }
    if style is not None:
        element["style"] = style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    """A row of buttons; Slack wants each action_id once per block, so repeated kinds go in separate ones."""
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = _checked_id(block_id, MAX_BLOCK_ID, "block_id")
    return block


def message(text: str, blocks: list[Block]) -> dict[str, Any]:
    """A message Slack accepts: `text` (what notifications and screen readers read) and at most 50 blocks.

    Renderers keep within 50 blocks themselves; should one not, the end is replaced by a note
    rather than having Slack refuse the whole message.
    """
    if len(blocks) > MAX_BLOCKS:
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        note = context(f"{left_out} more blocks not shown (Slack's limit is 50).")
        blocks = [*blocks[: MAX_BLOCKS - 1], note]
    return {"text": truncate(text, MAX_MESSAGE_TEXT), "blocks": blocks}


def _checked_id(value: str, limit: int, what: str) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"{what} must be 1 to {limit} characters, got {len(value)}")
    return value
