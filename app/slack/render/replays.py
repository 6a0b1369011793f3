"""What a person is told privately when their stored request was not run: a click that came too late,
or a command, click or mention that failed until pitcrew gave up."""

from __future__ import annotations

from datetime import datetime

from app.slack.render.common import escape, truncate

_MAX_LABEL = 80


def _when(moment: datetime) -> str:
    """A time each reader sees in their own time zone (Slack's date token), with UTC as the fallback."""
    return f"<!date^{int(moment.timestamp())}^{{time}}|{moment:%H:%M} UTC>"


def _what(kind: str, label: str) -> str:
    shown = escape(truncate(" ".join(label.split()), _MAX_LABEL))
    if kind == "click":
        return f"Your click on *{shown}*"
    return f"`{shown}`"


def click_too_late(received_at: datetime) -> str:
    return (
        f":hourglass: This click arrived at {_when(received_at)} and could not be acted on in time; "
        "press again if it still applies."
    )


def could_not_run(kind: str, label: str, reason: str, *, transient: bool, partly: bool) -> str:
    why = escape(truncate(reason, 300))
    if partly:
        advice = "Part of it may have been done before it failed: look before doing it again."
    elif transient:
        advice = "Slack or the network was away each time pitcrew tried; try again once it answers."
    else:
        advice = "Trying again will likely fail the same way; `pitcrew check` and the logs say more."
    verb = "could not be acted on" if kind == "click" else "could not be run"
    return f":warning: {_what(kind, label)} {verb}: {why}. {advice}"
