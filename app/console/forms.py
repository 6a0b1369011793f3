"""Slack modals in the console: a form pitcrew opens (`views.open`) asked field by field.

Slack would show a window with inputs; the console shows the form's title and text, then asks
each input block on its own line, its label as the question. A default (an `initial_value`, an
`initial_option`) is shown in brackets and kept by pressing Enter; a select lists its options,
answered by number or by value; a required field left empty is asked again; `-` leaves an
optional field empty; `cancel` (or the end of input) closes the form unsent. The answers are
handed back as {block_id: text or option value}, which the fake Slack turns into the
`view_submission` Slack would send. Nothing here knows the app: forms are read from their blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.console.lines import LineSource
from app.console.render import PLAIN, Palette, render_blocks, text_object

CANCEL = "cancel"
CLEAR = "-"
CONTINUED = "\\"

Answers = dict[str, str | None]


@dataclass(frozen=True)
class Field:
    """One input block of a form: what to ask and how to read the answer."""

    block_id: str
    label: str
    optional: bool
    kind: str  # the element's type: plain_text_input, static_select, ...
    multiline: bool = False
    default: str | None = None
    options: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (value, text)
    hint: str = ""


def form_fields(view: Mapping[str, Any]) -> list[Field]:
    """The input blocks of a modal, in the order Slack shows them."""
    found = []
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if block.get("type") != "input" or not block.get("block_id"):
            continue
        kind = str(element.get("type", "plain_text_input"))
        options = tuple(_option_text(o) for o in element.get("options") or [])
        if kind == "static_select":
            default = (element.get("initial_option") or {}).get("value")
        else:
            default = element.get("initial_value") or None
        found.append(Field(
            block_id=str(block["block_id"]),
            label=text_object(block.get("label")) or str(block["block_id"]),
            optional=bool(block.get("optional")),
            kind=kind,
            multiline=bool(element.get("multiline")),
            default=default,
            options=options,
            hint=text_object(block.get("hint")) or text_object(element.get("placeholder")),
        ))
    return found


def _option_text(option: Mapping[str, Any]) -> tuple[str, str]:
    """(value, what a person reads): the option's text, its description after a dash."""
    value = str(option.get("value", ""))
    text = text_object(option.get("text")) or value
    description = text_object(option.get("description"))
    return value, f"{text} — {description}" if description else text


def form_intro(view: Mapping[str, Any], *, palette: Palette = PLAIN) -> list[str]:
    """What is printed before the questions: the title, the form's own text, how to answer."""
    title = text_object(view.get("title")) or "a form"
    submit = text_object(view.get("submit")) or "Submit"
    lines = [f"pitcrew opened a form: {palette.bold(title)}"]
    shown = [b for b in view.get("blocks") or [] if b.get("type") not in ("input", "actions")]
    lines.extend("  " + line for line in render_blocks(shown, button_number=lambda *_: 0, palette=palette))
    lines.append(
        f"  answer each field; Enter keeps the [default], {CLEAR} leaves an optional field empty, "
        f"`{CANCEL}` closes the form; the last answer presses “{submit}”"
    )
    return lines


class FormAsker:
    """Asks a form's fields through a LineSource, printing with `write` what a person needs to see."""

    def __init__(self, source: LineSource, write: Callable[[str], None]) -> None:
        self.source = source
        self.write = write

    async def _read(self, prompt: str) -> str | None:
        answer = await self.source.read(prompt)
        if self.source.echo:
            self.write(prompt + (answer or ""))
        return None if answer is None else answer.strip()

    async def ask(
        self, fields: Sequence[Field], *, previous: Answers | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> Answers | None:
        """Every field's answer, or None when the person cancelled. With `errors` (the app's notes from
        a refused submission), only those fields are asked again, each after its note."""
        answers: Answers = dict(previous or {})
        for one in fields:
            if errors is not None:
                if one.block_id not in errors:
                    continue
                self.write(f"! {one.label}: {errors[one.block_id]}")
            answer = await self._field(one, answers.get(one.block_id, one.default))
            if answer is _CANCELLED:
                return None
            answers[one.block_id] = answer if isinstance(answer, str) else None
        return answers

    async def _field(self, one: Field, default: str | None) -> str | object | None:
        if one.options:
            for index, (_, text) in enumerate(one.options, start=1):
                self.write(f"    {index}. {text}")
        shown = next((text for value, text in one.options if value == default), default)
        if one.hint and not one.options:
            self.write(f"    {one.hint}")
        if one.multiline:
            self.write(f"    (end a line with {CONTINUED} to write another)")
        need = " (optional)" if one.optional else ""
        prompt = f"  {one.label}{need}" + (f" [{shown}]" if shown else "") + ": "
        while True:
            answer = await self._read(prompt)
            if answer is None or answer.lower() == CANCEL:
                return _CANCELLED
            while one.multiline and answer.endswith(CONTINUED):
                more_text = await self._read("  … ")
                if more_text is None:
                    return _CANCELLED
                answer = answer[: -len(CONTINUED)].rstrip() + "\n" + more_text
            if answer == CLEAR and one.optional:
                return None
            if not answer:
                if default or one.optional:
                    return default or None
                self.write(f"  {one.label} is required: type it, or `{CANCEL}` to close the form")
                continue
            if not one.options:
                return answer
            chosen = _option(one.options, answer)
            if chosen is not None:
                return chosen
            self.write(f"  choose {one.label} by its number (1 to {len(one.options)}) or its value")


def _option(options: Sequence[tuple[str, str]], answer: str) -> str | None:
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return options[int(answer) - 1][0]
    for value, text in options:
        if answer.lower() in (value.lower(), text.lower(), text.split(" — ")[0].lower()):
            return value
    return None


_CANCELLED = object()
