"""What `@pitcrew set|unset` shows: the private note with the button that opens the form, the form
(value, redeploy after, revert after, Vercel targets), and the private refusals.

Why a button and not the form at once: a mention carries no `trigger_id` (Slack's Events API wraps an
`app_mention` in its GenericEventWrapper with none, refdata/slack/events-api), and `views.open` needs
one ("Exchange a trigger to post to the user", refdata/slack/web-api, views.open); a button's
`block_actions` payload has one (refdata/slack/java-sdk-json-logs-samples/.../BlockActionPayload.json).
The value is typed in the form only, never in the channel.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.variable_changes import USAGE
from app.slack.render.common import actions, button, escape, message, section

OPEN_FORM = "variables.open_form"
FORM = "variables.form"
_REDEPLOY = [("yes", "Yes: redeploy so it takes effect"), ("no", "No: it applies at the next deploy")]
_TARGETS = [
    ("production", "Production"),
    ("production,preview", "Production and preview"),
    ("preview", "Preview"),
]


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def form_note(
    kind: str, service: str, name: str, thread_ts: str | None, *, step: str | None = None,
    message_ts: str | None = None, fixed: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Told to the asker alone: the button that opens the form (the value is typed there). `step`: the
    runbook step button's value when a `set_variable` step without `value:` asked for it."""
    verb = "set" if kind == "set_variable" else "remove"
    text = f"To {verb} `{escape(name)}` on *{escape(service)}*, open the form (only you see this)."
    note: dict[str, Any] = {"k": kind, "s": service, "n": name, "t": thread_ts}
    if step:
        note.update({"rb": step, "m": message_ts, "f": list(fixed)})
    value = json.dumps(note, separators=(",", ":"))
    label = "Type the value" if kind == "set_variable" else "Choose how"
    return message(text, [section(text), actions(button(OPEN_FORM, label, value, style="primary"))])


def revert_ask(text: str, service: str, name: str, thread_ts: str | None) -> dict[str, Any]:
    """A revert reminder with no kept value, in the change's thread: the button opens the same form as
    `@pitcrew set <service> NAME` (anyone may open it; only an operator's submission is proposed)."""
    note = {"k": "set_variable", "s": service, "n": name, "t": thread_ts, "rv": 1}
    value = json.dumps(note, separators=(",", ":"))
    shown = f":hourglass: {escape(text)}"
    return message(shown, [
        section(shown),
        actions(button(OPEN_FORM, f"Type the old value of {name}"[:75], value, style="primary"),
                block_id=f"variables.revert.{name}"[:255]),
    ])


def read_note(value: str) -> dict[str, Any] | None:
    """The button's value back: {k, s, n, t}, or None when it is not one of ours."""
    try:
        found = json.loads(value)
    except ValueError:
        return None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in ("k", "s", "n")):
        return None
    return found


def form(
    kind: str, service: str, name: str, provider: str, *, channel: str, thread_ts: str | None,
    step: str | None = None, message_ts: str | None = None, fixed: tuple[str, ...] = (), revert: bool = False,
) -> dict[str, Any]:
    """The modal: the value (set only), redeploy after (default yes), revert after, Vercel's targets;
    `fixed`: what a runbook step says itself, not asked; `revert`: opened from a revert reminder."""
    setting = kind == "set_variable"
    said = f"*{escape(name)}* on *{escape(service)}* ({escape(provider)})"
    if revert:
        said += ": type the value it had before pitcrew changed it"
    blocks: list[dict[str, Any]] = [section(said)]
    if setting:
        blocks.append({
            "type": "input", "block_id": "value", "label": {"type": "plain_text", "text": "New value"},
            "element": {"type": "plain_text_input", "action_id": "value", "max_length": 3000,
                        "placeholder": {"type": "plain_text", "text": "Never shown again: only its fingerprint"}},
        })
    redeploy = [_option(v, t) for v, t in _REDEPLOY]
    if (provider != "railway" or setting) and "redeploy" not in fixed:  # Railway redeploys on a delete anyway
        blocks.append({
            "type": "input", "block_id": "redeploy", "optional": True,
            "label": {"type": "plain_text", "text": "Redeploy after"},
            "element": {"type": "static_select", "action_id": "redeploy", "options": redeploy,
                        "initial_option": redeploy[0]},
        })
    blocks.extend([{
        "type": "input", "block_id": "revert_after", "optional": True,
        "label": {"type": "plain_text", "text": "Revert after (optional: 30m, 2h, 1d)"},
        "element": {"type": "plain_text_input", "action_id": "revert_after", "max_length": 10,
                    "placeholder": {"type": "plain_text", "text": "pitcrew then proposes the old value back"}},
    }] if "revert_after" not in fixed else [])
    if provider == "vercel":
        targets = [_option(v, t) for v, t in _TARGETS]
        blocks.append({
            "type": "input", "block_id": "targets", "optional": True,
            "label": {"type": "plain_text", "text": "Vercel environments"},
            "element": {"type": "static_select", "action_id": "targets", "options": targets,
                        "initial_option": targets[0]},
        })
    meta: dict[str, Any] = {"k": kind, "s": service, "n": name, "c": channel, "t": thread_ts}
    if step:
        meta.update({"rb": step, "m": message_ts})
    if revert:
        meta["rv"] = 1
    metadata = json.dumps(meta)
    title = "Set a variable" if setting else "Remove a variable"
    return {
        "type": "modal", "callback_id": FORM, "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Propose"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def usage(kind: str, problem: str | None = None) -> dict[str, Any]:
    verb = "set" if kind == "set_variable" else "unset"
    said = f":warning: {escape(problem)}\n" if problem else ""
    text = f"{said}Usage: {USAGE[verb]}"
    return message(text, [section(text)])
