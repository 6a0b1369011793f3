"""The step kinds of a runbook file: for each, its keys, how it is read and its default title.

This is where a new kind of step is declared to the loader: its own keys in `KIND_KEYS` (and an
action's parameters in `ACTION_PARAMS`), a `_<kind>` method of `StepReader` building the step class
of app/core/runbooks.py with line-numbered problems, its entry in the builders of `_step`, and its
default title below. A new check probe or action kind is a case of `_check` or `_action` (and of
`_check_title` or `_action_title`); its name is declared in `Probe` or `ActionKind` of
app/core/runbooks.py, its run in app/flows/runbooks.py (`run_step`) and app/flows/runbook_probes.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.core import capacity
from app.core.actions import InvalidActionParams
from app.core.runbook_yaml import (
    MAX_LABEL_CHARS,
    MAX_PATTERN_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    NodeReader,
    closest,
    line_of,
)
from app.core.runbooks import (
    ACTIONS,
    DATABASE_PROBES,
    DEFAULT_BACKUP_HOURS,
    DEFAULT_IDLE_MINUTES,
    DEFAULT_LOG_MINUTES,
    MAX_CHOICES,
    MIN_CHOICES,
    PROBES,
    STEP_KINDS,
    ActionStep,
    CheckStep,
    Choice,
    ChooseStep,
    NotifyStep,
    SayStep,
    Step,
    TemplateError,
    template_fields,
)
from app.core.variable_changes import parse_revert_after

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

COMMON_STEP_KEYS = ("id", "title", "next")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "check": ("service", "minutes", "names", "hours"),
    "action": ("service", "target"),
    "say": ("link",),
    "choose": ("choices",),
    "notify": (),
}
ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "rollback": (), "restart": (), "redeploy": (), "stop": (),
    "set_variable": ("name", "value", "revert_after", "redeploy"),
    "terminate_idle_sessions": ("idle_minutes",),
    "scale": ("resource", "value"),
    "backup": (),
}
CHOICE_KEYS = ("label", "goto")


class StepReader(NodeReader):
    """Reads one step: the kind's key picks its builder; the common keys (`id`, `title`, `next`) are read here too."""

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
        extra: tuple[str, ...] = KIND_KEYS[kind]
        kind_node = next(v for k, v in node.value if isinstance(k, ScalarNode) and k.value == kind)
        action = kind_node.value if kind == "action" and isinstance(kind_node, ScalarNode) else None
        if action in ACTION_PARAMS:
            extra = extra + ACTION_PARAMS[action]
        article = "an" if kind == "action" else "a"
        what = f"{article} {kind} step" + (f" ({action})" if action in ACTION_PARAMS else "")
        if kind == "choose":
            allowed = ("id", "title", kind, *extra)  # a question goes where its answers say, never `next`
            for key_node, _value in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == "next":
                    self.problem(key_node, "a question has no `next:`; give each choice a `goto:` instead")
                    return None
        else:
            allowed = (*COMMON_STEP_KEYS, kind, *extra)
        fields = self._mapping(node, what, allowed)
        if fields is None:
            return None
        target = None
        if "next" in fields:
            target = self._text(fields["next"], "next", limit=63)
            if target is None:
                return None
            self.where.gotos.setdefault(step_id, []).append((target, line_of(fields["next"])))
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
            self.problem(fields["check"], f"unknown check {probe!r}{closest(probe, PROBES)}; "
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
        names: tuple[str, ...] = ()
        if "names" in fields:
            if probe != "variables":
                self.problem(fields["names"], "`names` only applies to `check: variables`")
                return None
            listed = self._text_list(fields["names"], "names")
            if listed is None:
                return None
            for name, node in listed:
                if not ENV_NAME.match(name):
                    self.problem(node, f"{name!r} is not a variable name: letters, digits and _, "
                                       "not starting with a digit")
                    return None
            names = tuple(dict.fromkeys(name for name, _ in listed))
        hours: int | None = None
        if "hours" in fields:
            if probe != "backup":
                self.problem(fields["hours"], "`hours` only applies to `check: backup`")
                return None
            hours = self._minutes(fields["hours"], "hours")
            if hours is None:
                return None
        elif probe == "backup":
            hours = DEFAULT_BACKUP_HOURS
        if not ok:
            return None
        title = _check_title(probe, service, minutes, names, hours)
        return CheckStep(id=step_id, title=title, probe=probe, service=service,  # type: ignore[arg-type]
                         minutes=minutes, names=names, hours=hours)

    def _action(self, fields: dict[str, Node], step_id: str) -> Step | None:
        action = self._text(fields["action"], "action", limit=63)
        if action is None:
            return None
        if action not in ACTIONS:
            self.problem(fields["action"], f"unknown action {action!r}{closest(action, ACTIONS)}; "
                                           f"expected one of: {', '.join(ACTIONS)}")
            return None
        ok, service = self._service(fields, step_id)
        params: dict[str, str | int] = {}
        if action == "set_variable":
            if "name" not in fields:
                self.problem(fields["action"], "`action: set_variable` needs `name:`")
                ok = False
            if ok:
                name = self._text(fields["name"], "name", limit=MAX_PATTERN_CHARS)
                if name is not None and not ENV_NAME.match(name):
                    self.problem(fields["name"], f"variable name {name!r}: use letters, digits and _, "
                                                 "e.g. FALLBACK_MODE")
                    name = None
                # Without `value:` the value is asked when the step runs, in a form (a secret never
                # belongs in a runbook file): app/slack/interactions/variables.py.
                value: str | None = ""
                if "value" in fields:
                    value = self._text(fields["value"], "value", limit=MAX_TEXT_CHARS, required=False)
                    if value is not None:
                        self._template(fields["value"], value, step_id)
                if name is None or value is None:
                    return None
                params = {"name": name, "value": value} if "value" in fields else {"name": name}
                if "revert_after" in fields:  # a revert reminder, e.g. debug logging on for 1h
                    after = self._text(fields["revert_after"], "revert_after", limit=20)
                    try:
                        parse_revert_after(after)
                    except InvalidActionParams as err:
                        self.problem(fields["revert_after"], str(err))
                        return None
                    if after:
                        params["revert_after"] = after
                if "redeploy" in fields:  # `redeploy: false` when a later step redeploys (no deploying twice)
                    said = (self._text(fields["redeploy"], "redeploy", limit=5) or "").lower()
                    if said not in ("true", "false", "yes", "no"):
                        self.problem(fields["redeploy"], "redeploy must be true or false")
                        return None
                    params["redeploy"] = int(said in ("true", "yes"))
        elif action == "scale":
            for key in ("resource", "value"):
                if key not in fields:
                    self.problem(fields["action"], f"`action: scale` needs `{key}:`")
                    ok = False
            if ok:
                resource = self._text(fields["resource"], "resource", limit=16)
                value = self._text(fields["value"], "value", limit=16)
                if resource is None or value is None:
                    return None
                try:
                    capacity.validate_value(resource, value)
                except capacity.ScaleUsage as err:
                    self.problem(fields["value"] if resource in capacity.RESOURCES else fields["resource"], str(err))
                    return None
                params = {"resource": resource, "value": value}
        elif action == "terminate_idle_sessions":
            idle = DEFAULT_IDLE_MINUTES
            if "idle_minutes" in fields:
                read = self._minutes(fields["idle_minutes"], "idle_minutes")
                if read is None:
                    return None
                idle = read
            params = {"idle_minutes": idle}
        database = False
        if "target" in fields:
            target = self._text(fields["target"], "target", limit=63)
            if target != "database":
                self.problem(fields["target"], "`target` can only be `database` (the step works on the database)")
                return None
            database = True
        if not ok:
            return None
        title = _action_title(action, service or ("the database" if database else None), params)
        return ActionStep(id=step_id, title=title,
                          action=action, service=service, params=params, database=database)  # type: ignore[arg-type]

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
            parts = self._mapping(item, "a choice", CHOICE_KEYS)
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
                self.where.gotos.setdefault(step_id, []).append((goto, line_of(parts["goto"])))
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


# -- default titles: what a step does, in words, when the author gave none ---------------------

def _check_title(
    probe: str, service: str | None, minutes: int | None, names: tuple[str, ...] = (), hours: int | None = None
) -> str:
    target = service or "{service}"
    if probe == "backup":
        return f"Check that a backup of {service or 'the database'} newer than {hours} hours exists"
    if probe == "variables":
        return f"Variables {', '.join(names)} of {target}" if names else f"Variables of {target}"
    if probe in DATABASE_PROBES:
        base = {
            "db_connections": "Database connections",
            "migrations": "Migrations applied",
            "verify_queries": "Verify queries (row counts)",
        }.get(probe, "Slow queries")
        return f"{base} of {service}" if service else base
    return {
        "health": f"Health of {target}",
        "deployment": f"Deployment status of {target}",
        "log_errors": f"Top errors in the logs of {target}, last {minutes} minutes",
        "metrics": f"Metrics of {target}: CPU, memory, disk, 5xx and p95",
        "tls": f"TLS certificates of {target}: days left",
        "rotation": f"Secret rotation of {target}: last rotated within rotate_after_days",
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
        "scale": f"Scale {target}: {params.get('resource')} to {params.get('value')}",
        "backup": f"Take a backup of {service or 'the database'}",
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
