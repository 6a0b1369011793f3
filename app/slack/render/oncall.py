"""On call in Slack: the board of `/incident oncall`, the hand-off summary, and the plain lines the
on-call flow says (announcements, refusals), with its `@U123` as mentions.

Times are Slack date tokens (`<!date^...>`), so each reader sees them in their own time zone; the
fallback after `|` is UTC for clients that cannot show them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.incident_args import OVERRIDE_USAGE
from app.core.oncall import Handoff, OnCall
from app.flows.oncall import HandoffSummary, OncallBoard
from app.slack.render.common import context, escape, header, message, section
from app.slack.render.incidents import document_text, mention

MAX_LISTED = 10


def when(moment: datetime) -> str:
    """`Mon 8 Dec 09:00` in the reader's time zone."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def _who(user: str | None) -> str:
    return mention(user) if user else "nobody (outside its hours)"


def _now_line(now: OnCall) -> str:
    line = f"now {_who(now.user)}"
    if now.override is not None:
        line += f" (override until {when(now.override.end)}, instead of {_who(now.scheduled)})"
    return line


def board(result: OncallBoard) -> dict[str, Any]:
    blocks = [header("On call")]
    for row in result.rotations:
        lines = [f"*{escape(row.name)}*: {_now_line(row.now)}"]
        if row.next is not None:
            lines.append(f"next {_who(row.next.after)} from {when(row.next.at)}")
        coming = list(row.coming[:MAX_LISTED])
        if coming:
            lines.append(f"Hand-offs of the coming {result.days} days ({escape(row.zone)}):")
            lines += [f"• {when(h.at)} → {_who(h.after)}" for h in coming]
            if len(row.coming) > MAX_LISTED:
                lines.append(f"• … and {len(row.coming) - MAX_LISTED} more")
        blocks.append(section("\n".join(lines)))
    blocks.append(context(f"Hand the shift over for a while: {escape(OVERRIDE_USAGE)}"))
    text = "On call: " + "; ".join(f"{r.name}: {r.now.user or 'nobody'}" for r in result.rotations)
    return message(escape(text), blocks)


def said(text: str) -> dict[str, Any]:
    """A line of the on-call flow (an announcement, a refusal): escaped, its people as mentions."""
    shown = document_text(text)
    return message(shown, [section(shown)])


def refused(text: str) -> dict[str, Any]:
    shown = document_text(text)
    return message(shown, [section(f":no_entry: {shown}")])


def handoff(summary: HandoffSummary) -> dict[str, Any]:
    h: Handoff = summary.handoff
    lines = [f":arrows_counterclockwise: *{escape(h.rotation)}* on-call hand-off: {_who(h.before)} → {_who(h.after)}"]
    if summary.group:
        lines.append(f"{mention(summary.group)} now reaches {_who(h.after)}.")
    lines.append(_incidents("Open incidents", summary.open_incidents))
    lines.append(_incidents("Incidents of the last shift", summary.last_shift))
    if summary.silenced:
        lines.append("Silenced: " + "; ".join(escape(s) for s in summary.silenced))
    if summary.maintenance:
        lines.append("Maintenance in force: " + "; ".join(escape(m) for m in summary.maintenance))
    text = "\n".join(lines)
    return message(f"{h.rotation} on-call hand-off", [section(text)])


def _incidents(title: str, views: Any) -> str:
    views = list(views)
    if not views:
        return f"{title}: none."
    listed = [f"{v.ref} {escape(v.severity)} {escape(v.title)} ({escape(v.state)})" for v in views[:MAX_LISTED]]
    more = f" … and {len(views) - MAX_LISTED} more" if len(views) > MAX_LISTED else ""
    return f"{title} ({len(views)}): " + "; ".join(listed) + more
