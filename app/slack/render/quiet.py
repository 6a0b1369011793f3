"""Silences and maintenance windows in Block Kit: the root's silence line, answers, the window's message.

Times are Slack date tokens (`<!date^...^{time}|14:05 UTC>`), so each reader sees their own local
time and a client that cannot render them shows the UTC fallback. Reasons, titles and service
names come from people and alerts: escaped like everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.core.chat_text import counted
from app.core.incidents import IncidentView, format_duration
from app.core.maintenance import USAGE as MAINTENANCE_USAGE
from app.core.maintenance import MaintenanceUsage, WindowView, announcement
from app.core.silences import USAGE as SILENCE_USAGE
from app.slack.render.common import MAX_SECTION_TEXT, context, escape, message, section, truncate

SILENCE, SILENCE_VIEW = "incident.silence", "incident.silence"
SILENCE_CHOICES = ("30m", "1h", "2h", "4h", "8h", "1d")
ALERTS_SHOWN = 10


def slack_time(moment: datetime, *, with_date: bool = False) -> str:
    """A date token each reader sees in their own time zone; the UTC text is the fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC" if with_date else "%H:%M UTC")
    token = "{date_short} {time}" if with_date else "{time}"
    return f"<!date^{int(moment.timestamp())}^{token}|{fallback}>"


def silence_line(view: IncidentView, mention: str) -> str | None:
    """`🔕 Silenced by @ana until 14:05 — waiting for the vendor` on the root, while silenced."""
    if view.silenced_until is None or not view.is_open:
        return None
    reason = f" — {escape(truncate(view.silence_reason, 200))}" if view.silence_reason else ""
    return f"🔕 *Silenced* by {mention} until {slack_time(view.silenced_until)}{reason}"


def silenced(view: IncidentView, mention: str) -> dict[str, Any]:
    line = silence_line(view, mention) or f"{view.ref} is silenced."
    text = f"{line}. Its alerts are recorded but page no one and post nothing; `@pitcrew unsilence` lifts it."
    return message(text, [section(text)])


def unsilenced(view: IncidentView, held: int) -> dict[str, Any]:
    text = f"🔔 {view.ref} is no longer silenced ({counted(held, 'alert')} arrived while silenced)."
    return message(escape(text), [section(escape(text))])


def silence_usage(reason: str) -> dict[str, Any]:
    text = f":warning: {escape(reason)}\n{escape(SILENCE_USAGE)}"
    return message(text, [section(text)])


def silence_form(view: IncidentView) -> dict[str, Any]:
    """The Silence button's form: how long (a choice, up to the 7-day limit) and why."""
    options = [{"text": {"type": "plain_text", "text": c}, "value": c} for c in SILENCE_CHOICES]
    return {
        "type": "modal",
        "callback_id": SILENCE_VIEW,
        "private_metadata": str(view.id),
        "title": {"type": "plain_text", "text": f"Silence {view.ref}"},
        "submit": {"type": "plain_text", "text": "Silence"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"*{view.ref}* — {escape(truncate(view.title, 200))}\nIts alerts will be recorded but page no "
                    "one and post nothing until the silence ends."),
            {
                "type": "input",
                "block_id": "duration",
                "label": {"type": "plain_text", "text": "For how long"},
                "element": {
                    "type": "static_select", "action_id": "duration", "options": options, "initial_option": options[2],
                },
            },
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Why"},
                "element": {"type": "plain_text_input", "action_id": "reason", "max_length": 300},
            },
        ],
    }


# --- maintenance windows --------------------------------------------------------------------------


def _services(window: WindowView) -> str:
    return ", ".join(escape(s) for s in window.services)


