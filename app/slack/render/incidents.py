"""Incidents in Block Kit: the root message, notes in its thread, stakeholder posts, lists and forms.

Everything an alert or a person supplied (titles, services, details, links, update texts, commit
messages) goes through `escape()` before it reaches mrkdwn, so an alert titled `<!channel>`
pings nobody. Mentions are built only from ids that look like Slack ids; anything else is text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from app.core.chat_text import counted
from app.core.correlation import alert_list, split_choices, suspected_cause
from app.core.incident_args import IncidentUsage, IncidentUsageError
from app.core.incident_reports import STATE_EMOJI, StakeholderUpdate
from app.core.incidents import (
    SEVERITIES,
    SEVERITY_MEANING,
    DeployNote,
    IncidentView,
    TimelineEntry,
    format_duration,
    format_time,
    severity_label,
)
from app.flows.incident_notifier import ThreadNote
from app.slack.render import quiet
from app.slack.render.common import (
    MAX_SECTION_TEXT,
    Block,
    actions,
    button,
    context,
    divider,
    escape,
    header,
    message,
    section,
    truncate,
)

ACK, UPDATE, RESOLVE = "incident.ack", "incident.update", "incident.resolve"
DECLARE_VIEW, UPDATE_VIEW, RESOLVE_VIEW = "incident.declare", "incident.update", "incident.resolve"
ACTIONS_BLOCK = "incident.actions"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
NOTE_EMOJI = {
    "acknowledged": "✋",
    "update": "📣",
    "state": "🔁",
    "severity": "⚠️",
    "role": "👤",
    "recovered": "🟢",
    "fired_again": "🔴",
    "escalation": "🚨",
    "reminder": "⏰",
    "keep_open": "📌",
    "visibility": "🌐",
    "resolved": "✅",
    "postmortem": "📝",
    "responders": "📟",
    "silence": "🔔",
    "joined": "🔗",
    "split": "✂️",
    "merged": "🔗",
}
SPLIT = "incident.split"  # + `.1`, `.2`...: one button per joined source, in the alert list's block
ALERTS_BLOCK = "incident.alerts"
DETAILS_SHOWN = 600


def mention(who: str | None) -> str:
    """`<@U123>` for a user, `<!subteam^S123>` for a user group, escaped text for anything else."""
    if not who:
        return "someone"
    if _USER_ID.match(who):
        return f"<@{who}>"
    if _GROUP_ID.match(who):
        return f"<!subteam^{who}>"
    return escape(who)


def mentions(ids: Iterable[str]) -> str:
    return " ".join(mention(i) for i in ids)


def link(url: str | None, label: str) -> str | None:
    """A mrkdwn link whose URL cannot break out of `<...|...>` and whose label is escaped."""
    if not url:
        return None
    safe = escape(url.replace("|", quote("|")))
    return f"<{safe}|{escape(label)}>"


def emoji(view: IncidentView) -> str:
    return STATE_EMOJI.get(view.state, "🔵")


# --- the root message -----------------------------------------------------------------------------


def root_message(
    view: IncidentView, *, now: datetime | None = None, depends_on: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """Severity, service, title, what fired, the joined alerts and the suspected cause, the link, the
    latest deploy, and the three buttons (and one per joined source to split it out)."""
    service = escape(view.service) if view.service else "_not set_"
    lines = [
        f"*{view.ref}* · *{severity_label(view.severity)}* — {escape(SEVERITY_MEANING.get(view.severity, ''))}",
        f"*State:* {emoji(view)} {view.state}" + ("  ·  kept open" if view.keep_open and view.is_open else ""),
        f"*Service:* {service}",
    ]
    silence = quiet.silence_line(view, mention(view.silenced_by))
    if silence:
        lines.append(silence)
    fired = _what_fired(view)
    if fired:
        lines.append(fired)
    if view.related:
        lines.append(f"*Alerts:* {escape(alert_list(view.related))}")
        cause = suspected_cause(depends_on or {}, view.related, view.service)
        if cause:
            lines.append(f"*Suspected cause:* {escape(cause)}")
    target = link(view.link, f"open in {view.source}" if view.source else "open")
    if target:
        lines.append(f"*Link:* {target}")
    blocks: list[Block] = [
        # Slack reads &, < and > as entities in plain text too: escaped like everything else.
        header(f"{emoji(view)} {view.severity} {view.ref}: {escape(view.title)}"),
        section("\n".join(lines)),
    ]
    deploy = deploy_line(view.deploy, view.started_at)
    if deploy:
        blocks.append(section(deploy))
    blocks.append(context(*_facts(view)))
    if view.is_open:
        buttons = []
        if view.acknowledged_at is None:
            buttons.append(button(ACK, "Acknowledge", str(view.id), style="primary"))
        buttons += [button(UPDATE, "Post update", str(view.id)), button(RESOLVE, "Resolve", str(view.id))]
        if view.silenced_until is None:
            buttons.append(button(quiet.SILENCE, "Silence", str(view.id)))
        blocks.append(actions(*buttons, block_id=ACTIONS_BLOCK))
        choices = split_choices(view.related)
        if choices:
            splits = [
                button(f"{SPLIT}.{n}", f"Split out {label}", f"{view.id}:{word}")
                for n, (word, label) in enumerate(choices[:5], start=1)
            ]
            blocks.append(actions(*splits, block_id=ALERTS_BLOCK))
    return message(root_text(view), blocks)


def root_text(view: IncidentView) -> str:
    where = f" on {view.service}" if view.service else ""
    alerts = f" {counted(view.occurrences, 'alert')}." if view.source else ""
    return escape(f"{emoji(view)} {view.ref} {view.severity}{where}: {view.title} ({view.state}).{alerts}")


def _what_fired(view: IncidentView) -> str | None:
    if not view.source and not view.description:
        return None
    details = escape(truncate(view.description or "", DETAILS_SHOWN))
    if view.source:
        head = f"*What fired:* {escape(view.source)} alert"
        return f"{head}\n>{details.replace(chr(10), chr(10) + '>')}" if details else head
    return f"*Description:*\n>{details.replace(chr(10), chr(10) + '>')}"


def _facts(view: IncidentView) -> list[str]:
    facts = [f"Started {format_time(view.started_at)}"]
    if view.source:
        seen = f", last {format_time(view.last_seen_at)}" if view.last_seen_at else ""
        facts.append(f"{counted(view.occurrences, 'alert')}{seen}")
    if view.declared_by:
        facts.append(f"declared by {mention(view.declared_by)}")
    if view.acknowledged_at:
        facts.append(f"acknowledged by {mention(view.acknowledged_by)} at {format_time(view.acknowledged_at)}")
    else:
        facts.append("not acknowledged yet")
    for role in ("commander", "communications", "scribe"):
        if role in view.roles:
            facts.append(f"{role}: {mention(view.roles[role])}")
    if view.last_update_at:
        facts.append(f"last update {format_time(view.last_update_at)}")
    if view.resolved_at:
        facts.append(
            f"resolved {format_time(view.resolved_at)} after {format_duration(view.duration(view.resolved_at))}"
        )
    elif view.recovered_at:
        facts.append(f"recovered {format_time(view.recovered_at)}")
    return [" · ".join(facts)]


def deploy_line(deploy: DeployNote | None, started_at: datetime) -> str | None:
    """`Latest deploy: abc123 SUCCESS “Bump deps” by ana, 12 min before this incident started`."""
    if deploy is None:
        return None
    if deploy.error:
        return f"*Latest deploy:* unknown ({escape(deploy.error)})"
    parts = [f"`{escape((deploy.id or '?')[:12])}`"]
    if deploy.status:
        parts.append(escape(deploy.status))
    if deploy.commit_message:
        parts.append(f"“{escape(truncate(deploy.commit_message, 120))}”")
    if deploy.author:
        parts.append(f"by {escape(deploy.author)}")
    age = deploy.age_at(started_at)
    if age is not None:
        when = (
            f"{format_duration(age)} before this incident started" if age.total_seconds() >= 0 else "after it started"
        )
        if age.total_seconds() < 3600:
            when += " — a fresh deploy is the first suspect"
        parts.append(f"went out {when}")
    text = "*Latest deploy:* " + " ".join(parts)
    target = link(deploy.url, "deployment")
    return f"{text} ({target})" if target else text


# --- the thread -----------------------------------------------------------------------------------


def thread_note(view: IncidentView, note: ThreadNote) -> dict[str, Any]:
    icon = NOTE_EMOJI.get(note.kind, "•")
    who = mention(note.actor) if note.actor and note.actor != "pitcrew" else None
    text = escape(note.text)
    if note.kind == "acknowledged":
        line = f"{icon} {who} acknowledged {view.ref} ({text})"
    elif note.kind == "update":
        line = f"{icon} *Update* from {who}: {text}"
    elif note.kind == "role":
        line = f"{icon} {mentions(note.notify)} is now the *{text}* of {view.ref}" + (
            f" (assigned by {who})" if who else ""
        )
    elif note.kind == "resolved":
        line = f"{icon} {view.ref} {text}" + (f" (resolved by {who})" if who else "")
    elif note.kind in ("escalation", "reminder", "responders"):
        line = f"{icon} {mentions(note.notify)} {text}".replace("  ", " ")
    else:
        line = f"{icon} " + (f"{who}: " if who else "") + text
    blocks: list[Block] = [section(line)]
    if note.document:
        blocks += document_blocks(note.document)
    return message(line, blocks)


def responders_note(view: IncidentView, notify: Sequence[str], oncall: str = "") -> dict[str, Any]:
    text = f"{view.severity}: acknowledge with the button above or `@pitcrew ack` in this thread."
    if oncall:
        text += f" Paged: {oncall}."
    return thread_note(view, ThreadNote("responders", text, notify=tuple(notify)))


_PERSON = re.compile(r"(?<![\w@<])@([UW][A-Z0-9]{2,})\b")


def document_text(markdown: str) -> str:
    """A document escaped for Slack, with its people (`@U123`, as the core writes Slack ids) as mentions,
    so Slack shows their names."""
    return _PERSON.sub(r"<@\1>", escape(markdown))


def document_blocks(markdown: str, limit: int = 45) -> list[Block]:
    """Markdown shown as preformatted text, cut into sections that fit Slack's 3000 characters.

    Cuts fall between paragraphs (at blank lines), so a list or a table is never split across two
    code blocks; only a paragraph longer than a whole section is cut between its lines."""
    budget = MAX_SECTION_TEXT - 10
    paragraphs: list[list[str]] = [[]]
    for line in document_text(markdown).splitlines():
        if line.strip():
            paragraphs[-1].append(truncate(line, budget))
        elif paragraphs[-1]:
            paragraphs.append([])
    chunks: list[str] = []
    current: list[str] = []
    for paragraph in (p for p in paragraphs if p):
        text = "\n".join(paragraph)
        joined = "\n\n".join([*current, text]) if current else text
        if len(joined) <= budget:
            current.append(text)
            continue
        if current:
            chunks.append("\n\n".join(current))
            current = []
        if len(text) <= budget:
            current.append(text)
            continue
        piece: list[str] = []  # one paragraph longer than a section: cut between its lines
        for line in paragraph:
            if piece and len("\n".join([*piece, line])) > budget:
                chunks.append("\n".join(piece))
                piece = []
            piece.append(line)
        current = ["\n".join(piece)]
    if current:
        chunks.append("\n\n".join(current))
    return [section(f"```{chunk}```") for chunk in chunks[:limit]]


# --- stakeholders -----------------------------------------------------------------------------------


def stakeholder_message(update: StakeholderUpdate, *, status_url: str | None = None) -> dict[str, Any]:
    body = "\n".join(
        (
            f"*{escape(update.headline)}*",
            f"*Affected:* {escape(update.affected)}",
            f"*What we are doing:* {escape(update.doing)}",
            f"*Next update:* {escape(update.next_update)}",
        )
    )
    blocks: list[Block] = [section(body)]
    status = link(status_url, "status page")
    if status:
        blocks.append(context(f"Follow along on the {status}."))
    return message(escape(update.text), blocks)


# --- answers to commands ----------------------------------------------------------------------------


def incident_list(views: Sequence[IncidentView]) -> dict[str, Any]:
    if not views:
        text = "No open incidents. `/incident declare SEV2 <title>` declares one."
        return message(escape(text), [section(escape(text))])
    lines = [f"*Open incidents ({len(views)})*"]
    for view in views[:40]:
        lines.append(_list_line(view))
    text = "\n".join(lines)
    return message(text, [section(truncate(text, MAX_SECTION_TEXT))])


def _list_line(view: IncidentView) -> str:
    service = f" {escape(view.service)}:" if view.service else ""
    ack = f", acknowledged by {mention(view.acknowledged_by)}" if view.acknowledged_by else ", not acknowledged"
    alerts = f", {counted(view.occurrences, 'alert')}" if view.source else ""
    return (
        f"• {emoji(view)} *{view.ref}* {view.severity} {view.state} —{service} {escape(truncate(view.title, 150))} "
        f"(since {format_time(view.started_at)}{alerts}{ack})"
    )


def incident_card(view: IncidentView) -> dict[str, Any]:
    """`/incident 42`: the incident as the root message shows it, privately, without buttons."""
    root = root_message(view)
    blocks = [b for b in root["blocks"] if b.get("type") != "actions"]
    return message(root["text"], blocks)


def timeline_message(view: IncidentView, entries: Sequence[TimelineEntry], alerts_received: int) -> dict[str, Any]:
    head = f"*Timeline of {view.ref}* — {escape(view.title)} ({view.severity}, {view.state})"
    lines = []
    for entry in entries:
        who = (
            f" {mention(entry.actor)}"
            if entry.actor and _USER_ID.match(entry.actor)
            else (f" ({escape(entry.actor)})" if entry.actor else "")
        )
        public = " 🌐" if entry.public else ""
        lines.append(
            f"• {format_time(entry.at)} *{escape(entry.kind)}*{who}{public}: {escape(' '.join(entry.text.split()))}"
        )
    if alerts_received:
        lines.append(f"_{counted(alerts_received, 'alert')} received in all._")
    if not entries:
        lines.append("_Nothing recorded yet._")
    blocks: list[Block] = [section(head), divider()]
    chunk: list[str] = []
    for line in lines:
        if len("\n".join([*chunk, line])) > MAX_SECTION_TEXT - 10 and chunk:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(truncate(line, MAX_SECTION_TEXT - 10))
    if chunk:
        blocks.append(section("\n".join(chunk)))
    blocks.append(context("🌐 = shown on the status page"))
    return message(head + "\n" + "\n".join(lines), blocks)


def postmortem_message(view: IncidentView, markdown: str) -> dict[str, Any]:
    intro = f"Post-mortem draft of {view.ref} (Markdown, ready to paste into your docs):"
    return message(escape(intro) + "\n" + document_text(markdown), [section(escape(intro)), *document_blocks(markdown)])


def done(text: str) -> dict[str, Any]:
    """A short private confirmation (the details are in the thread)."""
    return message(escape(text), [section(escape(text))])


def problem(text: str) -> dict[str, Any]:
    return message(escape(text), [section(f":warning: {escape(text)}")])


def usage(err: IncidentUsage) -> dict[str, Any]:
    lines = []
    if isinstance(err, IncidentUsageError) and err.reason:
        lines.append(f":warning: {escape(err.reason)}")
    lines.append(escape(err.usage))
    text = "\n".join(lines)
    return message(text, [section(text)])


def thread_only(verb: str) -> dict[str, Any]:
    text = (
        f"`{verb}` works inside an incident's thread (reply to its root message in the alerts channel), "
        f"or use `/incident <id> {verb} ...`."
    )
    return message(escape(text), [section(escape(text))])


# --- forms ------------------------------------------------------------------------------------------


def _text_input(
    block_id: str,
    label: str,
    *,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str | None = None,
    initial: str | None = None,
    max_length: int = 3000,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder}
    if initial:
        element["initial_value"] = initial[:max_length]
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "element": element,
        "label": {"type": "plain_text", "text": label},
    }


def _option(value: str, text: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": {"type": "plain_text", "text": truncate(text, 75)}, "value": value}
    if description:
        option["description"] = {"type": "plain_text", "text": truncate(description, 75)}
    return option


def declare_view(*, services: Sequence[str], severity: str | None, channel: str | None) -> dict[str, Any]:
    """The form `/incident declare` opens: title, severity, service, description."""
    options = [_option(s, severity_label(s), SEVERITY_MEANING[s]) for s in SEVERITIES]
    select: dict[str, Any] = {"type": "static_select", "action_id": "severity", "options": options}
    if severity in SEVERITIES:
        select["initial_option"] = options[SEVERITIES.index(severity)]
    blocks: list[Block] = [
        _text_input("title", "Title", placeholder="What is wrong, in a few words", max_length=300),
        {
            "type": "input",
            "block_id": "severity",
            "element": select,
            "label": {"type": "plain_text", "text": "Severity"},
        },
    ]
    if services:
        blocks.append(
            {
                "type": "input",
                "block_id": "service",
                "optional": True,
                "label": {"type": "plain_text", "text": "Service"},
                "element": {
                    "type": "static_select",
                    "action_id": "service",
                    "options": [_option(s, s) for s in list(services)[:100]],
                },
            }
        )
    blocks.append(
        _text_input("description", "Description", multiline=True, optional=True, placeholder="What is known so far")
    )
    return {
        "type": "modal",
        "callback_id": DECLARE_VIEW,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def update_view(view: IncidentView) -> dict[str, Any]:
    states = [_option(s, s) for s in ("investigating", "identified", "monitoring") if s != view.state]
    return {
        "type": "modal",
        "callback_id": UPDATE_VIEW,
        "private_metadata": str(view.id),
        "title": {"type": "plain_text", "text": f"Update {view.ref}"},
        "submit": {"type": "plain_text", "text": "Post update"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"*{view.ref}* — {escape(truncate(view.title, 200))}"),
            _text_input(
                "text",
                "Status update",
                multiline=True,
                placeholder="What is known, what is being done (shown on the status page)",
            ),
            {
                "type": "input",
                "block_id": "state",
                "optional": True,
                "label": {"type": "plain_text", "text": f"Move to another state (now: {view.state})"},
                "element": {"type": "static_select", "action_id": "state", "options": states},
            },
        ],
    }


def resolve_view(view: IncidentView) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": RESOLVE_VIEW,
        "private_metadata": str(view.id),
        "title": {"type": "plain_text", "text": f"Resolve {view.ref}"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"*{view.ref}* — {escape(truncate(view.title, 200))}"),
            _text_input(
                "summary",
                "Summary",
                multiline=True,
                placeholder="What happened and what fixed it (shown on the status page)",
            ),
        ],
    }


def view_values(view: dict[str, Any]) -> dict[str, str]:
    """{block_id: value} of a submitted form (text inputs and selects alike; absent when left empty)."""
    found: dict[str, str] = {}
    for block_id, actions_ in (view.get("state", {}).get("values", {}) or {}).items():
        for value in actions_.values():
            if value.get("type") == "static_select":
                selected = value.get("selected_option") or {}
                if selected.get("value"):
                    found[block_id] = selected["value"]
            elif value.get("value"):
                found[block_id] = value["value"]
    return found
