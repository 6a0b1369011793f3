"""The step machine: where one run of a runbook stands, and moving it on by one outcome.

The step machine is pure: a `RunState` goes in, a new `RunState` comes out, and the caller keeps
it (as JSON, via `to_dict`/`from_dict`) in the database, never in process memory. It refuses a
click on any step but the current one (`StaleStep`): that refusal is how "two people pressed the
same button" is caught before anything runs twice; the store adds an atomic update on top so that
two instances agree as well. Which outcomes a step kind may end with is declared with the kind, in
`ALLOWED_OUTCOMES` of app/core/runbooks.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.core.runbooks import ALLOWED_OUTCOMES, END, OUTCOMES, ChooseStep, Outcome, Runbook, Step, successor


@dataclass(frozen=True)
class StepOutcome:
    step_id: str
    outcome: Outcome
    choice: str | None = None  # the label of the answer, for `chosen`
    summary: str = ""
    by: str | None = None  # who pressed the button (a Slack user id)


@dataclass(frozen=True)
class RunState:
    """Where one run of a runbook stands. `position` is the number of recorded outcomes: a button
    can carry it so that a click made on an older message is recognised even on a retried step."""

    runbook: str
    current: str | None
    finished: bool = False
    history: tuple[StepOutcome, ...] = ()

    @property
    def position(self) -> int:
        return len(self.history)

    def summaries(self) -> dict[str, str]:
        """The latest summary of each step that has one, for `{steps.<id>.summary}`."""
        return {entry.step_id: entry.summary for entry in self.history}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "runbook": self.runbook,
            "current": self.current,
            "finished": self.finished,
            "history": [
                {"step": e.step_id, "outcome": e.outcome, "choice": e.choice,
                 "summary": e.summary, "by": e.by}
                for e in self.history
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> RunState:
        """Rebuild a stored state; raises BadRunState rather than guessing at a damaged row."""
        try:
            if not isinstance(data, Mapping) or data.get("version") != 1:
                raise BadRunState("not a version 1 run state")
            history = tuple(_outcome_from_dict(item) for item in data["history"])
            state = cls(
                runbook=_text(data["runbook"], "runbook"),
                current=None if data["current"] is None else _text(data["current"], "current"),
                finished=_flag(data["finished"]),
                history=history,
            )
        except (KeyError, TypeError) as err:
            raise BadRunState(f"missing or wrong field: {err}") from None
        if state.finished != (state.current is None):
            raise BadRunState("a run is finished exactly when it has no current step")
        return state


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadRunState(f"{what} is not text")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRunState("finished is not true/false")
    return value


def _outcome_from_dict(item: Any) -> StepOutcome:
    if not isinstance(item, Mapping):
        raise BadRunState("a history entry is not an object")
    outcome = item["outcome"]
    if outcome not in OUTCOMES:
        raise BadRunState(f"unknown outcome {outcome!r}")
    choice, by = item.get("choice"), item.get("by")
    return StepOutcome(
        step_id=_text(item["step"], "step"), outcome=outcome,
        choice=None if choice is None else _text(choice, "choice"),
        summary=_text(item.get("summary", ""), "summary"),
        by=None if by is None else _text(by, "by"),
    )


class BadRunState(ValueError):
    """A stored run state that cannot be read back."""


class StaleStep(Exception):
    """A click on a step that is not the current one (already handled, or the run has finished).

    Edges say so to the clicker instead of acting; nothing has run.
    """

    def __init__(self, runbook: str, step_id: str, current: str | None) -> None:
        self.runbook = runbook
        self.step_id = step_id
        self.current = current
        where = f"the run is at step {current!r}" if current else "the run has finished"
        super().__init__(f"step {step_id!r} of {runbook!r} was already handled; {where}")


class InvalidOutcome(ValueError):
    """An outcome that makes no sense for the step (a choice on a `say` step, a choice out of range)."""


_DEFAULT_SUMMARY = {"done": "done", "skipped": "skipped", "ran": "done", "failed": "failed"}


def start(runbook: Runbook) -> RunState:
    return RunState(runbook=runbook.name, current=runbook.steps[0].id)


def current_step(runbook: Runbook, state: RunState) -> Step | None:
    return None if state.current is None else runbook.step(state.current)


def advance(
    runbook: Runbook, state: RunState, step_id: str, outcome: Outcome, *,
    choice_index: int | None = None, summary: str | None = None, by: str | None = None,
    expected_position: int | None = None,
) -> RunState:
    """Record the outcome of the current step and move on.

    `choice_index` is the N of `runbook.choose.N` (1-based, as the buttons are numbered).
    A `failed` step stays current, so it can be run again or skipped; every other outcome
    moves to the step's `next`, the chosen answer's goto, or the following step.
    Raises StaleStep when `step_id` is not the current step or `expected_position` is not the
    state's position (a click from an older message), and InvalidOutcome for a nonsense outcome.
    """
    if state.runbook != runbook.name:
        raise InvalidOutcome(f"this run is of runbook {state.runbook!r}, not {runbook.name!r}")
    if state.finished or state.current != step_id or (
        expected_position is not None and expected_position != state.position
    ):
        raise StaleStep(runbook.name, step_id, state.current)
    step = runbook.step(step_id)
    if outcome not in ALLOWED_OUTCOMES[step.kind]:
        allowed = ", ".join(sorted(ALLOWED_OUTCOMES[step.kind]))
        raise InvalidOutcome(f"a {step.kind} step ends as {allowed}, not {outcome!r}")
    label = None
    if outcome == "chosen" and isinstance(step, ChooseStep):
        if choice_index is None or not 1 <= choice_index <= len(step.choices):
            raise InvalidOutcome(f"choice {choice_index} is not one of 1..{len(step.choices)}")
        chosen = step.choices[choice_index - 1]
        label, target = chosen.label, chosen.goto
    elif choice_index is not None:
        raise InvalidOutcome("a choice is only given for a `chosen` outcome")
    else:
        target = step_id if outcome == "failed" else successor(runbook, step_id)
    entry = StepOutcome(step_id, outcome, label, summary if summary is not None else (
        label if label is not None else _DEFAULT_SUMMARY[outcome]), by)
    history = (*state.history, entry)
    if target == END:
        return replace(state, current=None, finished=True, history=history)
    return replace(state, current=target, history=history)


