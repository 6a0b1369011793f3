"""The runbook step machine, templates and matching: pure, so every case is a few lines."""

from __future__ import annotations

import json

import pytest

from app.core.runbook_loader import parse_runbook
from app.core.runbook_machine import BadRunState, InvalidOutcome, RunState, StaleStep, advance, current_step, start
from app.core.runbook_match import matching, suggest
from app.core.runbooks import (
    DONE_ACTION_ID,
    RUN_ACTION_ID,
    SKIP_ACTION_ID,
    ActionStep,
    Applies,
    IncidentFields,
    Runbook,
    RunbookSet,
    SayStep,
    TemplateError,
    UnknownRunbook,
    UnknownStep,
    choice_action_id,
    parse_choice_action_id,
    render,
    render_step,
    step_buttons,
    template_fields,
)

BRANCHY = parse_runbook("""\
name: backend-down
title: Backend down
steps:
  - id: health
    check: health
  - id: cause
    choose: "What is it? ({steps.health.summary})"
    choices:
      - {label: Crashed, goto: restart}
      - {label: Out of memory, goto: oom}
      - {label: Nothing wrong, goto: end}
  - id: restart
    action: restart
    next: verify
  - id: oom
    say: "Railway dashboard → {service} → Settings → Resources: more RAM"
  - id: verify
    check: health
  - id: resolved
    notify: "✅ {service} resolved ({incident}); cause: {steps.cause.summary}"
""")


def walk(runbook: Runbook, *moves: tuple) -> RunState:
    state = start(runbook)
    for step_id, outcome, *rest in moves:
        state = advance(runbook, state, step_id, outcome, **(rest[0] if rest else {}))
    return state


# -- the step machine ------------------------------------------------------------------------------

def test_a_run_starts_at_the_first_step() -> None:
    state = start(BRANCHY)
    assert (state.runbook, state.current, state.finished) == ("backend-down", "health", False)
    assert state.history == ()
    assert current_step(BRANCHY, state) == BRANCHY.step("health")


def test_a_choice_follows_its_goto_and_next_skips_the_other_branch() -> None:
    state = walk(BRANCHY, ("health", "ran", {"summary": "api: DOWN (502)"}),
                 ("cause", "chosen", {"choice_index": 1}))
    assert state.current == "restart"
    state = advance(BRANCHY, state, "restart", "ran", summary="restarted")
    assert state.current == "verify"  # `next: verify` jumps over the OOM branch
    assert [(e.step_id, e.outcome, e.choice, e.summary) for e in state.history] == [
        ("health", "ran", None, "api: DOWN (502)"),
        ("cause", "chosen", "Crashed", "Crashed"),
        ("restart", "ran", None, "restarted"),
    ]


def test_the_other_branch_falls_through_to_the_following_step() -> None:
    state = walk(BRANCHY, ("health", "ran"), ("cause", "chosen", {"choice_index": 2}))
    assert state.current == "oom"
    state = advance(BRANCHY, state, "oom", "done", by="U1")
    assert state.current == "verify"
    assert state.history[-1].by == "U1"


def test_skip_and_done_move_on_and_the_last_step_ends_the_run() -> None:
    state = walk(BRANCHY, ("health", "skipped"), ("cause", "chosen", {"choice_index": 2}),
                 ("oom", "skipped"), ("verify", "ran"))
    assert state.current == "resolved" and not state.finished
    state = advance(BRANCHY, state, "resolved", "ran")
    assert state.finished and state.current is None
    assert [e.summary for e in state.history] == ["skipped", "Out of memory", "skipped", "done", "done"]


def test_a_choice_may_end_the_run() -> None:
    state = walk(BRANCHY, ("health", "ran"), ("cause", "chosen", {"choice_index": 3}))
    assert state.finished and state.current is None
    assert current_step(BRANCHY, state) is None


def test_a_failed_step_stays_current_so_it_can_be_retried_or_skipped() -> None:
    state = walk(BRANCHY, ("health", "failed", {"summary": "Railway timed out"}))
    assert state.current == "health" and state.position == 1
    state = advance(BRANCHY, state, "health", "skipped")
    assert state.current == "cause"


def test_a_second_click_on_the_same_step_is_stale_and_changes_nothing() -> None:
    state = start(BRANCHY)
    after_first = advance(BRANCHY, state, "health", "ran")
    with pytest.raises(StaleStep) as caught:
        advance(BRANCHY, after_first, "health", "ran")
    assert (caught.value.step_id, caught.value.current) == ("health", "cause")
    assert "already handled" in str(caught.value)


