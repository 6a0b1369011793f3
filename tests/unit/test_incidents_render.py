"""Incidents in Block Kit: escaping of everything alerts and people supply, mentions, the deploy line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.core.incidents import DeployNote, IncidentView
from app.flows.incident_notifier import ThreadNote
from app.slack.render import incidents as render

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def view(**changes: object) -> IncidentView:
    base: dict[str, object] = {
        "id": 3,
        "title": "API slow",
        "severity": "SEV1",
        "state": "investigating",
        "started_at": T0,
        "service": "api",
        "source": "alertmanager",
        "occurrences": 4,
        "last_seen_at": T0 + timedelta(minutes=3),
        "channel": "C0ALERTS",
        "thread_ts": "1.2",
    }
    return IncidentView(**{**base, **changes})  # type: ignore[arg-type]


def everything(message: dict[str, object]) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_root_message_escapes_what_the_alert_supplied():
    hostile = view(
        title="<!channel> & <https://evil.example|click>",
        description="<@U0BOSS> look > here",
        service="<!here>",
        link="https://grafana.example/d?a=1&b=<x>|y",
    )
    message = render.root_message(hostile)
    said = everything(message)
    for raw in ("<!channel>", "<https://evil.example|click>", "<@U0BOSS>", "<!here>"):
        assert raw not in said
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in message["text"]
    link = next(b for b in message["blocks"] if b["type"] == "section")["text"]["text"]
    assert "<https://grafana.example/d?a=1&amp;b=&lt;x&gt;%7Cy|open in alertmanager>" in link


def test_a_silenced_root_says_who_until_when_in_each_readers_time_and_offers_no_silence_button():
    until = T0 + timedelta(hours=2, minutes=5)
    message = render.root_message(view(silenced_until=until, silenced_by="U0ANA", silence_reason="<!here> vendor"))
    said = everything(message)
    assert f"silenced* by <@U0ANA> until <!date^{int(until.timestamp())}^{{time}}|11:05 UTC>".lower() in said.lower()
    assert "&lt;!here&gt; vendor" in said and "<!here>" not in said
    ids = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "incident.silence" not in ids


def test_root_message_buttons_follow_the_state():
    open_ = render.root_message(view())
    ids = [e["action_id"] for b in open_["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["incident.ack", "incident.update", "incident.resolve", "incident.silence"]
    assert all(e["value"] == "3" for b in open_["blocks"] if b["type"] == "actions" for e in b["elements"])
    acked = render.root_message(view(acknowledged_by="U0ANA", acknowledged_at=T0))
    ids = [e["action_id"] for b in acked["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["incident.update", "incident.resolve", "incident.silence"]
    assert "acknowledged by <@U0ANA> at 09:00 UTC" in everything(acked)
    resolved = render.root_message(view(state="resolved", resolved_at=T0 + timedelta(minutes=30)))
    assert not [b for b in resolved["blocks"] if b["type"] == "actions"]
    assert "resolved 09:30 UTC after 30 min" in everything(resolved)


def test_deploy_line_says_how_long_before_the_incident_it_went_out():
    fresh = DeployNote(
        provider="railway",
        id="8107edff-4b8e-44fc",
        status="SUCCESS",
        created_at=T0 - timedelta(minutes=12),
        commit_message="Bump <deps>",
        author="ana",
        url="https://railway.app/d/1",
    )
    line = render.deploy_line(fresh, T0)
    assert "`8107edff-4b8` SUCCESS “Bump &lt;deps&gt;” by ana" in line
    assert "12 min before this incident started — a fresh deploy is the first suspect" in line
    old = render.deploy_line(DeployNote(id="x", created_at=T0 - timedelta(days=3)), T0)
    assert "3 d before" in old and "first suspect" not in old
    assert render.deploy_line(DeployNote(provider="vercel", error="VERCEL_TOKEN is not set"), T0) == (
        "*Latest deploy:* unknown (VERCEL_TOKEN is not set)"
    )


def test_mentions_only_from_slack_ids():
    assert render.mention("U0ANA") == "<@U0ANA>"
    assert render.mention("S0ONCALL") == "<!subteam^S0ONCALL>"
    assert render.mention("<!channel>") == "&lt;!channel&gt;"
    note = render.thread_note(view(), ThreadNote("escalation", "Not acknowledged <b>", notify=("U0LEAD", "S0ONCALL")))
    assert note["text"].startswith("🚨 <@U0LEAD> <!subteam^S0ONCALL> Not acknowledged &lt;b&gt;")


def test_postmortem_document_fits_slack_sections():
    markdown = "\n".join(f"- line {i} " + "x" * 200 for i in range(100))
    blocks = render.document_blocks(markdown)
    assert len(blocks) > 1 and all(len(b["text"]["text"]) <= 3000 for b in blocks)


def test_postmortem_document_is_cut_between_paragraphs_never_inside_a_list():
    sections = [f"## Part {n}\n\n" + "\n".join(f"- item {n}.{i} " + "y" * 60 for i in range(12)) for n in range(8)]
    blocks = render.document_blocks("# Title\n\n" + "\n\n".join(sections))
    assert len(blocks) > 1 and all(len(b["text"]["text"]) <= 3000 for b in blocks)
    for block in blocks:
        text = block["text"]["text"]
        assert text.startswith("```") and text.endswith("```")
        lists = [p for p in text.strip("`").split("\n\n") if p.startswith("- ")]
        for items in lists:  # each list is whole in its block: 12 items, from the first to the last
            numbers = [line.split()[2] for line in items.splitlines()]
            assert len(numbers) == 12 and numbers[0].endswith(".0") and numbers[-1].endswith(".11"), numbers


def test_postmortem_people_are_slack_mentions_and_text_stays_escaped():
    blocks = render.document_blocks("- **Commander:** @U0ANA\n- 09:25 — @W0BOB: restart <api> (x@U0NOT)")
    text = blocks[0]["text"]["text"]
    assert "<@U0ANA>" in text and "<@W0BOB>" in text
    assert "&lt;api&gt;" in text and "x@U0NOT" in text  # only a person's own word becomes a mention


def test_forms_read_back_what_was_submitted():
    form = render.declare_view(services=["api", "web"], severity="SEV2", channel="C0X")
    assert form["callback_id"] == "incident.declare" and json.loads(form["private_metadata"]) == {"channel": "C0X"}
    state = {
        "values": {
            "title": {"title": {"type": "plain_text_input", "value": "Down"}},
            "severity": {"severity": {"type": "static_select", "selected_option": {"value": "SEV1"}}},
            "service": {"service": {"type": "static_select", "selected_option": None}},
            "description": {"description": {"type": "plain_text_input", "value": None}},
        }
    }
    assert render.view_values({"state": state}) == {"title": "Down", "severity": "SEV1"}


def test_counts_of_one_alert_read_in_the_singular():
    one = view(occurrences=1)
    for shown in (render.incident_list([one]), render.root_message(one), render.timeline_message(one, [], 1)):
        text = everything(shown)
        assert "1 alert" in text and "1 alerts" not in text and "alert(s)" not in text
    assert "4 alerts" in everything(render.incident_list([view()]))
