"""Runbooks as data: the step kinds, the runbook, its templates, the shape of its steps, its buttons.

This is where a step kind is declared: its class (added to the `Step` union), its name in
`STEP_KINDS`, the outcomes it may end with in `ALLOWED_OUTCOMES`, a case in `render_step` (which
of its fields are templates) and in `step_buttons` (what it offers to press). A new check probe
or action kind is a name in `Probe` or `ActionKind` (an action's verb in `ACTION_VERBS`). Reading
a kind from YAML is app/core/runbook_steps.py; running it is `run_step` in app/flows/runbooks.py.

A runbook is read from a file the team wrote, so everything here treats it as data: templates
are filled by a formatter that only substitutes known names (no attribute access, no format
specs). Walking a run is the step machine of app/core/runbook_machine.py; choosing the runbooks
to offer, app/core/runbook_match.py.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal, get_args

Probe = Literal[
    "health", "deployment", "db_connections", "slow_queries", "log_errors", "variables", "backup", "migrations",
    "verify_queries", "metrics", "tls", "rotation",
]
ActionKind = Literal[
    "rollback", "restart", "redeploy", "stop", "set_variable", "terminate_idle_sessions", "scale", "backup"
]
Outcome = Literal["done", "skipped", "ran", "chosen", "failed"]

PROBES: tuple[str, ...] = get_args(Probe)
ACTIONS: tuple[str, ...] = get_args(ActionKind)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
STEP_KINDS: tuple[str, ...] = ("check", "action", "say", "choose", "notify")
SEVERITIES: tuple[str, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")
ALERT_SOURCES: tuple[str, ...] = (
    "alertmanager", "uptimerobot", "betterstack", "sentry", "railway", "vercel", "generic",
)

END = "end"
"""The goto target that finishes a runbook."""

MIN_CHOICES, MAX_CHOICES = 2, 5
DEFAULT_LOG_MINUTES = 30
DEFAULT_IDLE_MINUTES = 5

DATABASE_PROBES: frozenset[str] = frozenset(
    {"db_connections", "slow_queries", "backup", "migrations", "verify_queries"}
)
DATABASE_ACTIONS: frozenset[str] = frozenset({"terminate_idle_sessions", "backup"})
DEFAULT_BACKUP_HOURS = 24  # "a backup newer than N hours exists, or take one"

RUN_ACTION_ID = "runbook.run"
SKIP_ACTION_ID = "runbook.skip"
DONE_ACTION_ID = "runbook.done"
CHOOSE_ACTION_PREFIX = "runbook.choose."

INCIDENT_FIELDS: tuple[str, ...] = ("service", "severity", "incident", "title")
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
RUNBOOK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_STEP_FIELD = re.compile(r"^steps\.([^.]*)\.summary$")
_FORMATTER = string.Formatter()


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applies:
    """When a runbook is suggested for an alert or incident.

    Every criterion that is given must match (AND); within one criterion any entry may match
    (OR). Title and label patterns are shell-style globs (`*database*`), compared ignoring case:
    globs are what on-call people already write, and unlike regular expressions a glob applied
    to an alert title that a stranger controls cannot backtrack for minutes. A runbook with no
    criteria at all is never suggested by itself; it runs only when named.
    """

    sources: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    title_patterns: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    severities: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.sources or self.services or self.title_patterns or self.labels or self.severities)


@dataclass(frozen=True, kw_only=True)
class _Step:
    id: str
    title: str
    next: str | None = None  # a step id or END; None: the step that follows in the file
    kind: ClassVar[str] = ""


@dataclass(frozen=True, kw_only=True)
class CheckStep(_Step):
    """Runs a built-in probe and shows what it found; nothing changes anywhere.

    `service` None leaves the target to the runner: the incident's service, or for the
    database probes the catalog's database when the incident's service is not one.
    """

    probe: Probe
    service: str | None = None
    minutes: int | None = None  # log_errors only: how far back to read
    names: tuple[str, ...] = ()  # variables only: the names to report set, empty or missing (none: all)
    hours: int | None = None  # backup only: how recent the newest backup must be
    kind: ClassVar[str] = "check"


@dataclass(frozen=True, kw_only=True)
class ActionStep(_Step):
    """Proposes a destructive action; it runs only after an operator confirms it."""

    action: ActionKind
    service: str | None = None
    params: Mapping[str, str | int] = field(default_factory=dict, hash=False)
    # `target: database`: the step works on the database (pitcrew.yml's, or the incident's service
    # when it is one), as the database steps do: "Railway → PostgreSQL → Restart" restarts the database.
    database: bool = False
    kind: ClassVar[str] = "action"


@dataclass(frozen=True, kw_only=True)
class SayStep(_Step):
    """Something only a person can do (a dashboard, a status page, a code fix)."""

    text: str
    link: str | None = None
    kind: ClassVar[str] = "say"


@dataclass(frozen=True)
class Choice:
    label: str
    goto: str  # a step id or END


@dataclass(frozen=True, kw_only=True)
class ChooseStep(_Step):
    """A question whose answers lead to different steps."""

    question: str
    choices: tuple[Choice, ...]
    kind: ClassVar[str] = "choose"


@dataclass(frozen=True, kw_only=True)
class NotifyStep(_Step):
    """Posts a status update, written from a template, for the people following the incident."""

    template: str
    kind: ClassVar[str] = "notify"


Step = CheckStep | ActionStep | SayStep | ChooseStep | NotifyStep

ALLOWED_OUTCOMES: dict[str, frozenset[str]] = {
    "check": frozenset({"ran", "failed", "skipped"}),
    "action": frozenset({"ran", "failed", "skipped"}),
    "notify": frozenset({"ran", "failed", "skipped"}),
    "say": frozenset({"done", "skipped"}),
    "choose": frozenset({"chosen"}),  # a question has no skip: its answers are the ways on
}
"""The outcomes each step kind may end with (the step machine, app/core/runbook_machine.py, enforces them)."""


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    steps: tuple[Step, ...]
    description: str = ""
    applies: Applies = field(default_factory=Applies)
    source: str = ""  # where it was read from, for messages (`builtin:backend-down.yml`, a path)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"runbook {self.name!r} has no steps")
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"runbook {self.name!r} repeats a step id")

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise UnknownStep(self.name, step_id)

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.id for step in self.steps)


class UnknownRunbook(LookupError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = list(known)
        super().__init__(f"unknown runbook {name!r}; known runbooks: {', '.join(self.known) or 'none'}")


class UnknownStep(LookupError):
    """A stored run names a step the runbook no longer has (the file changed since it started)."""

    def __init__(self, runbook: str, step_id: str) -> None:
        self.runbook = runbook
        self.step_id = step_id
        super().__init__(f"runbook {runbook!r} has no step {step_id!r} "
                         "(was the runbook edited since this run started?)")


@dataclass(frozen=True)
class RunbookSet:
    """The runbooks in force: the built-ins, with the team's own replacing those of the same name."""

    runbooks: Mapping[str, Runbook] = field(default_factory=dict, hash=False)
    overridden: frozenset[str] = frozenset()  # built-in names that a team runbook replaced

    @classmethod
    def layered(cls, builtin: Iterable[Runbook], team: Iterable[Runbook] = ()) -> RunbookSet:
        """Team runbooks over built-ins. Duplicate names within one layer are the caller's to report."""
        merged = {runbook.name: runbook for runbook in builtin}
        overridden = set()
        for runbook in team:
            if runbook.name in merged:
                overridden.add(runbook.name)
            merged[runbook.name] = runbook
        return cls(dict(sorted(merged.items())), frozenset(overridden))

    def get(self, name: str) -> Runbook:
        try:
            return self.runbooks[name]
        except KeyError:
            raise UnknownRunbook(name, self.names()) from None

    def names(self) -> list[str]:
        return sorted(self.runbooks)

    def unknown(self, names: Iterable[str]) -> list[str]:
        """Those of `names` that are not runbooks here (for `pitcrew check` on the catalog)."""
        return [name for name in names if name not in self.runbooks]

    def __iter__(self) -> Iterator[Runbook]:
        return iter(self.runbooks[name] for name in self.names())

    def __len__(self) -> int:
        return len(self.runbooks)

    def __contains__(self, name: object) -> bool:
        return name in self.runbooks


