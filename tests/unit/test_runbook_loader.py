"""Reading runbook YAML: good files become runbooks, and every mistake is named with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app.core.runbook_loader import RunbookInvalid, parse_runbook
from app.core.runbooks import END, ActionStep, CheckStep, ChooseStep, NotifyStep, SayStep
from app.flows.runbook_files import RunbookFileError, load_runbooks, validate_paths

GOOD = """\
# a comment first, so that line numbers are not all off by one
name: api-down
title: API down
description: The API does not answer.
applies:
  sources: [UptimeRobot, alertmanager]
  services: [api]
  title_patterns: ["*down*"]
  labels: {alertname: "Api*"}
  severities: [sev1, SEV2]
steps:
  - check: health
  - id: logs
    check: log_errors
    minutes: 15
  - id: cause
    choose: "Crashed? ({steps.logs.summary})"
    choices:
      - label: Yes
        goto: restart
      - label: No
      - label: Give up
        goto: end
  - say: "Railway dashboard → Metrics of {service}: memory near the limit?"
    link: https://railway.app/dashboard
    next: end
  - id: restart
    action: restart
    title: Restart {service} now
  - action: set_variable
    name: FALLBACK_MODE
    value: true
  - action: terminate_idle_sessions
  - notify: "✅ Resolved, monitoring ({incident}, {severity}): {title}"
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(RunbookInvalid) as caught:
        parse_runbook(textwrap.dedent(text), "rb.yml")
    return caught.value.messages()


def test_a_good_runbook_is_read_whole() -> None:
    runbook = parse_runbook(GOOD, "api-down.yml")

    assert (runbook.name, runbook.title, runbook.source) == ("api-down", "API down", "api-down.yml")
    assert runbook.applies.sources == ("uptimerobot", "alertmanager")
    assert runbook.applies.severities == ("SEV1", "SEV2")
    assert dict(runbook.applies.labels) == {"alertname": "Api*"}
    assert runbook.step_ids == ("step-1", "logs", "cause", "step-4", "restart", "step-6", "step-7", "step-8")
    health, logs, cause, say, restart, setvar, terminate, notify = runbook.steps
    assert health == CheckStep(id="step-1", title="Health of {service}", probe="health")
    assert isinstance(logs, CheckStep) and logs.minutes == 15
    assert isinstance(cause, ChooseStep)
    # YAML 1.1 would read `Yes` as true; a label keeps the text as written.
    assert [(c.label, c.goto) for c in cause.choices] == [
        ("Yes", "restart"), ("No", "step-4"), ("Give up", END)]
    assert isinstance(say, SayStep) and say.link == "https://railway.app/dashboard" and say.next == END
    assert isinstance(restart, ActionStep) and restart.title == "Restart {service} now"
    assert isinstance(setvar, ActionStep)
    assert dict(setvar.params) == {"name": "FALLBACK_MODE", "value": "true"}
    assert isinstance(terminate, ActionStep) and dict(terminate.params) == {"idle_minutes": 5}
    assert isinstance(notify, NotifyStep) and notify.template.startswith("✅ Resolved")


