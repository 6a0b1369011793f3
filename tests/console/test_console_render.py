"""The console's rendering of Block Kit and mrkdwn: pure functions, no I/O."""

from __future__ import annotations

import itertools
from typing import Any

from app.console.render import (
    COLOR,
    DIVIDER,
    PLAIN,
    confirm_prompt,
    mrkdwn_to_text,
    render_blocks,
    render_message,
    text_object,
)
from app.sandbox.slack import SlackMessage, buttons
from app.slack.render.common import actions, button, confirm_dialog, context, divider, header, section


def counter() -> Any:
    numbers = itertools.count(1)
    return lambda block_id, element: next(numbers)


def lines_of(blocks: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    return render_blocks(blocks, button_number=counter(), **kwargs)


# --- mrkdwn ------------------------------------------------------------------------------------
def test_entities_are_unescaped_once_and_never_become_links_or_pings() -> None:
    assert mrkdwn_to_text("a &lt;b&gt; &amp; c") == "a <b> & c"
    assert mrkdwn_to_text("&lt;!channel&gt; &lt;https://evil|click&gt;") == "<!channel> <https://evil|click>"
    assert mrkdwn_to_text("&amp;lt;") == "&lt;"


def test_links_show_label_and_url() -> None:
    assert mrkdwn_to_text("see <https://x.example/a?b=1&amp;c=2|the logs>") == (
        "see the logs (https://x.example/a?b=1&c=2)"
    )
    assert mrkdwn_to_text("<https://x.example>") == "https://x.example"
    assert mrkdwn_to_text("<mailto:ops@x.example|ops@x.example>") == "ops@x.example (mailto:ops@x.example)"


def test_mentions_of_users_channels_and_groups() -> None:
    names = {"U0PITCREW": "pitcrew"}
    assert mrkdwn_to_text("<@U0PITCREW> ack", names=names) == "@pitcrew ack"
    assert mrkdwn_to_text("ping <@U0OPS1> in <#C0ALERTS|alerts>") == "ping @U0OPS1 in #alerts"
    assert mrkdwn_to_text("<!subteam^S0ONCALL> <!subteam^S1|@db-team> <!here>") == "@S0ONCALL @db-team @here"


def test_known_emoji_become_symbols_and_other_colons_stay() -> None:
    text = ":red_circle: down at 12:30:45 :no_such_emoji:"
    assert mrkdwn_to_text(text) == "🔴 down at 12:30:45 :no_such_emoji:"


def test_emphasis_loses_its_markers_in_plain_text_and_is_drawn_in_a_terminal() -> None:
    text = "*api* is _down_, ~was up~"
    assert mrkdwn_to_text(text) == "api is down, was up"
    assert mrkdwn_to_text(text, palette=COLOR) == (
        "\x1b[1mapi\x1b[22m is \x1b[3mdown\x1b[23m, \x1b[9mwas up\x1b[29m"
    )
    assert mrkdwn_to_text("*_both_*") == "both"
    assert mrkdwn_to_text("*<https://x.example/a_b_|INC-1>* opened") == "INC-1 (https://x.example/a_b_) opened"


def test_markers_inside_words_or_between_spaces_are_text() -> None:
    assert mrkdwn_to_text("2 * 3 * 4", palette=COLOR) == "2 * 3 * 4"
    assert mrkdwn_to_text("snake_case_name and a_b", palette=COLOR) == "snake_case_name and a_b"
    assert mrkdwn_to_text("~ 5 min ~ 10 min") == "~ 5 min ~ 10 min"


def test_escaped_markers_and_entities_stay_text() -> None:
    assert mrkdwn_to_text("a &amp;lt; b &lt;!channel&gt; &lt;https://x|y&gt;") == "a &lt; b <!channel> <https://x|y>"
    assert mrkdwn_to_text(">quoted\n&gt; not quoted") == "│ quoted\n> not quoted"


def test_code_loses_its_backticks_and_keeps_its_text_as_typed() -> None:
    assert mrkdwn_to_text("`*.log` and `:red_circle:`", palette=COLOR) == "*.log and :red_circle:"
    assert mrkdwn_to_text("```a &lt; b\n*c*```") == "a < b\n*c*"
    assert mrkdwn_to_text("run `pitcrew check`") == "run pitcrew check"


def test_text_objects() -> None:
    assert text_object({"type": "plain_text", "text": ":fire: hot", "emoji": True}) == "🔥 hot"
    assert text_object({"type": "plain_text", "text": ":fire:", "emoji": False}) == ":fire:"
    assert text_object({"type": "mrkdwn", "text": "a &amp; b"}) == "a & b"
    assert text_object(None) == ""


# --- blocks ------------------------------------------------------------------------------------
def test_header_section_context_divider() -> None:
    blocks = [
        header(":red_circle: api down"),
        context("1 down", "checked in 3 ms"),
        divider(),
        section(":red_circle: *api* (http): down\n• GET https://api.example/health: HTTP 503"),
    ]
    assert lines_of(blocks) == [
        "🔴 api down",
        "1 down · checked in 3 ms",
        DIVIDER,
        "🔴 api (http): down",
        "• GET https://api.example/health: HTTP 503",
    ]


def test_section_fields_each_on_a_line() -> None:
    block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*INC-42* Checkout fails"},
        "fields": [
            {"type": "mrkdwn", "text": "*Severity*\nSEV1"}, {"type": "mrkdwn", "text": "*State*\nopen"},
        ],
    }
    assert lines_of([block]) == ["INC-42 Checkout fails", "Severity SEV1", "State open"]


