"""Block Kit messages as terminal text: what a newcomer reads instead of Slack's window.

Pure functions over the message as the fake Slack keeps it, so the same message always gives
the same text: a scripted console run (`pitcrew demo --script`) is a transcript that can be
compared from run to run. Button numbers come from the caller, because only the session knows
which numbers it has handed out before; the renderer just asks for one per button, in the
order `app.sandbox.slack.buttons()` lists them, so "[3]" on screen and "click 3" agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.sandbox.slack import SlackMessage

ButtonNumber = Callable[[str, dict[str, Any]], int]
"""Gives the number shown for a button, from its block_id and element."""

THREAD_MARKER = "  ↳ "
DIVIDER = "─" * 40
FILE_PREVIEW_LINES = 20

# Emoji codes pitcrew's messages use, as the symbol a terminal shows; others stay `:code:`,
# which reads well enough and never turns a time such as 12:30:45 into something else.
EMOJI = {
    "large_green_circle": "🟢", "large_yellow_circle": "🟡", "large_orange_circle": "🟠",
    "red_circle": "🔴", "large_blue_circle": "🔵", "white_circle": "⚪", "black_circle": "⚫",
    "white_check_mark": "✅", "heavy_check_mark": "✔", "x": "❌", "warning": "⚠️",
    "rotating_light": "🚨", "fire": "🔥", "hourglass": "⌛", "hourglass_flowing_sand": "⏳",
    "stopwatch": "⏱", "mag": "🔍", "memo": "📝", "pushpin": "📌", "rocket": "🚀",
    "leftwards_arrow_with_hook": "↩", "arrows_counterclockwise": "🔄", "no_entry": "⛔",
    "no_entry_sign": "🚫", "lock": "🔒", "bell": "🔔", "eyes": "👀", "information_source": "ℹ",
    "checkered_flag": "🏁", "wrench": "🔧", "hammer_and_wrench": "🛠", "pager": "📟",
    "construction": "🚧", "scroll": "📜", "clipboard": "📋", "speech_balloon": "💬",
    "thumbsup": "👍", "+1": "👍", "question": "❓", "arrow_right": "➡", "bulb": "💡", "zap": "⚡",
    "chart_with_upwards_trend": "📈", "calendar": "📅", "bust_in_silhouette": "👤",
    "busts_in_silhouette": "👥", "link": "🔗", "package": "📦", "gear": "⚙", "stop_sign": "🛑",
    "page_facing_up": "📄", "bar_chart": "📊", "satellite_antenna": "📡", "skull": "💀",
    "sparkles": "✨", "tada": "🎉", "heavy_minus_sign": "➖", "repeat": "🔁", "fast_forward": "⏩",
    "arrow_up": "⬆", "arrow_down": "⬇", "ok": "🆗", "sos": "🆘", "loudspeaker": "📢",
}

_ANGLE = re.compile(r"<([^<>\n]*)>")
_ENTITY = re.compile(r"&(lt|gt|amp);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
_EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
# Spans mrkdwn does not format inside: code blocks, code and `<...>` links and mentions.
_LITERAL = re.compile(r"```(.*?)```|`([^`\n]+)`|<([^<>\n]*)>", re.DOTALL)
_TOKEN = re.compile("\ue000(\\d+)\ue001")
# Slack's emphasis: a marker pair around non-space text, not inside a word ("snake_case", "2 * 3").
_EMPHASIS = {
    marker: re.compile(rf"(?<![\w{re.escape(marker)}])\{marker}(?=\S)([^{marker}\n]+?)(?<=\S)\{marker}(?![\w{marker}])")
    for marker in "*_~"
}
# While emphasis is worked out it is held by private-use characters (never word characters,
# so nested markers still find their boundaries) and turned into colour codes, or nothing, last.
_MARKS = {"*": ("\ue010", "\ue011"), "_": ("\ue012", "\ue013"), "~": ("\ue014", "\ue015")}
_QUOTE = re.compile(r"^>[ \t]?", re.MULTILINE)
QUOTE_MARKER = "│ "
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Palette:
    """Terminal emphasis, or none at all when the output is not a terminal (a file, a pipe, a test)."""

    color: bool = False

    def _wrap(self, text: str, on: str, off: str) -> str:
        return f"\x1b[{on}m{text}\x1b[{off}m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._wrap(text, "1", "22")

    def italic(self, text: str) -> str:
        return self._wrap(text, "3", "23")

    def strike(self, text: str) -> str:
        return self._wrap(text, "9", "29")

    def dim(self, text: str) -> str:
        return self._wrap(text, "2", "22")

    def red(self, text: str) -> str:
        return self._wrap(text, "31", "39")

    def cyan(self, text: str) -> str:
        return self._wrap(text, "36", "39")


PLAIN = Palette(color=False)
COLOR = Palette(color=True)


def visible_len(text: str) -> int:
    """Length as the terminal shows it, colour codes left out, for aligning continuation lines."""
    return len(_ANSI.sub("", text))


# --- mrkdwn ------------------------------------------------------------------------------------
def mrkdwn_to_text(text: str, *, palette: Palette = PLAIN, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as a terminal shows it, without its markers.

    `*bold*`, `_italic_` and `~strike~` lose their markers and, in a terminal, turn bold, italic
    and struck through (a plain transcript shows the words alone); code spans and blocks lose
    their backticks and keep their text as typed; a `>` quote line is marked with a bar. Links
    become `label (url)`, mentions `@name`, known emoji codes symbols, and `&lt;`/`&gt;`/`&amp;`
    turn back into the characters they stand for, last, so escaped text such as `&lt;!channel&gt;`
    can never become a link, a ping or a marker here either.
    """
    literals: list[str] = []

    def hold(match: re.Match[str]) -> str:
        block, code, angle = match.groups()
        if angle is not None:
            literals.append(emoji(_angle(angle, names or {})))
        else:
            literals.append((block if block is not None else code).strip("\n"))
        return f"\ue000{len(literals) - 1}\ue001"

    held = emoji(_LITERAL.sub(hold, text))
    held = _QUOTE.sub(QUOTE_MARKER, held)
    for marker, pattern in _EMPHASIS.items():
        on, off = _MARKS[marker]
        held = pattern.sub(lambda m, on=on, off=off: f"{on}{m.group(1)}{off}", held)
    shown = _TOKEN.sub(lambda m: literals[int(m.group(1))], held)
    shown = re.sub("\ue010(.*?)\ue011", lambda m: palette.bold(m.group(1)), shown, flags=re.DOTALL)
    shown = re.sub("\ue012(.*?)\ue013", lambda m: palette.italic(m.group(1)), shown, flags=re.DOTALL)
    shown = re.sub("\ue014(.*?)\ue015", lambda m: palette.strike(m.group(1)), shown, flags=re.DOTALL)
    return unescape(shown)


