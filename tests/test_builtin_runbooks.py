"""The built-in runbooks as shipped: all there, all valid, and every branch of every question ends."""

from __future__ import annotations

from collections import deque

import pytest

from app.core.runbook_machine import RunState, advance
from app.core.runbook_match import matching
from app.core.runbooks import (
    ACTIONS,
    END,
    PROBES,
    ActionStep,
    CheckStep,
    ChooseStep,
    IncidentFields,
    NotifyStep,
    Runbook,
    SayStep,
    exits,
    reachable_from,
    render_step,
)
from app.flows.runbook_files import builtin_dir, load_runbooks, runbook_files, validate_paths

NAMES = [
    "backend-down", "frontend-down", "database-connections", "high-error-rate", "slow-performance",
    "auth-failing", "email-failing", "storage-failing", "deploy-verify", "incident-checklist", "debug-logging",
    "db-migration", "db-restore", "secret-rotation",
]
RUNBOOKS = load_runbooks(builtin_dir(), None)


def test_the_built_in_runbooks_ship_inside_the_package() -> None:
    assert sorted(RUNBOOKS.names()) == sorted(NAMES)
    assert builtin_dir().parent.name == "app"
    assert sorted(path.stem for path in runbook_files(builtin_dir())) == sorted(NAMES)


def test_every_built_in_file_validates() -> None:
    assert validate_paths([builtin_dir()]) == []


@pytest.mark.parametrize("name", NAMES)
def test_each_file_says_which_seed_sections_it_translates(name: str) -> None:
    text = (builtin_dir() / f"{name}.yml").read_text(encoding="utf-8")
    assert text.startswith("# Translates ")
    assert "seeds/0" in text.split("\nname:")[0]


@pytest.mark.parametrize("name", NAMES)
def test_every_check_and_action_is_a_known_kind(name: str) -> None:
    for step in RUNBOOKS.get(name).steps:
        if isinstance(step, CheckStep):
            assert step.probe in PROBES
        elif isinstance(step, ActionStep):
            assert step.action in ACTIONS
        else:
            assert isinstance(step, SayStep | ChooseStep | NotifyStep)


def distances_to_end(runbook: Runbook) -> dict[str, int]:
    """How many steps each step is from the end along its shortest way."""
    backwards: dict[str, list[str]] = {}
    for step_id in runbook.step_ids:
        for target in exits(runbook, step_id):
            backwards.setdefault(target, []).append(step_id)
    distance = {END: 0}
    queue = deque([END])
    while queue:
        here = queue.popleft()
        for before in backwards.get(here, []):
            if before not in distance:
                distance[before] = distance[here] + 1
                queue.append(before)
    return distance


def finish(runbook: Runbook, state: RunState) -> RunState:
    """Drive the step machine to the end, each later question answered by its shortest way out."""
    distance = distances_to_end(runbook)
    for _ in range(len(runbook.steps) * 2):
        if state.finished:
            return state
        step = runbook.step(state.current)  # type: ignore[arg-type]
        if isinstance(step, ChooseStep):
            best = min(range(len(step.choices)), key=lambda i: distance[step.choices[i].goto])
            state = advance(runbook, state, step.id, "chosen", choice_index=best + 1)
        else:
            state = advance(runbook, state, step.id, "done" if isinstance(step, SayStep) else "ran")
    raise AssertionError(f"{runbook.name}: the run did not end: {[e.step_id for e in state.history]}")


BRANCHES = [
    (name, step.id, index)
    for name in NAMES
    for step in RUNBOOKS.get(name).steps if isinstance(step, ChooseStep)
    for index in range(1, len(step.choices) + 1)
]


@pytest.mark.parametrize(("name", "step_id", "choice_index"), BRANCHES)
def test_every_choose_branch_reaches_the_end(name: str, step_id: str, choice_index: int) -> None:
    runbook = RUNBOOKS.get(name)
    at_question = RunState(runbook=name, current=step_id)
    state = advance(runbook, at_question, step_id, "chosen", choice_index=choice_index)
    assert finish(runbook, state).finished


@pytest.mark.parametrize("name", NAMES)
def test_every_step_is_reachable_and_can_end(name: str) -> None:
    runbook = RUNBOOKS.get(name)
    assert set(runbook.step_ids) <= reachable_from(runbook, runbook.steps[0].id)
    for step_id in runbook.step_ids:
        assert END in reachable_from(runbook, step_id)


