"""The incident process of the seeds, as rules: states, severities, deadlines and escalation.

Detect, assess, respond, communicate, resolve, document, review: pitcrew keeps the first five in
a thread and a database, and these rules decide *when* something is due (a response, a status
update, an escalation, an automatic resolution). They are pure so each deadline can be tested at
the minute it falls, without waiting for it; the flows and jobs only ask "what now?".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.core.correlation import RelatedAlert

STATES = ("investigating", "identified", "monitoring", "resolved")
OPEN_STATES = ("investigating", "identified", "monitoring")
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
PRIORITY = {"SEV1": "P0", "SEV2": "P1", "SEV3": "P2", "SEV4": "P3"}
SEVERITY_MEANING = {
    "SEV1": "Critical: complete service outage",
    "SEV2": "High: major feature unavailable",
    "SEV3": "Medium: minor feature degraded",
    "SEV4": "Low: cosmetic issue",
}
ROLES = ("commander", "communications", "scribe")
ROLE_DUTIES = {
    "commander": (
        "You lead the response: decide what is tried next, hand out work, and make sure a status "
        "update is posted on time (`@pitcrew update <text>` in the thread). Reminders come to you."
    ),
    "communications": (
        "You keep people outside engineering informed: write the status updates for the updates "
        "channel and the status page in plain words (what is affected, what is being done, when the "
        "next update comes), and answer questions so the responders can work."
    ),
    "scribe": (
        "You keep the record: note decisions, findings and actions in the thread as they happen, "
        "so the timeline and the post-mortem say what really happened and when."
    ),
}

DEFAULT_RESPONSE_MINUTES = {"SEV1": 15, "SEV2": 60, "SEV3": 240, "SEV4": 1440}
DEFAULT_UPDATE_CADENCE_MINUTES = {"SEV1": 30, "SEV2": 60}
DEFAULT_QUIET_MINUTES = 30
DEFAULT_ROOT_EDIT_INTERVAL_S = 20

_ID = re.compile(r"^(?:#|inc-?)?0*(\d{1,12})$", re.IGNORECASE)


class IncidentError(Exception):
    """Something asked of an incident that cannot be done; the message says what and why."""


class UnknownIncident(IncidentError):
    def __init__(self, incident_id: int) -> None:
        self.incident_id = incident_id
        super().__init__(f"there is no incident {incident_ref(incident_id)}")


class IncidentClosed(IncidentError):
    """The incident is resolved already; changing it would rewrite history."""

    def __init__(self, incident_id: int, doing: str) -> None:
        self.incident_id = incident_id
        super().__init__(f"{incident_ref(incident_id)} is resolved already; cannot {doing}")


class BadIncidentValue(IncidentError, ValueError):
    """An id, severity, state or role that is not one; says what is expected."""


def incident_ref(incident_id: int) -> str:
    """How every message shows an id: `INC-42`."""
    return f"INC-{incident_id}"


def parse_incident_id(text: str) -> int:
    """`42`, `INC-42`, `inc42` or `#42` → 42."""
    match = _ID.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        shown = text.strip()[:40]
        raise BadIncidentValue(f"`{shown}` is not an incident id: use a number such as 42 or INC-42")
    return int(match.group(1))


def parse_severity(text: str) -> str:
    """`SEV1`..`SEV4` (any case, `sev 1` too) or the seeds' `P0`..`P3`."""
    word = text.strip().upper().replace(" ", "").replace("-", "")
    if word in SEVERITIES:
        return word
    for severity, priority in PRIORITY.items():
        if word == priority:
            return severity
    raise BadIncidentValue(f"`{text.strip()[:40]}` is not a severity: use SEV1, SEV2, SEV3 or SEV4 (or P0..P3)")


def parse_state(text: str) -> str:
    word = text.strip().lower()
    if word in STATES:
        return word
    raise BadIncidentValue(f"`{text.strip()[:40]}` is not a state: use {', '.join(STATES)}")


def parse_role(text: str) -> str:
    word = text.strip().lower()
    aliases = {"ic": "commander", "incident-commander": "commander", "comms": "communications", "notes": "scribe"}
    word = aliases.get(word, word)
    if word in ROLES:
        return word
    raise BadIncidentValue(f"`{text.strip()[:40]}` is not a role: use {', '.join(ROLES)}")


def severity_label(severity: str) -> str:
    """`SEV1 (P0)`: the seeds write both."""
    return f"{severity} ({PRIORITY.get(severity, '?')})"