def test_log_errors_reads_the_last_30_minutes_unless_told() -> None:
    runbook = parse_runbook("name: a\ntitle: A\nsteps:\n  - check: log_errors\n")
    assert runbook.steps[0].minutes == 30  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "expected"), [
    ("name: a\ntitle: A\ncolour: red\nsteps:\n  - say: hi\n",
     "rb.yml:3: unknown key `colour` in a runbook; expected: name, title, description, applies, steps"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n  - check: helth\n",
     "rb.yml:5: unknown check 'helth' (did you mean `health`?); expected one of: "
     "health, deployment, db_connections, slow_queries, log_errors, variables, backup, migrations, verify_queries,"
     " metrics, tls, rotation"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n  - action: reboot\n",
     "rb.yml:5: unknown action 'reboot'; expected one of: "
     "rollback, restart, redeploy, stop, set_variable, terminate_idle_sessions, scale, backup"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n  - shout: hi\n",
     "rb.yml:5: a step needs exactly one of check, action, say, choose, notify; found none"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n    check: health\n",
     "rb.yml:4: a step needs exactly one of check, action, say, choose, notify; found `say` and `check`"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n    next: nowhere\n",
     "rb.yml:5: goes to step `nowhere`, which does not exist; use a step id or `end`"),
    ("name: a\ntitle: A\nsteps:\n  - id: x\n    say: hi\n  - id: x\n    say: ho\n",
     "rb.yml:6: step id `x` is already used by the step on line 4"),
    ("name: a\ntitle: A\nsteps: []\n",
     "rb.yml:3: `steps` must be a non-empty list of steps (`- check: health`, `- say: ...`)"),
    ("name: a\ntitle: A\nsteps:\n  - choose: Q?\n    choices:\n      - label: only one\n",
     "rb.yml:6: a question needs 2 to 5 choices, not 1"),
    ("name: a\ntitle: A\nsteps:\n  - choose: Q?\n    choices: [{label: a}, {label: b}, {label: c},"
     " {label: d}, {label: e}, {label: f}]\n",
     "rb.yml:5: a question needs 2 to 5 choices, not 6"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n    next: end\n  - say: never\n",
     "rb.yml:6: step `step-2` can never be reached: no step or answer leads to it"),
    ("name: a\ntitle: A\nsteps:\n  - say: \"{service.__class__}\"\n",
     "rb.yml:4: unknown field {service.__class__}; "
     "use {service}, {severity}, {incident}, {title} or {steps.<id>.summary}"),
    ("name: a\ntitle: A\nsteps:\n  - notify: \"{title:>99999}\"\n",
     "rb.yml:4: {title:>99999}: conversions and format specs are not allowed; "
     "use {service}, {severity}, {incident}, {title} or {steps.<id>.summary}"),
    ("name: a\ntitle: A\nsteps:\n  - say: \"{steps.nope.summary}\"\n",
     "rb.yml:4: {steps.nope.summary}: there is no step `nope`"),
    ("name: a\ntitle: A\nsteps:\n  - say: \"{steps.later.summary}\"\n  - id: later\n    check: health\n",
     "rb.yml:4: {steps.later.summary}: step `later` never runs before step `step-1`"),
    ("name: a\ntitle: A\nsteps:\n  - check: health\n    minutes: 5\n",
     "rb.yml:5: `minutes` only applies to `check: log_errors`"),
    # without `value:` the value is asked in a form when the step runs; `name:` stays required
    ("name: a\ntitle: A\nsteps:\n  - action: set_variable\n    value: x\n",
     "rb.yml:4: `action: set_variable` needs `name:`"),
    ("name: a\ntitle: A\nsteps:\n  - action: set_variable\n    name: X\n    revert_after: soon\n",
     "rb.yml:6: revert after 'soon' is not a duration: say 30m, 2h or 1d"),
    ("name: a\ntitle: A\nsteps:\n  - action: set_variable\n    name: X\n    redeploy: maybe\n",
     "rb.yml:6: redeploy must be true or false"),
    ("name: a\ntitle: A\nsteps:\n  - action: restart\n    idle_minutes: 3\n",
     "rb.yml:5: unknown key `idle_minutes` in an action step (restart); "
     "expected: id, title, next, action, service, target"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n    link: railway dashboard\n",
     "rb.yml:5: link 'railway dashboard' is not a URL (expected http:// or https://)"),
    ("name: a\ntitle: A\nsteps:\n  - say: [not, text]\n",
     "rb.yml:4: `say` must be text"),
    ("name: a\ntitle: A\nsteps:\n  - say: hi\n  say: twice\n",
     "rb.yml:5: not valid YAML: expected <block end>, but found '?'"),
    ("name: a\ntitle: A\ntitle: B\nsteps:\n  - say: hi\n",
     "rb.yml:3: `title:` is given twice"),
    ("name: Backend Down\ntitle: A\nsteps:\n  - say: hi\n",
     "rb.yml:1: name 'Backend Down': use lowercase letters, digits and -, e.g. backend-down"),
    ("title: A\nsteps:\n  - say: hi\n",
     "rb.yml:1: `name:` is required"),
    ("name: a\ntitle: A\napplies:\n  severities: [SEV9]\nsteps:\n  - say: hi\n",
     "rb.yml:4: unknown severity 'SEV9'; expected one of: SEV1, SEV2, SEV3, SEV4"),
    ("name: a\ntitle: A\napplies:\n  sources: [pagerduty]\nsteps:\n  - say: hi\n",
     "rb.yml:4: unknown alert source 'pagerduty'; expected one of: "
     "alertmanager, uptimerobot, betterstack, sentry, railway, vercel, generic"),
    ("name: a\ntitle: A\nsteps:\n  - id: loop\n    say: again\n    next: loop\n",
     "rb.yml:4: step `loop` never reaches the end: every way on from it loops back "
     "(give one step `next: end`)"),
    ("name: a\ntitle: A\nsteps:\n  - choose: Q?\n    next: end\n    choices: [{label: a}, {label: b}]\n",
     "rb.yml:5: a question has no `next:`; give each choice a `goto:` instead"),
    ("name: a\ntitle: A\nsteps:\n  - check: log_errors\n    minutes: half an hour\n",
     "rb.yml:5: `minutes` must be a whole number of minutes, e.g. 30"),
    ("x: &a [1]\ny: *a\n",
     "rb.yml:2: YAML aliases (`*name`) are not allowed in runbooks; repeat the text instead"),
    ("",
     "rb.yml:1: the file is empty; a runbook needs `name:`, `title:` and `steps:`"),
    ("- just\n- a list\n",
     "rb.yml:1: a runbook must be a mapping of `key: value` lines"),
])
def test_each_mistake_is_named_with_its_line(text: str, expected: str) -> None:
    assert problems_of(text) == [expected]


