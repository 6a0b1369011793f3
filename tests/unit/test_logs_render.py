"""The `/logs` messages: a code block when short, a file with its first lines when long, always within
Slack's limits, every line with time, level and message, and what came from a log escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.catalog import UnknownService
from app.core.logs import Group, LogRecord, TopGroups, make_record
from app.core.logs_args import USAGE, LogsArgs, LogsUsageError
from app.core.observations import Deployment, RunningQuery, SlowQueries, StatementStats
from app.flows.logs import LogsFetchFailed, LogSource, LogsResult, LogsUnavailable, describe_args
from app.slack.render.common import MAX_BLOCKS, MAX_MESSAGE_TEXT, MAX_SECTION_TEXT
from app.slack.render.logs import (
    MAX_CODE_SECTIONS,
    PREVIEW_LINES,
    logs_delivery,
    logs_error,
    logs_usage,
    unknown_service,
)

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
DEPLOYMENT = Deployment(id="4e6a8c0d-5f7b-4d9c-9e3f-a4b5c6d7e8f9", status="SUCCESS", is_current=True,
                        commit_message="Fix <N+1> query & more")


def _result(records: list[LogRecord], text: str = "api", **kwargs: object) -> LogsResult:
    args = LogsArgs.parse(text)
    defaults: dict[str, object] = {
        "service": args.service,
        "asked": describe_args(args),
        "args": args,
        "source": LogSource("railway", "runtime", DEPLOYMENT),
        "fetched_at": NOW,
        "records": tuple(records),
        "scanned": len(records),
        "matched": len(records),
        "fetch_limit": 5000,
    }
    defaults.update(kwargs)
    return LogsResult(**defaults)  # type: ignore[arg-type]


def _lines(count: int, message: str = "GET /orders/{n} 200 12ms", level: str = "info") -> list[LogRecord]:
    return [
        make_record(message.format(n=n), timestamp=NOW - timedelta(seconds=count - n), level=level)
        for n in range(count)
    ]


def _section_texts(payload: dict[str, object]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]  # type: ignore[index, union-attr]


def _within_limits(payload: dict[str, object]) -> None:
    blocks = payload["blocks"]
    assert isinstance(blocks, list) and 0 < len(blocks) <= MAX_BLOCKS
    assert payload["text"] and len(payload["text"]) <= MAX_MESSAGE_TEXT  # type: ignore[arg-type]
    for text in _section_texts(payload):
        assert len(text) <= MAX_SECTION_TEXT
    for block in blocks:
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])


def test_a_short_result_is_one_code_block_with_time_level_and_message() -> None:
    records = [
        make_record("Starting api", timestamp=NOW, level="info"),
        make_record("Error: Redis connection timeout", timestamp=NOW + timedelta(seconds=5), level="error"),
    ]
    delivery = logs_delivery(_result(records))

    assert delivery.file is None
    _within_limits(delivery.message)
    title, code = _section_texts(delivery.message)
    assert "/logs api" in title and "Railway" in title and "4e6a8c0d (current, SUCCESS)" in title
    assert code == "```\n12:00:00 INFO  Starting api\n12:00:05 ERROR Error: Redis connection timeout\n```"
    assert "12:00:05 ERROR Error: Redis connection timeout" in delivery.message["text"]


def test_what_came_from_the_log_is_escaped_and_cannot_close_the_code_block() -> None:
    records = [make_record("<!channel> ```boom``` & <https://evil.example|click>", timestamp=NOW, level="warn")]
    delivery = logs_delivery(_result(records))

    code = _section_texts(delivery.message)[1]
    assert "<!channel>" not in code and "&lt;!channel&gt;" in code
    assert "&amp;" in code and "<https://evil" not in code
    assert code.count("```") == 2  # only the block's own fences
    assert "<!channel>" not in delivery.message["text"]
    context = next(b for b in delivery.message["blocks"] if b["type"] == "context")
    assert "“Fix &lt;N+1&gt; query &amp; more”" in " ".join(e["text"] for e in context["elements"])


def test_a_result_that_needs_a_few_blocks_stays_in_the_message() -> None:
    records = _lines(60, "GET /orders/{n} 200 12ms " + "x" * 100)
    delivery = logs_delivery(_result(records))

    assert delivery.file is None
    codes = _section_texts(delivery.message)[1:]
    assert 1 < len(codes) <= MAX_CODE_SECTIONS
    shown = [line for code in codes for line in code.split("\n") if not line.startswith("```")]
    assert len(shown) == 60  # every line, none cut between blocks
    _within_limits(delivery.message)


def test_a_long_result_is_a_file_and_the_message_keeps_the_first_lines() -> None:
    records = _lines(500)
    result = _result(records, "api --lines 500 --grep orders", matched=812, scanned=5000)
    delivery = logs_delivery(result)

    assert delivery.file is not None
    _within_limits(delivery.message)
    preview = _section_texts(delivery.message)[1]
    assert preview.startswith("```\n") and preview.count("\n") - 1 == PREVIEW_LINES
    assert "GET /orders/0 200 12ms" in preview and "GET /orders/20 " not in preview
    file = delivery.file
    assert file.filename == "logs-api-20251120-120000.txt"
    assert file.lines == 500
    body = file.content.splitlines()
    assert body[0] == "# /logs api --lines 500 --grep orders"
    lines = body[body.index("") + 1:]
    assert len(lines) == 500
    assert lines[0] == "2025-11-20 11:51:40 INFO  GET /orders/0 200 12ms"
    assert lines[-1].endswith("GET /orders/499 200 12ms")
    context_text = " ".join(e["text"] for b in delivery.message["blocks"] if b["type"] == "context"
                            for e in b["elements"])
    assert file.filename in context_text
    assert "the newest 500 of 812 matching lines (5,000 read)" in context_text
    assert "only the newest 5,000 lines were read" in context_text


@pytest.mark.parametrize("count", [5000])
def test_the_largest_widest_result_still_fits_slack(count: int) -> None:
    records = _lines(count, "<" * 3000 + " {n}", level="error")
    delivery = logs_delivery(_result(records, "api --lines 5000"))

    _within_limits(delivery.message)
    assert delivery.file is not None and delivery.file.lines == count


def test_top_groups_are_listed_largest_first_with_an_example() -> None:
    tally = TopGroups()
    for n in range(7):
        tally.add(make_record(f"Error: connect ECONNREFUSED 10.0.0.{n}:5432", timestamp=NOW, level="error"))
    for n in range(3):
        tally.add(make_record(f"GET /orders/{n} 200 {n}ms", timestamp=NOW, level="info"))
    result = _result([], "api --top", groups=tuple(tally.groups()), distinct_groups=tally.distinct, matched=10)
    delivery = logs_delivery(result)

    code = _section_texts(delivery.message)[1]
    lines = code.split("\n")[1:-1]
    assert lines[0] == "     7  ERROR  Error: connect ECONNREFUSED &lt;ip&gt;"
    assert lines[1].startswith("        last 12:00:00 · e.g. Error: connect ECONNREFUSED 10.0.0.")
    assert lines[2] == "     3  INFO   GET /orders/&lt;num&gt; &lt;num&gt; &lt;num&gt;ms"
    assert "2 of 2 kinds of line, in 10 matching lines" in str(delivery.message["blocks"][-1])


def test_slow_statements_and_running_queries_are_tables() -> None:
    statements = SlowQueries(
        source="pg_stat_statements",
        statements=(StatementStats("SELECT count(*)\n  FROM events", 2, 1500.0, 3000.0, 2),),
    )
    result = _result([], "db --slow", source=LogSource("postgres", "slow queries"), slow=statements, fetch_limit=0)
    code = _section_texts(logs_delivery(result).message)[1]
    assert code.split("\n")[1:-1] == [
        "   mean ms     total ms    calls  query",
        "    1500.0       3000.0        2  SELECT count(*) FROM events",
    ]

    running = SlowQueries(
        source="pg_stat_activity",
        running=(RunningQuery(4242, "app", None, 12.5, "Lock: transactionid", "UPDATE users SET x = 1"),),
    )
    result = _result([], "db --slow", source=LogSource("postgres", "slow queries"), slow=running, fetch_limit=0)
    code = _section_texts(logs_delivery(result).message)[1]
    assert "   4242     12.5s  Lock: transactionid      UPDATE users SET x = 1" in code


def test_nothing_found_says_how_much_was_read() -> None:
    result = _result([], "api --level error", scanned=312, matched=0)
    delivery = logs_delivery(result)
    assert delivery.file is None
    assert "None of the 312 lines read matched." in delivery.message["text"]
    empty = SlowQueries(source="pg_stat_activity")
    result = _result([], "db --slow", source=LogSource("postgres", "slow queries"), slow=empty)
    assert "pg_stat_statements" in logs_delivery(result).message["text"]


def test_usage_unknown_service_and_errors_are_plain_and_escaped() -> None:
    usage = logs_usage(LogsUsageError("`--lines <abc>` is not a whole number"))
    assert "&lt;abc&gt;" in usage["text"] and USAGE.splitlines()[0] in usage["text"]
    assert logs_usage(LogsUsageError())["text"].startswith("Usage: /logs")

    unknown = unknown_service(UnknownService("<nope>", ["api", "web"]))
    assert "`&lt;nope&gt;`" in unknown["text"] and "`api`, `web`" in unknown["text"]

    failed = logs_error("api", LogsFetchFailed("railway deployment logs", "HTTP 500: <oops>"))
    assert "railway deployment logs failed: HTTP 500: &lt;oops&gt;" in failed["text"]
    unavailable = logs_error("site", LogsUnavailable("site is checked over HTTP only"))
    assert "site is checked over HTTP only" in unavailable["text"]


def test_a_group_example_reads_as_itself_when_it_is_the_pattern() -> None:
    group = Group("Listening on port", 1, "Listening on port", NOW, NOW, "info")
    result = _result([], "api --top", groups=(group,), distinct_groups=1, matched=1)
    lines = _section_texts(logs_delivery(result).message)[1].split("\n")[1:-1]
    assert lines == ["     1  INFO   Listening on port", "        last 12:00:00"]


def test_counts_of_one_read_in_the_singular() -> None:
    one = json.dumps(logs_delivery(_result(_lines(1))).message)
    assert "1 line" in one and "1 lines" not in one
    matched = json.dumps(logs_delivery(_result(_lines(1), "api --grep orders", scanned=40)).message)
    assert "1 matching line (40 read)" in matched
    assert "2 lines" in json.dumps(logs_delivery(_result(_lines(2))).message)
