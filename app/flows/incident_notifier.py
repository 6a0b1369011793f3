"""How the incident flows talk to people, without knowing it is Slack.

The flows decide *what* to say (a root message, a note in the thread, a stakeholder update, a
private word to someone given a role); an implementation at the edge (app/slack/incident_notifier.py)
decides how it looks. Tests and the console use the same Slack one against the fake Slack; a
runbook engine or another chat tool would bring its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.core.incident_reports import StakeholderUpdate
from app.core.incidents import IncidentView

# Kinds of thread notes; renderers pick an emoji and wording per kind.
NOTE_KINDS = (
    "acknowledged",
    "update",
    "state",
    "severity",
    "role",
    "recovered",
    "fired_again",
    "escalation",
    "reminder",
    "keep_open",
    "visibility",
    "resolved",
    "postmortem",
    "silence",
    "joined",
    "split",
    "merged",
)


@dataclass(frozen=True)
class ThreadNote:
    """A message for the incident's thread. `text` is plain (the renderer escapes it); `notify` are
    Slack user (U...) or group (S...) ids to mention; `document` is Markdown shown as a document."""

    kind: str
    text: str
    actor: str | None = None
    notify: tuple[str, ...] = ()
    document: str | None = None


class IncidentNotifier(Protocol):
    async def post_root(self, view: IncidentView, *, notify: Sequence[str], oncall: str = "") -> tuple[str, str]:
        """Post the incident's root message; (channel, ts) of it, which becomes the thread."""
        ...

    async def update_root(self, view: IncidentView) -> None:
        """Edit the root message in place to show the incident as it is now."""
        ...

    async def post_thread(self, view: IncidentView, note: ThreadNote) -> None: ...

    async def post_stakeholders(self, view: IncidentView, update: StakeholderUpdate) -> None:
        """Post in the updates channel (a no-op when pitcrew.yml names none)."""
        ...

    async def tell_privately(self, view: IncidentView, user: str, text: str) -> None:
        """Say something only `user` sees (what a role they were given means)."""
        ...