def window_message(window: WindowView, *, now: datetime) -> dict[str, Any]:
    """The window's message in the updates channel, edited in place as alerts are held and at its end."""
    state = window.state(now)
    icon = {"active": "🛠️", "planned": "🗓️", "ended": "✅", "cancelled": "🚫"}[state]
    head = (
        f"{icon} *Scheduled maintenance: {_services(window)}*, until {slack_time(window.ends_at)}"
        if state in ("active", "planned")
        else f"{icon} *Maintenance {'cancelled' if state == 'cancelled' else 'over'}: {_services(window)}*"
    )
    lines = [head, f"{window.ref} · {escape(truncate(window.reason, 300))}"]
    if window.alerts:
        lines.append(f"*Alerts held during the window* ({counted(len(window.alerts), 'alert')}, no incident opened):")
        for alert in window.alerts[:ALERTS_SHOWN]:
            dot = "🔴" if alert.status == "firing" else "🟢"
            fired = f", fired {counted(alert.count, 'time')}" if alert.count else ""
            lines.append(
                f"{dot} {escape(alert.source)}: {escape(truncate(alert.title, 150))} "
                f"({alert.status}{fired}, last {slack_time(alert.last_at)})"
            )
    text = "\n".join(lines)
    fallback = escape(announcement(window) if state in ("active", "planned") else f"Maintenance over: "
                      f"{', '.join(window.services)} ({window.ref})")
    return message(fallback, [section(truncate(text, MAX_SECTION_TEXT)),
                              context(f"by <@{window.created_by}>" if window.created_by[:1] in "UW" else "pitcrew")])


def window_end(window: WindowView, handed_over: Sequence[str]) -> dict[str, Any]:
    """The end announced: over (or cancelled), and the incidents opened by alerts still firing."""
    how = "cancelled" if window.cancelled_at is not None else "over"
    text = f"✅ Maintenance {how}: {', '.join(window.services)} ({window.ref})."
    if handed_over:
        text += f" Still firing at the end, now incidents: {', '.join(handed_over)}."
    return message(escape(text), [section(escape(text))])


def window_opened(window: WindowView, *, planned: bool, updates_channel: str | None) -> dict[str, Any]:
    where = f" in <#{updates_channel}>" if updates_channel else ""
    if planned:
        start, end = slack_time(window.starts_at, with_date=True), slack_time(window.ends_at, with_date=True)
        text = (
            f"Planned {window.ref}: maintenance of {_services(window)} from {start} until {end} "
            f"({format_duration(window.ends_at - window.starts_at)}); announced{where} when it starts. "
            f"`/incident maintenance cancel {window.id}` cancels it."
        )
    else:
        text = (
            f"Opened {window.ref}: maintenance of {_services(window)} until {slack_time(window.ends_at)}, "
            f"announced{where}. Alerts for these services open no incident until then. "
            f"`/incident maintenance cancel {window.id}` ends it early."
        )
    return message(text, [section(text)])


def window_list(windows: Sequence[WindowView], *, now: datetime) -> dict[str, Any]:
    if not windows:
        text = "No maintenance window in force or planned. `/incident maintenance <service ...> <duration> <reason>`."
        return message(escape(text), [section(escape(text))])
    lines = [f"*Maintenance windows ({len(windows)})*"]
    for w in windows[:40]:
        when = (
            f"until {slack_time(w.ends_at, with_date=True)}"
            if w.state(now) == "active"
            else f"{slack_time(w.starts_at, with_date=True)} → {slack_time(w.ends_at, with_date=True)}"
        )
        lines.append(f"• *{w.id}* ({w.ref}) {w.state(now)}: {_services(w)} {when} — {escape(truncate(w.reason, 120))}")
    text = "\n".join(lines)
    return message(text, [section(truncate(text, MAX_SECTION_TEXT))])


def window_cancelled(window: WindowView) -> dict[str, Any]:
    text = f"Cancelled {window.ref} ({', '.join(window.services)})."
    return message(escape(text), [section(escape(text))])


def maintenance_usage(err: MaintenanceUsage) -> dict[str, Any]:
    lines = [f":warning: {escape(err.reason)}"] if err.reason else []
    lines.append(escape(MAINTENANCE_USAGE))
    text = "\n".join(lines)
    return message(text, [section(truncate(text, MAX_SECTION_TEXT))])