def _angle(inner: str, names: Mapping[str, str]) -> str:
    """One `<...>` control sequence: a link, a user, a channel, a group or a special mention."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or names.get(target[1:], target[1:]))
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        if label:
            return label
        special = target[1:]
        if special.startswith("subteam^"):
            return "@" + names.get(special[len("subteam^"):], special[len("subteam^"):])
        return "@" + special.split("^", 1)[0]
    if label and label != target:
        return f"{label} ({target})"
    return target


def unescape(text: str) -> str:
    """The three entities Slack escapes, in one pass so `&amp;lt;` stays the text `&lt;`."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def text_object(obj: Any, *, palette: Palette = PLAIN, names: Mapping[str, str] | None = None) -> str:
    """A Block Kit text object (`plain_text` or `mrkdwn`) as terminal text; anything else as empty."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text, palette=palette, names=names)
    return emoji(text) if obj.get("emoji", True) else text


# --- blocks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    button_number: ButtonNumber
    palette: Palette
    names: Mapping[str, str]
    files: Mapping[str, bytes | str]  # text content, or where a binary file (an image) was written

    def text(self, obj: Any) -> str:
        return text_object(obj, palette=self.palette, names=self.names)


def render_blocks(
    blocks: Sequence[dict[str, Any]], *, button_number: ButtonNumber, palette: Palette = PLAIN,
    names: Mapping[str, str] | None = None, files: Mapping[str, bytes | str] | None = None,
) -> list[str]:
    """The lines of a message's blocks, buttons numbered by `button_number` in reading order."""
    ctx = _Context(button_number, palette, names or {}, files or {})
    lines: list[str] = []
    for block in blocks:
        renderer = _BLOCKS.get(str(block.get("type")), _unknown_block)
        lines.extend(renderer(block, ctx))
    return lines


