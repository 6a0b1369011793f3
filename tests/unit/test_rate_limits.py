"""The rate-limit decision: retry once when the wait is short, otherwise say until when; and the budget log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from app.providers.rate_limits import RETRY_WITHIN_S, UNKNOWN_WAIT_S, RateLimited, decide, note_budget

NOW = datetime(2025, 11, 20, 14, 0, 30, tzinfo=UTC)


def test_a_short_wait_is_retried_once_only() -> None:
    first = decide({"retry-after": "2"}, NOW, retried=False)
    second = decide({"retry-after": "2"}, NOW, retried=True)
    assert (first.retry, first.wait_s) == (True, 2.0)
    assert second.retry is False and second.until == NOW + timedelta(seconds=2)


def test_a_long_wait_is_not_retried_and_says_until_when() -> None:
    decision = decide({"retry-after": "900"}, NOW, retried=False)
    assert decision.retry is False
    assert RateLimited("railway deployments", "Railway", decision.until).reason == (
        "Railway's rate limit: retry after 14:15 UTC"
    )
    assert RETRY_WITHIN_S < 900


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "Thu, 20 Nov 2025 14:05:30 GMT"}, 300),  # Retry-After may be an HTTP date
        ({"x-ratelimit-reset": str(int((NOW + timedelta(minutes=10)).timestamp()))}, 600),
        ({}, UNKNOWN_WAIT_S),
        ({"retry-after": "soon"}, UNKNOWN_WAIT_S),
    ],
)
def test_the_wait_is_read_from_whatever_the_provider_sent(headers: dict[str, str], seconds: float) -> None:
    assert decide(headers, NOW, retried=False).wait_s == seconds


def test_a_low_budget_is_logged_and_a_full_one_is_not(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pitcrew.providers"):
        note_budget("Railway", {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "900"})
        note_budget("Railway", {})
        assert caplog.records == []
        note_budget("Railway", {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "42"})
    [record] = caplog.records
    assert "Railway API budget low: 42 of 1000" in record.getMessage()
