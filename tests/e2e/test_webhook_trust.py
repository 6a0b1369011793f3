"""Webhook secrets under attack: one secret per source, the bearer header first, no configuration in
401 bodies, and a signed Sentry body refused when it is sent again.

Each request is POSTed to the running app as the monitoring tool sends it; the test looks at the
answer, what the database kept and what the log says.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from app.settings import Settings
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import ReceivedAlert
from tests.e2e.incident_support import (
    generic_body,
    pitcrew_for_incidents,
    sentry_body,
    sentry_signature,
    uptimerobot_body,
)
from tests.fixtures import SECRET

UPTIME_SECRET = "uptimerobot-only-secret-5566"
SENTRY_SECRET = "sentry-client-secret-1234"


async def stored_count(pitcrew: Any) -> int:
    async with transaction(pitcrew.app.deps.sessions) as session:
        return int(await session.scalar(select(func.count()).select_from(ReceivedAlert)) or 0)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


async def test_a_source_with_its_own_secret_refuses_the_shared_one(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, WEBHOOK_SECRET_UPTIMEROBOT=UPTIME_SECRET) as pitcrew:
        shared = await pitcrew.webhook("uptimerobot", uptimerobot_body(), token=SECRET)
        assert shared.status_code == 401
        own = await pitcrew.webhook("uptimerobot", uptimerobot_body(), token=UPTIME_SECRET)
        assert own.status_code == 202, own.text
        # the other sources still use WEBHOOK_SECRET, and not the UptimeRobot one
        assert (await pitcrew.webhook("generic", generic_body(), token=SECRET)).status_code == 202
        assert (await pitcrew.webhook("generic", generic_body(), token=UPTIME_SECRET)).status_code == 401
        assert await stored_count(pitcrew) == 2


async def test_a_source_secret_alone_is_enough_without_webhook_secret(db_url, fake_slack):
    async with pitcrew_for_incidents(
        db_url, fake_slack, WEBHOOK_SECRET=None, WEBHOOK_SECRET_UPTIMEROBOT=UPTIME_SECRET
    ) as pitcrew:
        response = await pitcrew.webhook(
            "uptimerobot", uptimerobot_body(), token=None, headers={"Authorization": f"Bearer {UPTIME_SECRET}"}
        )
        assert response.status_code == 202, response.text
        assert (await pitcrew.webhook("generic", generic_body(), token=UPTIME_SECRET)).status_code == 401


async def test_the_bearer_header_is_preferred_to_the_query_token(db_url, fake_slack):
    """A proxy or a vendor may append its own `?token=`: the header, when present, is what counts."""
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        response = await pitcrew.webhook(
            "generic", generic_body(), token="something-else", headers={"Authorization": f"Bearer {SECRET}"}
        )
        assert response.status_code == 202, response.text
        wrong_header = await pitcrew.webhook(
            "generic", generic_body(), token=SECRET, headers={"Authorization": "Bearer not-the-secret"}
        )
        assert wrong_header.status_code == 401


def test_source_secrets_are_masked_like_the_other_secrets():
    settings = Settings(WEBHOOK_SECRET_UPTIMEROBOT=UPTIME_SECRET, WEBHOOK_SECRET_SENTRY="sentry-shared-777")
    assert UPTIME_SECRET in settings.secret_values()
    assert "sentry-shared-777" in settings.secret_values()
    assert UPTIME_SECRET not in repr(settings)


def test_every_source_has_its_own_secret_setting():
    from app.core.webhooks import SOURCES

    for source in SOURCES:
        assert f"WEBHOOK_SECRET_{source.upper()}" in Settings.model_fields, source


async def test_401_bodies_say_nothing_of_the_configuration_and_the_log_says_why(
    db_url, fake_slack, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="pitcrew.webhooks")
    async with pitcrew_for_incidents(db_url, fake_slack, WEBHOOK_SECRET=None) as pitcrew:
        unset = await pitcrew.webhook("generic", generic_body(), token="anything")
    async with pitcrew_for_incidents(db_url, fake_slack, SENTRY_CLIENT_SECRET=SENTRY_SECRET) as pitcrew:
        bad = await pitcrew.webhook("sentry", sentry_body(), token=None, headers={"Sentry-Hook-Signature": "0" * 64})
    for response in (unset, bad):
        assert response.status_code == 401
        body = response.text
        for detail in ("WEBHOOK_SECRET", "SENTRY_CLIENT_SECRET", "not set", "Sentry-Hook-Signature"):
            assert detail not in body, body
    text = logged(caplog)
    assert "WEBHOOK_SECRET is not set" in text
    assert "SENTRY_CLIENT_SECRET" in text
    assert "anything" not in text  # the secret given is never logged


async def test_a_signed_sentry_body_sent_again_is_ignored(db_url, fake_slack):
    body = sentry_body()
    signed = {"Sentry-Hook-Signature": sentry_signature(body, SENTRY_SECRET)}
    async with pitcrew_for_incidents(db_url, fake_slack, SENTRY_CLIENT_SECRET=SENTRY_SECRET) as pitcrew:
        first = await pitcrew.webhook("sentry", body, token=None, headers=signed)
        assert first.status_code == 202, first.text
        again = await pitcrew.webhook("sentry", body, token=None, headers=signed)
        # 2xx, so Sentry counts no failure and sends nothing again; but nothing is acted on
        assert again.status_code == 200, again.text
        assert again.json() == {"stored": False, "duplicate": True, "ignored": True}
        assert await stored_count(pitcrew) == 1
        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions) if e.actor == "webhook:sentry"]
        assert [e.outcome for e in entries][-1] == "refused: duplicate of a body already received"
        # once the window has passed, the same body is an alert again (the marker was purged)
        pitcrew.clock.advance(days=8)
        later = await pitcrew.webhook("sentry", body, token=None, headers=signed)
        assert later.status_code == 202, later.text