def _header(block: dict[str, Any], ctx: _Context) -> list[str]:
    return [ctx.palette.bold(ctx.text(block.get("text")))]


def _section(block: dict[str, Any], ctx: _Context) -> list[str]:
    lines = ctx.text(block.get("text")).splitlines() if block.get("text") else []
    for field in block.get("fields") or []:
        lines.append(" ".join(part.strip() for part in ctx.text(field).splitlines() if part.strip()))
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        shown = _element(block, accessory, ctx)
        if shown:
            lines.append(shown)
    return lines


def _context(block: dict[str, Any], ctx: _Context) -> list[str]:
    parts = []
    for element in block.get("elements") or []:
        if element.get("type") == "image":
            if element.get("alt_text"):
                parts.append(f"[{element['alt_text']}]")
        else:
            parts.append(" ".join(ctx.text(element).splitlines()))
    return [ctx.palette.dim(" · ".join(p for p in parts if p))] if parts else []


def _divider(block: dict[str, Any], ctx: _Context) -> list[str]:
    return [ctx.palette.dim(DIVIDER)]


def _actions(block: dict[str, Any], ctx: _Context) -> list[str]:
    shown = [_element(block, element, ctx) for element in block.get("elements") or []]
    return ["  ".join(s for s in shown if s)]


def _element(block: dict[str, Any], element: dict[str, Any], ctx: _Context) -> str:
    """A button as `[N] Label`; other interactive elements say they cannot be used here."""
    kind = element.get("type")
    if kind == "button":
        number = ctx.button_number(str(block.get("block_id", "")), element)
        label = ctx.text(element.get("text")) or element.get("action_id", "button")
        shown = f"[{number}] {label}"
        if element.get("style") == "danger":
            shown = ctx.palette.red(shown + " (danger)")
        elif element.get("style") == "primary":
            shown = ctx.palette.bold(shown)
        if element.get("url"):
            shown += f" ({element['url']})"
        return shown
    if kind == "image":
        return ""
    placeholder = ctx.text(element.get("placeholder"))
    what = f"{kind} “{placeholder}”" if placeholder else str(kind)
    return ctx.palette.dim(f"({what}: not available in the console)")


def _image(block: dict[str, Any], ctx: _Context) -> list[str]:
    alt = block.get("alt_text") or ctx.text(block.get("title")) or "image"
    url = block.get("image_url")
    return [f"[image: {alt}]" + (f" ({url})" if url else "")]


def _file(block: dict[str, Any], ctx: _Context) -> list[str]:
    """An uploaded file, with the start of its text: Slack shows a preview, and logs are files."""
    title = block.get("title") or block.get("file_id") or "file"
    content = ctx.files.get(str(block.get("file_id")))
    if content is None:
        return [f"[file: {title}]"]
    if isinstance(content, str):  # an image (a report's chart): the terminal cannot show it, a viewer can
        return [f"[image: {title}, written to {content}]"]
    text_lines = content.decode("utf-8", errors="replace").splitlines()
    lines = [f"[file: {title}, {len(text_lines)} lines]"]
    lines.extend("  " + line for line in text_lines[:FILE_PREVIEW_LINES])
    if len(text_lines) > FILE_PREVIEW_LINES:
        lines.append(ctx.palette.dim(f"  … {len(text_lines) - FILE_PREVIEW_LINES} more lines"))
    return lines


def _rich_text(block: dict[str, Any], ctx: _Context) -> list[str]:
    lines: list[str] = []
    for element in block.get("elements") or []:
        kind = element.get("type")
        if kind == "rich_text_list":
            for index, item in enumerate(element.get("elements") or [], start=1):
                bullet = f"{index}." if element.get("style") == "ordered" else "•"
                lines.append(f"{bullet} {_rich_inline(item, ctx)}")
        elif kind == "rich_text_preformatted":
            lines.extend("  " + line for line in _rich_inline(element, ctx).splitlines())
        elif kind == "rich_text_quote":
            lines.extend("> " + line for line in _rich_inline(element, ctx).splitlines())
        else:
            lines.extend(_rich_inline(element, ctx).splitlines())
    return lines


