"""Scale words parsed strictly, amounts as people say them, and the backups line of `/health`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.capacity import (
    ScaleRequest,
    ScaleUsage,
    amount,
    backup_summary,
    describe_scale,
    parse_backup_args,
    parse_scale_args,
    parse_value,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("api memory 2GB", ScaleRequest("api", "memory", "2GB")),
        ("api MEMORY 1.5GB", ScaleRequest("api", "memory", "1.5GB")),
        ("api cpu 2", ScaleRequest("api", "cpu", "2")),
        ("api replicas 3", ScaleRequest("api", "replicas", "3")),
        ("api memory x2", ScaleRequest("api", "memory", "x2")),
        ("api replicas +1", ScaleRequest("api", "replicas", "+1")),
    ],
)
def test_scale_words(words, expected):
    assert parse_scale_args(words) == expected


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ("api memory 2 gigs", "'2 gigs' is not a size: write it in one word, such as 2GB or 512MB"),
        ("api replicas 2 more", "too many words"),
        ("api memory 2G", "memory must be a size such as 2GB or 512MB"),
        ("api memory 2gb", "memory must be a size"),
        ("api memory 0GB", "more than 0"),
        ("api cpu two", "cpu must be a number of vCPUs"),
        ("api replicas 2.5", "replicas must be a whole number"),
        ("api replicas 51", "from 1 to 50"),
        ("api disk 10GB", "pitcrew scales memory, cpu, replicas"),
        ("api memory", "say the service"),
        ("api memory x1", "would not add any memory"),
        ("api replicas +0", "would not add any replicas"),
        ("api replicas x2", "replicas must be a whole number"),
        ("", "say the service"),
    ],
)
def test_scale_mistakes(words, said):
    with pytest.raises(ScaleUsage, match=said):
        parse_scale_args(words)


def test_values_absolute_and_relative():
    assert parse_value("memory", "512MB") == 0.512
    assert parse_value("memory", "x2", 2.0) == 4.0
    assert parse_value("cpu", "x1.5", 2.0) == 3.0
    assert parse_value("replicas", "+1", 2) == 3.0
    with pytest.raises(ScaleUsage, match="at most 1024GB"):
        parse_value("memory", "x2", 1000.0)
    with pytest.raises(ScaleUsage, match="did not say the current memory"):
        parse_value("memory", "x2", None)


def test_backup_words():
    assert parse_backup_args(" db ") == "db"
    for wrong in ("", "db now"):
        with pytest.raises(ScaleUsage):
            parse_backup_args(wrong)


def test_amounts_and_the_bill():
    assert amount("memory", 0.512) == "512MB" and amount("memory", 8) == "8GB"
    assert amount("cpu", 1) == "1 vCPU" and amount("replicas", 3) == "3 replicas"
    assert describe_scale("api", "memory", 2, 4) == (
        "Scale api: memory 2GB → 4GB (this raises the Railway bill; the service redeploys)"
    )
    assert describe_scale("api", "replicas", 3, 1) == (
        "Scale api: 3 replicas → 1 replica (less than now: less headroom if the load comes back; "
        "the service redeploys)"
    )


def test_backup_line():
    fine, line = backup_summary(NOW - timedelta(hours=3), (), NOW, "pg")
    assert fine and line == "volume pg: newest backup 3 h ago; no backup schedule"
    fine, line = backup_summary(None, (), NOW, "pg")
    assert not fine and "no backup taken yet; no backup schedule" in line
    fine, line = backup_summary(NOW - timedelta(days=4), ("DAILY",), NOW, "pg")
    assert fine and line == "volume pg: newest backup 4 d ago; schedule: daily"
