"""The incident process as rules: ids, severities, the /incident grammar, deadlines, escalation,
stakeholder texts and the post-mortem draft. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.incident_args import IncidentUsage, IncidentUsageError, parse_incident_command, parse_thread_verb
from app.core.incident_reports import (
    ActionRecord,
    opened_update,
    postmortem_markdown,
    resolved_update,
    severity_update,
    status_update,
)
from app.core.incidents import (
    BadIncidentValue,
    EscalationStep,
    IncidentView,
    TimelineEntry,
    auto_resolve_at,
    escalation_plan,
    first_responders,
    format_duration,
    incident_ref,
    make_policy,
    next_escalation,
    parse_incident_id,
    parse_severity,
    reminder_due,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEPS = (
    EscalationStep(0, ("S0ONCALL",)),
    EscalationStep(30, ("U0LEAD",)),
    EscalationStep(60, ("U0CTO",), ("SEV1",)),
)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# --- ids and words ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["42", "INC-42", "inc-42", "INC42", "#42", " 42 ", "0042"])
def test_incident_ids_in_every_way_people_write_them(text):
    assert parse_incident_id(text) == 42
    assert incident_ref(42) == "INC-42"


@pytest.mark.parametrize("text", ["", "0", "INC-", "INC-4x", "abc", "-3", "4.2", "INC--4"])
def test_not_incident_ids(text):
    with pytest.raises(BadIncidentValue, match="42 or INC-42"):
        parse_incident_id(text)


@pytest.mark.parametrize(
    ("text", "severity"),
    [("SEV1", "SEV1"), ("sev2", "SEV2"), ("Sev 3", "SEV3"), ("P0", "SEV1"), ("p3", "SEV4"), ("sev-4", "SEV4")],
)
def test_severities_and_the_seeds_priorities(text, severity):
    assert parse_severity(text) == severity


@pytest.mark.parametrize("text", ["SEV5", "SEV0", "P4", "critical", ""])
def test_not_severities(text):
    with pytest.raises(BadIncidentValue, match="SEV1, SEV2, SEV3 or SEV4"):
        parse_severity(text)


# --- the /incident grammar -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verb", "fields"),
    [
        ("", "list", {}),
        ("list", "list", {}),
        ("declare", "declare", {"severity": None, "title": None}),
        ("declare SEV2", "declare", {"severity": "SEV2", "title": None}),
        ("declare sev1 API   down  hard", "declare", {"severity": "SEV1", "title": "API   down  hard"}),
        ("declare SEV2 --service api Checkout broken", "declare", {"service": "api", "title": "Checkout broken"}),
        ("declare SEV2 Checkout broken --service=API", "declare", {"service": "api", "title": "Checkout broken"}),
        ("declare SEV2 Checkout broken", "declare", {"service": None}),
        ("42", "show", {"incident_id": 42}),
        ("INC-42 update Rolled back, watching", "update", {"incident_id": 42, "text": "Rolled back, watching"}),
        ("42 sev P1", "sev", {"severity": "SEV2"}),
        ("42 assign commander <@U0ANA|ana>", "assign", {"role": "commander", "user": "U0ANA"}),
        ("42 assign ic U0ANA", "assign", {"role": "commander", "user": "U0ANA"}),
        ("42 assign comms <@W0BEN>", "assign", {"role": "communications", "user": "W0BEN"}),
        ("42 resolve", "resolve", {"text": None}),
        ("42 resolve Fixed the pool size", "resolve", {"text": "Fixed the pool size"}),
        ("42 timeline", "timeline", {}),
        ("42 postmortem", "postmortem", {}),
        ("42 ack", "ack", {}),
        ("42 acknowledge", "ack", {}),
        ("42 state identified Bad deploy", "state", {"state": "identified", "text": "Bad deploy"}),
        ("42 keep open", "keep", {}),
        # as Slack delivers text with should_escape on: entities, mentions, channels and links
        ("declare SEV2 Payments &amp; refunds &lt;5% ok", "declare", {"title": "Payments & refunds <5% ok"}),
        (
            "42 update <@U0ANA|ana> rolled back, see <https://status.x.io|status> and <#C0OPS|ops>",
            "update", {"text": "@ana rolled back, see status (https://status.x.io) and #ops"},
        ),
        ("42 resolve fixed by <!subteam^S0ONCALL|@oncall> per <https://x.io/pr/1>", "resolve",
         {"text": "fixed by @oncall per https://x.io/pr/1"}),
        ("42 state monitoring &amp;amp; literally", "state", {"text": "&amp; literally"}),
    ],
)
def test_incident_command_grammar(text, verb, fields):
    command = parse_incident_command(text)
    assert command.verb == verb
    for name, value in fields.items():
        assert getattr(command, name) == value, name


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("frob", "neither `declare` nor an incident id"),
        ("declare API slow", "needs the severity first"),
        ("declare SEV9 Oops", "`SEV9` is not a severity: use SEV1, SEV2, SEV3 or SEV4"),
        ("declare sev-0 Oops", "`sev-0` is not a severity"),
        ("declare P7 Oops", "`P7` is not a severity"),
        ("42 update", "needs the text"),
        ("42 sev", "needs one severity"),
        ("42 sev SEV1 SEV2", "needs one severity"),
        ("42 sev SEV7", "not a severity"),
        ("42 assign commander", "needs a role and a person"),
        ("42 assign boss <@U0ANA>", "not a role"),
        ("42 assign scribe @ana", "not a Slack user"),
        ("42 state resolved", "use `resolve"),
        ("42 state sleeping", "not a state"),
        ("42 timeline please", "takes nothing after it"),
        ("42 explode", "not something I can do"),
        ("list 42", "takes nothing after it"),
    ],
)
def test_wrong_words_say_what_is_wrong_with_the_usage(text, reason):
    with pytest.raises(IncidentUsageError) as caught:
        parse_incident_command(text)
    assert reason in str(caught.value.reason)
    assert "declare SEV2 SEV" not in str(caught.value.reason)  # a wrong severity is not taken for a title
    assert "/incident declare" in caught.value.usage


def test_help_is_the_usage():
    with pytest.raises(IncidentUsage) as caught:
        parse_incident_command("help")
    assert not isinstance(caught.value, IncidentUsageError)
    assert "@pitcrew ack" in caught.value.usage


def test_thread_verbs_take_the_threads_incident():
    assert parse_thread_verb(7, "sev SEV1").incident_id == 7
    assert parse_thread_verb(7, "update  all good now ").text == "all good now"


# --- deadlines -------------------------------------------------------------------------------------


def test_default_policy_is_the_seeds_table():
    policy = make_policy()
    assert [policy.response_time(s) for s in ("SEV1", "SEV2", "SEV3", "SEV4")] == [
        minutes(15),
        minutes(60),
        minutes(240),
        minutes(1440),
    ]
    assert (policy.cadence("SEV1"), policy.cadence("SEV2"), policy.cadence("SEV3")) == (minutes(30), minutes(60), None)
    assert policy.quiet == minutes(30)
    assert policy.needs_postmortem("SEV2") and not policy.needs_postmortem("SEV3")


def test_policy_keys_given_override_only_those():
    policy = make_policy(response_minutes={"SEV1": 5}, update_cadence_minutes={"SEV3": 120}, quiet_minutes=10)
    assert policy.response_time("SEV1") == minutes(5) and policy.response_time("SEV2") == minutes(60)
    assert policy.cadence("SEV3") == minutes(120) and policy.cadence("SEV1") == minutes(30)
    assert policy.quiet == minutes(10)


def test_escalation_plan_per_severity():
    assert [s.notify for s in escalation_plan(STEPS, "SEV1")] == [("S0ONCALL",), ("U0LEAD",), ("U0CTO",)]
    assert [s.notify for s in escalation_plan(STEPS, "SEV2")] == [("S0ONCALL",), ("U0LEAD",)]
    assert first_responders(escalation_plan(STEPS, "SEV3")) == (STEPS[0],)


def _next(severity: str, level: int, escalated_at: datetime | None, **kw: bool):  # type: ignore[no-untyped-def]
    policy = make_policy()
    return next_escalation(
        escalation_plan(STEPS, severity),
        level=level,
        started_at=T0,
        escalated_at=escalated_at,
        response_time=policy.response_time(severity),
        acknowledged=kw.get("acknowledged", False),
        resolved=kw.get("resolved", False),
    )


def test_sev1_escalates_at_its_response_time_then_at_the_steps_own_minutes():
    first = _next("SEV1", 1, None)  # the on-call step was mentioned at opening
    assert (first.at, first.step.notify) == (T0 + minutes(15), ("U0LEAD",))
    second = _next("SEV1", 2, T0 + minutes(15))
    assert (second.at, second.step.notify) == (T0 + minutes(60), ("U0CTO",))
    assert _next("SEV1", 3, T0 + minutes(60)) is None


def test_sev2_escalates_after_an_hour_and_never_to_the_sev1_only_step():
    first = _next("SEV2", 1, None)
    assert (first.at, first.step.notify) == (T0 + minutes(60), ("U0LEAD",))
    assert _next("SEV2", 2, T0 + minutes(60)) is None


def test_no_escalation_once_acknowledged_or_resolved():
    assert _next("SEV1", 1, None, acknowledged=True) is None
    assert _next("SEV1", 1, None, resolved=True) is None


def test_with_no_step_left_one_notice_says_so():
    plan = escalation_plan((EscalationStep(0, ("S0ONCALL",)),), "SEV1")
    due = next_escalation(
        plan, level=1, started_at=T0, escalated_at=None, response_time=minutes(15), acknowledged=False, resolved=False
    )
    assert due is not None and due.step is None and due.at == T0 + minutes(15)
    assert (
        next_escalation(
            plan,
            level=1,
            started_at=T0,
            escalated_at=due.at,
            response_time=minutes(15),
            acknowledged=False,
            resolved=False,
        )
        is None
    )


def test_later_steps_are_never_sooner_than_one_response_time_apart():
    steps = (EscalationStep(0, ("S0A",)), EscalationStep(1, ("U0B",)), EscalationStep(2, ("U0C",)))
    plan = escalation_plan(steps, "SEV1")
    due = next_escalation(
        plan,
        level=2,
        started_at=T0,
        escalated_at=T0 + minutes(15),
        response_time=minutes(15),
        acknowledged=False,
        resolved=False,
    )
    assert due.at == T0 + minutes(30)


def test_reminders_follow_the_cadence_from_the_last_update_or_reminder():
    policy = make_policy()
    base = {"severity": "SEV1", "started_at": T0, "resolved": False}
    assert reminder_due(policy, last_update_at=None, reminded_at=None, **base) == T0 + minutes(30)
    assert reminder_due(policy, last_update_at=T0 + minutes(20), reminded_at=None, **base) == T0 + minutes(50)
    assert reminder_due(policy, last_update_at=T0 + minutes(20), reminded_at=T0 + minutes(50), **base) == T0 + minutes(
        80
    )
    assert (
        reminder_due(policy, severity="SEV3", started_at=T0, last_update_at=None, reminded_at=None, resolved=False)
        is None
    )
    assert reminder_due(policy, last_update_at=None, reminded_at=None, **{**base, "resolved": True}) is None


def test_automatic_resolution_only_when_monitoring_a_recovery_and_not_kept_open():
    policy = make_policy()
    assert auto_resolve_at(policy, state="monitoring", recovered_at=T0, keep_open=False) == T0 + minutes(30)
    assert auto_resolve_at(policy, state="monitoring", recovered_at=T0, keep_open=True) is None
    assert auto_resolve_at(policy, state="monitoring", recovered_at=None, keep_open=False) is None
    assert auto_resolve_at(policy, state="investigating", recovered_at=T0, keep_open=False) is None


@pytest.mark.parametrize(
    ("span", "said"),
    [
        (timedelta(seconds=45), "45 s"),
        (minutes(12), "12 min"),
        (minutes(65), "1 h 5 min"),
        (minutes(120), "2 h"),
        (timedelta(days=2, hours=3), "2 d 3 h"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_durations_as_people_say_them(span, said):
    assert format_duration(span) == said


# --- what people read --------------------------------------------------------------------------------


def _view(**changes: object) -> IncidentView:
    base: dict[str, object] = {
        "id": 7,
        "title": "API slow",
        "severity": "SEV2",
        "state": "investigating",
        "started_at": T0,
        "service": "api",
    }
    return IncidentView(**{**base, **changes})  # type: ignore[arg-type]


def test_stakeholder_updates_say_what_is_affected_done_and_when_next():
    policy = make_policy()
    opened = opened_update(policy, _view(), T0)
    assert opened.headline.startswith("🔴 INC-7 (SEV2): API slow")
    assert opened.affected == "api — major feature unavailable (SEV2)"
    assert opened.next_update == "by 10:00 UTC at the latest."
    update = status_update(policy, _view(state="identified"), "Rolling back", T0 + minutes(10))
    assert update.doing == "Rolling back" and "identified" in update.headline
    low = opened_update(policy, _view(severity="SEV4", service=None), T0)
    assert low.next_update == "when the situation changes." and low.affected.startswith("not yet known")
    raised = severity_update(policy, _view(severity="SEV1"), "SEV2", T0)
    assert "raised to SEV1 (P0) from SEV2" in raised.headline
    done = resolved_update(policy, _view(state="resolved", resolved_at=T0 + minutes(65), summary="Fixed"), T0)
    assert "resolved after 1 h 5 min" in done.headline and done.doing == "Resolved after 1 h 5 min. Fixed"
    assert "post-mortem" in done.next_update


def test_postmortem_draft_has_the_record_and_blanks_to_fill():
    view = _view(
        state="resolved",
        resolved_at=T0 + minutes(40),
        summary="Pool exhausted; raised the limit.",
        acknowledged_by="U0ANA",
        acknowledged_at=T0 + minutes(4),
        roles={"commander": "U0ANA"},
        source="alertmanager",
        recovered_at=T0 + minutes(30),
    )
    timeline = [
        TimelineEntry(T0, "opened", "Opened by alertmanager: API slow", "alertmanager"),
        TimelineEntry(T0 + minutes(4), "acknowledged", "Acknowledged after 4 min", "U0ANA"),
        TimelineEntry(T0 + minutes(20), "state.identified", "Pool exhausted", "U0ANA", True),
    ]
    actions = [ActionRecord(T0 + minutes(25), "U0ANA", "rollback", "api", "succeeded")]
    text = postmortem_markdown(view, timeline, actions, alerts_received=37, now=T0 + minutes(50))
    assert text.startswith("# Post-mortem (draft): INC-7 — API slow")
    for part in (
        "**Severity:** SEV2 (P1)",
        "**Duration:** 40 min",
        "**Commander:** @U0ANA",
        "**Acknowledged:** by @U0ANA after 4 min",
        "Pool exhausted; raised the limit.",
        "37 alerts received from alertmanager",
        "- 09:20 UTC — state.identified (@U0ANA): Pool exhausted",
        "- 09:25 UTC — @U0ANA: rollback api → succeeded",
        "- 09:00 UTC — opened (alertmanager): Opened by",
        "## Follow-ups",
        "- [ ] _Preventive fix",
        "- [x] Cause identified",
        "- [x] Monitoring after resolution",
        "- [ ] Logs consulted",
    ):
        assert part in text, part
    empty = postmortem_markdown(_view(), [], [], alerts_received=0, now=T0)
    assert "_To fill in: what happened" in empty and "_None recorded._" in empty and "not yet" in empty


def test_the_checklist_ticks_what_a_runbook_did():
    from app.core.incident_reports import runbook_evidence
    from app.core.runbook_loader import parse_runbook
    from app.core.runbook_machine import StepOutcome

    runbook = parse_runbook(
        """