def test_every_mistake_of_a_file_is_reported_at_once_in_line_order() -> None:
    text = """\
        name: a
        title: A
        colour: red
        steps:
          - check: helth
          - choose: Crashed?
            choices:
              - label: yes
                goto: restrat
              - label: no
                goto: end
          - id: restart
            action: restart
    """
    found = problems_of(text)
    assert [line.split(":")[1] for line in found] == ["3", "5", "9"]
    assert "goes to step `restrat`, which does not exist (did you mean `restart`?)" in found[2]


def test_a_choice_label_longer_than_a_slack_button_is_refused() -> None:
    label = "x" * 76
    found = problems_of(f"name: a\ntitle: A\nsteps:\n  - choose: Q?\n    choices:\n"
                        f"      - label: {label}\n      - label: b\n")
    assert found == ["rb.yml:6: `label` is 76 characters long; at most 75"]


def test_a_syntax_error_names_its_line() -> None:
    found = problems_of("name: a\ntitle: A\nsteps:\n  - say: \"unclosed\n")
    assert len(found) == 1 and found[0].startswith("rb.yml:5: not valid YAML")


# -- files: the built-ins, the team's over them, all or nothing ------------------------------------

def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


SIMPLE = "name: {name}\ntitle: {title}\nsteps:\n  - say: hi\n"


def test_a_team_runbook_overrides_the_built_in_of_the_same_name(tmp_path: Path) -> None:
    builtin, team = tmp_path / "builtin", tmp_path / "team"
    write(builtin, "backend-down.yml", SIMPLE.format(name="backend-down", title="Built in"))
    write(builtin, "frontend-down.yml", SIMPLE.format(name="frontend-down", title="Built in"))
    write(team, "ours.yaml", SIMPLE.format(name="backend-down", title="Ours"))
    write(team, "extra.yml", SIMPLE.format(name="payments-down", title="Payments"))
    write(team, "notes.txt", "not a runbook")

    runbooks = load_runbooks(builtin, team)

    assert runbooks.names() == ["backend-down", "frontend-down", "payments-down"]
    assert runbooks.get("backend-down").title == "Ours"
    assert runbooks.get("backend-down").source == str(team / "ours.yaml")
    assert runbooks.get("frontend-down").source == "builtin:frontend-down.yml"
    assert runbooks.overridden == frozenset({"backend-down"})


def test_one_bad_file_loads_nothing_and_every_mistake_is_listed(tmp_path: Path) -> None:
    builtin, team = tmp_path / "builtin", tmp_path / "team"
    write(builtin, "a.yml", SIMPLE.format(name="a", title="A"))
    write(team, "good.yml", SIMPLE.format(name="good", title="Good"))
    bad = write(team, "bad.yml", "name: bad\ntitle: Bad\nsteps:\n  - say: hi\n  - check: nope\n")
    worse = write(team, "worse.yml", "name: worse\ntitle: W\nsteps:\n  - say: hi\n    next: gone\n")

    with pytest.raises(RunbookFileError) as caught:
        load_runbooks(builtin, team)

    assert [problem.split(": ")[0] for problem in caught.value.problems] == [f"{bad}:5", f"{worse}:5"]


def test_two_team_files_may_not_claim_one_name(tmp_path: Path) -> None:
    team = tmp_path / "team"
    write(team, "a.yml", SIMPLE.format(name="same", title="A"))
    second = write(team, "b.yml", SIMPLE.format(name="same", title="B"))
    problems = validate_paths([team])
    assert problems == [f"{second}:1: runbook name `same` is also used by {team / 'a.yml'}"]


def test_a_missing_team_directory_is_a_mistake_not_an_empty_set(tmp_path: Path) -> None:
    builtin = tmp_path / "builtin"
    write(builtin, "a.yml", SIMPLE.format(name="a", title="A"))
    with pytest.raises(RunbookFileError) as caught:
        load_runbooks(builtin, tmp_path / "nope")
    assert caught.value.problems == [f"{tmp_path / 'nope'}: runbooks_dir (from pitcrew.yml) not found"]


def test_validate_paths_checks_files_and_directories(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yml", SIMPLE.format(name="good", title="Good"))
    bad = write(tmp_path / "dir", "bad.yml", "name: bad\ntitle: Bad\nsteps: 3\n")
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes("name: caf\xe9\n".encode("latin-1"))

    assert validate_paths([good]) == []
    assert validate_paths([good, tmp_path / "dir", latin1, tmp_path / "missing.yml"]) == [
        f"{bad}:3: `steps` must be a non-empty list of steps (`- check: health`, `- say: ...`)",
        f"{latin1}:1: not UTF-8 text",
        f"{tmp_path / 'missing.yml'}: no such file or directory",
    ]


def test_the_example_in_the_docs_is_a_valid_runbook() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "runbooks.md").read_text(encoding="utf-8")
    example = docs.split("```yaml\n# runbooks/payments-down.yml\n", 1)[1].split("```", 1)[0]
    runbook = parse_runbook(example, "payments-down.yml")
    assert runbook.name == "payments-down" and runbook.step_ids[-1] == "resolved"