# --- policy -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The team's deadlines (pitcrew.yml `incidents:`), with the seeds' values where it says nothing."""

    response_minutes: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RESPONSE_MINUTES))
    update_cadence_minutes: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_UPDATE_CADENCE_MINUTES))
    quiet_minutes: float = DEFAULT_QUIET_MINUTES
    severity_map: Mapping[str, str] = field(default_factory=dict)
    default_severity: str = "SEV3"
    postmortem_severities: tuple[str, ...] = ("SEV1", "SEV2")
    root_edit_interval_s: int = DEFAULT_ROOT_EDIT_INTERVAL_S

    def response_time(self, severity: str) -> timedelta:
        return timedelta(minutes=self.response_minutes.get(severity, DEFAULT_RESPONSE_MINUTES["SEV4"]))

    def cadence(self, severity: str) -> timedelta | None:
        minutes = self.update_cadence_minutes.get(severity)
        return timedelta(minutes=minutes) if minutes else None

    @property
    def quiet(self) -> timedelta:
        return timedelta(minutes=self.quiet_minutes)

    def needs_postmortem(self, severity: str) -> bool:
        return severity in self.postmortem_severities


def make_policy(
    *,
    response_minutes: Mapping[str, float] | None = None,
    update_cadence_minutes: Mapping[str, float] | None = None,
    quiet_minutes: float | None = None,
    severity_map: Mapping[str, str] | None = None,
    default_severity: str | None = None,
    postmortem_severities: Iterable[str] | None = None,
    root_edit_interval_s: int | None = None,
) -> Policy:
    """A policy whose given keys override the defaults (a team that sets only SEV1 keeps the others)."""
    base = Policy()
    return Policy(
        response_minutes={**base.response_minutes, **(response_minutes or {})},
        update_cadence_minutes={**base.update_cadence_minutes, **(update_cadence_minutes or {})},
        quiet_minutes=base.quiet_minutes if quiet_minutes is None else quiet_minutes,
        severity_map=dict(severity_map or {}),
        default_severity=default_severity or base.default_severity,
        postmortem_severities=(
            base.postmortem_severities if postmortem_severities is None else tuple(postmortem_severities)
        ),
        root_edit_interval_s=root_edit_interval_s or base.root_edit_interval_s,
    )


# --- the incident as the rules see it -----------------------------------------------------------


