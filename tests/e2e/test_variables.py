"""Reading variables through the real app: `@pitcrew vars` on a Railway and a Vercel service,
`vars compare`, `required_vars` in `/health`, a `check: variables` step of a runbook, and the
mistakes (not a responder, unknown service or variable) answered privately with the usage.

The sandboxes serve every kind of variable (Railway: the service's own, `${{shared.X}}`,
`${{api.X}}`, sealed; Vercel: encrypted, sensitive, plain, a value per target); every GraphQL
document is checked against Railway's schema and every Vercel call against its OpenAPI description
when the `sandbox` fixture ends. The last test searches every Slack call, log line, audit entry and
database row for the values the sandbox holds, and finds none.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from app.catalog import Catalog, CatalogError, parse_catalog
from app.core.value_fingerprints import fingerprint, fingerprint_key
from app.flows import incident_views
from app.flows.health import check_health
from app.sandbox.railway.sample import SAMPLE_JWT_SECRET, SAMPLE_SECRET_VALUES
from app.sandbox.slack import FakeSlack, SlackMessage
from app.store import audit as audit_store
from app.store.models import Base
from tests.e2e.incident_support import roots
from tests.e2e.runbook_support import ended, step_message, until
from tests.fixtures import ALERTS, OPERATOR, STRANGER, Pitcrew, Sandbox, pitcrew_with_jobs

AUDIT_KEY = "test-audit-key-for-fingerprints"
KEY = fingerprint_key(AUDIT_KEY, None)
ELSEWHERE = "C0RANDOM"
SEALED_VALUE = "whsec_sandbox-sealed-77aa01"
DATABASE_URL = SAMPLE_SECRET_VALUES[0]
SECRETS = (
    DATABASE_URL, "sandbox-db-password", SAMPLE_JWT_SECRET, SEALED_VALUE, "sandbox-session-secret-0f9e8d7c",
    "rv-sandbox-7f3a9c21", "cms-sandbox-0b8e44",
)

VARS_RUNBOOK = """\
name: vars-check
title: Variables check
steps:
  - id: jwt
    check: variables
    service: api
    names: [JWT_SECRET, STRIPE_WEBHOOK_SECRET, SMTP_URL]
  - id: all
    check: variables
    service: worker
  - id: look
    say: "JWT: {steps.jwt.summary}"
"""


def catalog(
    sandbox: Sandbox, *, runbooks_dir: str | None = None, api_required: list[str] | None = None,
    responders: list[str] | None = None,
) -> Catalog:
    ref = sandbox.world.ref
    api: dict[str, Any] = {"provider": "railway", "railway": ref("api").model_dump()}
    if api_required is not None:
        api["required_vars"] = api_required
    document: dict[str, Any] = {
        "slack": {"alerts_channel": ALERTS, "operators": [OPERATOR]},
        "services": {
            "api": api,
            "worker": {"provider": "railway", "railway": ref("worker").model_dump()},
            "web": {"provider": "vercel", "vercel": sandbox.vercel_world.ref("web").model_dump(exclude_none=True),
                    "required_vars": ["NEXT_PUBLIC_SITE_URL", "CMS_PREVIEW_SECRET"]},
            "site": {"provider": "http", "health": {"url": sandbox.service_url}},
        },
    }
    if runbooks_dir is not None:
        document["runbooks_dir"] = runbooks_dir
    if responders is not None:
        document["slack"]["responders"] = responders
    return parse_catalog(yaml.safe_dump(document))


@asynccontextmanager
async def vars_pitcrew(
    db_url: str, slack: FakeSlack, sandbox: Sandbox, cat: Catalog | None = None
) -> AsyncIterator[Pitcrew]:
    sandbox.world.set_variable("api", "STRIPE_WEBHOOK_SECRET", SEALED_VALUE, sealed=True)
    settings = {**sandbox.settings(), "AUDIT_KEY": AUDIT_KEY}
    async with pitcrew_with_jobs(db_url, cat or catalog(sandbox), slack, clock=sandbox.clock, **settings) as pitcrew:
        yield pitcrew


async def declared(pitcrew: Pitcrew) -> SlackMessage:
    await pitcrew.app.command("/incident", "declare SEV2 Sign-in failing", user=OPERATOR)
    await until(lambda: roots(pitcrew.slack), what="the declared incident's root")
    root = roots(pitcrew.slack)[-1]
    for _ in range(500):
        if await incident_views.find_by_thread(pitcrew.app.deps, root.channel, root.ts) is not None:
            return root
        await asyncio.sleep(0.01)
    raise AssertionError("the incident's thread was never stored")


async def ask(pitcrew: Pitcrew, root: SlackMessage, text: str, *, user: str = OPERATOR) -> SlackMessage:
    """Mention pitcrew in the incident's thread; its public answer there."""
    before = len(pitcrew.slack.messages)
    await pitcrew.slack.mention(text, user=user, channel=root.channel, thread_ts=root.ts)

    def answer() -> SlackMessage | None:
        return next((m for m in pitcrew.slack.messages[before:]
                     if m.thread_ts == root.ts and m.ephemeral_to is None and "Variables" in m.text), None)

    await until(lambda: answer() is not None, what=f"the answer to {text!r}")
    found = answer()
    assert found is not None
    return found


