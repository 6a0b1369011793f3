"""The `/health` card offers no button whose action cannot work: a restart through a Railway the
probe could not reach, "End idle sessions" on a database whose host does not resolve. It says why
instead, and the buttons come back once the provider answers."""

from __future__ import annotations

from app.sandbox.slack import FakeSlack, SlackMessage
from tests.fixtures import STRANGER, UNRESOLVABLE_DSN, Sandbox, closed_port_url, running_pitcrew

DB_ENV = "APP_DATABASE_URL"
DB_SERVICE = {"db": {"provider": "postgres", "postgres": {"dsn_env": DB_ENV, "timeout_s": 2}}}
BUTTONS = ("health.propose_restart", "health.propose_rollback", "health.propose_terminate_idle")


async def health_card(pitcrew, slack: FakeSlack, text: str) -> SlackMessage:  # type: ignore[no-untyped-def]
    before = len(slack.calls_to("response_url"))
    await pitcrew.command("/health", text, user=STRANGER)
    calls = await slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
    return next(m for m in reversed(slack.messages) if m.text == calls[-1].args["text"])


def offered(card: SlackMessage) -> list[str]:
    return [
        e["action_id"] for b in card.blocks if b.get("type") == "actions" for e in b["elements"]
        if e["action_id"] in BUTTONS
    ]


def said(card: SlackMessage) -> str:
    return "\n".join(e.get("text", "") for b in card.blocks if b.get("type") == "context" for e in b["elements"])


async def test_no_button_for_a_provider_or_database_that_cannot_be_reached(db_url, fake_slack, sandbox: Sandbox):
    settings = {**sandbox.settings(), "RAILWAY_API_URL": closed_port_url()}
    catalog = sandbox.catalog(extra=DB_SERVICE)
    env = {DB_ENV: UNRESOLVABLE_DSN}
    sandbox.service.down()
    async with running_pitcrew(db_url, catalog, fake_slack, env=env, clock=sandbox.clock, **settings) as pitcrew:
        card = await health_card(pitcrew, fake_slack, "api db")
        assert "api" in card.text and "db" in card.text and "down" in card.text
        assert offered(card) == []
        assert "Railway could not be reached: no actions offered." in said(card)
        assert "The database could not be reached: no actions offered." in said(card)
        assert "unused-pass" not in str(card.blocks) + card.text


async def test_the_buttons_are_offered_when_the_provider_answers(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.crash("api")
    sandbox.service.down()
    async with running_pitcrew(
        db_url, sandbox.catalog(extra=DB_SERVICE), fake_slack, env={DB_ENV: UNRESOLVABLE_DSN},
        clock=sandbox.clock, **sandbox.settings(),
    ) as pitcrew:
        card = await health_card(pitcrew, fake_slack, "api db")
        assert offered(card) == ["health.propose_restart", "health.propose_rollback"]
        assert "Railway could not be reached" not in said(card)
        assert "The database could not be reached: no actions offered." in said(card)