@dataclass(frozen=True)
class DeployNote:
    """The service's latest deployment when the incident opened: a fresh deploy is the first suspect."""

    provider: str | None = None
    id: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    commit_message: str | None = None
    author: str | None = None
    url: str | None = None
    error: str | None = None  # why it could not be looked up

    def age_at(self, moment: datetime) -> timedelta | None:
        return moment - self.created_at if self.created_at else None

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "id": self.id,
            "status": self.status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "commit_message": self.commit_message,
            "author": self.author,
            "url": self.url,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> DeployNote | None:
        if not data:
            return None
        created = data.get("created_at")
        return cls(
            provider=data.get("provider"),
            id=data.get("id"),
            status=data.get("status"),
            created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
            commit_message=data.get("commit_message"),
            author=data.get("author"),
            url=data.get("url"),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class IncidentView:
    """An incident as plain values: what flows return and renderers show."""

    id: int
    title: str
    severity: str
    state: str
    started_at: datetime
    service: str | None = None
    description: str | None = None
    source: str | None = None
    link: str | None = None
    fingerprint: str | None = None
    declared_by: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    roles: Mapping[str, str] = field(default_factory=dict)
    occurrences: int = 1
    last_seen_at: datetime | None = None
    last_update_at: datetime | None = None
    resolved_at: datetime | None = None
    recovered_at: datetime | None = None
    summary: str | None = None
    keep_open: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    deploy: DeployNote | None = None
    escalation_level: int = 0
    escalated_at: datetime | None = None
    reminded_at: datetime | None = None
    root_edited_at: datetime | None = None
    visibility: str | None = None  # public/private on the status page; None: as the catalog says
    silenced_until: datetime | None = None  # a silence (app/core/silences.py); in force while in the future
    silenced_by: str | None = None
    silence_reason: str | None = None
    related: tuple[RelatedAlert, ...] = ()  # the alerts joined to it, each source's state (correlation)

    @property
    def ref(self) -> str:
        return incident_ref(self.id)

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"

    @property
    def commander(self) -> str | None:
        return self.roles.get("commander")

    @property
    def resolves_by_itself(self) -> bool:
        """Whether it resolves after its alerts recovered and stayed quiet. Not when someone kept it
        open, nor when a person declared it: alerts that joined it recovering do not say that what
        the person saw is over."""
        return not self.keep_open and self.declared_by is None

    def duration(self, now: datetime) -> timedelta:
        return (self.resolved_at or now) - self.started_at


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str
    actor: str | None = None
    public: bool = False


# --- escalation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationStep:
    """`slack.escalation` of pitcrew.yml: who to mention, from how many minutes, for which severities."""

    after_minutes: int
    notify: tuple[str, ...]
    severities: tuple[str, ...] | None = None


def escalation_plan(steps: Sequence[EscalationStep], severity: str) -> tuple[EscalationStep, ...]:
    """The steps that apply to `severity`, earliest first (the file's order among equal minutes)."""
    eligible = [s for s in steps if s.severities is None or severity in s.severities]
    return tuple(sorted(eligible, key=lambda s: s.after_minutes))


def first_responders(plan: Sequence[EscalationStep]) -> tuple[EscalationStep, ...]:
    """Steps at 0 minutes: mentioned as soon as the incident opens (the on-call engineer)."""
    return tuple(s for s in plan if s.after_minutes == 0)


@dataclass(frozen=True)
class EscalationDue:
    """What to do at `at`: mention `step` (index `level` of the plan), or, with no step left, say nobody is."""

    at: datetime
    level: int
    step: EscalationStep | None


def next_escalation(
    plan: Sequence[EscalationStep],
    *,
    level: int,
    started_at: datetime,
    escalated_at: datetime | None,
    response_time: timedelta,
    acknowledged: bool,
    resolved: bool,
) -> EscalationDue | None:
    """When the next escalation falls due, or None when nothing more will happen.

    Escalation is about acknowledgement: once someone has acknowledged (or the incident is over)
    nobody else is paged. `level` counts the plan's steps already mentioned (the 0-minute ones
    at opening). The first escalation comes when the severity's response time has passed
    (SEV1: 15 min) whatever the next step's `after_minutes`; each later one at its own
    `after_minutes`, but never sooner than one response time after the previous escalation, so a
    team is not paged twice in the same minute. With no step left, one notice says so, once.
    """
    if acknowledged or resolved:
        return None
    if level >= len(plan):
        if escalated_at is None:
            return EscalationDue(at=started_at + response_time, level=level, step=None)
        return None
    step = plan[level]
    if escalated_at is None:
        return EscalationDue(at=started_at + response_time, level=level, step=step)
    at = max(started_at + timedelta(minutes=step.after_minutes), escalated_at + response_time)
    return EscalationDue(at=at, level=level, step=step)


# --- reminders and automatic resolution ---------------------------------------------------------


def reminder_due(
    policy: Policy,
    *,
    severity: str,
    started_at: datetime,
    last_update_at: datetime | None,
    reminded_at: datetime | None,
    resolved: bool,
) -> datetime | None:
    """When the commander is to be reminded that no status update was posted for the cadence.

    The clock restarts at every update, and after a reminder, so a quiet incident is reminded
    once per cadence rather than once per poll. SEV3/SEV4 have no cadence by default: no reminders.
    """
    cadence = policy.cadence(severity)
    if cadence is None or resolved:
        return None
    since = max(t for t in (started_at, last_update_at, reminded_at) if t is not None)
    return since + cadence


def auto_resolve_at(policy: Policy, *, state: str, recovered_at: datetime | None, keep_open: bool) -> datetime | None:
    """When an incident whose alerts all recovered resolves by itself, unless someone keeps it open."""
    if state != "monitoring" or recovered_at is None or keep_open:
        return None
    return recovered_at + policy.quiet


def next_update_by(policy: Policy, view: IncidentView, now: datetime) -> datetime | None:
    """When stakeholders can expect the next status update, counted from now (None: on change only)."""
    if not view.is_open:
        return None
    cadence = policy.cadence(view.severity)
    return now + cadence if cadence else None


def format_duration(span: timedelta) -> str:
    """`45 s`, `12 min`, `1 h 5 min`, `2 d 3 h`: how long, as a person says it."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_time(moment: datetime) -> str:
    """`14:05 UTC`, or with the date when it is not obvious from context (`2026-03-01 14:05 UTC`)."""
    return moment.strftime("%H:%M UTC")


def format_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
