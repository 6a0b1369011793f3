"""Runbooks in Block Kit: the offer in an incident's thread, one message per step (edited with its
outcome), the end of a run, and a run's progress for `/incident <id>`.

A step is drawn from its `StepCard` alone, so the first post and every later edit (by any instance,
after a restart, when a proposal the step made is confirmed) look alike. Only an open step carries
buttons, with the action_ids DESIGN.md fixes (`runbook.run`, `runbook.skip`, `runbook.done`,
`runbook.choose.N`); each button's value names the run, the step and the position the run was at,
so a click on an older message is recognised. Runbook texts, summaries and alert titles are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.incidents import IncidentView
from app.core.runbook_machine import StepOutcome
from app.core.runbooks import (
    ACTION_VERBS,
    RUN_ACTION_ID,
    ActionStep,
    CheckStep,
    ChooseStep,
    NotifyStep,
    SayStep,
    step_buttons,
)
from app.flows.incident_first_note import FirstNote
from app.flows.runbook_views import Offer, RunbookError, RunEnded, RunProgress, StepCard
from app.slack.render.common import Block, actions, button, context, escape, message, section, truncate
from app.slack.render.incidents import mention, responders_note

OFFER_BLOCK = "runbook.offer"
DETAIL_SHOWN = 8
PROGRESS_STEPS_SHOWN = 25
_KIND_ICON = {"check": "🔎", "action": "⚠️", "say": "📝", "choose": "❓", "notify": "📣"}
_OUTCOME = {
    "done": ("✅", "Done"),
    "ran": ("✅", "Ran"),
    "skipped": ("⏭️", "Skipped"),
    "chosen": ("➡️", "Answered"),
    "failed": ("❌", "Failed"),
}


# ---- the offer ------------------------------------------------------------------------------------


def offer_message(offer: Offer) -> dict[str, Any]:
    """One section per runbook, each with its own Run button (one `runbook.run` per block)."""
    intro = f"📋 Runbook{'s' if len(offer.runbooks) > 1 else ''} for {offer.incident_ref}: press Run to be walked " \
            "through it here, one step at a time."
    blocks: list[Block] = [section(intro)]
    names = []
    for n, runbook in enumerate(offer.runbooks, start=1):
        names.append(runbook.title)
        why = " · named for this service in pitcrew.yml" if runbook.bound else ""
        text = f"*{escape(runbook.title)}* (`{escape(runbook.name)}`){why}"
        if runbook.description:
            text += f"\n{escape(truncate(' '.join(runbook.description.split()), 300))}"
        blocks.append(section(
            text, block_id=f"{OFFER_BLOCK}.{n}",
            accessory=button(RUN_ACTION_ID, f"Run {runbook.name}", runbook.name, style="primary"),
        ))
    blocks.append(context("Or start any runbook by name: `@pitcrew runbook <name>` in this thread."))
    text = f"Runbook for {offer.incident_ref}: " + ", ".join(escape(n) for n in names) + ". Press Run to start."
    return message(text, blocks)


def first_note_message(view: IncidentView, note: FirstNote) -> dict[str, Any]:
    """An alert's incident's first thread note: the responders' note, then the offer, as one message
    (each part as it would read alone; roots first in a storm, app/slack/post_pace.py)."""
    parts = ([responders_note(view, note.notify, note.oncall)] if note.notify else []) + (
        [offer_message(note.offer)] if note.offer is not None else []
    )
    return message("\n".join(p["text"] for p in parts), [b for p in parts for b in p["blocks"]])


# ---- a step ---------------------------------------------------------------------------------------


def step_message(card: StepCard) -> dict[str, Any]:
    """The step's message as the card stands: open (with its buttons), running, waiting, or ended."""
    step = card.step
    head = context(f"📋 *{escape(card.runbook_title)}* · {card.incident_ref} · step {card.number}")
    title = f"{_KIND_ICON.get(step.kind, '•')} *{escape(step.title)}*"
    body = _body(card)
    blocks: list[Block] = [head, section(title + (f"\n{body}" if body else ""))]
    detail = [escape(line) for line in card.detail[:DETAIL_SHOWN]]
    if detail:
        blocks.append(section("\n".join(f"• {line}" for line in detail)))
    status = _status_line(card)
    if status:
        blocks.append(context(status))
    if card.status == "open":
        blocks += _buttons(card)
    return message(_plain(card), blocks)


