"""Drawing runbook steps for Slack, button values, and which service a step works on: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from app.catalog import parse_catalog
from app.core.runbook_machine import StepOutcome
from app.core.runbooks import ActionStep, CheckStep, Choice, ChooseStep, NotifyStep, SayStep
from app.flows.runbook_probes import choose_target
from app.flows.runbook_views import (
    Offer,
    OfferedRunbook,
    RunbookError,
    RunProgress,
    StepCard,
    StepTaken,
    is_runbook_name,
    parse_step_value,
    step_value,
)
from app.slack.render.runbooks import offer_message, problem, step_message, with_progress


def card(step, **overrides) -> StepCard:  # type: ignore[no-untyped-def]
    values = dict(
        run_id=7, runbook="backend-down", runbook_title="Backend down", incident_ref="INC-3", channel="C0ALERTS",
        thread_ts="1.1", step=step, number=4, position=3, status="open",
    )
    values.update(overrides)
    return StepCard(**values)  # type: ignore[arg-type]


def elements(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] + [
        b["accessory"] for b in message["blocks"] if "accessory" in b
    ]


def test_a_say_step_offers_done_and_skip_and_links_its_page():
    step = SayStep(id="metrics", title="Metrics", text="Railway → Metrics: memory <near> the limit?",
                   link="https://railway.app/dashboard")
    shown = step_message(card(step))
    assert [(e["action_id"], e["text"]["text"], e["value"]) for e in elements(shown)] == [
        ("runbook.done", "Done", "7/metrics/3"), ("runbook.skip", "Skip", "7/metrics/3"),
    ]
    body = str(shown["blocks"])
    assert "memory &lt;near&gt; the limit?" in body and "<https://railway.app/dashboard|Open railway.app>" in body
    assert shown["text"] == "INC-3 · Backend down · step 4: Metrics — Done / Skip"


def test_a_question_has_one_button_per_answer_and_no_skip():
    step = ChooseStep(id="cause", title="Cause?", question="What does it look like?",
                      choices=(Choice("Service crashed", "restart"), Choice("Out of memory", "oom")))
    ids = [(e["action_id"], e["text"]["text"]) for e in elements(step_message(card(step)))]
    assert ids == [("runbook.choose.1", "Service crashed"), ("runbook.choose.2", "Out of memory")]


def test_a_step_that_asks_which_service_puts_each_run_button_in_a_block_of_its_own():
    shown = step_message(card(CheckStep(id="health", title="Health", probe="health"), targets=("api", "web")))
    runs = [b for b in shown["blocks"] if b["type"] == "actions"]
    assert [[e["text"]["text"] for e in b["elements"]] for b in runs] == [
        ["Run check on api"], ["Run check on web"], ["Skip"],
    ]
    assert [parse_step_value(b["elements"][0]["value"]) for b in runs][:2] == [
        parse_step_value("7/health/3/api"), parse_step_value("7/health/3/web"),
    ]
    block_ids = [b.get("block_id") for b in shown["blocks"] if b.get("block_id")]
    assert len(block_ids) == len(set(block_ids))


def test_running_waiting_and_ended_steps_have_no_buttons_and_say_who():
    action = ActionStep(id="restart", title="Restart api", action="restart")
    waiting = step_message(card(action, status="waiting", actor="U0RESP1", target="api"))
    assert elements(waiting) == [] and "Proposed by <@U0RESP1>: waiting for an operator" in str(waiting["blocks"])
    running = step_message(card(CheckStep(id="h", title="Health", probe="health"), status="running", actor="U0A1"))
    assert elements(running) == [] and running["text"].endswith("running…")
    done = StepOutcome("h", "ran", summary="api is <down>", by="U0A1")
    ended = step_message(card(CheckStep(id="h", title="Health", probe="health"), status="ended", outcome=done,
                              detail=("🔴 GET <x> failed",)))
    assert elements(ended) == [] and "✅ Ran by <@U0A1>: api is &lt;down&gt;" in str(ended["blocks"])
    assert "GET &lt;x&gt; failed" in str(ended["blocks"])


def test_a_notify_step_quotes_its_update_escaped():
    shown = step_message(card(NotifyStep(id="n", title="Post a status update", template="🔴 <!channel> down")))
    assert "> 🔴 &lt;!channel&gt; down" in str(shown["blocks"]) and "<!channel>" not in str(shown)
    assert [e["text"]["text"] for e in elements(shown)] == ["Post update", "Skip"]


def test_the_offer_has_a_run_button_per_runbook_naming_it():
    offer = Offer(3, "INC-3", "C0ALERTS", "1.1", (
        OfferedRunbook("backend-down", "Backend down", "The backend does not answer.", True),
        OfferedRunbook("high-error-rate", "High error rate", "", False),
    ))
    shown = offer_message(offer)
    assert [(e["action_id"], e["value"]) for e in elements(shown)] == [
        ("runbook.run", "backend-down"), ("runbook.run", "high-error-rate"),
    ]
    assert "named for this service in pitcrew.yml" in str(shown["blocks"][1])
    assert all(is_runbook_name(e["value"]) and parse_step_value(e["value"]) is None for e in elements(shown))


@pytest.mark.parametrize("value", ["", "7", "7/x", "a/b/1", "7/Step/1", "7/ok/1/BAD", "7/ok/1/x/y", "1" * 19 + "/a/1"])
def test_values_that_are_not_step_buttons_are_refused(value):
    assert parse_step_value(value) is None


def test_step_values_round_trip():
    assert parse_step_value(step_value(12, "db-cause", 40, "db")) == parse_step_value("12/db-cause/40/db")
    ref = parse_step_value("12/db-cause/40")
    assert ref is not None and (ref.run_id, ref.step_id, ref.position, ref.service) == (12, "db-cause", 40, None)


def test_a_reason_naming_someone_mentions_them_and_escapes_the_rest():
    err = RunbookError("{who} is running <this> step", who="U0ABC")
    assert problem(err)["text"] == "<@U0ABC> is running &lt;this&gt; step"
    assert str(err) == "U0ABC is running <this> step"


def test_progress_is_added_below_the_incident_card():
    run = RunProgress(1, "backend-down", "Backend down", "U0A1", datetime(2025, 1, 1, tzinfo=UTC), None,
                      "Restart api", "waiting", (StepTaken("cause", "Cause?", "chosen", "Service crashed", "U0A1"),))
    shown = with_progress({"text": "INC-3", "blocks": [{"type": "section"}]}, [run])
    said = shown["blocks"][-1]["text"]["text"]
    assert "at “Restart api” (waiting for an operator)" in said and "➡️ Cause? — answered “Service crashed”" in said


CATALOG = parse_catalog(yaml.safe_dump({
    "slack": {"alerts_channel": "C0ALERTS"},
    "services": {
        "api": {"provider": "railway", "railway": {"project_id": "p", "environment_id": "e", "service_id": "s"}},
        "web": {"provider": "vercel", "vercel": {"project_id": "prj_1"}},
        "db": {"provider": "postgres", "postgres": {"dsn_env": "DB_URL"}},
        "site": {"provider": "http", "health": {"url": "https://example.com"}},
    },
}))


class _Deps:
    catalog = CATALOG


@pytest.mark.parametrize(("step", "incident_service", "expected"), [
    (CheckStep(id="h", title="h", probe="health"), "api", ("api", ())),
    (CheckStep(id="h", title="h", probe="health", service="web"), "api", ("web", ())),
    (CheckStep(id="h", title="h", probe="health"), None, (None, ("api", "db", "site", "web"))),
    (CheckStep(id="d", title="d", probe="deployment"), None, (None, ("api", "web"))),
    (CheckStep(id="c", title="c", probe="db_connections"), "api", ("db", ())),
    (CheckStep(id="c", title="c", probe="slow_queries"), "db", ("db", ())),
    (ActionStep(id="t", title="t", action="terminate_idle_sessions"), "api", ("db", ())),
    (ActionStep(id="r", title="r", action="restart"), None, ("api", ())),
    (ActionStep(id="r", title="r", action="rollback"), None, (None, ("api", "web"))),
    (ActionStep(id="r", title="r", action="restart", service="(no service)"), None, ("api", ())),
])
def test_which_service_a_step_works_on(step, incident_service, expected):
    assert choose_target(_Deps(), step, incident_service) == expected  # type: ignore[arg-type]