async def private(pitcrew: Pitcrew, text: str, *, user: str, channel: str, thread_ts: str | None) -> dict[str, Any]:
    """Mention pitcrew; the private answer the asker alone got."""
    before = len(pitcrew.slack.calls_to("chat.postEphemeral"))
    await pitcrew.slack.mention(text, user=user, channel=channel, thread_ts=thread_ts)
    await until(lambda: len(pitcrew.slack.calls_to("chat.postEphemeral")) > before, what="a private answer")
    return dict(pitcrew.slack.calls_to("chat.postEphemeral")[before].args)


def shown(message: SlackMessage) -> str:
    """The blocks, then the plain text (what is asserted in order is in the blocks)."""
    return json.dumps(message.blocks, ensure_ascii=False) + "\n" + message.text


def fp(value: str) -> str:
    assert KEY is not None
    return fingerprint(KEY, value)


async def test_vars_on_a_railway_service_by_source_values_masked(db_url, fake_slack, sandbox: Sandbox) -> None:
    async with vars_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await declared(pitcrew)
        answer = shown(await ask(pitcrew, root, "vars api"))

        assert "Variables of *api* (Railway): 7 variables" in answer
        service, shared = answer.index("Set on the service"), answer.index("Shared variables")
        assert service < answer.index("`DATABASE_URL`") < shared < answer.index("`JWT_SECRET`")
        assert "postgresql://***@postgres.railway.internal:5432/app" in answer
        assert f"`JWT_SECRET` → {len(SAMPLE_JWT_SECRET)} chars · fp {fp(SAMPLE_JWT_SECRET)}" in answer
        assert "`STRIPE_WEBHOOK_SECRET` → sealed" in answer
        assert f"`PORT` → 4 chars · fp {fp('8080')}" in answer
        assert not [s for s in SECRETS if s in answer]

        worker = shown(await ask(pitcrew, root, "vars worker"))
        assert "References to other services" in worker
        assert worker.index("References to other services") < worker.index("`DATABASE_URL`")
        assert f"fp {fp(DATABASE_URL)}" in worker  # rendered: the very value api has

        named = shown(await ask(pitcrew, root, "vars api JWT_SECRET STRIPE_WEBHOOK_SECRET"))
        assert f"`JWT_SECRET`: {len(SAMPLE_JWT_SECRET)} chars · fp {fp(SAMPLE_JWT_SECRET)}" in named
        assert "`STRIPE_WEBHOOK_SECRET`: sealed" in named