name: down
title: Down
steps:
  - {id: health, check: health}
  - {id: logs, check: log_errors, minutes: 30}
  - id: cause
    choose: What is it?
    choices: [{label: Crash, goto: restart}, {label: Other, goto: end}]
  - {id: restart, action: restart}
  - {id: verify, check: health}
""",
        "down.yml",
    )
    walked = [
        StepOutcome("health", "ran"), StepOutcome("logs", "ran"), StepOutcome("cause", "chosen", choice="Crash"),
        StepOutcome("restart", "ran", by="U0OPS"), StepOutcome("verify", "ran"),
    ]
    evidence = runbook_evidence([(runbook, walked)])
    assert evidence == {"logs", "cause", "fix", "verified"}
    text = postmortem_markdown(_view(), [], [], alerts_received=0, now=T0, evidence=evidence)
    for done in ("Logs consulted", "Cause identified", "Fix applied", "Service verified"):
        assert f"- [x] {done}" in text, done
    # A health check before any fix verifies nothing; a skipped log step consulted no log.
    early = [StepOutcome("health", "ran"), StepOutcome("logs", "skipped"), StepOutcome("restart", "failed")]
    assert runbook_evidence([(runbook, early)]) == frozenset()
    untouched = postmortem_markdown(_view(), [], [], alerts_received=0, now=T0)
    assert "- [ ] Logs consulted" in untouched and "- [ ] Fix applied" in untouched
