"""YAML text → a validated `Runbook`, or every mistake in it with its line number.

The text is composed into YAML nodes (not loaded into Python values) for two reasons: each node
knows its line, so a mistake is reported where the author can find it; and scalars keep the text
as written, so a button labelled `Yes` stays "Yes" instead of YAML 1.1's `True`.

A runbook is used whole or not at all: one mistake anywhere refuses the file, since a runbook
that half-loads would walk a responder into a step that is not there in the middle of an outage.
Parsing text does no I/O; reading files is `app.flows.runbook_files`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.core.runbooks import (
    ACTIONS,
    ALERT_SOURCES,
    DATABASE_PROBES,
    DEFAULT_IDLE_MINUTES,
    DEFAULT_LOG_MINUTES,
    END,
    MAX_CHOICES,
    MIN_CHOICES,
    PROBES,
    RUNBOOK_NAME,
    SEVERITIES,
    STEP_ID,
    STEP_KINDS,
    ActionStep,
    Applies,
    CheckStep,
    Choice,
    ChooseStep,
    NotifyStep,
    Runbook,
    SayStep,
    Step,
    TemplateError,
    endless_steps,
    reachable_from,
    successor,
    template_fields,
    template_step_refs,
    unreachable_steps,
)

MAX_TEXT_BYTES = 256 * 1024
MAX_LABEL_CHARS = 75  # Slack's limit for a button's text
MAX_TITLE_CHARS = 150
MAX_TEXT_CHARS = 2000
MAX_PATTERN_CHARS = 200
MAX_MINUTES = 24 * 60
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_NULL = "tag:yaml.org,2002:null"
_INT = "tag:yaml.org,2002:int"
_TOP_KEYS = ("name", "title", "description", "applies", "steps")
_APPLIES_KEYS = ("sources", "services", "title_patterns", "labels", "severities")
_COMMON_STEP_KEYS = ("id", "title", "next")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "check": ("service", "minutes"),
    "action": ("service",),
    "say": ("link",),
    "choose": ("choices",),
    "notify": (),
}
_ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "rollback": (), "restart": (), "redeploy": (), "stop": (),
    "set_variable": ("name", "value"),
    "terminate_idle_sessions": ("idle_minutes",),
}
_CHOICE_KEYS = ("label", "goto")


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RunbookInvalid(ValueError):
    """The text is not a usable runbook; `problems` holds each mistake with its line."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = sorted(set(problems))
        super().__init__("\n".join(self.messages()))

    def messages(self) -> list[str]:
        """`source:line: reason`, one per mistake, as compilers print them."""
        return [f"{self.source}:{p.line}: {p.message}" for p in self.problems]


def parse_runbook(text: str, source: str = "<runbook>") -> Runbook:
    """Parse and validate one runbook; raises RunbookInvalid naming the line of every mistake."""
    return _Reader(source).read(text)


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _closest(word: str, choices: Iterable[str]) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean `{near[0]}`?)" if near else ""