async def test_vars_on_a_vercel_service_per_target_sensitive_write_only(db_url, fake_slack, sandbox: Sandbox) -> None:
    async with vars_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await declared(pitcrew)
        answer = shown(await ask(pitcrew, root, "vars web"))

        production, preview = answer.index("*Production*"), answer.index("*Preview*")
        development, end = answer.index("*Development*"), answer.index("Values are never shown")
        assert production < preview < development
        prod_part, preview_part = answer[production:preview], answer[preview:development]
        assert "`NEXT_PUBLIC_API_URL` → https://api.acme-shop.example · " in prod_part
        assert "`NEXT_PUBLIC_API_URL` → https://api-preview.acme-shop.example · " in preview_part
        assert "`CMS_PREVIEW_SECRET` → sensitive (write-only)" in prod_part
        assert f"`REVALIDATE_TOKEN` → 19 chars · fp {fp('rv-sandbox-7f3a9c21')}" in prod_part
        assert f"`NEXT_PUBLIC_ANALYTICS` → 2 chars · fp {fp('on')}" in prod_part  # plain
        assert "CMS_PREVIEW_SECRET" not in answer[development:end]  # sensitive: production and preview only
        assert not [s for s in SECRETS if s in answer]


async def test_vars_compare_services_and_vercel_targets(db_url, fake_slack, sandbox: Sandbox) -> None:
    sandbox.world.set_variable("worker", "STRIPE_WEBHOOK_SECRET", "something-else")
    async with vars_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await declared(pitcrew)
        answer = shown(await ask(pitcrew, root, "vars compare api worker"))

        counts = "2 the same, 0 different, 5 on one side only, 1 cannot compare"
        assert f"Variables of *api* and *worker*: {counts}" in answer
        assert "*Only on api*\\n`LOG_LEVEL`, `NODE_ENV`, `PORT`, `SESSION_SECRET`" in answer
        assert "*Only on worker*\\n`QUEUE`" in answer
        assert "`STRIPE_WEBHOOK_SECRET`: api sealed · worker 14 chars" in answer
        assert "*The same*\\n`DATABASE_URL`, `JWT_SECRET`" in answer

        targets = shown(await ask(pitcrew, root, "vars compare web preview"))
        assert "Variables of *web (production)* and *web (preview)*" in targets
        assert "*Different values*\\n`NEXT_PUBLIC_API_URL`: web (production) https://api.acme-shop.example" in targets
        assert "`CMS_PREVIEW_SECRET`: web (production) sensitive (write-only) · web (preview) sensitive" in targets
        assert "(cannot compare)" in targets
        assert not [s for s in SECRETS if s in answer + targets]


async def test_mistakes_are_private_with_the_usage_and_read_nothing(db_url, fake_slack, sandbox: Sandbox) -> None:
    async with vars_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await declared(pitcrew)
        reads = len(sandbox.railway.calls) + len(sandbox.vercel.calls)
        thread = {"channel": root.channel, "thread_ts": root.ts}

        refused = await private(pitcrew, "vars api", user=STRANGER, channel=ELSEWHERE, thread_ts=None)
        assert refused["text"].startswith("Only responders may read the variables of services")
        assert "Usage: `@pitcrew vars <service>" in refused["text"]
        unknown = await private(pitcrew, "vars apii", user=OPERATOR, **thread)
        assert "unknown service `apii`" in unknown["text"] and "Usage:" in unknown["text"]
        not_ours = await private(pitcrew, "vars site", user=OPERATOR, **thread)
        assert "site is a http service" in not_ours["text"]
        bad_name = await private(pitcrew, "vars api 9LIVES", user=OPERATOR, **thread)
        assert "`9LIVES` is not a variable name" in bad_name["text"]
        assert len(sandbox.railway.calls) + len(sandbox.vercel.calls) == reads  # nothing read for any of these

        missing = await private(pitcrew, "vars api JWT_SECRET NOPE", user=OPERATOR, **thread)
        assert "api has no variable `NOPE`" in missing["text"] and "Usage:" in missing["text"]
        public = [m for m in fake_slack.messages if m.thread_ts == root.ts and m.ephemeral_to is None
                  and "Variables" in m.text]
        assert public == []
        async def outcomes() -> list[str]:
            return [e.outcome async for e in audit_store.entries(pitcrew.app.deps.sessions)
                    if e.action == "mention vars"]

        for _ in range(500):
            if "refused: unknown variable NOPE" in await outcomes():
                break
            await asyncio.sleep(0.01)
        audited = await outcomes()
        assert any(o.startswith("refused: only responders") for o in audited)
        assert "refused: unknown variable NOPE" in audited