def _rich_inline(element: dict[str, Any], ctx: _Context) -> str:
    out = []
    for part in element.get("elements") or []:
        kind = part.get("type")
        if kind == "text":
            text, style = part.get("text", ""), part.get("style") or {}
            for on, show in (("bold", ctx.palette.bold), ("italic", ctx.palette.italic),
                             ("strike", ctx.palette.strike)):
                text = show(text) if style.get(on) else text
            out.append(text)
        elif kind == "link":
            url, label = part.get("url", ""), part.get("text")
            out.append(f"{label} ({url})" if label and label != url else url)
        elif kind == "emoji":
            out.append(EMOJI.get(part.get("name", ""), f":{part.get('name', '')}:"))
        elif kind == "user":
            out.append("@" + ctx.names.get(part.get("user_id", ""), part.get("user_id", "")))
        elif kind == "usergroup":
            out.append("@" + part.get("usergroup_id", ""))
        elif kind == "channel":
            out.append("#" + part.get("channel_id", ""))
        elif kind == "broadcast":
            out.append("@" + part.get("range", ""))
    return "".join(out)


def _markdown(block: dict[str, Any], ctx: _Context) -> list[str]:
    return str(block.get("text", "")).splitlines()


def _unknown_block(block: dict[str, Any], ctx: _Context) -> list[str]:
    return [ctx.palette.dim(f"({block.get('type', 'unknown')} block: not shown in the console)")]


_BLOCKS: dict[str, Callable[[dict[str, Any], _Context], list[str]]] = {
    "header": _header, "section": _section, "context": _context, "divider": _divider,
    "actions": _actions, "image": _image, "file": _file, "rich_text": _rich_text, "markdown": _markdown,
}


# --- whole messages ----------------------------------------------------------------------------
def message_lines(
    message: SlackMessage, *, button_number: ButtonNumber, palette: Palette = PLAIN,
    names: Mapping[str, str] | None = None, files: Mapping[str, bytes | str] | None = None,
) -> list[str]:
    """The body of a message: its blocks when it has any (Slack shows those), else its text."""
    if message.blocks:
        lines = render_blocks(
            message.blocks, button_number=button_number, palette=palette, names=names, files=files
        )
    else:
        lines = mrkdwn_to_text(message.text, palette=palette, names=names).splitlines()
    lines = [line.rstrip() for line in lines]
    return lines if any(lines) else [palette.dim("(empty message)")]


def render_message(
    message: SlackMessage, *, number: int, button_number: ButtonNumber, tags: Sequence[str] = (),
    in_thread: bool = False, author: str | None = None, palette: Palette = PLAIN,
    names: Mapping[str, str] | None = None, files: Mapping[str, bytes | str] | None = None,
) -> str:
    """`#N (tags) first line`, further lines aligned under it; a thread reply indented behind `↳`.

    `tags` are the session's notes on the message, such as `(only you)`, `(edited)` or
    `(thread #3)`; `author` names a person's message (bot messages carry none).
    """
    body = message_lines(message, button_number=button_number, palette=palette, names=names, files=files)
    lead = (THREAD_MARKER if in_thread else "") + palette.cyan(f"#{number}") + " "
    indent = " " * visible_len(lead)
    heading = "".join(palette.dim(tag) + " " for tag in tags)
    if author:
        heading += palette.bold(author) + ": "
    lines = [lead + heading + body[0]]
    lines.extend(indent + line if line else "" for line in body[1:])
    return "\n".join(lines)


def confirm_prompt(confirm: Mapping[str, Any], *, palette: Palette = PLAIN) -> str:
    """`title — text [y/N] `: Slack's "are you sure?" dialog as a question on one line."""
    title = text_object(confirm.get("title"), palette=palette)
    text = " ".join(text_object(confirm.get("text"), palette=palette).split())
    question = " — ".join(part for part in (title, text) if part) or "Are you sure?"
    return f"{question} [y/N] "
