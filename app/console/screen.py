"""What the console has printed: messages numbered #N, buttons numbered [N], and the printing itself.

The screen owns the numbers a person types back (`thread 3`, `click 2`): a message keeps its #N
and a button its [N] when an edit reprints the message, so what was on screen stays what a line
refers to. It turns each Slack message into text with `app.console.render` and tags it with what
Slack would show around it (only you, another channel, a thread, edited). It knows nothing of the
app or of how lines are read; the session hands it messages to show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from app.console.lines import ConsoleInputError
from app.console.render import ButtonNumber, Palette, render_message
from app.sandbox.slack import BOT_USER_ID, SlackMessage, buttons

_Ident = tuple[str, str, str | None]


@dataclass
class Shown:
    """A message on screen: its number, and which version of it was printed last."""

    number: int
    message: SlackMessage
    edits: int


@dataclass(frozen=True)
class ButtonRef:
    """Where button [N] lives: its message and its identity there (block, action, value, occurrence)."""

    message: SlackMessage
    ident: _Ident
    occurrence: int


class Screen:
    """The transcript: `write()` a line, `show()` a message; numbers for what was shown."""

    def __init__(self, out: TextIO, palette: Palette, channel: str) -> None:
        self.out = out
        self.palette = palette
        self.channel = channel
        self._shown: dict[tuple[str, str], Shown] = {}
        self._by_number: dict[int, Shown] = {}
        self._authors: dict[tuple[str, str], str] = {}
        self._button_numbers: dict[tuple[Any, ...], int] = {}
        self._buttons: dict[int, ButtonRef] = {}

    # --- looking things up -------------------------------------------------------------------
    def shown(self, message: SlackMessage) -> Shown | None:
        return self._shown.get((message.channel, message.ts))

    def shown_at(self, channel: str, ts: str) -> Shown | None:
        return self._shown.get((channel, ts))

    def message(self, number: int) -> Shown:
        """Message #number, or a ConsoleInputError saying which numbers there are."""
        shown = self._by_number.get(number)
        if shown is None:
            count = len(self._by_number)
            known = f"messages on screen are #1 to #{count}" if count else "no messages yet"
            raise ConsoleInputError(f"no message #{number}: {known}")
        return shown

    def button(self, number: int) -> tuple[ButtonRef, dict[str, Any]]:
        """Button [number] and its element as its message is now; a ConsoleInputError when there is none."""
        ref = self._buttons.get(number)
        if ref is None:
            count = len(self._buttons)
            known = f"buttons on screen are [1] to [{count}]" if count else "no buttons yet"
            raise ConsoleInputError(f"no button [{number}]: {known}")
        element = _find(ref)
        if element is None:
            shown = self.shown(ref.message)
            where = f"message #{shown.number}" if shown else "its message"
            raise ConsoleInputError(f"button [{number}] is gone: {where} was changed since")
        return ref, element

    def message_number(self, message: SlackMessage) -> int | None:
        """The #N a message has on screen (what `thread N` takes), or None when it was not printed."""
        shown = self.shown(message)
        return shown.number if shown else None

    def button_number(self, message: SlackMessage, action_id: str, value: str | None = None) -> int | None:
        """The [N] of a printed message's first button `action_id` (with `value`, if given): what `click N` takes."""
        seen: Counter[_Ident] = Counter()
        for block_id, element in buttons(message):
            ident = (block_id, str(element.get("action_id", "")), element.get("value"))
            seen[ident] += 1
            if ident[1] == action_id and (value is None or ident[2] == value):
                number = self._button_numbers.get((message.channel, message.ts, *ident, seen[ident]))
                if number is not None:
                    return number
        return None

    # --- printing ----------------------------------------------------------------------------
    def note_author(self, message: SlackMessage, user: str) -> None:
        """A person wrote `message` (a mention): its line names them."""
        self._authors[(message.channel, message.ts)] = user

    def is_current(self, message: SlackMessage) -> bool:
        """True when this version of `message` is on screen already."""
        shown = self.shown(message)
        return shown is not None and shown.edits == message.edits

    def show(
        self, message: SlackMessage, *, edited: bool, viewer: str, files: Mapping[str, bytes | str] | None = None
    ) -> None:
        """Print `message` as `viewer` sees it, numbering it (and its buttons) the first time."""
        key = (message.channel, message.ts)
        shown = self._shown.get(key)
        if shown is None:
            shown = Shown(len(self._by_number) + 1, message, message.edits)
            self._shown[key] = shown
            self._by_number[shown.number] = shown
        shown.message, shown.edits = message, message.edits
        in_thread = bool(message.thread_ts and message.thread_ts != message.ts)
        tags = []
        if message.ephemeral_to:
            to = message.ephemeral_to
            tags.append("(only you)" if to == viewer else f"(only {to})")
        if message.channel != self.channel:
            tags.append(f"(in #{message.channel})")
        if in_thread:
            root = self._shown.get((message.channel, message.thread_ts or ""))
            tags.append(f"(thread #{root.number})" if root else "(thread)")
        if edited:
            tags.append("(edited)")
        self.write(render_message(
            message, number=shown.number, button_number=self._numberer(message), tags=tags,
            in_thread=in_thread, author=self._authors.get(key), palette=self.palette,
            names={BOT_USER_ID: "pitcrew"}, files=files,
        ))

    def _numberer(self, message: SlackMessage) -> ButtonNumber:
        """Numbers for a message's buttons: the same button keeps its number when the message is reprinted."""
        seen: Counter[_Ident] = Counter()

        def number(block_id: str, element: dict[str, Any]) -> int:
            ident = (block_id, str(element.get("action_id", "")), element.get("value"))
            seen[ident] += 1
            key = (message.channel, message.ts, *ident, seen[ident])
            if key not in self._button_numbers:
                self._button_numbers[key] = len(self._buttons) + 1
                self._buttons[self._button_numbers[key]] = ButtonRef(message, ident, seen[ident])
            return self._button_numbers[key]

        return number

    def write(self, text: str) -> None:
        try:
            self.out.write(text + "\n")
        except UnicodeEncodeError:  # a terminal that cannot show ↳ or 🟢 still gets the words
            encoding = getattr(self.out, "encoding", None) or "ascii"
            self.out.write((text + "\n").encode(encoding, errors="replace").decode(encoding))
        self.out.flush()


def _find(ref: ButtonRef) -> dict[str, Any] | None:
    """Button `ref` in its message as the message is now, or None when an edit took it away."""
    seen: Counter[_Ident] = Counter()
    for block_id, element in buttons(ref.message):
        ident = (block_id, str(element.get("action_id", "")), element.get("value"))
        seen[ident] += 1
        if ident == ref.ident and seen[ident] == ref.occurrence:
            return element
    return None