def _body(card: StepCard) -> str:
    step = card.step
    match step:
        case SayStep():
            text = escape(step.text)
            if step.link:
                text += f"\n<{step.link}|Open {escape(_host(step.link))}>"
            return text
        case ChooseStep():
            return escape(step.question) if step.question != step.title else ""
        case NotifyStep():
            return "Posts this status update in the thread, the updates channel and the status page:\n> " + \
                escape(step.template).replace("\n", "\n> ")
        case ActionStep():
            on = f" on *{escape(card.target)}*" if card.target and card.target not in step.title else ""
            verb = escape(ACTION_VERBS[step.action])
            return f"Pressing {verb} proposes it{on}; it runs only after an operator confirms it."
        case CheckStep():
            return f"On *{escape(card.target)}*." if card.target and card.target not in step.title else ""
    return ""


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _status_line(card: StepCard) -> str | None:
    if card.status == "running":
        return f"⏳ Running… (pressed by {mention(card.actor)})"
    if card.status == "waiting":
        return f"⏳ Proposed by {mention(card.actor)}: waiting for an operator to confirm or cancel the proposal below."
    if card.status == "ended" and card.outcome is not None:
        return outcome_line(card.outcome, confirmed=isinstance(card.step, ActionStep))
    if card.note:
        return f"⚠️ {escape(card.note)}"
    if card.targets:
        return "Which service? Press the one to work on."
    return None


def outcome_line(outcome: StepOutcome, *, confirmed: bool = False) -> str:
    """`✅ Ran by @U: what it found`; an action that ran was confirmed by an operator, and says so."""
    icon, word = _OUTCOME[outcome.outcome]
    said = f"{icon} {word}"
    if outcome.choice:
        said += f" “{escape(outcome.choice)}”"
    if outcome.by:
        said += f"{', confirmed' if confirmed and outcome.outcome == 'ran' else ''} by {mention(outcome.by)}"
    if outcome.summary and outcome.outcome in ("ran", "failed") and outcome.summary != "done":
        said += f": {escape(truncate(outcome.summary, 400))}"
    return said


def _buttons(card: StepCard) -> list[Block]:
    """Buttons of the open step; one Run per service when it asks which (each in its own block)."""
    found = step_buttons(card.step)
    block = f"runbook.{card.run_id}.{card.position}"
    run = [b for b in found if b.action_id == RUN_ACTION_ID]
    rest = [b for b in found if b.action_id != RUN_ACTION_ID]
    if run and card.targets:
        rows = [
            actions(button(RUN_ACTION_ID, f"{run[0].label} on {service}", card.button_value(service),
                           style="primary"), block_id=f"{block}.run.{service}")
            for service in card.targets[:10]
        ]
        others = [button(b.action_id, b.label, card.button_value()) for b in rest]
        return [*rows, actions(*others, block_id=f"{block}.rest")] if others else rows
    elements = [
        button(b.action_id, b.label, card.button_value(), style="primary" if b.action_id == RUN_ACTION_ID else None)
        for b in found
    ]
    return [actions(*elements, block_id=f"{block}.buttons")]


def _plain(card: StepCard) -> str:
    head = f"{card.incident_ref} · {card.runbook_title} · step {card.number}: {card.step.title}"
    if card.status == "ended" and card.outcome is not None:
        word = _OUTCOME[card.outcome.outcome][1]
        tail = f" — {word}" + (f" “{card.outcome.choice}”" if card.outcome.choice else "")
    elif card.status == "running":
        tail = " — running…"
    elif card.status == "waiting":
        tail = " — proposed, waiting for an operator"
    else:
        labels = [b.label for b in step_buttons(card.step)]
        tail = f" — {' / '.join(labels)}"
    return escape(head + tail)


