"""`@pitcrew vars` arguments: a service, names, or a comparison; mistakes answered with the usage."""

from __future__ import annotations

import pytest

from app.core.vars_args import Side, VarsUsage, parse_vars_args

PROVIDERS = {"api": "railway", "worker": "railway", "web": "vercel", "db": "postgres"}


def test_a_service_and_names() -> None:
    args = parse_vars_args("API JWT_SECRET JWT_SECRET PORT", PROVIDERS)
    assert args.service == "api" and args.names == ("JWT_SECRET", "PORT")


def test_compare_two_services_and_a_vercel_target() -> None:
    assert parse_vars_args("compare api worker", PROVIDERS).compare == (Side("api"), Side("worker"))
    assert parse_vars_args("compare web preview", PROVIDERS).compare == (
        Side("web", "production"), Side("web", "preview"))
    assert parse_vars_args("compare api web", PROVIDERS).compare == (Side("api"), Side("web", "production"))


@pytest.mark.parametrize(("text", "problem"), [
    ("", None),
    ("help", None),
    ("nope", "unknown service `nope`"),
    ("db", "db is a postgres service"),
    ("api 1BAD", "`1BAD` is not a variable name"),
    ("compare api", "compare takes two names"),
    ("compare api preview", "api is a Railway service: it has no `preview` target"),
    ("compare api api", "api against itself"),
    ("compare web production", "web (production) against itself"),
])
def test_mistakes_say_what_was_wrong_with_the_usage(text: str, problem: str | None) -> None:
    with pytest.raises(VarsUsage) as caught:
        parse_vars_args(text, PROVIDERS)
    assert "Usage: `@pitcrew vars <service>" in str(caught.value)
    if problem is None:
        assert caught.value.problem is None
    else:
        assert caught.value.problem is not None and problem in caught.value.problem