def test_buttons_are_numbered_in_reading_order_and_danger_is_marked() -> None:
    blocks = [
        section("restart?", accessory=button("runbook.run", "Run step", "r1")),
        actions(
            button("action.confirm", "Restart api", "p1", style="danger",
                   confirm=confirm_dialog("Sure?", "x")),
            button("action.cancel", "Cancel", "p1"),
        ),
    ]
    seen: list[str] = []

    def number(block_id: str, element: dict[str, Any]) -> int:
        seen.append(element["action_id"])
        return len(seen) + 10

    assert render_blocks(blocks, button_number=number) == [
        "restart?",
        "[11] Run step",
        "[12] Restart api (danger)  [13] Cancel",
    ]
    message = SlackMessage(channel="C1", ts="1.1", text="", blocks=blocks)
    assert seen == [element["action_id"] for _, element in buttons(message)]


def test_elements_the_console_cannot_use_say_so() -> None:
    block = {"type": "actions", "elements": [
        {"type": "static_select", "action_id": "pick",
         "placeholder": {"type": "plain_text", "text": "Pick one"}},
    ]}
    assert lines_of([block]) == ["(static_select “Pick one”: not available in the console)"]
    assert lines_of([{"type": "video"}]) == ["(video block: not shown in the console)"]


def test_file_block_shows_the_start_of_the_file() -> None:
    content = "\n".join(f"line {n}" for n in range(1, 26)).encode()
    lines = lines_of([{"type": "file", "file_id": "F1", "title": "api.log"}], files={"F1": content})
    assert lines[0] == "[file: api.log, 25 lines]"
    assert lines[1:3] == ["  line 1", "  line 2"]
    assert lines[-1] == "  … 5 more lines"
    assert lines_of([{"type": "file", "file_id": "F2", "title": "x.log"}]) == ["[file: x.log]"]


def test_rich_text() -> None:
    block = {"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [
            {"type": "text", "text": "see "}, {"type": "link", "url": "https://x.example", "text": "docs"},
            {"type": "text", "text": " "}, {"type": "emoji", "name": "fire"},
            {"type": "user", "user_id": "U1"},
        ]},
        {"type": "rich_text_list", "style": "ordered", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
        ]},
    ]}
    assert lines_of([block]) == ["see docs (https://x.example) 🔥@U1", "1. one"]


# --- whole messages ----------------------------------------------------------------------------
def test_message_number_tags_and_aligned_lines() -> None:
    message = SlackMessage(channel="C1", ts="1.1", text="", blocks=[header("Title"), section("body")])
    assert render_message(message, number=7, button_number=counter(), tags=["(only you)"]) == (
        "#7 (only you) Title\n   body"
    )


def test_thread_reply_is_indented_behind_the_marker() -> None:
    message = SlackMessage(channel="C1", ts="1.2", text="a\nb", thread_ts="1.1")
    text = render_message(message, number=12, button_number=counter(), tags=["(thread #3)"], in_thread=True)
    assert text == "  ↳ #12 (thread #3) a\n        b"


def test_text_only_messages_and_authors() -> None:
    message = SlackMessage(channel="C1", ts="1.1", text="<@U0PITCREW> health api")
    names = {"U0PITCREW": "pitcrew"}
    text = render_message(message, number=1, button_number=counter(), author="U0ME", names=names)
    assert text == "#1 U0ME: @pitcrew health api"
    empty = SlackMessage(channel="C1", ts="1.3", text="")
    assert render_message(empty, number=2, button_number=counter()) == "#2 (empty message)"


def test_no_colour_codes_in_plain_output_and_some_in_colour() -> None:
    message = SlackMessage(channel="C1", ts="1.1", text="", blocks=[
        header("api down"), actions(button("action.confirm", "Restart", "p", style="danger")),
    ])
    assert "\x1b[" not in render_message(message, number=1, button_number=counter(), palette=PLAIN)
    coloured = render_message(message, number=1, button_number=counter(), palette=COLOR)
    assert "\x1b[31m[1] Restart (danger)\x1b[39m" in coloured
    assert coloured.splitlines()[1].startswith("   ")  # aligned as the colour codes were not there


def test_confirm_prompt() -> None:
    dialog = confirm_dialog("Restart api?", "This restarts *api* &amp; drops its connections.")
    assert confirm_prompt(dialog) == "Restart api? — This restarts api & drops its connections. [y/N] "
    assert confirm_prompt({}) == "Are you sure? [y/N] "
