"""The DSN of a `postgres` service (the value of the variable its `dsn_env` names) is a secret like
pitcrew's own tokens: neither it nor its password reaches a /health card or the audit trail, even
when it turns up where no one expected it (a backend's own health answer quoting it, an incident
title pasted from a terminal)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.sandbox.server import LoopbackServer
from app.sandbox.slack import FakeSlack
from app.store import audit as audit_store
from tests.fixtures import OPERATOR, catalog_from, running_pitcrew

PASSWORD = "Wr0ng-Pa55-for-app"
DSNS = {
    "url": f"postgresql://app:{PASSWORD}@db.nohost.invalid:5432/app",  # a host that does not resolve
    "keywords": f"host=127.0.0.1 port=5432 dbname=app user=nobody_here password='{PASSWORD}'",  # a wrong login
}


async def _backend_quoting_its_database_error(request: Request) -> JSONResponse:
    """A backend whose /health says why its database is down, in words that quote the password."""
    return JSONResponse({"status": "ok", "db": f"login refused (tried {PASSWORD} as app)"})


async def test_the_dsn_and_its_password_stay_out_of_health_cards_and_the_audit_trail(
    db_url: str, fake_slack: FakeSlack
) -> None:
    backend = Starlette(routes=[Route("/health", _backend_quoting_its_database_error)])
    async with LoopbackServer(backend) as api:
        for form, dsn in DSNS.items():
            catalog = catalog_from({
                "db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL", "timeout_s": 3}},
                "api": {"provider": "http", "health": {"url": f"{api.url}/health", "expect_json": {"db": "ok"}}},
            })
            async with running_pitcrew(db_url, catalog, fake_slack, env={"APP_DATABASE_URL": dsn}) as pitcrew:
                before = len(fake_slack.calls_to("response_url"))
                await pitcrew.command("/health", "", user=OPERATOR)
                [*_, card] = await fake_slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
                assert "db (postgres) down" in card.args["text"], form
                assert "api (http) down" in card.args["text"] and "***" in card.args["text"], form
                await pitcrew.command("/incident", f"declare SEV2 db login fails with {PASSWORD}", user=OPERATOR)
                await fake_slack.wait_for(lambda c: c.method == "chat.postMessage")
                await pitcrew.jobs_settled()
                entries = [e async for e in audit_store.entries(pitcrew.deps.sessions)]
            *_, declared = [e for e in entries if e.action == "incident.declare"]
            assert declared.params["title"] == "db login fails with ***", form
            audited = "\n".join(f"{e.action} {e.target} {e.params} {e.outcome}" for e in entries)
            for secret in (PASSWORD, dsn):
                assert secret not in audited, form
                assert secret not in card.args["text"] and secret not in str(card.args["blocks"]), form
            fake_slack.calls.clear()