@dataclass
class _Positions:
    """Where things were written, so that the checks made on the whole runbook can name a line."""

    step: dict[str, int] = field(default_factory=dict)
    gotos: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    refs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # step id → [(referenced id, line)]


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.where = _Positions()

    def problem(self, node: Node | int, message: str) -> None:
        self.problems.append(Problem(node if isinstance(node, int) else _line(node), message))

    # -- the document --------------------------------------------------------------------------

    def read(self, text: str) -> Runbook:
        root = self._compose(text)
        if root is None:
            raise RunbookInvalid(self.source, self.problems)
        fields = self._mapping(root, "a runbook", _TOP_KEYS)
        if fields is None:
            raise RunbookInvalid(self.source, self.problems)
        for key in ("name", "title", "steps"):
            if key not in fields:
                self.problem(root, f"`{key}:` is required")
        name = self._name(fields["name"]) if "name" in fields else None
        title = self._text(fields["title"], "title", limit=MAX_TITLE_CHARS) if "title" in fields else None
        if title is not None:
            self._template(fields["title"], title)
        description = self._text(fields["description"], "description", limit=MAX_TEXT_CHARS,
                                 required=False) if "description" in fields else None
        applies = self._applies(fields["applies"]) if "applies" in fields else Applies()
        steps = self._steps(fields["steps"]) if "steps" in fields else []
        if self.problems or name is None or title is None or applies is None:
            raise RunbookInvalid(self.source, self.problems)
        runbook = _resolve_default_gotos(Runbook(
            name=name, title=title, description=description or "", applies=applies,
            steps=tuple(steps), source=self.source,
        ))
        self._check_graph(runbook)
        if self.problems:
            raise RunbookInvalid(self.source, self.problems)
        return runbook

    def _compose(self, text: str) -> Node | None:
        if len(text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
            self.problem(1, f"the file is larger than {MAX_TEXT_BYTES // 1024} KiB; is it a runbook?")
            return None
        try:
            for event in yaml.parse(text, Loader=yaml.SafeLoader):
                if isinstance(event, yaml.AliasEvent):
                    # Aliases let a few lines expand into millions of nodes; runbooks do not need them.
                    self.problem(_line(event), "YAML aliases (`*name`) are not allowed in runbooks; "
                                               "repeat the text instead")
                    return None
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark is not None else 1
            self.problem(line, f"not valid YAML: {err.problem or err.context}")
            return None
        except yaml.YAMLError as err:
            self.problem(1, f"not valid YAML: {err}")
            return None
        if root is None:
            self.problem(1, "the file is empty; a runbook needs `name:`, `title:` and `steps:`")
        return root

    # -- typed values --------------------------------------------------------------------------

    def _mapping(self, node: Node, what: str, allowed: Iterable[str]) -> dict[str, Node] | None:
        """The keys of a mapping with their value nodes; unknown and repeated keys are mistakes."""
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping of `key: value` lines")
            return None
        allowed = tuple(allowed)
        found: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, "a key must be a plain word")
                continue
            key = key_node.value
            if key in found:
                self.problem(key_node, f"`{key}:` is given twice")
                continue
            if key not in allowed:
                expected = ", ".join(allowed) or "no other keys"
                hint = _closest(key, allowed)
                self.problem(key_node, f"unknown key `{key}` in {what}{hint}; expected: {expected}")
                continue
            found[key] = value_node
        return found

    def _text(self, node: Node, what: str, *, limit: int, required: bool = True) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag == _NULL:
            if isinstance(node, ScalarNode) and not required:
                return ""
            self.problem(node, f"`{what}` must be text")
            return None
        value = node.value.strip()
        if required and not value:
            self.problem(node, f"`{what}` must not be empty")
            return None
        if len(value) > limit:
            self.problem(node, f"`{what}` is {len(value)} characters long; at most {limit}")
            return None
        return value

    def _minutes(self, node: Node, what: str) -> int | None:
        if not (isinstance(node, ScalarNode) and node.tag == _INT and node.value.isdigit()):
            self.problem(node, f"`{what}` must be a whole number of minutes, e.g. 30")
            return None
        value = int(node.value)
        if not 1 <= value <= MAX_MINUTES:
            self.problem(node, f"`{what}` must be between 1 and {MAX_MINUTES} minutes, not {value}")
            return None
        return value

    def _text_list(self, node: Node, what: str) -> list[tuple[str, Node]] | None:
        """A list of texts; a single text is taken as a list of one."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        out = []
        for item in items:
            text = self._text(item, what, limit=MAX_PATTERN_CHARS)
            if text is None:
                return None
            out.append((text, item))
        if not out:
            self.problem(node, f"`{what}` is an empty list, which matches nothing; remove it or add entries")
            return None
        return out

    def _template(self, node: Node, text: str, step_id: str | None = None) -> None:
        try:
            refs = template_step_refs(text) if template_fields(text) else ()
        except TemplateError as err:
            self.problem(node, str(err))
            return
        if refs and step_id is None:
            self.problem(node, "{steps.<id>.summary} can only be used inside a step")
        elif step_id is not None:
            self.where.refs.setdefault(step_id, []).extend((ref, _line(node)) for ref in refs)

    def _name(self, node: Node) -> str | None:
        name = self._text(node, "name", limit=63)
        if name is not None and not RUNBOOK_NAME.match(name):
            self.problem(node, f"name {name!r}: use lowercase letters, digits and -, e.g. backend-down")
            return None
        return name

    # -- applies -------------------------------------------------------------------------------

    def _applies(self, node: Node) -> Applies | None:
        fields = self._mapping(node, "`applies`", _APPLIES_KEYS)
        if fields is None:
            return None
        values: dict[str, tuple[str, ...]] = {}
        for key in ("sources", "services", "title_patterns", "severities"):
            if key in fields:
                items = self._text_list(fields[key], f"applies.{key}")
                if items is None:
                    return None
                values[key] = tuple(self._applies_item(key, text, item) for text, item in items)
        labels: dict[str, str] = {}
        if "labels" in fields:
            label_node = fields["labels"]
            if not isinstance(label_node, MappingNode) or not label_node.value:
                self.problem(label_node, "`applies.labels` must map label names to patterns, "
                                         "e.g. {alertname: 'Postgres*'}")
                return None
            for key_node, value_node in label_node.value:
                key = self._text(key_node, "label name", limit=MAX_PATTERN_CHARS)
                pattern = self._text(value_node, "label pattern", limit=MAX_PATTERN_CHARS)
                if key is not None and pattern is not None:
                    if key in labels:
                        self.problem(key_node, f"label `{key}` is given twice")
                    labels[key] = pattern
        return Applies(labels=labels, **values)

    def _applies_item(self, key: str, text: str, node: Node) -> str:
        if key == "sources":
            if text.lower() not in ALERT_SOURCES:
                self.problem(node, f"unknown alert source {text!r}{_closest(text.lower(), ALERT_SOURCES)}; "
                                   f"expected one of: {', '.join(ALERT_SOURCES)}")
            return text.lower()
        if key == "severities":
            if text.upper() not in SEVERITIES:
                self.problem(node, f"unknown severity {text!r}; expected one of: {', '.join(SEVERITIES)}")
            return text.upper()
        if key == "services" and not SERVICE_NAME.match(text):
            self.problem(node, f"service name {text!r}: use lowercase letters, digits, - and _")
        return text

    # -- steps ---------------------------------------------------------------------------------

    def _steps(self, node: Node) -> list[Step]:
        if not isinstance(node, SequenceNode) or not node.value:
            self.problem(node, "`steps` must be a non-empty list of steps (`- check: health`, `- say: ...`)")
            return []
        steps: list[Step] = []
        ids: dict[str, int] = {}
        for number, step_node in enumerate(node.value, start=1):
            step_id = self._step_id(step_node, number)
            if step_id is not None:
                if step_id in ids:
                    self.problem(self._id_node(step_node) or step_node,
                                 f"step id `{step_id}` is already used by the step on line {ids[step_id]}")
                else:
                    ids[step_id] = _line(step_node)
            step = self._step(step_node, step_id or f"step-{number}")
            if step is not None and step_id is not None:
                steps.append(step)
        self.where.step = ids
        self._check_targets(ids)
        return steps

    @staticmethod
    def _id_node(step_node: Node) -> Node | None:
        if isinstance(step_node, MappingNode):
            for key_node, value_node in step_node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == "id":
                    return value_node
        return None

    def _step_id(self, step_node: Node, number: int) -> str | None:
        id_node = self._id_node(step_node)
        if id_node is None:
            return f"step-{number}"
        step_id = self._text(id_node, "id", limit=63)
        if step_id is None:
            return None
        if step_id == END or not STEP_ID.match(step_id):
            self.problem(id_node, f"step id {step_id!r}: use lowercase letters, digits, - and _ "
                                  f"(and not `{END}`, which means the end of the runbook)")
            return None
        return step_id

    def _step(self, node: Node, step_id: str) -> Step | None:
        if not isinstance(node, MappingNode):
            self.problem(node, "a step must be a mapping such as `- say: Check the dashboard`")
            return None
        keys = [k.value for k, _ in node.value if isinstance(k, ScalarNode)]
        kinds = [key for key in keys if key in STEP_KINDS]
        if len(kinds) != 1:
            found = " and ".join(f"`{k}`" for k in kinds) if kinds else "none"
            self.problem(node, f"a step needs exactly one of {', '.join(STEP_KINDS)}; found {found}")
            return None
        kind = kinds[0]
        extra: tuple[str, ...] = _KIND_KEYS[kind]
        kind_node = next(v for k, v in node.value if isinstance(k, ScalarNode) and k.value == kind)
        action = kind_node.value if kind == "action" and isinstance(kind_node, ScalarNode) else None
        if action in _ACTION_PARAMS:
            extra = extra + _ACTION_PARAMS[action]
        article = "an" if kind == "action" else "a"
        what = f"{article} {kind} step" + (f" ({action})" if action in _ACTION_PARAMS else "")
        if kind == "choose":
            allowed = ("id", "title", kind, *extra)  # a question goes where its answers say, never `next`
            for key_node, _value in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == "next":
                    self.problem(key_node, "a question has no `next:`; give each choice a `goto:` instead")
                    return None
        else:
            allowed = (*_COMMON_STEP_KEYS, kind, *extra)
        fields = self._mapping(node, what, allowed)
        if fields is None:
            return None
        target = None
        if "next" in fields:
            target = self._text(fields["next"], "next", limit=63)
            if target is None:
                return None
            self.where.gotos.setdefault(step_id, []).append((target, _line(fields["next"])))
        builders = {"check": self._check, "action": self._action, "say": self._say,
                    "choose": self._choose, "notify": self._notify}
        step = builders[kind](fields, step_id)
        if step is None:
            return None
        if "title" in fields:
            title = self._text(fields["title"], "title", limit=MAX_TITLE_CHARS)
            if title is None:
                return None
            self._template(fields["title"], title, step_id)
            step = replace(step, title=title)
        return replace(step, next=target) if target is not None else step

    def _service(self, fields: dict[str, Node], step_id: str) -> tuple[bool, str | None]:
        if "service" not in fields:
            return True, None
        service = self._text(fields["service"], "service", limit=MAX_PATTERN_CHARS)
        if service is None:
            return False, None
        self._template(fields["service"], service, step_id)
        return True, service

    def _check(self, fields: dict[str, Node], step_id: str) -> Step | None:
        probe = self._text(fields["check"], "check", limit=63)
        if probe is None:
            return None
        if probe not in PROBES:
            self.problem(fields["check"], f"unknown check {probe!r}{_closest(probe, PROBES)}; "
                                          f"expected one of: {', '.join(PROBES)}")
            return None
        ok, service = self._service(fields, step_id)
        minutes: int | None = None
        if "minutes" in fields:
            if probe != "log_errors":
                self.problem(fields["minutes"], "`minutes` only applies to `check: log_errors`")
                return None
            minutes = self._minutes(fields["minutes"], "minutes")
            if minutes is None:
                return None
        elif probe == "log_errors":
            minutes = DEFAULT_LOG_MINUTES
        if not ok:
            return None
        return CheckStep(id=step_id, title=_check_title(probe, service, minutes), probe=probe,  # type: ignore[arg-type]
                         service=service, minutes=minutes)

    def _action(self, fields: dict[str, Node], step_id: str) -> Step | None:
        action = self._text(fields["action"], "action", limit=63)
        if action is None:
            return None
        if action not in ACTIONS:
            self.problem(fields["action"], f"unknown action {action!r}{_closest(action, ACTIONS)}; "
                                           f"expected one of: {', '.join(ACTIONS)}")
            return None
        ok, service = self._service(fields, step_id)
        params: dict[str, str | int] = {}
        if action == "set_variable":
            for key in ("name", "value"):
                if key not in fields:
                    self.problem(fields["action"], f"`action: set_variable` needs `{key}:`")
                    ok = False
            if ok:
                name = self._text(fields["name"], "name", limit=MAX_PATTERN_CHARS)
                if name is not None and not ENV_NAME.match(name):
                    self.problem(fields["name"], f"variable name {name!r}: use letters, digits and _, "
                                                 "e.g. FALLBACK_MODE")
                    name = None
                value = self._text(fields["value"], "value", limit=MAX_TEXT_CHARS, required=False)
                if value is not None:
                    self._template(fields["value"], value, step_id)
                if name is None or value is None:
                    return None
                params = {"name": name, "value": value}
        elif action == "terminate_idle_sessions":
            idle = DEFAULT_IDLE_MINUTES
            if "idle_minutes" in fields:
                read = self._minutes(fields["idle_minutes"], "idle_minutes")
                if read is None:
                    return None
                idle = read
            params = {"idle_minutes": idle}
        if not ok:
            return None
        return ActionStep(id=step_id, title=_action_title(action, service, params),
                          action=action, service=service, params=params)  # type: ignore[arg-type]

    def _say(self, fields: dict[str, Node], step_id: str) -> Step | None:
        text = self._text(fields["say"], "say", limit=MAX_TEXT_CHARS)
        link = None
        if "link" in fields:
            link = self._text(fields["link"], "link", limit=MAX_PATTERN_CHARS * 5)
            if link is not None:
                parts = urlsplit(link)
                if parts.scheme not in ("http", "https") or not parts.hostname or " " in link:
                    self.problem(fields["link"], f"link {link!r} is not a URL (expected http:// or https://)")
                    link = None
            if link is None:
                return None
        if text is None:
            return None
        self._template(fields["say"], text, step_id)
        return SayStep(id=step_id, title=_say_title(text), text=text, link=link)

    def _choose(self, fields: dict[str, Node], step_id: str) -> Step | None:
        question = self._text(fields["choose"], "choose", limit=MAX_TITLE_CHARS * 2)
        if question is not None:
            self._template(fields["choose"], question, step_id)
        if "choices" not in fields:
            self.problem(fields["choose"], f"a question needs `choices:` "
                                           f"({MIN_CHOICES} to {MAX_CHOICES} answers)")
            return None
        node = fields["choices"]
        if not isinstance(node, SequenceNode) or not MIN_CHOICES <= len(node.value) <= MAX_CHOICES:
            count = len(node.value) if isinstance(node, SequenceNode) else "no"
            self.problem(node, f"a question needs {MIN_CHOICES} to {MAX_CHOICES} choices, not {count}")
            return None
        choices: list[Choice] = []
        labels: set[str] = set()
        for item in node.value:
            parts = self._mapping(item, "a choice", _CHOICE_KEYS)
            if parts is None:
                continue
            if "label" not in parts:
                self.problem(item, "a choice needs `label:` (the button's text)")
                continue
            label = self._text(parts["label"], "label", limit=MAX_LABEL_CHARS)
            if label is None:
                continue
            if label in labels:
                self.problem(parts["label"], f"two choices are labelled {label!r}")
                continue
            labels.add(label)
            goto = None
            if "goto" in parts:
                goto = self._text(parts["goto"], "goto", limit=63)
                if goto is None:
                    continue
                self.where.gotos.setdefault(step_id, []).append((goto, _line(parts["goto"])))
            choices.append(Choice(label=label, goto=goto or ""))  # "" → the following step, set below
        if question is None or len(choices) != len(node.value):
            return None
        return ChooseStep(id=step_id, title=question, question=question, choices=tuple(choices))

    def _notify(self, fields: dict[str, Node], step_id: str) -> Step | None:
        template = self._text(fields["notify"], "notify", limit=MAX_TEXT_CHARS)
        if template is None:
            return None
        self._template(fields["notify"], template, step_id)
        return NotifyStep(id=step_id, title="Post a status update", template=template)

    # -- the runbook as a whole -----------------------------------------------------------------

    def _check_targets(self, ids: dict[str, int]) -> None:
        for _step_id, targets in self.where.gotos.items():
            for target, line in targets:
                if target != END and target not in ids:
                    hint = _closest(target, ids)
                    self.problem(line, f"goes to step `{target}`, which does not exist{hint}; "
                                       f"use a step id or `{END}`")
        for step_id, refs in self.where.refs.items():
            for ref, line in refs:
                if ref not in ids:
                    hint = _closest(ref, ids)
                    self.problem(line, f"{{steps.{ref}.summary}}: there is no step `{ref}`{hint}")
                elif ref == step_id:
                    self.problem(line, f"{{steps.{ref}.summary}}: a step cannot show its own result")

    def _check_graph(self, runbook: Runbook) -> None:
        for step_id in unreachable_steps(runbook):
            self.problem(self.where.step[step_id], f"step `{step_id}` can never be reached: no step or "
                                                   f"answer leads to it")
        unreachable = set(unreachable_steps(runbook))
        for step_id in endless_steps(runbook):
            if step_id not in unreachable:
                self.problem(self.where.step[step_id], f"step `{step_id}` never reaches the end: every way "
                                                       f"on from it loops back (give one step `next: {END}`)")
        for step_id, refs in self.where.refs.items():
            for ref, line in refs:
                if step_id not in reachable_from(runbook, ref):
                    self.problem(line, f"{{steps.{ref}.summary}}: step `{ref}` never runs before "
                                       f"step `{step_id}`")


def _resolve_default_gotos(runbook: Runbook) -> Runbook:
    """Fill each answer without `goto:` with the step that follows the question."""
    steps: list[Step] = []
    for step in runbook.steps:
        if isinstance(step, ChooseStep) and any(not c.goto for c in step.choices):
            following = successor(runbook, step.id)
            step = ChooseStep(id=step.id, title=step.title, question=step.question,
                              choices=tuple(Choice(c.label, c.goto or following) for c in step.choices))
        steps.append(step)
    return Runbook(name=runbook.name, title=runbook.title, description=runbook.description,
                   applies=runbook.applies, steps=tuple(steps), source=runbook.source)


# -- default titles: what a step does, in words, when the author gave none ---------------------

def _check_title(probe: str, service: str | None, minutes: int | None) -> str:
    target = service or "{service}"
    if probe in DATABASE_PROBES:
        base = "Database connections" if probe == "db_connections" else "Slow queries"
        return f"{base} of {service}" if service else base
    return {
        "health": f"Health of {target}",
        "deployment": f"Deployment status of {target}",
        "log_errors": f"Top errors in the logs of {target}, last {minutes} minutes",
    }[probe]


def _action_title(action: str, service: str | None, params: dict[str, str | int]) -> str:
    target = service or "{service}"
    return {
        "rollback": f"Roll back {target} to the previous deployment",
        "restart": f"Restart {target}",
        "redeploy": f"Redeploy {target}",
        "stop": f"Stop {target}",
        "set_variable": f"Set {params.get('name')} on {target}",
        "terminate_idle_sessions":
            f"Terminate database sessions idle for more than {params.get('idle_minutes')} minutes",
    }[action]


def _say_title(text: str) -> str:
    """The first line of the text, shortened at a word, unless shortening breaks a placeholder."""
    first = text.splitlines()[0].strip() if text.strip() else text
    if len(first) > 80:
        cut = first[:78].rsplit(" ", 1)[0]
        first = cut.rstrip(" ,;:—-") + "…"
    try:
        template_fields(first)
    except TemplateError:
        return "Instruction"
    return first