# ---------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------


class TemplateError(ValueError):
    """A template that cannot be filled safely; the message says what to write instead."""


_FIELDS_HELP = "{service}, {severity}, {incident}, {title} or {steps.<id>.summary}"


def template_fields(template: str) -> tuple[str, ...]:
    """The field names a template uses, in order; raises TemplateError for anything else.

    Only plain names are allowed: `{service.__class__}`, `{title!r}` or `{title:>999999}` would
    let a file reach into objects or blow up a message, so they are refused when the file is
    read rather than discovered in the middle of an incident.
    """
    try:
        pieces = list(_FORMATTER.parse(template))
    except ValueError as err:
        raise TemplateError(f"unbalanced braces ({err}); write {{{{ or }}}} for a literal brace") from None
    found: list[str] = []
    for _literal, name, spec, conversion in pieces:
        if name is None:
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if conversion or spec:
            raise TemplateError(f"{shown}: conversions and format specs are not allowed; use {_FIELDS_HELP}")
        if name in INCIDENT_FIELDS:
            found.append(name)
            continue
        match = _STEP_FIELD.match(name)
        if match and STEP_ID.match(match.group(1)):
            found.append(name)
            continue
        if name == "":
            raise TemplateError(f"empty {{}}: name a field, one of {_FIELDS_HELP}")
        raise TemplateError(f"unknown field {shown}; use {_FIELDS_HELP}")
    return tuple(found)


