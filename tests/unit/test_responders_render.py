"""The refusal names who may, as mentions, and what to do next."""

from __future__ import annotations

from app.core.responders import Responders
from app.slack.render.responders import refusal


def test_the_refusal_names_the_responders_and_the_operators():
    said = refusal("resolve", "INC-3", Responders.of(["U0ANA", "S0ONCALL"], ["U0OPS1"], "C0ALERTS"))
    assert said["text"] == (
        "Only responders may resolve INC-3: <@U0ANA>, the <!subteam^S0ONCALL> group, or anyone who is an operator."
        " Ask one of them, or an admin to add you to slack.responders in pitcrew.yml."
    )


def test_unset_it_says_where_the_team_works():
    said = refusal("declare", None, Responders.of(None, [], "C0ALERTS"), unreadable=("S0GONE",))
    assert said["text"].startswith(
        "Only responders may declare an incident: anyone acting in <#C0ALERTS> or in an incident's thread."
    )
    assert "could not read the members of <!subteam^S0GONE>" in said["text"]


def test_nobody_when_both_lists_are_empty():
    said = refusal("ack", "INC-1", Responders.of([], [], "C0ALERTS"))
    assert "nobody (slack.responders and slack.operators are both empty)" in said["text"]
