"""The words of `/incident ...` and of the same verbs as `@pitcrew <verb>` inside an incident thread.

Slack runs no slash commands in threads, so inside a thread the verbs come as mentions and the
incident is the thread's own; outside, the id comes first (`/incident 42 sev SEV1`). Both end in
one IncidentCommand, parsed before anything is touched, so a typo is answered at once, privately,
with the usage instead of doing half of what was meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from app.core.chat_text import plain_text
from app.core.durations import EXAMPLES as DURATION_EXAMPLES
from app.core.durations import looks_like_duration
from app.core.incidents import BadIncidentValue, parse_incident_id, parse_role, parse_severity, parse_state
from app.core.period_report import BadPeriod, parse_period
from app.core.silences import USAGE as SILENCE_USAGE
from app.core.silences import SilenceUsage, parse_silence

USAGE = """\
Usage:
• `/incident` — open incidents
• `/incident declare <SEV1|SEV2|SEV3|SEV4> [--service <name>] <title>` — declare one (without a title: a form; \
with a service, its alerts join it; a title starting `security:` declares a security incident, private on the \
status page)
• `/incident <id> update <text>` — post a status update (thread, updates channel, status page)
• `/incident <id> ack` — acknowledge: you are on it, stop the escalation
• `/incident <id> sev <SEVn>` — change the severity
• `/incident <id> state <investigating|identified|monitoring> [note]`
• `/incident <id> assign <commander|communications|scribe> <@user>`
• `/incident <id> resolve [summary]` — resolve (without a summary: a form asks for one)
• `/incident <id> keep` — keep it open (no automatic resolution after the alerts recover)
• `/incident <id> public|private` — show it on the status page, or keep it off
• `/incident <id> merge <other id>` — move the other incident's alerts into this one (it resolves as merged)
• `/incident <id> split <source>` — move one source's joined alerts out into an incident of their own
• `/incident <id> timeline` · `/incident <id> postmortem`
• `/incident <id> silence <duration> [reason]` (up to 7d) · `/incident <id> unsilence`
• `/incident maintenance <service ...> <duration> [at <start>] <reason>` · `/incident maintenance list|cancel <n>`
• `/incident report [7d|30d]` — the period's incidents by service and severity, MTTA/MTTR, with a chart
• `/incident oncall` — who is on call now and next, and the hand-offs of the coming two weeks
• `/incident oncall override <@user> <duration> [rotation]` — hand them the shift \
(default rotation: primary) for a while, e.g. `/incident oncall override @bob 4h`
An id is 42 or INC-42. Inside an incident thread, mention me with the same verbs: \
`@pitcrew ack`, `@pitcrew update <text>`, `@pitcrew sev SEV1`, `@pitcrew resolve <summary>`, \
`@pitcrew silence 2h [reason]`, `@pitcrew unsilence`, `@pitcrew split <source>` (or a service, or `source:service`)."""

THREAD_VERBS = (
    "ack", "update", "sev", "state", "assign", "resolve", "keep", "public", "private", "timeline", "postmortem", "show",
    "merge", "split", "silence", "unsilence",
)
_SEVERITY_LIKE = re.compile(r"^(?:sev|p)[ -]?[0-9]+$", re.IGNORECASE)
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,})$")
_VERB_ALIASES = {
    "acknowledge": "ack",
    "severity": "sev",
    "status": "state",
    "close": "resolve",
    "keep-open": "keep",
    "post-mortem": "postmortem",
    "pm": "postmortem",
    "info": "show",
}


class IncidentUsage(Exception):
    """`help` was asked for (or the words were wrong): answer privately with the usage."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason
        self.usage = USAGE
        super().__init__(f"{reason}\n{USAGE}" if reason else USAGE)


class IncidentUsageError(IncidentUsage):
    """Words that do not make a command; `reason` says which and what was expected."""


