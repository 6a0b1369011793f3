"""Who may speak for the team, as a pure function: responders by id or group, operators always,
and without `slack.responders` the place (alerts channel, incident thread) decides."""

from __future__ import annotations

from app.core.responders import Place, Responders, answers_in_public, needs_responder, responder_decision

ALERTS = "C0ALERTS"
UNSET = Responders.of(None, ["U0OPS1", "S0SRE"], ALERTS)
LISTED = Responders.of(["U0ANA", "S0ONCALL"], ["U0OPS1"], ALERTS)
GROUPS = {"S0ONCALL": {"U0BOB"}, "S0SRE": {"U0SRE"}}


def test_only_the_verbs_that_change_an_incident_need_a_responder():
    for verb in ("declare", "ack", "update", "sev", "state", "assign", "keep", "resolve", "public", "private"):
        assert needs_responder(verb), verb
    for verb in ("list", "show", "timeline", "postmortem"):
        assert not needs_responder(verb), verb


def test_unset_the_alerts_channel_and_incident_threads_speak():
    assert responder_decision("U0ANY", UNSET, {}, Place(ALERTS)).allowed
    assert responder_decision("U0ANY", UNSET, {}, Place("C0OTHER", in_incident_thread=True)).allowed
    assert not responder_decision("U0ANY", UNSET, GROUPS, Place("D0DM")).allowed
    assert not responder_decision("U0ANY", UNSET, GROUPS, Place(None)).allowed


def test_operators_speak_from_anywhere():
    assert responder_decision("U0OPS1", UNSET, {}, Place("D0DM")).allowed
    assert responder_decision("U0SRE", UNSET, GROUPS, Place("D0DM")).allowed
    assert responder_decision("U0OPS1", LISTED, {}, Place("D0DM")).allowed


def test_set_only_the_listed_people_and_groups_speak_wherever_they_are():
    assert responder_decision("U0ANA", LISTED, {}, Place("D0DM")).allowed
    assert responder_decision("U0BOB", LISTED, GROUPS, Place("C0OTHER")).allowed
    refused = responder_decision("U0DEV", LISTED, GROUPS, Place(ALERTS, in_incident_thread=True))
    assert not refused.allowed and "slack.responders" in refused.reason


def test_an_unreadable_group_grants_nothing():
    assert not responder_decision("U0BOB", LISTED, {"S0ONCALL": None}, Place(ALERTS)).allowed


def test_an_empty_list_leaves_only_the_operators():
    only_ops = Responders.of([], ["U0OPS1"], ALERTS)
    assert not responder_decision("U0DEV", only_ops, {}, Place(ALERTS)).allowed
    assert responder_decision("U0OPS1", only_ops, {}, Place(ALERTS)).allowed


def test_lookup_is_skipped_when_the_answer_is_known():
    assert UNSET.allowed_without_lookup("U0ANY", Place(ALERTS))
    assert not UNSET.allowed_without_lookup("U0ANY", Place("D0DM"))
    assert LISTED.allowed_without_lookup("U0ANA", Place("D0DM"))
    assert LISTED.groups() == ("S0ONCALL",) and UNSET.groups() == ("S0SRE",)


def test_public_answers_where_the_team_works_and_in_the_listed_channels():
    assert answers_in_public(Place(ALERTS), alerts_channel=ALERTS, channels=[])
    assert answers_in_public(Place("C0X", in_incident_thread=True), alerts_channel=ALERTS, channels=[])
    assert answers_in_public(Place("C0OPS"), alerts_channel=ALERTS, channels=["C0OPS"])
    assert not answers_in_public(Place("C0SHARED"), alerts_channel=ALERTS, channels=["C0OPS"])
    assert not answers_in_public(Place("D0DM"), alerts_channel=ALERTS, channels=[])