def test_a_click_on_a_finished_run_is_stale() -> None:
    state = walk(BRANCHY, ("health", "ran"), ("cause", "chosen", {"choice_index": 3}))
    with pytest.raises(StaleStep, match="the run has finished"):
        advance(BRANCHY, state, "cause", "chosen", choice_index=1)


def test_a_click_from_an_older_message_of_a_retried_step_is_stale() -> None:
    state = walk(BRANCHY, ("health", "failed"))  # still on `health`, but one outcome later
    with pytest.raises(StaleStep):
        advance(BRANCHY, state, "health", "ran", expected_position=0)
    assert advance(BRANCHY, state, "health", "ran", expected_position=1).current == "cause"


@pytest.mark.parametrize(("step_id", "outcome", "extra", "message"), [
    ("health", "done", {}, "a check step ends as failed, ran, skipped, not 'done'"),
    ("health", "ran", {"choice_index": 1}, "a choice is only given for a `chosen` outcome"),
])
def test_outcomes_that_make_no_sense_for_the_step_are_refused(step_id, outcome, extra, message) -> None:
    with pytest.raises(InvalidOutcome, match=message):
        advance(BRANCHY, start(BRANCHY), step_id, outcome, **extra)


@pytest.mark.parametrize("choice_index", [None, 0, 4])
def test_a_choice_must_be_one_of_the_buttons(choice_index) -> None:
    state = walk(BRANCHY, ("health", "ran"))
    with pytest.raises(InvalidOutcome, match=r"is not one of 1\.\.3"):
        advance(BRANCHY, state, "cause", "chosen", choice_index=choice_index)


def test_a_question_cannot_be_skipped() -> None:
    state = walk(BRANCHY, ("health", "ran"))
    with pytest.raises(InvalidOutcome, match="a choose step ends as chosen"):
        advance(BRANCHY, state, "cause", "skipped")


def test_a_state_of_another_runbook_is_refused() -> None:
    other = parse_runbook("name: other\ntitle: O\nsteps:\n  - say: hi\n")
    with pytest.raises(InvalidOutcome, match="this run is of runbook 'other'"):
        advance(BRANCHY, start(other), "step-1", "done")


def test_a_run_whose_step_vanished_from_the_runbook_says_so() -> None:
    edited = RunState(runbook="backend-down", current="gone")
    with pytest.raises(UnknownStep, match="no step 'gone'"):
        advance(BRANCHY, edited, "gone", "done")


# -- storing the state ----------------------------------------------------------------------------

def test_run_state_survives_a_json_round_trip() -> None:
    state = walk(BRANCHY, ("health", "failed", {"summary": "timeout", "by": "U1"}),
                 ("health", "ran", {"summary": "api: DOWN"}), ("cause", "chosen", {"choice_index": 2}))
    stored = json.dumps(state.to_dict())
    assert RunState.from_dict(json.loads(stored)) == state
    finished = walk(BRANCHY, ("health", "ran"), ("cause", "chosen", {"choice_index": 3}))
    assert RunState.from_dict(json.loads(json.dumps(finished.to_dict()))) == finished


@pytest.mark.parametrize("damage", [
    lambda d: d.pop("history"),
    lambda d: d.update(version=2),
    lambda d: d.update(finished="yes"),
    lambda d: d.update(finished=True),  # finished with a current step
    lambda d: d["history"].append({"step": "x", "outcome": "exploded"}),
    lambda d: d["history"].append("not an object"),
    lambda d: d.update(runbook=42),
])
def test_a_damaged_stored_state_is_refused(damage) -> None:
    data = walk(BRANCHY, ("health", "ran")).to_dict()
    damage(data)
    with pytest.raises(BadRunState):
        RunState.from_dict(data)


# -- templates ------------------------------------------------------------------------------------

FIELDS = IncidentFields(incident="INC-42", service="api", severity="SEV1", title="API down")


def test_templates_fill_incident_fields_and_earlier_results() -> None:
    state = walk(BRANCHY, ("health", "ran", {"summary": "api: DOWN (502)"}),
                 ("cause", "chosen", {"choice_index": 1}), ("restart", "ran"), ("verify", "ran"))
    step = render_step(BRANCHY.step("resolved"), FIELDS, state.summaries())
    assert step.template == "✅ api resolved (INC-42); cause: Crashed"
    question = render_step(BRANCHY.step("cause"), FIELDS, state.summaries())
    assert question.question == "What is it? (api: DOWN (502))"


def test_missing_values_are_said_rather_than_left_blank() -> None:
    text = render("{service} {incident} {steps.verify.summary}", IncidentFields(), {})
    assert text == "(no service) (no incident) (not run)"


def test_values_are_substituted_once_never_interpreted() -> None:
    hostile = IncidentFields(title="{service.__class__} <!channel> {{x}}", service="api")
    assert render("{title}", hostile) == "{service.__class__} <!channel> {{x}}"
    assert render("{{literal}} {service}", hostile) == "{literal} api"