class SilenceUsageError(IncidentUsageError):
    """A `silence` that cannot be done as typed: answered with the silence's own usage."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.usage = SILENCE_USAGE


@dataclass(frozen=True)
class IncidentCommand:
    """One parsed command. `verb` is list, declare, show, visibility (`text` public or private), report
    (`days`) or one of THREAD_VERBS."""

    verb: str
    incident_id: int | None = None
    severity: str | None = None
    title: str | None = None
    text: str | None = None
    role: str | None = None
    user: str | None = None
    state: str | None = None
    duration: timedelta | None = None
    other_id: int | None = None  # `merge`: the incident merged into this one
    days: int | None = None  # `report`: the period, 7 or 30
    rotation: str | None = None  # `oncall_override`: the rotation (`text` is the duration as typed)
    service: str | None = None  # `declare --service <name>`: the service the incident is about


def parse_incident_command(text: str | None) -> IncidentCommand:
    """The `/incident` text: nothing/`list`, `help`, `declare ...`, or `<id> <verb> ...`."""
    words = (text or "").strip()
    first, _, rest = words.partition(" ")
    head = first.lower()
    if not words or head in ("list", "ls", "open"):
        if rest.strip():
            raise IncidentUsageError(f"`{head}` takes nothing after it")
        return IncidentCommand(verb="list")
    if head in ("help", "-h", "--help", "?"):
        raise IncidentUsage()
    if head == "declare":
        return _declare(rest.strip())
    if head == "oncall":
        return _oncall(rest.strip())
    if head == "maintenance":  # read by app/core/maintenance.py, which needs the catalog's services
        return IncidentCommand(verb="maintenance", text=rest.strip())
    if head == "report":
        try:
            return IncidentCommand(verb="report", days=parse_period(rest))
        except BadPeriod as err:
            raise IncidentUsageError(str(err)) from None
    try:
        incident_id = parse_incident_id(first)
    except BadIncidentValue:
        raise IncidentUsageError(f"`{first[:40]}` is neither `declare` nor an incident id (42 or INC-42)") from None
    if not rest.strip():
        return IncidentCommand(verb="show", incident_id=incident_id)
    return parse_thread_verb(incident_id, rest)


def parse_thread_verb(incident_id: int, text: str) -> IncidentCommand:
    """`<verb> ...` about incident `incident_id`: the mention form, and the tail of the slash form."""
    verb_word, _, rest = text.strip().partition(" ")
    verb = _VERB_ALIASES.get(verb_word.lower(), verb_word.lower())
    rest = rest.strip()
    try:
        return _verb(incident_id, verb, verb_word, rest)
    except BadIncidentValue as err:
        raise IncidentUsageError(str(err)) from None


def _verb(incident_id: int, verb: str, verb_word: str, rest: str) -> IncidentCommand:
    if verb in ("ack", "timeline", "postmortem", "show"):
        if rest and verb != "ack":
            raise IncidentUsageError(f"`{verb}` takes nothing after it")
        return IncidentCommand(verb=verb, incident_id=incident_id)
    if verb in ("public", "private"):
        if rest:
            raise IncidentUsageError(f"`{verb}` takes nothing after it")
        return IncidentCommand(verb="visibility", incident_id=incident_id, text=verb)
    if verb == "keep":
        if rest.lower() not in ("", "open"):
            raise IncidentUsageError("`keep` takes nothing after it (or `keep open`)")
        return IncidentCommand(verb="keep", incident_id=incident_id)
    if verb == "update":
        if not rest:
            raise IncidentUsageError("`update` needs the text of the update, e.g. `update Rolled back, watching`")
        return IncidentCommand(verb="update", incident_id=incident_id, text=plain_text(rest))
    if verb == "sev":
        if not rest or len(rest.split()) > 1:
            raise IncidentUsageError("`sev` needs one severity: SEV1, SEV2, SEV3 or SEV4")
        return IncidentCommand(verb="sev", incident_id=incident_id, severity=parse_severity(rest))
    if verb == "state":
        state_word, _, note = rest.partition(" ")
        if not state_word:
            raise IncidentUsageError("`state` needs one of investigating, identified, monitoring")
        state = parse_state(state_word)
        if state == "resolved":
            raise IncidentUsageError("to resolve, use `resolve [summary]`: it asks for a summary")
        note = plain_text(note.strip())
        return IncidentCommand(verb="state", incident_id=incident_id, state=state, text=note or None)
    if verb == "assign":
        parts = rest.split()
        if len(parts) != 2:
            raise IncidentUsageError("`assign` needs a role and a person, e.g. `assign commander @ana`")
        role = parse_role(parts[0])
        return IncidentCommand(verb="assign", incident_id=incident_id, role=role, user=parse_user(parts[1]))
    if verb == "resolve":
        return IncidentCommand(verb="resolve", incident_id=incident_id, text=plain_text(rest) or None)
    if verb == "silence":
        try:
            request = parse_silence(rest)
        except SilenceUsage as err:
            raise SilenceUsageError(err.reason) from None
        return IncidentCommand(verb="silence", incident_id=incident_id, duration=request.duration, text=request.reason)
    if verb == "unsilence":
        if rest:
            raise SilenceUsageError("`unsilence` takes nothing after it")
        return IncidentCommand(verb="unsilence", incident_id=incident_id)
    if verb == "merge":
        if not rest or len(rest.split()) > 1:
            raise IncidentUsageError(
                "`merge` needs the id of the incident to merge into this one, e.g. `/incident 3 merge 4`"
            )
        return IncidentCommand(verb="merge", incident_id=incident_id, other_id=parse_incident_id(rest))
    if verb == "split":
        if not rest or len(rest.split()) > 2:
            raise IncidentUsageError("`split` needs the source to split out, e.g. `@pitcrew split sentry`")
        return IncidentCommand(verb="split", incident_id=incident_id, text=plain_text(rest))
    shown = verb_word[:40] or "(nothing)"
    raise IncidentUsageError(f"`{shown}` is not something I can do to an incident")


OVERRIDE_USAGE = "`/incident oncall override <@user> <duration> [rotation]`, e.g. `/incident oncall override @bob 4h`"


def _oncall(rest: str) -> IncidentCommand:
    """`oncall` (the board) or `oncall override <@user> <duration> [rotation]` (rotation: primary)."""
    if not rest:
        return IncidentCommand(verb="oncall")
    words = rest.split()
    if words[0].lower() != "override":
        raise IncidentUsageError(f"`oncall` takes nothing after it, or `override`: {OVERRIDE_USAGE}")
    if len(words) not in (3, 4):
        raise IncidentUsageError(f"`oncall override` needs a person and a duration: {OVERRIDE_USAGE}")
    try:
        user = parse_user(words[1])
    except BadIncidentValue as err:
        raise IncidentUsageError(f"{err}. {OVERRIDE_USAGE}") from None
    if not looks_like_duration(words[2]):
        raise IncidentUsageError(
            f"`{words[2][:40]}` is not a duration: use a number and a unit, {DURATION_EXAMPLES}. {OVERRIDE_USAGE}"
        )
    rotation = words[3].lower().removeprefix("oncall:") if len(words) == 4 else "primary"
    return IncidentCommand(verb="oncall_override", user=user, text=words[2], rotation=rotation)


def _declare(rest: str) -> IncidentCommand:
    """`declare` alone or with only a severity opens the form; `declare SEVn title` declares at once."""
    if not rest:
        return IncidentCommand(verb="declare")
    first, _, title = rest.partition(" ")
    try:
        severity = parse_severity(first)
    except BadIncidentValue as err:
        if _SEVERITY_LIKE.match(first):  # `SEV9 Oops`: a severity mistyped, not a title without one
            raise IncidentUsageError(str(err)) from None
        raise IncidentUsageError(
            f"`declare` needs the severity first, e.g. `/incident declare SEV2 {rest[:60]}`"
        ) from None
    service, title = _service_option(title.strip())
    title = plain_text(title)
    if service is not None and not title:
        raise IncidentUsageError(
            f"`declare` needs a title after the service, e.g. `/incident declare {severity} --service {service} "
            "Checkout failing`"
        )
    return IncidentCommand(verb="declare", severity=severity, title=title or None, service=service)


def _service_option(text: str) -> tuple[str | None, str]:
    """`--service api Checkout failing` (or `--service=api`, anywhere in the words): (service, the rest)."""
    if "--service" not in text.lower():
        return None, text
    words = text.split()
    service: str | None = None
    rest: list[str] = []
    n = 0
    while n < len(words):
        word = words[n]
        name: str | None = None
        if word.lower().startswith("--service="):
            name = word.split("=", 1)[1]
        elif word.lower() == "--service":
            name = words[n + 1] if n + 1 < len(words) else ""
            n += 1
        else:
            rest.append(word)
        if name is not None:
            if not name or name.startswith("--"):
                raise IncidentUsageError("`--service` needs a service's name, e.g. `--service api`")
            if service is not None:
                raise IncidentUsageError("`--service` names one service; give it once")
            service = name.lower()
        n += 1
    return service, " ".join(rest)


def parse_user(text: str) -> str:
    """A Slack user from `<@U123>`, `<@U123|ana>` (how Slack writes a mention) or a bare `U123`."""
    match = _USER.match(text.strip())
    if match is None:
        raise BadIncidentValue(
            f"`{text.strip()[:40]}` is not a Slack user: mention them (@name, picked from Slack's list) "
            "or give their id"
        )
    return match.group(1) or match.group(2)