# ---- the end, and progress -----------------------------------------------------------------------


def ended_message(ended: RunEnded) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for entry in ended.history:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
    said = ", ".join(f"{n} {_OUTCOME[o][1].lower()}" for o, n in counts.items())
    incident = ended.incident_ref.removeprefix("INC-")
    text = (
        f"🏁 Runbook *{escape(ended.runbook_title)}* finished after {len(ended.history)} steps ({said}). "
        f"`/incident {incident}` shows the steps taken; they are on the timeline and in the post-mortem draft."
    )
    return message(text, [section(text)])


def progress_blocks(runs: Sequence[RunProgress]) -> list[Block]:
    """A section per run: where it stands and the steps taken, for `/incident <id>`."""
    blocks: list[Block] = []
    for run in runs[:5]:
        if run.finished_at is not None:
            where = "finished"
        elif run.current is not None:
            state = {"open": "waiting for a click", "running": "running", "waiting": "waiting for an operator"}
            where = f"at “{escape(run.current)}” ({state.get(run.current_status or 'open', 'open')})"
        else:
            where = "stopped"
        who = mention(run.started_by)
        lines = [f"📋 *Runbook {escape(run.title)}* (`{escape(run.runbook)}`), started by {who}: {where}"]
        for step in run.steps[-PROGRESS_STEPS_SHOWN:]:
            icon, word = _OUTCOME.get(step.outcome, ("•", step.outcome))
            detail = f" “{escape(step.summary)}”" if step.outcome == "chosen" else (
                f": {escape(truncate(step.summary, 200))}" if step.summary and step.outcome in ("ran", "failed") else ""
            )
            by = f" ({mention(step.by)})" if step.by else ""
            lines.append(f"{icon} {escape(step.title)} — {word.lower()}{detail}{by}")
        if len(run.steps) > PROGRESS_STEPS_SHOWN:
            lines.insert(1, f"_… {len(run.steps) - PROGRESS_STEPS_SHOWN} earlier steps_")
        blocks.append(section("\n".join(lines)))
    return blocks


def with_progress(card: dict[str, Any], runs: Sequence[RunProgress]) -> dict[str, Any]:
    """An incident card (`/incident <id>`) with its runbooks' progress below it."""
    if not runs:
        return card
    extra = progress_blocks(runs)
    text = card.get("text", "") + "\n" + "\n".join(b["text"]["text"] for b in extra)
    return message(text, [*card.get("blocks", []), *extra])


# ---- answers to the clicker ------------------------------------------------------------------------


def problem(err: RunbookError | str, who: str | None = None) -> dict[str, Any]:
    """A private ":warning:" answer; `{who}` in a reason becomes a mention."""
    if isinstance(err, RunbookError):
        reason, who = err.reason, err.who
    else:
        reason = err
    text = escape(reason).replace("{who}", mention(who) if who else "someone")
    return message(text, [section(f":warning: {text}")])


def started(title: str, incident_ref: str) -> dict[str, Any]:
    text = f"Started *{escape(title)}* for {incident_ref}: its first step is in the thread."
    return message(text, [section(text)])


def runbook_list(offer: Offer | None, names: Sequence[str], incident_ref: str) -> dict[str, Any]:
    """`@pitcrew runbook` alone: what is suggested for this incident, and every runbook's name."""
    listed = ", ".join(f"`{escape(n)}`" for n in names)
    tail = f"Start one with `@pitcrew runbook <name>`. Runbooks: {listed}."
    if offer is None:
        text = f"No runbook matches {incident_ref} by itself. {tail}"
        return message(text, [section(text)])
    shown = offer_message(offer)
    return message(shown["text"], [*shown["blocks"], context(tail)])