async def test_required_vars_missing_or_empty_make_health_degraded_naming_them(
    db_url, fake_slack, sandbox: Sandbox
) -> None:
    sandbox.world.set_variable("api", "EMPTY_ONE", "")
    required = ["DATABASE_URL", "JWT_SECRET", "STRIPE_WEBHOOK_SECRET", "EMPTY_ONE", "SMTP_URL"]
    async with vars_pitcrew(db_url, fake_slack, sandbox, catalog(sandbox, api_required=required)) as pitcrew:
        before = len(fake_slack.calls_to("response_url"))
        await pitcrew.app.command("/health", "api web")
        await until(lambda: len(fake_slack.calls_to("response_url")) > before, what="the health card")
        card = json.dumps(fake_slack.calls_to("response_url")[before].args, ensure_ascii=False)

        assert "required variable EMPTY_ONE is empty" in card
        assert "required variable SMTP_URL is missing" in card
        assert "STRIPE_WEBHOOK_SECRET" not in card  # sealed: present, though unreadable
        assert "2 required variables set" in card  # web: one encrypted, one sensitive (write-only)
        report = await _health(pitcrew, "api")
        assert report.verdict.value == "degraded"
        assert not [s for s in SECRETS if s in card]

        sandbox.world.set_variable("api", "EMPTY_ONE", "now set")
        sandbox.world.set_variable("api", "SMTP_URL", "smtp://mail.internal:25")
        assert (await _health(pitcrew, "api")).verdict.value == "ok"


async def _health(pitcrew: Pitcrew, name: str) -> Any:
    report = await check_health(pitcrew.app.deps, [name])
    return report.services[0]


def test_required_vars_are_validated_at_load(sandbox: Sandbox) -> None:
    def load(service: dict[str, Any]) -> None:
        parse_catalog(yaml.safe_dump({"slack": {"alerts_channel": ALERTS}, "services": {"x": service}}))

    with pytest.raises(CatalogError, match="required_vars: pitcrew reads the variables of railway and vercel"):
        load({"provider": "http", "health": {"url": "https://x.example"}, "required_vars": ["A"]})
    with pytest.raises(CatalogError, match="'1A' is not a variable name"):
        load({"provider": "railway", "railway": sandbox.world.ref("api").model_dump(), "required_vars": ["1A"]})


