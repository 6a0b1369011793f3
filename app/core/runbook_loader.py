"""YAML text → a validated `Runbook`, or every mistake in it with its line number.

This module reads the document: its top keys, `applies`, the list of steps with their ids, and
the checks made on the runbook as a whole (every `next`/`goto` and `{steps.<id>.summary}` names a
step, every step can be reached and can reach the end). Reading YAML nodes into typed values with
their line is app/core/runbook_yaml.py; each step kind's keys and reader are app/core/runbook_steps.py.

A runbook is used whole or not at all: one mistake anywhere refuses the file, since a runbook
that half-loads would walk a responder into a step that is not there in the middle of an outage.
Parsing text does no I/O; reading files is `app.flows.runbook_files`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.core.runbook_steps import StepReader
from app.core.runbook_yaml import (
    MAX_PATTERN_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Problem,
    closest,
    line_of,
)
from app.core.runbooks import (
    ALERT_SOURCES,
    END,
    RUNBOOK_NAME,
    SEVERITIES,
    STEP_ID,
    Applies,
    Choice,
    ChooseStep,
    Runbook,
    Step,
    endless_steps,
    reachable_from,
    successor,
    unreachable_steps,
)

SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

_TOP_KEYS = ("name", "title", "description", "applies", "steps")
_APPLIES_KEYS = ("sources", "services", "title_patterns", "labels", "severities")


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


class _Reader(StepReader):
    """One runbook file: the document, `applies`, the steps, and the checks across them."""

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
                self.problem(node, f"unknown alert source {text!r}{closest(text.lower(), ALERT_SOURCES)}; "
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
                    ids[step_id] = line_of(step_node)
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

    # -- the runbook as a whole -----------------------------------------------------------------

    def _check_targets(self, ids: dict[str, int]) -> None:
        for _step_id, targets in self.where.gotos.items():
            for target, line in targets:
                if target != END and target not in ids:
                    hint = closest(target, ids)
                    self.problem(line, f"goes to step `{target}`, which does not exist{hint}; "
                                       f"use a step id or `{END}`")
        for step_id, refs in self.where.refs.items():
            for ref, line in refs:
                if ref not in ids:
                    hint = closest(ref, ids)
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


