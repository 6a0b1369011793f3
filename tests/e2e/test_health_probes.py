"""Richer HTTP probes through the real app: a signed `/health` probing the sample service over loopback.

The seeds' auth and security checks (seed 000): a POSTed test login whose body comes from the
environment and is never shown, an OAuth callback's 302, HSTS, CORS for an origin, http → https.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from app.catalog import CatalogError
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.store import audit as audit_store
from tests.fixtures import catalog_from, running_pitcrew

LOGIN = '{"email": "probe@example.com", "password": "hunter2-Test-Login"}'


async def _card(pitcrew: Any, fake_slack: Any) -> str:
    response = await pitcrew.command("/health", "web")
    assert response.status_code == 200
    [posted] = await fake_slack.wait_for(lambda c: c.method == "response_url")
    return json.dumps(posted.args)


def _catalog(*checks: dict[str, Any]):
    return catalog_from({"web": {"provider": "http", "health": list(checks)}})


async def test_post_login_with_body_from_the_environment_never_shown(db_url, fake_slack, caplog):
    caplog.set_level(logging.DEBUG)
    sample = SampleService()
    sample.login_body = LOGIN.encode()
    async with LoopbackServer(sample) as server:
        url = server.url
        catalog = _catalog({"url": f"{url}/login", "method": "POST", "body_env": "PROBE_LOGIN",
                            "expect_json": {"ok": True}, "timeout_s": 2})
        async with running_pitcrew(db_url, catalog, fake_slack, env={"PROBE_LOGIN": LOGIN}) as pitcrew:
            card = await _card(pitcrew, fake_slack)
            entries = [e async for e in audit_store.entries(pitcrew.deps.sessions)]
    assert sample.logins == [LOGIN.encode()]
    assert f"POST {url}/login" in card and "HTTP 200" in card and "down" not in card
    for where in (card, caplog.text, repr(entries), json.dumps([c.args for c in fake_slack.calls], default=str)):
        assert "hunter2" not in where


async def test_post_login_refused_is_down_and_the_echoed_body_is_masked(db_url, fake_slack):
    sample = SampleService()
    sample.login_body = b"something else"
    async with LoopbackServer(sample) as server:
        catalog = _catalog({"url": f"{server.url}/login", "method": "POST", "body_env": "PROBE_LOGIN",
                            "expect_json": {"received": "x"}, "timeout_s": 2})
        async with running_pitcrew(db_url, catalog, fake_slack, env={"PROBE_LOGIN": LOGIN}) as pitcrew:
            card = await _card(pitcrew, fake_slack)
    assert "HTTP 401, expected 200" in card and 'received: expected \\"x\\", got' in card
    assert "hunter2" not in card


async def test_post_login_without_its_environment_variable_says_which(db_url, fake_slack):
    sample = SampleService()
    async with LoopbackServer(sample) as server:
        catalog = _catalog({"url": f"{server.url}/login", "method": "POST", "body_env": "PROBE_LOGIN"})
        async with running_pitcrew(db_url, catalog, fake_slack) as pitcrew:
            card = await _card(pitcrew, fake_slack)
    assert "environment variable PROBE_LOGIN is not set" in card
    assert sample.logins == []


async def test_expect_status_list_accepts_the_oauth_callbacks_302(db_url, fake_slack):
    sample = SampleService()
    async with LoopbackServer(sample) as server:
        ok = _catalog({"url": f"{server.url}/auth/callback", "expect_status": [302, 303], "timeout_s": 2})
        async with running_pitcrew(db_url, ok, fake_slack) as pitcrew:
            card = await _card(pitcrew, fake_slack)
        assert "HTTP 302" in card and "expected" not in card
        fake_slack.calls.clear()
        wrong = _catalog({"url": f"{server.url}/auth/callback", "expect_status": [200, 204], "timeout_s": 2})
        async with running_pitcrew(db_url, wrong, fake_slack) as pitcrew:
            card = await _card(pitcrew, fake_slack)
        assert "HTTP 302, expected 200 or 204" in card


async def test_required_headers_and_cors_for_an_origin(db_url, fake_slack):
    sample = SampleService()
    sample.cors_origins = {"https://app.example.com"}
    async with LoopbackServer(sample) as server:
        catalog = _catalog({"url": f"{server.url}/", "expect_headers": ["strict-transport-security"],
                            "origin": "https://app.example.com", "timeout_s": 2})
        async with running_pitcrew(db_url, catalog, fake_slack) as pitcrew:
            card = await _card(pitcrew, fake_slack)
            assert "header strict-transport-security present" in card
            assert "CORS allows https://app.example.com" in card

            sample.hsts, sample.cors_origins = False, set()
            fake_slack.calls.clear()
            card = await _card(pitcrew, fake_slack)
    assert "header strict-transport-security missing" in card
    assert "CORS: no access-control-allow-origin for https://app.example.com" in card
    assert ":red_circle:" in card or "down" in card


async def test_expected_header_value(db_url, fake_slack):
    sample = SampleService()
    async with LoopbackServer(sample) as server:
        catalog = _catalog({"url": f"{server.url}/", "timeout_s": 2,
                            "expect_headers": {"strict-transport-security": "max-age=1"}})
        async with running_pitcrew(db_url, catalog, fake_slack) as pitcrew:
            card = await _card(pitcrew, fake_slack)
    assert "header strict-transport-security: max-age=63072000; includeSubDomains, expected max-age=1" in card


async def test_https_redirect_check(db_url, fake_slack):
    sample = SampleService()
    sample.redirect_status = 308
    async with LoopbackServer(sample) as server:
        catalog = _catalog({"url": f"{server.url}/", "https_redirect": True, "timeout_s": 2})
        async with running_pitcrew(db_url, catalog, fake_slack) as pitcrew:
            card = await _card(pitcrew, fake_slack)
            assert "HTTP 308" in card and "redirects to https://" in card and "expected" not in card

            sample.redirect_status = 302  # temporary: browsers do not remember it
            fake_slack.calls.clear()
            card = await _card(pitcrew, fake_slack)
            assert "HTTP 302, expected 301 or 308" in card

            sample.redirect_status = None  # served over plain http
            fake_slack.calls.clear()
            card = await _card(pitcrew, fake_slack)
    assert "HTTP 200, expected 301 or 308" in card and "no redirect to https://" in card


@pytest.mark.parametrize(
    ("check", "problem"),
    [
        ({"method": "GET", "body_env": "X"}, "services.web.health.0: body_env: a body is only sent with method: POST"),
        ({"expect_status": [200, 700]}, "services.web.health.0.expect_status: 700 is not an HTTP status"),
        ({"expect_status": []}, "services.web.health.0.expect_status: expected an HTTP status"),
        ({"expect_headers": ["bad header"]}, "services.web.health.0.expect_headers: 'bad header' is not an HTTP"),
        ({"origin": "https://app.example.com/path"}, "services.web.health.0.origin: not an origin"),
        ({"https_redirect": True, "expect_status": 200, "method": "POST"}, "https_redirect: a redirect check"),
        ({"body_env": "lower-case"}, "services.web.health.0.body_env"),
    ],
)
def test_probe_mistakes_are_refused_at_load_with_key_path_and_reason(check, problem):
    with pytest.raises(CatalogError) as err:
        _catalog({"url": "https://web.example.com/", **check})
    assert any(problem in p for p in err.value.problems), err.value.problems