def template_step_refs(template: str) -> tuple[str, ...]:
    """The step ids whose summaries a template reads (`{steps.logs.summary}` → `logs`)."""
    refs = []
    for name in template_fields(template):
        match = _STEP_FIELD.match(name)
        if match:
            refs.append(match.group(1))
    return tuple(refs)


@dataclass(frozen=True)
class IncidentFields:
    """The incident values a template may use; None where the incident has none."""

    incident: str | None = None  # e.g. INC-42
    service: str | None = None
    severity: str | None = None
    title: str | None = None


def render(template: str, fields: IncidentFields, summaries: Mapping[str, str] | None = None) -> str:
    """Fill a template by substitution only; never calls str.format on file data.

    The result is plain text: escaping for Slack or HTML is the renderer's job, since a title
    that came from an alert can hold `<!channel>`.
    """
    summaries = summaries or {}
    out: list[str] = []
    for literal, name, _spec, _conversion in _FORMATTER.parse(template):
        out.append(literal)
        if name is None:
            continue
        if name in INCIDENT_FIELDS:
            value = getattr(fields, name)
            out.append(value if value else f"(no {name})")
            continue
        match = _STEP_FIELD.match(name)
        if not match:
            raise TemplateError(f"unknown field {{{name}}}; use {_FIELDS_HELP}")
        out.append(summaries.get(match.group(1), "(not run)"))
    return "".join(out)


TEMPLATED_PARAMS = frozenset({"value"})  # action params that are templates (set_variable's value)


def render_step(step: Step, fields: IncidentFields, summaries: Mapping[str, str] | None = None) -> Step:
    """A copy of the step with every template filled, ready to show or to act on."""
    def fill(text: str) -> str:
        return render(text, fields, summaries)

    rendered = replace(step, title=fill(step.title))
    match rendered:
        case CheckStep() if rendered.service is not None:
            rendered = replace(rendered, service=fill(rendered.service))
        case ActionStep():
            params = {key: fill(value) if key in TEMPLATED_PARAMS and isinstance(value, str) else value
                      for key, value in rendered.params.items()}
            service = fill(rendered.service) if rendered.service is not None else None
            rendered = replace(rendered, service=service, params=params)
        case SayStep():
            rendered = replace(rendered, text=fill(rendered.text))
        case ChooseStep():
            rendered = replace(rendered, question=fill(rendered.question))
        case NotifyStep():
            rendered = replace(rendered, template=fill(rendered.template))
    return rendered


