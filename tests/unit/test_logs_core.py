"""The pure core of /logs: records and levels, filtering, masking as a stream, grouping, one-line format."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core.logs import (
    OTHER_PATTERN,
    LogFilter,
    LogRecord,
    TopGroups,
    detect_level,
    fold_message,
    format_line,
    make_record,
    mask_record,
    normalise_level,
    parse_timestamp,
    process,
)
from app.core.masking import Masker

T0 = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36"


def rec(message: str, *, seconds: int = 0, level: str | None = None, **attributes: str) -> LogRecord:
    return LogRecord(T0 + timedelta(seconds=seconds), level, message, dict(attributes))


# --- levels -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "level"),
    [("ERROR", "error"), ("err", "error"), ("Warning", "warn"), ("WARN", "warn"), ("CRITICAL", "fatal"),
     ("panic", "fatal"), ("notice", "info"), ("DEBUG", "debug"), ("verbose", "trace"), ("50", "error"),
     (30, "info"), (" info ", "info"), ("loud", None), (None, None), ("", None), (True, None)],
)
def test_normalise_level(word: object, level: str | None) -> None:
    assert normalise_level(word) == level


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("ERROR Failed to send email", "error"),
        ("2025-03-04 10:00:00 WARN pool almost full", "warn"),
        ("[error] upstream timed out", "error"),
        ("[Info] started", "info"),
        ("level=warn msg=slow", "warn"),
        ('{"level":"error","msg":"boom"}', "error"),
        ('{"msg":"Error: looks bad","level":"info"}', "info"),  # the logger's own field wins
        ('{"level":50,"msg":"pino error"}', "error"),
        ("severity: CRITICAL disk full", "fatal"),
        ("Error: connect ECONNREFUSED 10.0.0.5:5432", "error"),
        ("TypeError: Cannot read properties of undefined (reading 'id')", "error"),
        ("PrismaClientKnownRequestError: Unique constraint failed", "error"),
        ("Traceback (most recent call last):", "error"),
        ("(node:1) DeprecationWarning: Buffer() is deprecated", "warn"),
        ("info: Server listening on 8080", "info"),
        ("npm ERR! code ELIFECYCLE", "error"),
        ("FATAL:  password authentication failed for user", "fatal"),
        ("LOG:  checkpoint starting: time", "info"),
        ("panic: runtime error: index out of range", "fatal"),
        ("no error was found", None),
        ("GET /api/errors 200 12ms", None),
        ("GET /api/ERROR 200", None),
        ("server started", None),
    ],
)
def test_detect_level(message: str, level: str | None) -> None:
    assert detect_level(message) == level


def test_record_takes_its_level_from_the_provider_then_attributes_then_text() -> None:
    assert LogRecord(None, "ERR", "all fine").level == "error"
    assert LogRecord(None, None, "all fine", {"level": "warning"}).level == "warn"
    assert LogRecord(None, None, "ERROR boom", {"level": "nonsense"}).level == "error"
    assert LogRecord(None, None, "all fine").level is None


def test_record_timestamps_are_always_aware() -> None:
    naive = LogRecord(datetime(2025, 3, 4, 10, 0), None, "x")
    assert naive.timestamp == T0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-04T10:00:00.123456789Z", T0.replace(microsecond=123456)),
        ("2025-03-04T12:00:00+02:00", T0),
        ("2025-03-04 10:00:00", T0),
        (1741082400, T0),
        (1741082400000, T0),
        (1741082400000000, T0),
        (1741082400000000000, T0),
        ("1741082400", T0),
        (T0.replace(tzinfo=None), T0),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_timestamp(value: object, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


def test_make_record_from_railway_shaped_values() -> None:
    record = make_record(
        "request done",
        timestamp="2025-03-04T10:00:00.5Z",
        level=None,
        attributes=[("level", "error"), ("requestId", "r-1"), ("status", 500), ("empty", None)],
    )
    assert record.timestamp == T0.replace(microsecond=500000)
    assert record.level == "error"
    assert record.attributes == {"level": "error", "requestId": "r-1", "status": "500", "empty": ""}


# --- filtering ------------------------------------------------------------------------------------------


def test_an_empty_filter_lets_everything_through() -> None:
    assert LogFilter().matches(LogRecord(None, None, ""))


def test_time_bounds_are_inclusive_and_undated_lines_pass() -> None:
    filt = LogFilter(since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=20))
    assert not filt.matches(rec("x", seconds=9))
    assert filt.matches(rec("x", seconds=10))
    assert filt.matches(rec("x", seconds=20))
    assert not filt.matches(rec("x", seconds=21))
    assert filt.matches(LogRecord(None, None, "undated"))


def test_time_bounds_compare_across_time_zones() -> None:
    paris = timezone(timedelta(hours=1))
    filt = LogFilter(since=datetime(2025, 3, 4, 11, 0, 5, tzinfo=paris))  # 10:00:05 UTC
    assert not filt.matches(rec("x", seconds=4))
    assert filt.matches(rec("x", seconds=5))
    assert LogFilter(since=datetime(2025, 3, 4, 10, 0, 5)).matches(rec("x", seconds=5))  # naive = UTC


def test_level_is_at_or_above_and_unknown_counts_as_info() -> None:
    warn = LogFilter(level="warning")
    assert warn.level == "warn"
    assert [warn.matches(rec("x", level=lvl)) for lvl in ("debug", "info", "warn", "error", "fatal")] == [
        False, False, True, True, True,
    ]
    assert not warn.matches(rec("plain line"))
    assert LogFilter(level="info").matches(rec("plain line"))
    assert LogFilter(level="debug").matches(rec("plain line"))


def test_an_unknown_filter_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        LogFilter(level="loud")


def test_grep_is_a_case_insensitive_substring_of_message_or_attributes() -> None:
    filt = LogFilter(grep="DB Timeout")
    assert filt.matches(rec("query failed: db timeout after 3s"))
    assert filt.matches(rec("query failed", reason="DB TIMEOUT"))
    assert not filt.matches(rec("db time out"))


def test_request_id_in_attributes_or_in_the_message() -> None:
    filt = LogFilter(request_id="7F3A9C2E")
    assert filt.matches(rec("done", requestId="7f3a9c2e-1111"))
    assert filt.matches(rec("[req 7f3a9c2e] GET /"))
    assert not filt.matches(rec("[req 8f3a9c2e] GET /", requestId="other"))


def test_deployment_id_matches_deployment_attributes_by_prefix() -> None:
    filt = LogFilter(deployment_id="d9e8f7")
    assert filt.matches(rec("x", deploymentId="d9e8f7a6-0000"))
    assert filt.matches(rec("x", deployment_id="D9E8F7A6"))
    assert not filt.matches(rec("x", deploymentId="a9e8f7a6"))
    assert not filt.matches(rec("d9e8f7 in the text only"))


def test_empty_text_criteria_are_no_criteria() -> None:
    filt = LogFilter(grep="", request_id="")
    assert not filt.has_text
    assert filt.matches(rec("anything"))


# --- masking records --------------------------------------------------------------------------------------


def test_mask_record_masks_message_and_attributes() -> None:
    masker = Masker(["knownsecret1"])
    record = rec(
        "login with password=hunter2",
        requestId="r-1",
        authorization=f"Bearer {JWT}",
        apiKey="short",
        url="postgresql://u:pw123@h/db",
        note="uses knownsecret1",
        empty_token="",
    )
    masked = mask_record(record, masker)
    assert masked.message == "login with password=***"
    assert masked.attributes == {
        "requestId": "r-1",
        "authorization": "***",
        "apiKey": "***",
        "url": "postgresql://u:***@h/db",
        "note": "uses ***",
        "empty_token": "",
    }
    assert masked.timestamp == record.timestamp and masked.level == record.level
    assert record.message == "login with password=hunter2"  # the original is not changed


def test_mask_record_returns_the_same_record_when_there_is_nothing_to_mask() -> None:
    record = rec("GET /health 200", requestId="5f2c9a1e-7b3d-4c1a-9e8f-0a1b2c3d4e5f")
    assert mask_record(record, Masker()) is record


def test_mask_record_strips_colour_codes_so_they_cannot_split_a_secret() -> None:
    record = rec("token \x1b[1msk_live_\x1b[0m51HqLm2Qw8ZxVb4Nc6Hp1Jd5 \x1b[31mred\x1b[0m")
    masked = mask_record(record, Masker())
    assert masked.message == "token *** red"


# --- process ------------------------------------------------------------------------------------------


def lines(count: int, *, every_error: int = 0) -> list[LogRecord]:
    return [
        rec(f"line {i} password=p{i}", seconds=i, level="error" if every_error and i % every_error == 0 else "info")
        for i in range(count)
    ]


def test_process_keeps_the_last_matches_in_order_masked() -> None:
    out = list(process(lines(10, every_error=2), LogFilter(level="error"), Masker(), 3))
    assert [r.message for r in out] == ["line 4 password=***", "line 6 password=***", "line 8 password=***"]


def test_process_keep_first_stops_after_the_limit() -> None:
    consumed: list[int] = []

    def source() -> Iterator[LogRecord]:
        for record in lines(1000):
            consumed.append(1)
            yield record

    out = list(process(source(), LogFilter(), Masker(), 5, keep="first"))
    assert [r.message for r in out] == [f"line {i} password=***" for i in range(5)]
    assert len(consumed) == 5


def test_process_without_limit_returns_every_match() -> None:
    out = list(process(lines(50, every_error=5), LogFilter(level="error"), Masker(), None))
    assert len(out) == 10
    assert all("password=***" in r.message for r in out)


def test_process_with_a_zero_limit_returns_nothing() -> None:
    assert list(process(lines(5), LogFilter(), Masker(), 0)) == []


def test_process_refuses_an_unknown_keep() -> None:
    with pytest.raises(ValueError, match="keep must be"):
        list(process(lines(5), LogFilter(), Masker(), 3, keep="middle"))  # type: ignore[arg-type]


def test_grep_sees_the_masked_text_so_it_cannot_probe_for_a_secret() -> None:
    records = [rec("charging with sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5"), rec("stripe ok")]
    masker = Masker()
    assert list(process(records, LogFilter(grep="sk_live_51HqLm"), masker, 10)) == []
    assert [r.message for r in process(records, LogFilter(grep="charging"), masker, 10)] == ["charging with ***"]


def test_request_id_filter_with_masking() -> None:
    records = [rec("GET /a", requestId="abc-1"), rec("GET /b", requestId="abc-2"), rec("[abc-1] done")]
    out = list(process(records, LogFilter(request_id="abc-1"), Masker(), 10))
    assert [r.message for r in out] == ["GET /a", "[abc-1] done"]


def test_process_memory_does_not_grow_with_the_number_of_lines() -> None:
    """Bounded by the limit, not by the input: 200 times more lines, the same peak (within noise)."""

    def stream(count: int) -> Iterator[LogRecord]:
        for i in range(count):
            yield LogRecord(None, "error", f"request {i} failed with token=t{i}", {})

    def peak(count: int) -> int:
        tracemalloc.start()
        try:
            for _ in process(stream(count), LogFilter(level="error"), Masker(), 20):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(500), peak(100_000)
    assert large < small * 2 + 64_000


# --- folding ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "pattern"),
    [
        ("GET /api/v1/users/48213/orders?page=3 200 in 15ms",
         "GET /api/v<num>/users/<num>/orders?page=<num> <num> in <num>ms"),
        ("request 5f2c9a1e-7b3d-4c1a-9e8f-0a1b2c3d4e5f done", "request <uuid> done"),
        ("at 2025-03-04T10:00:00.123Z and 10:11:12 and 2025-03-04", "at <ts> and <ts> and <ts>"),
        ("mail to alice.b+x@example.co.uk failed", "mail to <email> failed"),
        ("connect ECONNREFUSED 10.0.3.17:5432", "connect ECONNREFUSED <ip>"),
        ("commit a1b2c3d4e5f6 and 0xDEADBEEF", "commit <hex> and <hex>"),
        ("job req_8f3kd93x on x86_64", "job <id> on <id>"),
        ("took 1500ms then 15ms", "took <num>ms then <num>ms"),
        ("relation \"users_2024\" does not exist", "relation \"<str>\" does not exist"),
        ("can't find module './util' here", "can't find module '<str>' here"),
        ('{"level":"error","msg":"timeout after 3000ms","userId":42,"name":"bob"}',
         '{"level":"error","msg":"timeout after <num>ms","userId":<num>,"name":"bob"}'),
        ('{"user":"bob","ip":"10.0.0.1"}', '{"user":"<str>","ip":"<str>"}'),
        ("token=*** accepted", "token=*** accepted"),
        ("Health check OK", "Health check OK"),
    ],
)
def test_fold_message(message: str, pattern: str) -> None:
    assert fold_message(message) == pattern


def test_lines_that_differ_only_by_variables_fold_together() -> None:
    a = fold_message("User 17 (bob@x.io) paid 12.50 EUR in 230ms, order 9f8e7d6c5b4a3210")
    b = fold_message("User 4521 (eve@y.org) paid 7 EUR in 9ms, order 0011223344556677aa")
    assert a == b


def test_lines_that_differ_by_a_word_do_not() -> None:
    assert fold_message("cache add 42") != fold_message("cache bad 42")


# --- top groups ---------------------------------------------------------------------------------------------


def test_top_groups_count_largest_first_with_stable_ties() -> None:
    top = TopGroups()
    messages = ["b 1", "a 1", "c 1", "a 2", "b 2", "a 3", "d 1"]
    for i, message in enumerate(messages):
        top.add(rec(message, seconds=i, level="info"))
    groups = top.groups()
    assert [(g.pattern, g.count) for g in groups] == [("a <num>", 3), ("b <num>", 2), ("c <num>", 1), ("d <num>", 1)]
    assert top.total == 7
    assert top.distinct == 4
    assert [g.pattern for g in top.groups(2)] == ["a <num>", "b <num>"]


def test_a_group_keeps_its_first_example_time_span_and_worst_level() -> None:
    top = TopGroups()
    top.add(rec("timeout after 30ms", seconds=50, level="warn"))
    top.add(rec("timeout after 999ms", seconds=10, level="error"))
    top.add(rec("timeout after 5ms", seconds=70, level="info"))
    top.add(LogRecord(None, None, "timeout after 7ms"))
    (group,) = top.groups()
    assert group.count == 4
    assert group.example == "timeout after 30ms"
    assert group.first_seen == T0 + timedelta(seconds=10)
    assert group.last_seen == T0 + timedelta(seconds=70)
    assert group.level == "error"


def test_grouping_uses_the_first_line_of_a_multi_line_message() -> None:
    top = TopGroups()
    top.add(rec("Error: boom\n    at a (/app/a.js:1:2)"))
    top.add(rec("Error: boom\n    at b (/app/b.js:3:4)"))
    (group,) = top.groups()
    assert (group.pattern, group.count) == ("Error: boom", 2)
    assert group.example.startswith("Error: boom\n    at a")


def test_shape_shortcut_never_merges_lines_that_differ_outside_their_variables() -> None:
    """`cache add`, `cache fee` and `cache 123` have one shape (hex characters all look alike); they
    are three groups, while many request ids of one shape are one."""
    top = TopGroups()
    for i in range(50):
        top.add(rec(f"cache add {i:04d}"))
        top.add(rec(f"cache fee {i:04d}"))
        top.add(rec(f"cache {i % 10}{i % 7}{i % 3} {i:04d}"))
        top.add(rec(f"req 5f2c9a1e-7b3d-4c1a-9e8f-{i:012x} ok"))
    top.add(rec("cache bad 0001"))
    assert {g.pattern: g.count for g in top.groups(None)} == {
        "cache add <num>": 50,
        "cache fee <num>": 50,
        "cache <num> <num>": 50,
        "req <uuid> ok": 50,
        "cache bad <num>": 1,
    }


def test_grouping_agrees_with_fold_message_on_many_lines() -> None:
    """The shape cache is only a shortcut: on lines mixing hex-letter words, numbers, ids and quoted
    words, the groups are exactly those of `fold_message`."""
    rng = random.Random(5)
    words = ["add", "bad", "fee", "cafe", "dead", "beef", "user", "order", "Error:", "timeout", "a", "b"]

    def hex_id() -> str:  # letters and digits both, as real ids have
        while True:
            value = f"{rng.getrandbits(40):010x}"
            if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                return value

    messages = []
    for _ in range(4000):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 3))]
        parts.insert(rng.randint(0, len(parts)), rng.choice([
            str(rng.randint(0, 10 ** rng.randint(1, 4))), hex_id(), f"{rng.randint(1, 999)}ms",
            f"'{rng.choice(words)}'", f"{rng.randint(1, 9)}{rng.choice('abcdef')}", rng.choice(words),
        ]))
        messages.append(" ".join(parts))
    top = TopGroups()
    for message in messages:
        top.add(LogRecord(None, "info", message))
    expected: dict[str, int] = {}
    for message in messages:
        expected[fold_message(message)] = expected.get(fold_message(message), 0) + 1
    assert {g.pattern: g.count for g in top.groups(None)} == expected


def test_patterns_past_the_cap_go_to_the_other_group_listed_last() -> None:
    top = TopGroups(max_patterns=3)
    for word in ["alpha", "beta", "gamma", "delta", "epsilon", "alpha", "zeta"]:
        top.add(rec(f"{word} happened"))
    groups = top.groups()
    assert [(g.pattern, g.count) for g in groups] == [
        ("alpha happened", 2), ("beta happened", 1), ("gamma happened", 1), (OTHER_PATTERN, 3),
    ]
    assert groups[-1].example == "delta happened"
    assert top.distinct == 3 and top.total == 7


def test_top_groups_rejects_a_silly_cap() -> None:
    with pytest.raises(ValueError):
        TopGroups(max_patterns=0)


def test_top_groups_memory_is_bounded_by_patterns_not_lines() -> None:
    def peak(count: int) -> int:
        top = TopGroups()
        tracemalloc.start()
        try:
            for i in range(count):
                top.add(LogRecord(None, "error", f"GET /api/users/{i} failed after {i % 977}ms id={i:012x}"))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1_000), peak(50_000)
    assert large < small * 3 + 256_000


# --- format_line ------------------------------------------------------------------------------------------


def test_format_line_is_compact() -> None:
    record = LogRecord(datetime(2025, 3, 4, 11, 2, 3, tzinfo=timezone(timedelta(hours=1))), "error", "boom")
    assert format_line(record) == "10:02:03 ERROR boom"
    assert format_line(LogRecord(None, None, "plain")) == "--:--:-- -     plain"
    assert format_line(LogRecord(T0, "warn", "careful")) == "10:00:00 WARN  careful"


def test_format_line_makes_one_line_of_many_and_drops_control_codes() -> None:
    record = LogRecord(T0, "error", "Error: boom\r\n    at a\tb\x1b[31m red\x1b[0m\x07")
    assert format_line(record) == "10:00:00 ERROR Error: boom ⏎     at a b red"


def test_format_line_truncates_to_the_width() -> None:
    line = format_line(LogRecord(T0, "info", "x" * 500), width=40)
    assert len(line) == 40
    assert line.endswith("…")
