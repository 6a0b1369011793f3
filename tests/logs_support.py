"""Worlds for the `/logs` tests: the sandbox Railway and Vercel with logs worth reading, and a seeded set of
secrets (every kind the issue lists, the service's variable values, pitcrew's own tokens) that must
never reach Slack.

Lines are placed relative to `now` so the same world serves tests on a fixed clock and end-to-end
tests on the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.catalog import Catalog
from app.sandbox.railway import sample as railway_sample
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.world import RailwayWorld
from app.sandbox.vercel import sample as vercel_sample
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.world import FakeBuildEvent, VercelWorld
from tests.fixtures import catalog_from, provider_settings, serving_providers

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzQyIn0.c2lnbmF0dXJlLXNlY3JldC12YWx1ZQ"
DB_PASSWORD = "Pg-s3cret-Passw0rd"
DATABASE_URL = f"postgresql://app:{DB_PASSWORD}@db.internal:5432/app"
WEBHOOK_SECRET = "pitcrew-webhook-secret-4455"  # one of pitcrew's own secrets (Settings.WEBHOOK_SECRET)

# The service's variables as Railway reports them: two are secret by their name only.
VARIABLES = {
    "DATABASE_URL": DATABASE_URL,
    "INTERNAL_API_KEY": "plain-words-value-1234",
    "SMTP_PASSWORD": "mailpass-7788-zz",
    "NODE_ENV": "production",
}

# Secrets any provider's lines may carry, which the masker must catch by their shape.
SHAPED = {
    "url password": "urlpass-3344",
    "bearer": "tok_9f8e7d6c5b4a39281706",
    "jwt": JWT,
    "slack": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "stripe": "sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5R",
    "stripe restricted": "rk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5X",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "jwt secret": "supersecretjwtvalue99",
    "stripe key assignment": "stripe-key-value-0042",
    "password assignment": "hunter2hunter2",
}
SHAPED_LINES = (
    "redis://default:urlpass-3344@redis.internal:6379 connected",
    "outgoing request headers: Authorization: Bearer tok_9f8e7d6c5b4a39281706",
    f"session cookie value {JWT} accepted",
    "posting to Slack with xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "stripe init sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5R, reporting with rk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5X",
    "loaded AWS credentials AKIAIOSFODNN7EXAMPLE from env",
    "env dump: JWT_SECRET=supersecretjwtvalue99 STRIPE_KEY=stripe-key-value-0042 PASSWORD=hunter2hunter2",
    "railway token in a stack trace: sandbox-railway-account-token",
    f"webhook check with {WEBHOOK_SECRET} failed",
)
# Lines only the service's own variables reveal as secret (both providers report them).
VARIABLE_LINES = (
    f"Connecting to {DATABASE_URL}",
    f"retrying with password {DB_PASSWORD}",
    "using plain-words-value-1234 for internal calls",
    "smtp login with mailpass-7788-zz",
)
PITCREW_SECRETS = ("sandbox-railway-account-token", WEBHOOK_SECRET)
# The sample world's own api log prints its DATABASE_URL with the password `sandbox-db-password`.
RAILWAY_SECRETS = (DB_PASSWORD, "plain-words-value-1234", "mailpass-7788-zz", "sandbox-db-password",
                   *SHAPED.values(), *PITCREW_SECRETS)
VERCEL_SECRETS = (DB_PASSWORD, "plain-words-value-1234", "mailpass-7788-zz", *SHAPED.values(), *PITCREW_SECRETS)

ECONNREFUSED = "Error: connect ECONNREFUSED 10.0.0.{n}:5432"
ORDERS = "GET /orders/{n} 200 {ms}ms"
PAYMENT = "Payment failed for order ord_{n:08x} (card_declined)"


def railway_world(now: datetime, *, clock: Any = None) -> RailwayWorld:
    """The sample world (api: 4 deployments, the newest serving; worker) with, in api's current log:
    7 ECONNREFUSED errors, 4 GET /orders, 2 payment failures (warn), a request traced by id, and
    every seeded secret; and the variables above."""
    world = railway_sample.sample_world(now, clock=clock or (lambda: datetime.now(UTC)))
    for name, value in VARIABLES.items():
        world.set_variable("api", name, value)
    at = now - timedelta(minutes=20)
    step = timedelta(seconds=10)
    for n in range(7):
        world.log("api", ECONNREFUSED.format(n=n + 10), level="error", at=at + n * step, requestId=f"req_e{n}")
    for n in range(4):
        world.log("api", ORDERS.format(n=1000 + n, ms=10 + n), at=at + (7 + n) * step, requestId=f"req_o{n}")
    for n in range(2):
        world.log("api", PAYMENT.format(n=0xBEEF + n), level="warn", at=at + (11 + n) * step)
    world.log("api", "checkout started", at=at + 13 * step, requestId="req_TRACE42")
    world.log("api", "checkout failed: card_declined", level="error", at=at + 14 * step, requestId="req_TRACE42")
    for n, line in enumerate((*SHAPED_LINES, *VARIABLE_LINES)):
        world.log("api", line, at=at + (15 + n) * step, token="attr-token-value-55")
    return world


def vercel_world(now: datetime, *, clock: Any = None) -> VercelWorld:
    """The sample world (web: production serves the newest of four deployments) with, in its runtime
    log, the same kinds of line as `railway_world`, and secrets in its build; and the variables above."""
    world = vercel_sample.sample_world(now, clock=clock or (lambda: datetime.now(UTC)))
    for name, value in VARIABLES.items():
        world.set_env("web", name, value)
    world.live_tail = False  # the stream ends after its lines; one test keeps it open
    # Vercel's stream shows only what is logged while it is open: this traffic goes on during every tail.
    for n in range(7):
        world.when_tailed("web", ECONNREFUSED.format(n=n + 10), level="error", status=500)
    for n in range(4):
        world.when_tailed("web", ORDERS.format(n=1000 + n, ms=10 + n))
    for n in range(2):
        world.when_tailed("web", PAYMENT.format(n=0xBEEF + n), level="warning")
    world.when_tailed("web", "checkout started req_TRACE42", path="/api/checkout")
    world.when_tailed("web", "checkout failed req_TRACE42: card_declined", level="error")
    for line in SHAPED_LINES:
        world.when_tailed("web", line)
    production = world.production("web")
    assert production is not None
    production.build_events.append(FakeBuildEvent(production.created_at + timedelta(minutes=1), SHAPED_LINES[6]))
    return world


def catalog_for(railway: RailwayWorld, vercel: VercelWorld, **more: Any) -> Catalog:
    return catalog_from({
        "api": {"provider": "railway", "railway": railway.ref("api").model_dump()},
        "worker": {"provider": "railway", "railway": railway.ref("worker").model_dump()},
        "web": {"provider": "vercel", "vercel": vercel.ref("web").model_dump()},
        "site": {"provider": "http", "health": {"url": "https://www.example.com/health"}},
        "db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL", "timeout_s": 5}},
        **more,
    })


@dataclass
class Providers:
    railway: FakeRailway
    vercel: FakeVercel

    def settings(self) -> dict[str, Any]:
        """Settings that point pitcrew at the fakes, with one more secret of its own."""
        return {**provider_settings(self.railway, self.vercel), "WEBHOOK_SECRET": WEBHOOK_SECRET}


@asynccontextmanager
async def serving(railway: RailwayWorld, vercel: VercelWorld) -> AsyncIterator[Providers]:
    async with serving_providers(railway, vercel) as (fake_railway, fake_vercel):
        yield Providers(fake_railway, fake_vercel)


def add_railway_lines(world: RailwayWorld, count: int, now: datetime) -> None:
    """`count` more lines in api's current log, the newest a minute ago."""
    start = now - timedelta(minutes=1) - timedelta(milliseconds=10 * count)
    for n in range(count):
        world.log("api", f"GET /health 200 {n % 7}ms #{n}", at=start + timedelta(milliseconds=10 * n))


def add_vercel_lines(world: VercelWorld, count: int, now: datetime) -> None:
    """`count` more lines web logs during each tail (Vercel's stream has only what is logged during it)."""
    for n in range(count):
        world.when_tailed("web", f"GET /health 200 {n % 7}ms #{n}")
