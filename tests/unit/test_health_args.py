"""`/health [service ...]`: which services a line of text asks for, and the usage when it asks wrongly."""

from __future__ import annotations

import pytest

from app.core.health_args import USAGE, HealthArgs, HealthUsage, HealthUsageError, parse_health_args

KNOWN = ("api", "web", "db")


@pytest.mark.parametrize("text", ["", "   ", None, "\t\n", " , "])
def test_nothing_means_every_service(text: str | None):
    assert parse_health_args(text, KNOWN) is None


def test_one_name():
    assert parse_health_args("api", KNOWN) == ("api",)


def test_names_separated_by_spaces_or_commas_keep_their_order():
    assert parse_health_args("web api", KNOWN) == ("web", "api")
    assert parse_health_args("web,api", KNOWN) == ("web", "api")
    assert parse_health_args(" db ,  web,api ", KNOWN) == ("db", "web", "api")


def test_duplicates_are_removed():
    assert parse_health_args("api api,web api", KNOWN) == ("api", "web")


def test_names_are_matched_whatever_their_case():
    assert parse_health_args("API Web", KNOWN) == ("api", "web")


@pytest.mark.parametrize("text", ["help", "HELP", " help ", "--help", "-h", "?"])
def test_help_raises_the_usage_with_known_services(text: str):
    with pytest.raises(HealthUsage) as caught:
        parse_health_args(text, KNOWN)
    assert not isinstance(caught.value, HealthUsageError)
    assert caught.value.known == ("api", "db", "web")
    assert USAGE in str(caught.value)
    assert "known services: api, db, web" in str(caught.value)


def test_a_service_named_help_can_still_be_checked():
    assert parse_health_args("help", ("help", "api")) == ("help",)


def test_help_among_names_is_an_unknown_name():
    with pytest.raises(HealthUsageError) as caught:
        parse_health_args("api help", KNOWN)
    assert caught.value.unknown == ("help",)


def test_unknown_name_names_it_with_the_usage_and_known_services():
    with pytest.raises(HealthUsageError) as caught:
        parse_health_args("nosuchservice", KNOWN)
    err = caught.value
    assert err.unknown == ("nosuchservice",)
    assert err.known == ("api", "db", "web")
    message = str(err)
    assert message.startswith("unknown service: nosuchservice")
    assert USAGE in message
    assert message.endswith("known services: api, db, web")


def test_every_unknown_name_is_reported_at_once():
    with pytest.raises(HealthUsageError) as caught:
        parse_health_args("api foo web bar foo", KNOWN)
    assert caught.value.unknown == ("foo", "bar")
    assert str(caught.value).startswith("unknown services: foo, bar")


def test_usage_error_is_a_usage_so_one_except_answers_both():
    with pytest.raises(HealthUsage):
        parse_health_args("nope", KNOWN)


def test_no_known_services_says_so():
    with pytest.raises(HealthUsageError) as caught:
        parse_health_args("api", ())
    assert "known services: none" in str(caught.value)


def test_health_args_parse_wraps_the_function():
    assert HealthArgs.parse("web", KNOWN).services == ("web",)
    assert HealthArgs.parse("", KNOWN).services is None


def test_usage_shows_the_command_form():
    assert "/health [service ...]" in USAGE
