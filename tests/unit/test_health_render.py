"""The `/health` card and the Block Kit helpers: what people read, escaped, and within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.core.health import CheckResult, HealthReport, ServiceHealth, Verdict
from app.core.health_args import HealthUsage, HealthUsageError, parse_health_args
from app.slack.render import common
from app.slack.render.health import health_card, health_usage

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def assert_within_slack_limits(message: dict[str, Any]) -> None:
    """Every limit Slack enforces on the parts our renderers produce."""
    assert isinstance(message["text"], str) and message["text"].strip()
    assert len(message["text"]) <= common.MAX_MESSAGE_TEXT
    blocks = message["blocks"]
    assert len(blocks) <= 50
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        kind = block["type"]
        if kind == "section":
            assert len(block["text"]["text"]) <= 3000
        elif kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        elif kind == "actions":
            ids = [e["action_id"] for e in block["elements"]]
            assert len(ids) == len(set(ids)), "action_ids must be unique within a block"
        elements = block.get("elements", []) + ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
                assert len(element["action_id"]) <= 255


def check(name: str, verdict: Verdict, *evidence: str) -> CheckResult:
    return CheckResult(name, verdict, evidence, 10.0)


def service(name: str, verdict: Verdict, *evidence: str, provider: str = "http") -> ServiceHealth:
    checks = [check(f"GET https://{name}.example.com/health", verdict, *evidence)]
    return ServiceHealth.of(name, provider, checks)


def report(*services: ServiceHealth, elapsed_ms: float = 412.0) -> HealthReport:
    return HealthReport(tuple(services), NOW, elapsed_ms)


def block_texts(message: dict[str, Any]) -> str:
    parts = []
    for block in message["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str))
    return "\n".join(parts)


MIXED = report(
    service("web", Verdict.OK, "HTTP 200", "45 ms", provider="vercel"),
    ServiceHealth.of(
        "api",
        "railway",
        [
            check("railway deployment", Verdict.DOWN, "latest deployment d1a2b3c4 CRASHED"),
            check("GET https://api.example.com/health", Verdict.DOWN, "HTTP 503, expected 200", "31 ms"),
        ],
    ),
    service("db", Verdict.DEGRADED, "connections 90/100 (90%), over 80%", provider="postgres"),
    service("docs", Verdict.OK, "HTTP 200", "12 ms"),
)


# ---- the card ------------------------------------------------------------------------------------


def test_header_shows_the_overall_verdict_emoji_and_counts():
    card = health_card(MIXED)
    assert card["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text", "emoji": True, "text": ":red_circle: 1 down, 1 degraded of 4 services"
        },
    }


@pytest.mark.parametrize(
    ("verdict", "emoji", "headline"),
    [
        (Verdict.OK, ":large_green_circle:", "All 2 services ok"),
        (Verdict.DEGRADED, ":large_yellow_circle:", "1 degraded of 2 services"),
        (Verdict.DOWN, ":red_circle:", "1 down of 2 services"),
    ],
)
def test_header_emoji_per_overall_verdict(verdict: Verdict, emoji: str, headline: str):
    card = health_card(report(service("a", Verdict.OK), service("b", verdict)))
    assert card["blocks"][0]["text"]["text"] == f"{emoji} {headline}"


def test_a_single_service_is_named_in_the_header():
    card = health_card(report(service("api", Verdict.DOWN, "HTTP 503, expected 200")))
    assert card["blocks"][0]["text"]["text"] == ":red_circle: api down"


def test_summary_counts_verdicts_and_time():
    card = health_card(MIXED)
    assert card["blocks"][1]["elements"][0]["text"] == "2 ok, 1 degraded, 1 down · checked in 412 ms"


def test_summary_in_seconds_past_one_second():
    card = health_card(report(service("a", Verdict.OK), elapsed_ms=5230))
    assert "checked in 5.2 s" in card["blocks"][1]["elements"][0]["text"]


def test_a_section_per_service_worst_first_with_verdict_and_evidence():
    sections = [b for b in health_card(MIXED)["blocks"] if b["type"] == "section"]
    assert [s["block_id"] for s in sections] == ["health.api", "health.db", "health.web", "health.docs"]
    api = sections[0]["text"]["text"]
    assert api.startswith(":red_circle: *api* (railway): down")
    assert "• railway deployment: latest deployment d1a2b3c4 CRASHED" in api
    assert "• GET https://api.example.com/health: HTTP 503, expected 200 · 31 ms" in api
    assert sections[1]["text"]["text"].startswith(":large_yellow_circle: *db* (postgres): degraded")
    assert "connections 90/100 (90%), over 80%" in sections[1]["text"]["text"]
    assert sections[2]["text"]["text"].startswith(":large_green_circle: *web* (vercel): ok")


def test_text_says_what_the_blocks_say():
    text = health_card(MIXED)["text"]
    assert text.startswith(
        "Health: 1 down, 1 degraded of 4 services. 2 ok, 1 degraded, 1 down · checked in 412 ms."
    )
    assert "api (railway) down: railway deployment: latest deployment d1a2b3c4 CRASHED" in text
    assert "HTTP 503, expected 200" in text
    assert "db (postgres) degraded: " in text
    assert "ok: web, docs" in text
    assert ":red_circle:" not in text  # words for screen readers, not emoji codes


def test_all_ok_text_is_short():
    text = health_card(report(service("a", Verdict.OK), service("b", Verdict.OK)))["text"]
    assert text == "Health: All 2 services ok. 2 ok · checked in 412 ms."


def test_provider_and_user_text_is_escaped_in_blocks_and_text():
    nasty = service("api", Verdict.DOWN, 'status: expected "ok", got "<!channel> & <https://evil|click>"')
    card = health_card(report(nasty))
    shown = block_texts(card)
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in shown
    assert "<!channel>" not in card["text"]
    assert "&lt;!channel&gt;" in card["text"]


def test_a_failed_call_that_names_itself_is_not_named_twice():
    url = "GET https://api.example.com/health"
    failed = ServiceHealth.of(
        "api", "http", [CheckResult(url, Verdict.DOWN, (f"{url} failed: connection refused",))]
    )
    card = health_card(report(failed))
    assert f"• {url} failed: connection refused" in block_texts(card)
    assert f"{url}: {url}" not in block_texts(card)
    assert f"api (http) down: {url} failed: connection refused" in card["text"]


def test_check_names_are_escaped():
    weird = ServiceHealth.of("api", "http", [check("GET https://x/<b>", Verdict.OK, "HTTP 200")])
    assert "GET https://x/&lt;b&gt;" in block_texts(health_card(report(weird)))


def test_within_limits_for_a_usual_report():
    assert_within_slack_limits(health_card(MIXED))


def test_no_services_says_so():
    card = health_card(report())
    assert_within_slack_limits(card)
    assert "No services are listed in pitcrew.yml." in block_texts(card)
    assert card["blocks"][0]["text"]["text"] == ":large_green_circle: No services to check"


def test_many_services_are_grouped_within_50_blocks_and_none_is_lost():
    many = report(
        *(service(f"svc-{i:03d}", Verdict.DOWN if i % 7 == 0 else Verdict.OK, "HTTP 200") for i in range(120))
    )
    card = health_card(many)
    assert_within_slack_limits(card)
    shown = block_texts(card)
    assert all(f"*svc-{i:03d}*" in shown for i in range(120))
    assert shown.index("*svc-007*") < shown.index("*svc-001*")  # down ones first


def test_a_service_with_huge_evidence_is_cut_to_the_section_limit():
    huge = ServiceHealth.of("api", "http", [check(f"check {i}", Verdict.DOWN, "x" * 500) for i in range(20)])
    card = health_card(report(huge))
    assert_within_slack_limits(card)
    section = next(b for b in card["blocks"] if b["type"] == "section")
    assert section["text"]["text"].endswith("…")


def test_more_services_than_fit_even_grouped_are_counted_in_a_note():
    evidence = "y" * 1400
    crowd = report(
        *(service(f"s{i}", Verdict.DOWN if i == 199 else Verdict.OK, evidence) for i in range(200))
    )
    card = health_card(crowd)
    assert_within_slack_limits(card)
    note = card["blocks"][-1]
    assert note["type"] == "context"
    assert "more services not shown" in note["elements"][0]["text"]
    assert "*s199*" in block_texts(card)  # the one down is shown, whatever is cut


def test_actions_for_places_blocks_under_the_failing_service():
    def restart(health: ServiceHealth) -> list[dict[str, Any]]:
        if health.verdict is not Verdict.DOWN:
            return []
        button = common.button("action.confirm", f"Restart {health.service}", health.service, style="danger")
        return [common.actions(button, block_id=f"restart.{health.service}")]

    card = health_card(MIXED, actions_for=restart)
    assert_within_slack_limits(card)
    kinds = [(b["type"], b.get("block_id")) for b in card["blocks"]]
    assert kinds.index(("actions", "restart.api")) == kinds.index(("section", "health.api")) + 1


def test_actions_for_still_keeps_within_50_blocks_with_many_failing_services():
    def two_blocks(health: ServiceHealth) -> list[dict[str, Any]]:
        value = health.service
        return [
            common.actions(common.button("action.confirm", "Restart", value), block_id=f"r.{value}"),
            common.actions(common.button("action.confirm", "Roll back", value), block_id=f"b.{value}"),
        ]

    many = report(*(service(f"svc-{i}", Verdict.DOWN, "HTTP 503, expected 200") for i in range(40)))
    card = health_card(many, actions_for=two_blocks)
    assert_within_slack_limits(card)
    assert all(f"*svc-{i}*" in block_texts(card) for i in range(40))


# ---- the usage -----------------------------------------------------------------------------------


def usage_for(text: str, known: tuple[str, ...] = ("api", "web")) -> HealthUsage:
    with pytest.raises(HealthUsage) as caught:
        parse_health_args(text, known)
    return caught.value


def test_usage_for_an_unknown_service_names_it_and_the_known_ones():
    message = health_usage(usage_for("nosuchservice"))
    assert_within_slack_limits(message)
    shown = block_texts(message)
    assert "Unknown service: `nosuchservice`" in shown
    assert "/health [service ...]" in shown
    assert "Known services: api, web" in shown
    assert "nosuchservice" in message["text"] and "api, web" in message["text"]


def test_usage_for_help_has_no_unknown_line():
    message = health_usage(usage_for("help"))
    assert "Unknown" not in message["text"]
    assert "/health [service ...]" in message["text"]


def test_usage_escapes_what_the_user_typed():
    err = HealthUsageError(["<!here>"], ["api"])
    message = health_usage(err)
    assert "<!here>" not in block_texts(message) and "<!here>" not in message["text"]
    assert "&lt;!here&gt;" in message["text"]


# ---- common helpers ------------------------------------------------------------------------------


def test_escape_turns_slack_control_characters_into_entities():
    assert common.escape("a & b <!channel> > c") == "a &amp; b &lt;!channel&gt; &gt; c"
    assert common.escape("&amp;") == "&amp;amp;"  # text, not markup: escaped again


def test_truncate_leaves_short_text_alone():
    assert common.truncate("hello", 5) == "hello"


def test_truncate_cuts_with_an_ellipsis_within_the_limit():
    cut = common.truncate("abcdefghij", 5)
    assert cut == "abcd…" and len(cut) == 5


def test_truncate_never_cuts_inside_an_entity():
    text = common.escape("abc<def")  # abc&lt;def
    cut = common.truncate(text, 6)
    assert cut == "abc…"


def test_section_text_is_cut_to_3000():
    block = common.section("x" * 5000)
    assert len(block["text"]["text"]) == 3000


def test_header_is_cut_to_150():
    assert len(common.header("h" * 400)["text"]["text"]) == 150


def test_context_keeps_at_most_ten_elements():
    assert len(common.context(*[str(i) for i in range(15)])["elements"]) == 10


def test_button_text_is_cut_but_a_long_value_is_refused():
    element = common.button("runbook.run", "t" * 100, "v")
    assert len(element["text"]["text"]) == 75
    with pytest.raises(ValueError, match="button value"):
        common.button("runbook.run", "Run", "v" * 2001)
    with pytest.raises(ValueError, match="action_id"):
        common.button("", "Run", "v")


def test_button_with_style_and_confirm():
    dialog = common.confirm_dialog("Restart api?", "This restarts every instance.", confirm="Restart")
    element = common.button("action.confirm", "Restart", "42", style="danger", confirm=dialog)
    assert element["style"] == "danger"
    assert element["confirm"]["confirm"]["text"] == "Restart"
    assert element["confirm"]["deny"]["text"] == "Cancel"


def test_message_caps_blocks_at_50_with_a_note():
    message = common.message("many", [common.divider() for _ in range(80)])
    assert len(message["blocks"]) == 50
    assert "31 more blocks not shown" in message["blocks"][-1]["elements"][0]["text"]
    assert message["text"] == "many"
