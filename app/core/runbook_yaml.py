"""YAML text → nodes, and nodes → typed values, each mistake kept with its line number.

The text is composed into YAML nodes (not loaded into Python values) for two reasons: each node
knows its line, so a mistake is reported where the author can find it; and scalars keep the text
as written, so a button labelled `Yes` stays "Yes" instead of YAML 1.1's `True`.

`NodeReader` owns what every part of a runbook is read with: composing the text (aliases and huge
files refused), mappings with their allowed keys, texts, minutes, lists, templates, and the list of
problems. It knows nothing of runbooks' shape: the step kinds are app/core/runbook_steps.py, the
document and the checks across steps app/core/runbook_loader.py.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.core.runbooks import TemplateError, template_fields, template_step_refs

MAX_TEXT_BYTES = 256 * 1024
MAX_LABEL_CHARS = 75  # Slack's limit for a button's text
MAX_TITLE_CHARS = 150
MAX_TEXT_CHARS = 2000
MAX_PATTERN_CHARS = 200
MAX_MINUTES = 24 * 60

_NULL = "tag:yaml.org,2002:null"
_INT = "tag:yaml.org,2002:int"


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def closest(word: str, choices: Iterable[str]) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean `{near[0]}`?)" if near else ""


@dataclass
class Positions:
    """Where things were written, so that the checks made on the whole runbook can name a line."""

    step: dict[str, int] = field(default_factory=dict)
    gotos: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    refs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # step id → [(referenced id, line)]


class NodeReader:
    """Reads nodes into typed values; a mistake is added to `problems` and None returned."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.where = Positions()

    def problem(self, node: Node | int, message: str) -> None:
        self.problems.append(Problem(node if isinstance(node, int) else line_of(node), message))

    def _compose(self, text: str) -> Node | None:
        if len(text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
            self.problem(1, f"the file is larger than {MAX_TEXT_BYTES // 1024} KiB; is it a runbook?")
            return None
        try:
            for event in yaml.parse(text, Loader=yaml.SafeLoader):
                if isinstance(event, yaml.AliasEvent):
                    # Aliases let a few lines expand into millions of nodes; runbooks do not need them.
                    self.problem(line_of(event), "YAML aliases (`*name`) are not allowed in runbooks; "
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
                hint = closest(key, allowed)
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
            self.where.refs.setdefault(step_id, []).extend((ref, line_of(node)) for ref in refs)