@pytest.mark.parametrize("template", [
    "{service.__class__}", "{service.__init__.__globals__}", "{title[0]}", "{title!r}", "{title:>9999}",
    "{0}", "{}", "{os}", "{steps.x}", "{steps..summary}", "unbalanced {", "{service",
])
def test_unsafe_or_unknown_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        template_fields(template)


def test_render_step_fills_action_values_but_not_variable_names() -> None:
    step = ActionStep(id="a", title="Set on {service}", action="set_variable", service="{service}",
                      params={"name": "MODE", "value": "{severity}"})
    rendered = render_step(step, FIELDS)
    assert isinstance(rendered, ActionStep)
    assert (rendered.title, rendered.service, dict(rendered.params)) == (
        "Set on api", "api", {"name": "MODE", "value": "SEV1"})


# -- buttons --------------------------------------------------------------------------------------

def test_each_kind_of_step_offers_the_buttons_design_names() -> None:
    assert [b.action_id for b in step_buttons(BRANCHY.step("health"))] == [RUN_ACTION_ID, SKIP_ACTION_ID]
    assert [b.action_id for b in step_buttons(BRANCHY.step("oom"))] == [DONE_ACTION_ID, SKIP_ACTION_ID]
    assert [(b.action_id, b.label, b.choice_index) for b in step_buttons(BRANCHY.step("cause"))] == [
        ("runbook.choose.1", "Crashed", 1), ("runbook.choose.2", "Out of memory", 2),
        ("runbook.choose.3", "Nothing wrong", 3),
    ]
    assert step_buttons(BRANCHY.step("restart"))[0].label == "Restart"


def test_choice_action_ids_round_trip_and_others_are_refused() -> None:
    assert parse_choice_action_id(choice_action_id(4)) == 4
    for bad in ("runbook.choose.0", "runbook.choose.x", "runbook.run", "runbook.choose."):
        with pytest.raises(ValueError):
            parse_choice_action_id(bad)


# -- choosing runbooks ----------------------------------------------------------------------------

def runbook(name: str, **applies) -> Runbook:
    return Runbook(name=name, title=name, applies=Applies(**applies),
                   steps=(SayStep(id="s", title="s", text="s"),))


CANDIDATES = [
    runbook("anything-down", title_patterns=("*down*",)),
    runbook("frontend-down", title_patterns=("*frontend*", "*down*")),
    runbook("api-from-uptimerobot", sources=("uptimerobot",), services=("api",)),
    runbook("sev1-only", severities=("SEV1",), title_patterns=("*down*",)),
    runbook("postgres", labels={"alertname": "Postgres*"}),
    runbook("by-name-only"),
]


def names(found: list[Runbook]) -> list[str]:
    return [r.name for r in found]


def test_the_most_specific_match_comes_first() -> None:
    found = matching(CANDIDATES, source="uptimerobot", service="api", title="Frontend is DOWN",
                     severity="SEV1")
    assert names(found) == ["api-from-uptimerobot", "sev1-only", "frontend-down", "anything-down"]


def test_every_given_criterion_must_match() -> None:
    found = matching(CANDIDATES, title="api down", severity="SEV3")
    assert names(found) == ["anything-down", "frontend-down"]
    assert names(matching(CANDIDATES, source="sentry", service="api")) == []


def test_labels_match_by_glob_ignoring_case() -> None:
    assert names(matching(CANDIDATES, labels={"alertname": "postgresTooManyConnections"})) == ["postgres"]
    assert names(matching(CANDIDATES, labels={"severity": "critical"})) == []


def test_a_runbook_without_criteria_is_never_suggested_by_itself() -> None:
    assert "by-name-only" not in names(matching(CANDIDATES, title="anything", source="generic"))


def test_suggest_puts_the_catalogs_runbooks_first() -> None:
    runbooks = RunbookSet.layered(CANDIDATES)
    found = suggest(runbooks, bound=["by-name-only", "typo", "anything-down"], title="site down")
    assert names(found) == ["by-name-only", "anything-down", "frontend-down"]


def test_a_runbook_set_names_what_it_lacks() -> None:
    runbooks = RunbookSet.layered(CANDIDATES[:2], [runbook("frontend-down", title_patterns=("*web*",))])
    assert runbooks.overridden == frozenset({"frontend-down"})
    assert runbooks.get("frontend-down").applies.title_patterns == ("*web*",)
    assert runbooks.unknown(["frontend-down", "nope"]) == ["nope"]
    with pytest.raises(UnknownRunbook, match="known runbooks: anything-down, frontend-down"):
        runbooks.get("nope")