@pytest.mark.parametrize("name", NAMES)
def test_every_step_renders_without_leftover_placeholders(name: str) -> None:
    runbook = RUNBOOKS.get(name)
    fields = IncidentFields(incident="INC-7", service="api", severity="SEV1", title="API down")
    summaries = {step_id: f"<{step_id} result>" for step_id in runbook.step_ids}
    for step in runbook.steps:
        shown = render_step(step, fields, summaries)
        texts = [shown.title, *(getattr(shown, key) for key in ("text", "question", "template", "service")
                                 if isinstance(getattr(shown, key, None), str))]
        assert all("{" not in text for text in texts), texts


def test_incidents_are_announced_and_resolved_in_the_seeds_words() -> None:
    def notes(name: str) -> list[str]:
        return [step.template for step in RUNBOOKS.get(name).steps if isinstance(step, NotifyStep)]

    backend = notes("backend-down")
    assert backend[0].startswith("🔴 Backend down") and "investigating" in backend[0]
    assert backend[-1].startswith("✅ Recovered, monitoring")
    checklist = RUNBOOKS.get("incident-checklist").steps
    assert isinstance(checklist[-1], NotifyStep)
    assert checklist[-1].template.startswith("✅ Recovered, monitoring")


@pytest.mark.parametrize("name", NAMES)
def test_no_runbook_update_says_resolved_while_the_incident_is_open(name: str) -> None:
    """A runbook posts its updates while the incident is open (only `resolve` closes it, with its own
    update): one that said "Resolved" would tell managers and the status page what is not so."""
    for step in RUNBOOKS.get(name).steps:
        if isinstance(step, NotifyStep):
            assert "resolved" not in step.template.lower().replace("before we resolve", ""), step.template


def test_the_branches_the_issue_names_are_there() -> None:
    def actions(name: str) -> list[tuple[str, dict]]:
        return [(s.action, dict(s.params)) for s in RUNBOOKS.get(name).steps if isinstance(s, ActionStep)]

    backend = RUNBOOKS.get("backend-down")
    cause = backend.step("cause")
    assert isinstance(cause, ChooseStep)
    labels = {c.label for c in cause.choices}
    assert {"Out of memory (OOM)", "Database problem", "Recent bad deploy"} <= labels
    assert ("terminate_idle_sessions", {"idle_minutes": 5}) in actions("database-connections")
    assert ("set_variable", {"name": "FALLBACK_MODE", "value": "true"}) in actions("high-error-rate")
    # seeds/000 "Reduce DB_POOL_MAX in environment variables": set by pitcrew, the size asked in a form
    assert ("set_variable", {"name": "DB_POOL_MAX"}) in actions("database-connections")
    pool_says = " ".join(s.text for s in RUNBOOKS.get("database-connections").steps if isinstance(s, SayStep))
    assert "DB_POOL_MAX" not in pool_says.replace("rather than DB_POOL_MAX", "")
    assert RUNBOOKS.get("incident-checklist").applies.is_empty  # runs only when named


@pytest.mark.parametrize(("title", "expected"), [
    ("Monitor is DOWN: api backend", "backend-down"),
    ("Frontend build failed", "frontend-down"),
    ("PostgresTooManyConnections: too many connections", "database-connections"),
    ("High error rate on api", "high-error-rate"),
    ("API p95 latency above 1000ms", "slow-performance"),
    ("Email delivery failing", "email-failing"),
    ("Upload to bucket failed", "storage-failing"),
    ("OAuth login returns 401", "auth-failing"),
])
def test_alert_titles_suggest_the_right_runbook_first(title: str, expected: str) -> None:
    assert matching(RUNBOOKS, title=title)[0].name == expected


@pytest.mark.parametrize(("name", "step_id", "names"), [
    ("auth-failing", "variables", ("JWT_SECRET",)),
    ("email-failing", "api-key", ("SENDGRID_API_KEY", "RESEND_API_KEY", "EMAIL_FROM")),
    ("storage-failing", "config",
     ("STORAGE_URL", "R2_ENDPOINT", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "STORAGE_MAX_FILE_SIZE")),
    ("backend-down", "env-check", ("DATABASE_URL",)),
])
def test_variables_are_checked_by_pitcrew_not_read_in_a_terminal(
    name: str, step_id: str, names: tuple[str, ...]
) -> None:
    runbook = RUNBOOKS.get(name)
    assert runbook is not None
    [step] = [s for s in runbook.steps if s.id == step_id]
    assert isinstance(step, CheckStep) and step.probe == "variables" and step.names == names
    says = " ".join(s.text for s in runbook.steps if isinstance(s, SayStep))
    assert "`railway variables`" not in says and "vercel env ls" not in says
