"""What incidents say to people: stakeholder updates and the post-mortem draft.

Stakeholder updates are for people outside engineering (managers, support), so they answer
three questions in plain words and nothing else: what is affected, what is being done, and when
the next update comes. The post-mortem draft is Markdown built from what pitcrew recorded
(the timeline, the audit trail), with the parts only people can write left as blanks to fill in.
Texts here are plain: each edge escapes them for its medium.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.core.chat_text import counted
from app.core.incidents import (
    SEVERITY_MEANING,
    IncidentView,
    Policy,
    TimelineEntry,
    format_datetime,
    format_duration,
    format_time,
    next_update_by,
    severity_label,
)
from app.core.runbook_machine import StepOutcome
from app.core.runbooks import ActionStep, CheckStep, ChooseStep, Runbook, UnknownStep

# The seeds' communication lines: "🔴 Backend down, investigating" … "✅ Recovered, monitoring" (a
# runbook's last update, the incident still open) and "✅ Resolved" (the resolution's own).
STATE_EMOJI = {"investigating": "🔴", "identified": "🟠", "monitoring": "🟡", "resolved": "✅"}
STATE_DOING = {
    "investigating": "The team is investigating the cause.",
    "identified": "The cause is identified and a fix is being applied.",
    "monitoring": "A fix is in place; the team is watching that it holds.",
    "resolved": "Resolved.",
}


@dataclass(frozen=True)
class StakeholderUpdate:
    """One post for the updates channel: a headline and the three answers."""

    headline: str
    affected: str
    doing: str
    next_update: str

    @property
    def text(self) -> str:
        return "\n".join(
            (
                self.headline,
                f"Affected: {self.affected}",
                f"What we are doing: {self.doing}",
                f"Next update: {self.next_update}",
            )
        )


def affected(view: IncidentView) -> str:
    meaning = SEVERITY_MEANING.get(view.severity, "")
    what = view.service or "not yet known"
    return f"{what} — {meaning.split(': ', 1)[-1].lower()} ({view.severity})" if meaning else what


def _next_update(policy: Policy, view: IncidentView, now: datetime) -> str:
    if not view.is_open:
        if policy.needs_postmortem(view.severity):
            return "none planned; a post-mortem will follow."
        return "none planned."
    due = next_update_by(policy, view, now)
    if due is None:
        return "when the situation changes."
    return f"by {format_time(due)} at the latest."


def opened_update(policy: Policy, view: IncidentView, now: datetime) -> StakeholderUpdate:
    return StakeholderUpdate(
        headline=f"{STATE_EMOJI['investigating']} {view.ref} ({view.severity}): {view.title} — investigating",
        affected=affected(view),
        doing=STATE_DOING["investigating"],
        next_update=_next_update(policy, view, now),
    )


def status_update(policy: Policy, view: IncidentView, text: str, now: datetime) -> StakeholderUpdate:
    emoji = STATE_EMOJI.get(view.state, "🔵")
    return StakeholderUpdate(
        headline=f"{emoji} {view.ref} ({view.severity}) update: {view.title} — {view.state}",
        affected=affected(view),
        doing=text,
        next_update=_next_update(policy, view, now),
    )


def severity_update(policy: Policy, view: IncidentView, previous: str, now: datetime) -> StakeholderUpdate:
    direction = "raised" if view.severity < previous else "lowered"  # SEV1 < SEV2: "raised" to SEV1
    return StakeholderUpdate(
        headline=f"{STATE_EMOJI.get(view.state, '🔵')} {view.ref}: severity {direction} to "
        f"{severity_label(view.severity)} from {previous}: {view.title}",
        affected=affected(view),
        doing=STATE_DOING.get(view.state, ""),
        next_update=_next_update(policy, view, now),
    )


def resolved_update(policy: Policy, view: IncidentView, now: datetime) -> StakeholderUpdate:
    lasted = format_duration(view.duration(now))
    doing = f"Resolved after {lasted}." + (f" {view.summary}" if view.summary else "")
    return StakeholderUpdate(
        headline=f"{STATE_EMOJI['resolved']} {view.ref} ({view.severity}) resolved after {lasted}: {view.title}",
        affected=affected(view),
        doing=doing,
        next_update=_next_update(policy, view, now),
    )


# --- post-mortem ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRecord:
    """One audit-trail entry that belongs in "actions taken"."""

    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str


# The seeds' incident checklist, in order, with how pitcrew can tell an item is done (None: it cannot).
# "logs", "cause", "fix" and "verified" come from the runbooks run in the incident (runbook_evidence).
CHECKLIST = (
    ("Incident detected and confirmed", "opened"),
    ("Priority assigned (SEV1–SEV4 / P0–P3)", "opened"),
    ("Initial communication (Slack)", "opened"),
    ("Investigation under way (acknowledged)", "acknowledged"),
    ("Logs consulted", "logs"),
    ("Metrics checked", None),
    ("Cause identified", "identified"),
    ("Fix applied", "fix"),
    ("Service verified", "verified"),
    ("Monitoring after resolution", "monitoring"),
    ("Post-mortem written (SEV1/SEV2)", None),
    ("Resolution communicated", "resolved"),
)


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
LOG_PROBES = ("log_errors", "slow_queries")


def person(who: str) -> str:
    """A Slack user id as `@U123` (pitcrew knows ids, not names; Slack shows `@U123` as the person when
    the edge turns it into a mention); anything else (`pitcrew`, `alertmanager`) as it is."""
    return f"@{who}" if _SLACK_USER.match(who) else who


def runbook_evidence(runs: Iterable[tuple[Runbook, Sequence[StepOutcome]]]) -> frozenset[str]:
    """What the runbooks run in an incident show was done, as the checklist's evidence: logs read (a
    log probe ran), a cause identified (a question answered, or an action chosen), a fix applied (an
    action ran, confirmed by an operator) and the service verified (a health check ran after it)."""
    found: set[str] = set()
    for runbook, history in runs:
        fixed = False
        for entry in history:
            try:
                step = runbook.step(entry.step_id)
            except UnknownStep:
                continue
            if isinstance(step, ChooseStep) and entry.outcome == "chosen":
                found.add("cause")
            elif entry.outcome != "ran":
                continue
            elif isinstance(step, CheckStep) and step.probe in LOG_PROBES:
                found.add("logs")
            elif isinstance(step, ActionStep):
                found |= {"cause", "fix"}
                fixed = True
            elif isinstance(step, CheckStep) and step.probe == "health" and fixed:
                found.add("verified")
    return frozenset(found)


def postmortem_markdown(
    view: IncidentView,
    timeline: Sequence[TimelineEntry],
    actions: Sequence[ActionRecord],
    *,
    alerts_received: int,
    now: datetime,
    evidence: frozenset[str] = frozenset(),
) -> str:
    """The post-mortem draft: facts from the record, blanks (`_To fill in_`) for what only people know.

    `evidence`: what else is known done (runbook_evidence), to tick the checklist with."""
    end = view.resolved_at or now
    lines = [
        f"# Post-mortem (draft): {view.ref} — {view.title}",
        "",
        f"- **Severity:** {severity_label(view.severity)}",
        f"- **Service:** {view.service or 'not set'}",
        f"- **Status:** {view.state}",
        f"- **Started:** {format_datetime(view.started_at)}",
        f"- **Resolved:** {format_datetime(view.resolved_at) if view.resolved_at else 'not yet'}",
        f"- **Duration:** {format_duration(end - view.started_at)}",
    ]
    for role in ("commander", "communications", "scribe"):
        if role in view.roles:
            lines.append(f"- **{role.capitalize()}:** {person(view.roles[role])}")
    if view.acknowledged_by and view.acknowledged_at:
        taken = format_duration(view.acknowledged_at - view.started_at)
        lines.append(f"- **Acknowledged:** by {person(view.acknowledged_by)} after {taken}")
    lines += ["", "## Summary", "", view.summary or "_To fill in: what happened, in two or three sentences._"]
    lines += ["", "## Impact", ""]
    lines.append(f"- Affected: {affected(view)}")
    lines.append(
        f"- For {format_duration(end - view.started_at)} ({format_time(view.started_at)} → {format_time(end)})"
    )
    if view.source:
        lines.append(f"- {counted(alerts_received, 'alert')} received from {view.source}")
    lines.append("- Users affected: _to fill in_")
    lines += ["", "## Timeline (UTC)", ""]
    for entry in timeline:
        who = f" ({person(entry.actor)})" if entry.actor else ""
        text = " ".join(entry.text.split())
        lines.append(f"- {format_time(entry.at)} — {entry.kind}{who}: {text}")
    if not timeline:
        lines.append("- _No events recorded._")
    lines += ["", "## Actions taken", "", "_From the audit trail._", ""]
    for action in actions:
        target = f" {action.target}" if action.target else ""
        lines.append(f"- {format_time(action.at)} — {person(action.actor)}: {action.action}{target} → {action.outcome}")
    if not actions:
        lines.append("- _None recorded._")
    runbook_steps = [e for e in timeline if e.kind in ("runbook.start", "runbook.step", "runbook.finish")]
    if runbook_steps:  # what the runbooks walked through, step by step (app/flows/runbooks.py)
        lines += ["", "## Runbook steps", ""]
        for entry in runbook_steps:
            who = f" ({person(entry.actor)})" if entry.actor else ""
            lines.append(f"- {format_time(entry.at)}{who}: {' '.join(entry.text.split())}")
    lines += ["", "## Root cause", "", "_To fill in: why it happened (ask why until the answer is a fix)._"]
    lines += ["", "## What went well / what did not", "", "- _To fill in_"]
    lines += [
        "",
        "## Follow-ups",
        "",
        "- [ ] _Preventive fix — owner, due date_",
        "- [ ] _Monitoring or alert to add — owner, due date_",
        "- [ ] _Runbook to update — owner, due date_",
    ]
    lines += ["", "## Checklist", ""]
    kinds = {e.kind for e in timeline}
    reached = {"opened"} | ({"acknowledged"} if view.acknowledged_at else set())
    reached |= {k for k in ("identified", "monitoring") if f"state.{k}" in kinds or k in kinds}
    if view.recovered_at:
        reached.add("monitoring")
    if not view.is_open:
        reached.add("resolved")
    reached |= evidence
    if "cause" in evidence:
        reached.add("identified")
    for item, proof in CHECKLIST:
        mark = "x" if proof is not None and proof in reached else " "
        lines.append(f"- [{mark}] {item}")
    return "\n".join(lines) + "\n"