async def test_check_variables_in_a_runbook_walk(db_url, fake_slack, sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "vars-check.yml").write_text(VARS_RUNBOOK, encoding="utf-8")
    async with vars_pitcrew(db_url, fake_slack, sandbox, catalog(sandbox, runbooks_dir=str(tmp_path))) as pitcrew:
        root = await declared(pitcrew)
        await fake_slack.mention("runbook vars-check", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        jwt = await step_message(fake_slack, root, "jwt")
        assert "Variables JWT_SECRET, STRIPE_WEBHOOK_SECRET, SMTP_URL of api" in jwt.text
        await fake_slack.click(jwt, "runbook.run", user=OPERATOR)
        done = shown(await ended(jwt, "Ran"))
        assert "api: SMTP_URL missing; set: JWT_SECRET, STRIPE_WEBHOOK_SECRET" in done
        assert f"JWT_SECRET: set ({len(SAMPLE_JWT_SECRET)} chars · fp {fp(SAMPLE_JWT_SECRET)})" in done
        assert "STRIPE_WEBHOOK_SECRET: set (sealed)" in done

        every = await step_message(fake_slack, root, "all")
        await fake_slack.click(every, "runbook.run", user=OPERATOR)
        listed = shown(await ended(every, "Ran"))
        assert "worker: 3 variables (service 1, shared 1, reference 1)" in listed
        assert "reference: DATABASE_URL → postgresql://***@postgres.railway.internal:5432/app" in listed
        look = await step_message(fake_slack, root, "look")
        assert "JWT: api: SMTP_URL missing" in look.text
        assert not [s for s in SECRETS if s in done + listed + look.text]


async def test_only_responders_read_variables_in_the_thread_and_by_a_runbook_step(
    db_url, fake_slack, sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "vars-check.yml").write_text(VARS_RUNBOOK, encoding="utf-8")
    cat = catalog(sandbox, runbooks_dir=str(tmp_path), responders=[])  # operators only
    async with vars_pitcrew(db_url, fake_slack, sandbox, cat) as pitcrew:
        root = await declared(pitcrew)
        reads = len(sandbox.railway.calls)
        refused = await private(pitcrew, "vars compare api worker", user=STRANGER, channel=root.channel,
                                thread_ts=root.ts)
        assert refused["text"].startswith("Only responders may read the variables of services")

        await fake_slack.mention("runbook vars-check", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        jwt = await step_message(fake_slack, root, "jwt")
        before = len(fake_slack.calls_to("chat.postEphemeral"))
        await fake_slack.click(jwt, "runbook.run", user=STRANGER)
        await until(lambda: len(fake_slack.calls_to("chat.postEphemeral")) > before, what="the refusal")
        said = fake_slack.calls_to("chat.postEphemeral")[before].args
        assert said["user"] == STRANGER and "Only responders may read the variables" in said["text"]
        assert len(sandbox.railway.calls) == reads  # nothing was read
        await fake_slack.click(jwt, "runbook.run", user=OPERATOR)
        assert "api: SMTP_URL missing" in shown(await ended(jwt, "Ran"))


async def test_no_secret_value_reaches_slack_logs_audit_or_database(
    db_url, fake_slack, sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.world.set_variable("worker", "STRIPE_WEBHOOK_SECRET", "rotated-" + SEALED_VALUE)
    (tmp_path / "vars-check.yml").write_text(VARS_RUNBOOK, encoding="utf-8")
    cat = catalog(sandbox, runbooks_dir=str(tmp_path), api_required=["JWT_SECRET", "SMTP_URL"])
    async with vars_pitcrew(db_url, fake_slack, sandbox, cat) as pitcrew:
        root = await declared(pitcrew)
        for text in ("vars api", "vars worker", "vars web", "vars compare api worker", "vars compare web preview",
                     "vars compare api web", "vars api JWT_SECRET DATABASE_URL"):
            await ask(pitcrew, root, text)
        await private(pitcrew, "vars api NOPE", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        before = len(fake_slack.calls_to("response_url"))
        await pitcrew.app.command("/health", "")
        await until(lambda: len(fake_slack.calls_to("response_url")) > before, what="the health card")
        await fake_slack.mention("runbook vars-check", user=OPERATOR, channel=root.channel, thread_ts=root.ts)
        for step in ("jwt", "all"):
            message = await step_message(fake_slack, root, step)
            await fake_slack.click(message, "runbook.run", user=OPERATOR)
            await ended(message, "Ran")
        await pitcrew.run_jobs()

        slack_calls = json.dumps([c.args for c in fake_slack.calls], ensure_ascii=False, default=str)
        logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
        audited = json.dumps([e.__dict__ for e in [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]],
                             default=str, ensure_ascii=False)
        rows: list[str] = []
        async with pitcrew.app.deps.sessions() as session:
            for table in Base.metadata.sorted_tables:
                for row in (await session.execute(select(table))).all():
                    rows.append(json.dumps([str(v) for v in row], ensure_ascii=False))
        database = "\n".join(rows)

        assert "Variables of" in slack_calls and "mention vars" in audited and rows  # there was something to search
        for secret in SECRETS:
            assert secret not in slack_calls, f"{secret!r} reached Slack"
            assert secret not in logged, f"{secret!r} was logged"
            assert secret not in audited, f"{secret!r} was audited"
            assert secret not in database, f"{secret!r} was stored"
