"""Reading `/logs <service> [options]`: every valid form, and a clear message for every mistake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.logs import LogFilter
from app.core.logs_args import USAGE, LogsArgs, LogsUsageError, parse_logs_args


def usage_error(text: str) -> LogsUsageError:
    with pytest.raises(LogsUsageError) as caught:
        parse_logs_args(text)
    return caught.value


def test_just_a_service_gets_the_defaults() -> None:
    assert parse_logs_args("api") == LogsArgs(service="api")
    assert LogsArgs.parse("  api  ").lines == 50


def test_every_option_at_once() -> None:
    args = parse_logs_args(
        'api --since 2h --lines 200 --level error --grep "db timeout" --request-id 7f3a-9c2e '
        "--deployment d9e8f7a6 --top"
    )
    assert args == LogsArgs(
        service="api", since=timedelta(hours=2), lines=200, level="error", grep="db timeout",
        request_id="7f3a-9c2e", deployment_id="d9e8f7a6", top=True, build=False, slow=False,
    )


def test_build_logs_of_one_deployment() -> None:
    assert parse_logs_args("api --build --deployment d9e8f7a6 --grep ERR") == LogsArgs(
        service="api", deployment_id="d9e8f7a6", grep="ERR", build=True
    )


def test_options_in_any_order_and_with_equals_signs() -> None:
    assert parse_logs_args("api --top --level=warn --since=15m") == LogsArgs(
        service="api", since=timedelta(minutes=15), level="warn", top=True
    )


@pytest.mark.parametrize(
    ("value", "since"),
    [("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)), ("2h", timedelta(hours=2)),
     ("1d", timedelta(days=1)), ("7d", timedelta(days=7)), ("1w", timedelta(days=7)),
     ("1h30m", timedelta(minutes=90)), ("90M", timedelta(minutes=90))],
)
def test_since_durations(value: str, since: timedelta) -> None:
    assert parse_logs_args(f"api --since {value}").since == since


@pytest.mark.parametrize(("value", "level"), [("warning", "warn"), ("WARN", "warn"), ("Error", "error"),
                                              ("debug", "debug"), ("info", "info"), ("fatal", "fatal")])
def test_levels(value: str, level: str) -> None:
    assert parse_logs_args(f"api --level {value}").level == level


@pytest.mark.parametrize("lines", ["1", "50", "5000"])
def test_line_counts_within_limits(lines: str) -> None:
    assert parse_logs_args(f"api --lines {lines}").lines == int(lines)


def test_grep_with_quotes_of_every_kind() -> None:
    assert parse_logs_args("api --grep 'two words'").grep == "two words"
    assert parse_logs_args("api --grep “curly quotes” --top").grep == "curly quotes"
    assert parse_logs_args('api --grep "say \\"hi\\""').grep == 'say "hi"'
    assert parse_logs_args("api --grep=--not-an-option").grep == "--not-an-option"
    assert parse_logs_args("api --grep -v").grep == "-v"


def test_slack_escapes_are_undone() -> None:
    assert parse_logs_args("api --grep &lt;html&gt;&amp;").grep == "<html>&"


def test_slow_for_postgres_services() -> None:
    assert parse_logs_args("db --slow --lines 10 --since 1h") == LogsArgs(
        service="db", since=timedelta(hours=1), lines=10, slow=True
    )


def test_log_filter_counts_since_back_from_now() -> None:
    now = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    args = parse_logs_args("api --since 30m --level warning --grep Timeout --request-id r1 --deployment d1")
    assert args.log_filter(now) == LogFilter(
        since=now - timedelta(minutes=30), level="warn", grep="Timeout", request_id="r1", deployment_id="d1"
    )
    assert parse_logs_args("api").log_filter(now) == LogFilter()


# --- help and mistakes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["help", "HELP", "--help", "-h", "api --help", "api --level error -h"])
def test_help_answers_with_the_usage(text: str) -> None:
    error = usage_error(text)
    assert error.message == ""
    assert str(error) == USAGE


def test_the_usage_names_every_option() -> None:
    for option in ("--since", "--lines", "--level", "--grep", "--request-id", "--deployment", "--top", "--build",
                   "--slow"):
        assert option in USAGE


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Which service"),
        ("   ", "Which service"),
        ("--level error api", "Name the service first"),
        ("api!", "not a service name"),
        ("api web", "Unexpected `web`"),
        ("api error", "--grep error"),
        ("api --sinse 1h", "Did you mean `--since`?"),
        ("api -since 1h", "Did you mean `--since`?"),
        ("api --colour", "not an option of `/logs`"),
        ("api --since", "`--since` needs a value"),
        ("api --since --top", "`--since` needs a value"),
        ("api --since=", "`--since` needs a value"),
        ("api --since soon", "not a duration"),
        ("api --since 30", "not a duration"),
        ("api --since -5m", "not a duration"),
        ("api --since 0m", "no time at all"),
        ("api --since 8d", "limit is 7 days"),
        ("api --since 169h", "limit is 7 days"),
        ("api --lines 0", "out of range"),
        ("api --lines 5001", "out of range"),
        ("api --lines -3", "not a whole number"),
        ("api --lines ten", "not a whole number"),
        ("api --lines ４", "not a whole number"),
        ("api --level loud", "not a level"),
        ("api --level", "`--level` needs a value"),
        ("api --grep", "`--grep` needs a value"),
        ("api --grep '   '", "needs some text"),
        ("api --grep " + "x" * 201, "keep it under 200"),
        ('api --grep "unclosed', "no closing quotation"),
        ("api --request-id 'a b'", "not an id"),
        ("api --deployment `rm`", "not an id"),
        ("api --top=yes", "takes no value"),
        ("api --top --top", "given twice"),
        ("api --level error --level warn", "given twice"),
        ("db --slow --grep x", "`--slow` lists slow queries"),
        ("db --slow --top", "not with `--top`"),
        ("api --build --request-id r1", "Build logs have no requests"),
    ],
)
def test_mistakes_say_what_was_wrong_and_what_is_expected(text: str, says: str) -> None:
    error = usage_error(text)
    assert says in error.message
    assert str(error).endswith(USAGE)


def test_echoed_values_are_shortened_and_cannot_break_the_markup() -> None:
    error = usage_error("api --since `" + "9" * 100 + "`")
    assert "`" + "9" * 100 not in error.message
    assert "…" in error.message
    assert error.message.count("`") % 2 == 0