def targets_database(step: Step) -> bool:
    """True for the steps that work on a database, whose default target is the catalog's database."""
    return (isinstance(step, CheckStep) and step.probe in DATABASE_PROBES) or (
        isinstance(step, ActionStep) and (step.action in DATABASE_ACTIONS or step.database)
    )


# ---------------------------------------------------------------------------------------------
# The shape of the step graph
# ---------------------------------------------------------------------------------------------


def successor(runbook: Runbook, step_id: str) -> str:
    """Where a step leads when it is not a question: its `next`, else the following step, else END."""
    step = runbook.step(step_id)
    if step.next is not None:
        return step.next
    index = runbook.step_ids.index(step_id)
    return runbook.steps[index + 1].id if index + 1 < len(runbook.steps) else END


def exits(runbook: Runbook, step_id: str) -> tuple[str, ...]:
    """Every step (or END) that can come right after this one."""
    step = runbook.step(step_id)
    if isinstance(step, ChooseStep):
        return tuple(dict.fromkeys(choice.goto for choice in step.choices))
    return (successor(runbook, step_id),)


def reachable_from(runbook: Runbook, start: str) -> set[str]:
    """Step ids (and END) reachable from `start`, itself included; unknown targets are ignored."""
    known = set(runbook.step_ids)
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in known:
            todo.extend(target for target in exits(runbook, current) if target == END or target in known)
    return seen


def unreachable_steps(runbook: Runbook) -> list[str]:
    """Steps no run can ever reach from the first step, in file order."""
    reached = reachable_from(runbook, runbook.steps[0].id)
    return [step_id for step_id in runbook.step_ids if step_id not in reached]


def endless_steps(runbook: Runbook) -> list[str]:
    """Steps from which the end cannot be reached: a run that gets there loops for ever."""
    return [step_id for step_id in runbook.step_ids if END not in reachable_from(runbook, step_id)]


# ---------------------------------------------------------------------------------------------
# Buttons (the action_ids DESIGN.md fixes; Slack and the console render them alike)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepButton:
    action_id: str
    label: str
    outcome: Outcome | None  # what pressing it records; None for "run", whose outcome comes later
    choice_index: int | None = None


ACTION_VERBS: dict[str, str] = {
    "rollback": "Roll back", "restart": "Restart", "redeploy": "Redeploy", "stop": "Stop",
    "set_variable": "Set variable", "terminate_idle_sessions": "Terminate idle sessions",
    "scale": "Scale", "backup": "Back up",
}


def choice_action_id(index: int) -> str:
    return f"{CHOOSE_ACTION_PREFIX}{index}"


def parse_choice_action_id(action_id: str) -> int:
    """`runbook.choose.3` → 3; raises ValueError for anything else."""
    number = action_id.removeprefix(CHOOSE_ACTION_PREFIX)
    if number == action_id or not number.isdigit() or int(number) < 1:
        raise ValueError(f"not a runbook choice button: {action_id!r}")
    return int(number)


def step_buttons(step: Step) -> tuple[StepButton, ...]:
    """The buttons a step offers, in the order they are shown."""
    skip = StepButton(SKIP_ACTION_ID, "Skip", "skipped")
    match step:
        case ChooseStep():
            return tuple(StepButton(choice_action_id(i), choice.label, "chosen", i)
                         for i, choice in enumerate(step.choices, start=1))
        case SayStep():
            return (StepButton(DONE_ACTION_ID, "Done", "done"), skip)
        case CheckStep():
            return (StepButton(RUN_ACTION_ID, "Run check", None), skip)
        case ActionStep():
            return (StepButton(RUN_ACTION_ID, ACTION_VERBS[step.action], None), skip)
        case NotifyStep():
            return (StepButton(RUN_ACTION_ID, "Post update", None), skip)
    raise TypeError(f"not a step: {step!r}")
