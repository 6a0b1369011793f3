"""`fetch_logs` over real HTTP against the sandbox Railway and Vercel: which log is read, what is asked of
the provider, what the core keeps, and that every line comes back masked.

After each test every request the fakes received is checked against the providers' published
descriptions (Railway's GraphQL schema, Vercel's OpenAPI file).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.catalog import UnknownService
from app.core.logs_args import LogsArgs
from app.core.runbooks import CheckStep
from app.deps import Deps, build_deps
from app.flows.logs import LogsFetchFailed, LogsResult, LogsUnavailable, fetch_logs
from app.flows.runbook_probes import run_check
from app.providers import graphql_docs
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.sample import SAMPLE_DEPLOYMENT_IDS as RAILWAY_IDS
from app.sandbox.railway.world import GraphQLFailure, RailwayWorld
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.sample import SAMPLE_DEPLOYMENT_IDS as VERCEL_IDS
from app.sandbox.vercel.sample import SAMPLE_PREVIEW_ID
from app.sandbox.vercel.world import VercelWorld
from app.settings import Settings
from tests.logs_support import (
    DB_PASSWORD,
    PAYMENT,
    RAILWAY_SECRETS,
    SHAPED_LINES,
    VARIABLE_LINES,
    VERCEL_SECRETS,
    add_railway_lines,
    catalog_for,
    railway_world,
    serving,
    vercel_world,
)
from tests.spec_check import validate_railway_document, validate_vercel_call

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
CURRENT = RAILWAY_IDS[-1]
QUIET_S = 0.3


@dataclass
class Env:
    deps: Deps
    railway: FakeRailway
    vercel: FakeVercel

    @property
    def rworld(self) -> RailwayWorld:
        return self.railway.world

    @property
    def vworld(self) -> VercelWorld:
        return self.vercel.world

    async def logs(self, text: str, **kwargs: Any) -> LogsResult:
        kwargs.setdefault("tail_seconds", QUIET_S)
        return await fetch_logs(self.deps, LogsArgs.parse(text), **kwargs)

    def railway_ops(self) -> list[str]:
        return [c.operation or "" for c in self.railway.calls]

    def last_railway(self, operation: str) -> dict[str, Any]:
        return [c for c in self.railway.calls if c.operation == operation][-1].variables

    def vercel_paths(self) -> list[str]:
        return [c.path for c in self.vercel.calls]


def _messages(result: LogsResult) -> list[str]:
    return [r.message for r in result.records]


@pytest.fixture
async def env(tmp_path: Any) -> AsyncIterator[Env]:
    clock = lambda: NOW  # noqa: E731
    rworld, vworld = railway_world(NOW, clock=clock), vercel_world(NOW, clock=clock)
    async with serving(rworld, vworld) as providers:
        settings = Settings(DATABASE_URL=f"sqlite:///{tmp_path / 'unused.db'}", **providers.settings())
        deps = build_deps(settings, catalog_for(rworld, vworld), clock=clock)
        try:
            yield Env(deps, providers.railway, providers.vercel)
        finally:
            await deps.close()
    documents = set(graphql_docs.ALL_DOCUMENTS.values())
    for call in providers.railway.calls:
        assert call.query in documents
        validate_railway_document(call.query, call.variables)
    for vcall in providers.vercel.calls:
        validate_vercel_call(vcall.method, vcall.path, vcall.query)


# ---- Railway ----------------------------------------------------------------------------------


async def test_railway_default_is_the_serving_deployments_newest_lines_masked(env: Env) -> None:
    result = await env.logs("api")

    assert result.source.kind == "runtime" and result.source.deployment is not None
    assert result.source.deployment.id == CURRENT and result.source.deployment.is_current
    assert set(env.railway_ops()) == {"Deployments", "VariablesForServiceDeployment", "DeploymentLogs"}
    assert env.last_railway("DeploymentLogs") == {
        "deploymentId": CURRENT, "limit": 50, "filter": None, "startDate": None, "endDate": None,
    }
    messages = _messages(result)
    assert len(messages) == 34 and result.scanned == 34 and result.matched == 34  # the sample's 6 and ours
    assert messages[-1] == "smtp login with ***"  # the newest, last
    assert [r.timestamp for r in result.records] == sorted(r.timestamp for r in result.records)  # type: ignore[type-var]
    assert not result.window_full and not result.truncated


async def test_railway_lines_keeps_the_newest(env: Env) -> None:
    result = await env.logs("api --lines 3")
    assert env.last_railway("DeploymentLogs")["limit"] == 3
    assert _messages(result) == [
        "retrying with password ***", "using *** for internal calls", "smtp login with ***",
    ]


async def test_railway_level_uses_railways_filter_and_the_core_decides(env: Env) -> None:
    errors = await env.logs("api --level error")
    sent = env.last_railway("DeploymentLogs")
    assert sent["filter"] == "@level:error"  # Railway knows only debug/info/warn/error
    assert sent["limit"] == 50
    assert {r.level for r in errors.records} == {"error"}
    assert _messages(errors)[-1] == "checkout failed: card_declined"
    assert len(errors.records) == 9  # 7 ECONNREFUSED, the checkout failure, the sample's Redis timeout

    warnings = await env.logs("api --level warning")
    assert env.last_railway("DeploymentLogs")["filter"] == "(@level:warn OR @level:error)"
    assert {r.level for r in warnings.records} == {"warn", "error"}
    assert [m for m in _messages(warnings) if m.startswith("Payment")] == [
        PAYMENT.format(n=0xBEEF), PAYMENT.format(n=0xBEEF + 1),
    ]

    await env.logs("api --level info")  # every Railway line has a level: Railway filters, --lines suffice
    assert env.last_railway("DeploymentLogs")["filter"] == "(@level:info OR @level:warn OR @level:error)"
    assert env.last_railway("DeploymentLogs")["limit"] == 50

    await env.logs("api --level debug")  # everything passes: nothing to filter
    assert env.last_railway("DeploymentLogs")["filter"] is None
    assert env.last_railway("DeploymentLogs")["limit"] == 50


async def test_railway_grep_is_sent_as_text_and_matched_without_case(env: Env) -> None:
    result = await env.logs("api --grep ECONNREFUSED --level error")
    assert env.last_railway("DeploymentLogs")["filter"].endswith(' AND "ECONNREFUSED"')
    assert len(result.records) == 7

    quoted = await env.logs('api --grep \'checkout "x\'')  # a quote Railway's syntax cannot carry: read, then filter
    assert env.last_railway("DeploymentLogs")["filter"] is None
    assert env.last_railway("DeploymentLogs")["limit"] == 5000
    assert quoted.records == ()


async def test_railway_request_id_finds_a_request_by_its_attribute(env: Env) -> None:
    result = await env.logs("api --request-id req_trace42")
    assert env.last_railway("DeploymentLogs")["limit"] == 5000  # request ids are matched here, not by Railway
    assert _messages(result) == ["checkout started", "checkout failed: card_declined"]
    assert result.matched == 2 and result.scanned > 30


async def test_railway_since_bounds_the_deployment_log_or_reads_the_environment_log(env: Env) -> None:
    recent = await env.logs("api --since 30m --level error")
    sent = env.last_railway("DeploymentLogs")
    assert sent["startDate"] == "2025-11-20T11:30:00.000Z"
    assert result_source(recent) == ("runtime", CURRENT)
    assert "Error: Redis connection timeout after 5000ms" not in _messages(recent)  # logged 2h53m ago
    assert len(recent.records) == 8

    back = await env.logs("api --since 4h --grep redis")  # before the serving deployment started
    assert env.railway_ops()[-1] == "EnvironmentLogs"
    sent = env.last_railway("EnvironmentLogs")
    assert sent["beforeDate"] == "2025-11-20T08:00:00.000Z"
    assert sent["filter"] == f'@service:{env.rworld.ref("api").service_id} AND ("redis")'
    assert result_source(back) == ("environment", None)
    assert _messages(back) == [
        "Error: Redis connection timeout after 5000ms", "redis://default:***@redis.internal:6379 connected",
    ]

    week = await env.logs("api --since 7d --grep 'Redis connection'")  # every deployment's lines
    assert _messages(week) == ["Error: Redis connection timeout after 5000ms"] * 3


def result_source(result: LogsResult) -> tuple[str, str | None]:
    return result.source.kind, result.source.deployment.id if result.source.deployment else None


async def test_railway_deployment_by_id_or_its_start(env: Env) -> None:
    older = RAILWAY_IDS[1]
    whole = await env.logs(f"api --deployment {older}")
    short = await env.logs(f"api --deployment {older[:6].upper()}")
    for result in (whole, short):
        assert result_source(result) == ("runtime", older)
        assert _messages(result)[0] == "Starting api (node dist/server.js)"
        assert "ECONNREFUSED" not in " ".join(_messages(result))
    assert env.last_railway("DeploymentLogs")["deploymentId"] == older


async def test_railway_deployment_of_another_service_or_ambiguous_is_refused(env: Env) -> None:
    worker = env.rworld.current("worker")
    assert worker is not None
    with pytest.raises(LogsUnavailable, match="another service"):
        await env.logs(f"api --deployment {worker.id}")
    for suffix in ("1111", "2222"):
        env.rworld.add_deployment("api", status="FAILED", deployment_id=f"abcd{suffix}-0000-4000-8000-000000000000",
                                  at=NOW - timedelta(days=5))
    with pytest.raises(LogsUnavailable, match="could be any of 2 deployments of api"):
        await env.logs("api --deployment abcd")
    with pytest.raises(LogsUnavailable, match="not valid"):
        await env.logs("api --deployment a/b")


async def test_railway_top_groups_lines_that_differ_by_numbers_and_ids(env: Env) -> None:
    result = await env.logs("api --top")
    assert env.last_railway("DeploymentLogs")["limit"] == 5000
    assert result.groups[0].pattern == "Error: connect ECONNREFUSED <ip>" and result.groups[0].count == 7
    assert result.groups[0].level == "error"
    assert (result.groups[1].pattern, result.groups[1].count) == ("GET /orders/<num> <num> <num>ms", 4)
    assert [(g.pattern, g.count) for g in result.groups if g.pattern.startswith("Payment")] == [
        ("Payment failed for order <id> (card_declined)", 2),
    ]
    assert result.matched == result.scanned
    assert all(DB_PASSWORD not in g.example and DB_PASSWORD not in g.pattern for g in result.groups)

    errors = await env.logs("api --top --level error")
    assert [g.count for g in errors.groups] == [7, 1, 1]


async def test_railway_build_is_the_newest_deployments_build_log(env: Env) -> None:
    result = await env.logs("api --build")
    assert result_source(result) == ("build", CURRENT)
    assert _messages(result) == ["Using Nixpacks", "npm ci", "Build completed"]

    env.rworld.add_deployment("api", status="FAILED", at=NOW - timedelta(minutes=5), deployment_id=FAILED_ID,
                              build_logs=[])
    env.rworld.deployment(FAILED_ID).build_logs.extend(
        env.rworld.deployment(RAILWAY_IDS[2]).build_logs  # the sample's failed build
    )
    failed = await env.logs("api --build --level error")
    assert result_source(failed) == ("build", FAILED_ID)
    assert _messages(failed) == ["npm ERR! engine Unsupported engine", "Build failed with exit code 1"]
    runtime = await env.logs("api --lines 1")
    assert result_source(runtime) == ("runtime", CURRENT)  # the failed build serves nothing


FAILED_ID = "f0f0f0f0-0000-4000-8000-000000000001"


async def test_railway_every_seeded_secret_is_masked(env: Env) -> None:
    result = await env.logs("api --lines 5000")
    everything = " ".join([*_messages(result), *(str(r.attributes) for r in result.records)])
    for secret in RAILWAY_SECRETS:
        assert secret not in everything
    assert "Connecting to postgresql://app:***@db.internal:5432/app" in everything
    assert "'token': '***'" in everything


async def test_railway_grep_for_a_secret_finds_nothing_and_is_not_echoed(env: Env) -> None:
    result = await env.logs(f"api --grep {DB_PASSWORD}")
    assert result.records == ()
    assert result.asked == "api --grep ***"


async def test_a_long_log_is_read_as_far_as_railway_gives(env: Env) -> None:
    add_railway_lines(env.rworld, 6000, NOW)
    result = await env.logs("api --top")
    assert result.scanned == 5000 and result.window_full
    assert result.groups[0].pattern == "GET /health <num> <num>ms #<num>" and result.groups[0].count == 5000


async def test_railway_failures_name_the_call(env: Env) -> None:
    env.rworld.fail_next(status=502, body="Bad Gateway", times=2)
    with pytest.raises(LogsFetchFailed) as caught:
        await env.logs("api")
    assert caught.value.call == "railway service variables"
    assert "HTTP 502: Bad Gateway" in caught.value.reason

    def refuse(variables: dict[str, Any], principal: Any) -> dict[str, Any]:
        raise GraphQLFailure("Not Authorized")

    env.railway.operations["VariablesForServiceDeployment"] = refuse
    with pytest.raises(LogsFetchFailed) as caught:
        await env.logs("api")
    assert "Not Authorized" in caught.value.reason and "shows no line without them" in caught.value.reason
    assert "DeploymentLogs" not in env.railway_ops()  # no line was read without the variables to mask it


async def test_railway_that_hangs_times_out(env: Env) -> None:
    env.rworld.stall()
    with pytest.raises(LogsFetchFailed, match=r"no answer within 0\.3 s"):
        await env.logs("api", provider_timeout_s=0.3)


async def test_railway_without_a_token_says_which_variable(env: Env, tmp_path: Any) -> None:
    deps = build_deps(Settings(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"), env.deps.catalog)
    try:
        with pytest.raises(LogsUnavailable, match="RAILWAY_API_TOKEN"):
            await fetch_logs(deps, LogsArgs.parse("api"))
        with pytest.raises(LogsUnavailable, match="VERCEL_TOKEN"):
            await fetch_logs(deps, LogsArgs.parse("web"))
    finally:
        await deps.close()


# ---- Vercel -----------------------------------------------------------------------------------


async def test_vercel_default_is_productions_runtime_log_newest_lines(env: Env) -> None:
    result = await env.logs("web")
    newest = VERCEL_IDS[-1]
    assert result_source(result) == ("live tail", newest)
    assert result.source.tail_seconds == QUIET_S
    assert result.source.describe("web").startswith(f"live tail of {QUIET_S:g} s of deployment {newest}")
    assert f"/v1/projects/{env.vworld.ref('web').project_id}/deployments/{newest}/runtime-logs" in env.vercel_paths()
    messages = _messages(result)
    # only what was logged during the tail: never the sample's earlier lines ("GET /pricing 200")
    assert len(messages) == 24 and result.scanned == 24
    assert "GET /pricing 200" not in messages and messages[-1] == "webhook check with *** failed"
    assert any("log drain" in note for note in result.notes)


async def test_vercel_lines_level_grep_request_id_and_since_are_applied_here(env: Env) -> None:
    assert _messages(await env.logs("web --lines 2")) == [
        "railway token in a stack trace: ***", "webhook check with *** failed",
    ]
    errors = await env.logs("web --level error")
    assert {r.level for r in errors.records} == {"error"} and len(errors.records) == 8
    warnings = await env.logs("web --level warn")  # Vercel's `warning` is a warning
    assert {r.level for r in warnings.records} == {"warn", "error"} and len(warnings.records) == 10
    assert len((await env.logs("web --grep econnrefused")).records) == 7
    assert _messages(await env.logs("web --request-id req_TRACE42")) == [
        "checkout started req_TRACE42", "checkout failed req_TRACE42: card_declined",
    ]
    recent = await env.logs("web --since 30m")
    assert len(recent.records) == 24 and "GET /pricing 200" not in _messages(recent)
    assert any(note.startswith("`--since` asks for history") for note in recent.notes)


async def test_vercel_deployment_by_id_start_or_preview_and_not_another_projects(env: Env) -> None:
    older = VERCEL_IDS[1]
    result = await env.logs(f"web --deployment {older[:9]}")
    assert result_source(result) == ("live tail", older)
    assert _messages(result) == []  # it serves no traffic now, and its earlier lines are not replayed
    assert result_source(await env.logs(f"web --deployment {SAMPLE_PREVIEW_ID}")) == ("live tail", SAMPLE_PREVIEW_ID)
    other = env.vworld.add_project("other", team_id=env.vworld.ref("web").team_id)
    stranger = env.vworld.add_deployment("other")
    assert other.id != env.vworld.ref("web").project_id
    with pytest.raises(LogsUnavailable, match="another project"):
        await env.logs(f"web --deployment {stranger.id}")
    with pytest.raises(LogsUnavailable, match="Deployment not found"):
        await env.logs("web --deployment dpl_nothing_here")


async def test_vercel_top_groups_and_build_events(env: Env) -> None:
    top = await env.logs("web --top")
    assert [(g.pattern, g.count) for g in top.groups[:2]] == [
        ("Error: connect ECONNREFUSED <ip>", 7), ("GET /orders/<num> <num> <num>ms", 4),
    ]
    build = await env.logs("web --build")
    assert result_source(build) == ("build", VERCEL_IDS[-1])
    assert _messages(build)[-1] == "env dump: JWT_SECRET=*** STRIPE_KEY=*** PASSWORD=***"
    assert any(p.endswith(f"/v3/deployments/{VERCEL_IDS[-1]}/events") for p in env.vercel_paths())

    env.vworld.add_deployment("web", state="ERROR", at=NOW - timedelta(minutes=3), deployment_id="dpl_BrokenBuild1",
                              build_events=[])
    env.vworld.deployment("dpl_BrokenBuild1").build_events.extend(env.vworld.deployment(VERCEL_IDS[2]).build_events)
    failed = await env.logs("web --build --level error")
    assert result_source(failed) == ("build", "dpl_BrokenBuild1")
    assert _messages(failed) == [
        "Type error: Property 'params' does not exist", 'Error: Command "npm run build" exited with 1',
    ]
    assert result_source(await env.logs("web --lines 1")) == ("live tail", VERCEL_IDS[-1])
    # a deployment that failed to build never ran: its build events, said so, rather than a silent tail
    broken = await env.logs("web --deployment dpl_BrokenBuild1 --level error")
    assert result_source(broken) == ("build", "dpl_BrokenBuild1")
    assert _messages(broken)[-1] == 'Error: Command "npm run build" exited with 1'
    assert any("failed to build" in note for note in broken.notes)


async def test_vercel_every_seeded_secret_is_masked(env: Env) -> None:
    for line in VARIABLE_LINES:  # secrets only the project's variables reveal
        env.vworld.when_tailed("web", line)
    result = await env.logs("web --lines 5000")
    build = await env.logs("web --build")
    everything = " ".join([*_messages(result), *_messages(build)])
    for secret in VERCEL_SECRETS:
        assert secret not in everything
    assert len([m for m in _messages(result) if "***" in m]) == len(SHAPED_LINES) + len(VARIABLE_LINES)
    assert "Connecting to postgresql://app:***@db.internal:5432/app" in everything


async def test_vercel_logs_are_not_shown_when_the_variables_cannot_be_read(env: Env) -> None:
    """Without the project's variables their values could not be masked: no line rather than a leak."""
    env.vworld.tokens.clear()
    env.vworld.tokens.add("another-token")  # pitcrew's token is refused, for the variables as for the rest
    with pytest.raises(LogsFetchFailed) as caught:
        await env.logs("web")
    assert caught.value.call == "vercel environment variables"
    assert "shows no line without them" in caught.value.reason


async def test_vercel_live_stream_is_read_until_the_tail_is_over(env: Env) -> None:
    env.vworld.live_tail = True
    result = await env.logs("web --level error")
    assert len(result.records) == 8


async def test_vercel_failure_names_the_call(env: Env) -> None:
    env.vworld.fail_next(status=500, times=2)
    with pytest.raises(LogsFetchFailed) as caught:
        await env.logs("web")
    assert caught.value.call in ("vercel environment variables", "vercel deployments")  # asked together
    assert "HTTP 500" in caught.value.reason


# ---- other services ---------------------------------------------------------------------------


async def test_services_without_these_logs_say_so(env: Env) -> None:
    with pytest.raises(UnknownService) as unknown:
        await env.logs("nope")
    assert unknown.value.known == ["api", "db", "site", "web", "worker"]
    with pytest.raises(LogsUnavailable, match="checked over HTTP only"):
        await env.logs("site")
    with pytest.raises(LogsUnavailable, match="/logs db --slow"):
        await env.logs("db --level error")
    with pytest.raises(LogsUnavailable, match="APP_DATABASE_URL"):
        await env.logs("db --slow")
    with pytest.raises(LogsUnavailable, match="api is a railway service"):
        await env.logs("api --slow")
    assert env.railway.calls == [] and env.vercel.calls == []


async def test_the_runbook_log_check_on_vercel_says_it_was_a_live_tail(env: Env) -> None:
    """A quiet live tail is not "no error in the last 15 minutes": the check says what it read."""
    step = CheckStep(id="errors", title="Errors in the logs", probe="log_errors", minutes=15)
    env.vworld._when_tailed.clear()  # nothing is logged while the check listens

    quiet = await run_check(env.deps, step, "web")

    assert "in the last 15 minutes" not in quiet.summary
    assert quiet.summary.startswith("no error in the logs of web during a 20 s live tail")


# ---- secrets Vercel and Railway do not hand over as plain values ---------------------------------

PROD_SIGNING = "whsk-prod-7Hq2Lm9Zx4"
PREVIEW_SIGNING = "whsk-prev-3Tc8Vn1Pd6"
SEED = "ls-9d8c7b6a5f4e"


async def test_a_production_secret_held_in_an_encrypted_entry_is_masked(env: Env) -> None:
    """Vercel's list gives ciphertext for an encrypted entry: a masker built from it masks nothing."""
    env.vworld.set_env("web", "STRIPE_WEBHOOK_SECRET", PROD_SIGNING, targets=["production"])
    env.vworld.when_tailed("web", f"payment webhook verified with {PROD_SIGNING}")

    result = await env.logs("web --lines 5")

    assert _messages(result)[-1] == "payment webhook verified with ***"
    reads = [p for p in env.vercel_paths() if p.startswith(f"/v1/projects/{env.vworld.ref('web').project_id}/env/")]
    assert len(reads) == len([e for e in env.vworld.project("web").envs
                              if "production" in e.targets and e.type == "encrypted"])


async def test_each_target_keeps_its_own_value_and_the_deployments_target_is_masked(env: Env) -> None:
    env.vworld.set_env("web", "STRIPE_WEBHOOK_SECRET", PROD_SIGNING, targets=["production"])
    env.vworld.set_env("web", "STRIPE_WEBHOOK_SECRET", PREVIEW_SIGNING, targets=["preview", "development"])
    env.vworld.when_tailed("web", f"prod signing {PROD_SIGNING}")
    env.vworld.when_tailed("web", f"preview signing {PREVIEW_SIGNING}", deployment_id=SAMPLE_PREVIEW_ID)

    production = await env.logs("web --lines 5")
    preview = await env.logs(f"web --deployment {SAMPLE_PREVIEW_ID}")

    assert _messages(production)[-1] == "prod signing ***"
    assert _messages(preview)[-1] == "preview signing ***"


async def test_a_sensitive_variable_is_masked_by_name_and_the_result_says_how_many(env: Env) -> None:
    env.vworld.set_env("web", "LICENSE_SEED", SEED, sensitive=True)
    env.vworld.when_tailed("web", f"boot: LICENSE_SEED={SEED} mode=prod")
    env.vworld.when_tailed("web", f'config {{"LICENSE_SEED": "{SEED}", "region": "fra1"}}')

    result = await env.logs("web --lines 5")

    assert _messages(result)[-2:] == [
        "boot: LICENSE_SEED=*** mode=prod",
        'config {"LICENSE_SEED": "***", "region": "fra1"}',
    ]
    assert result.masked_by_name == 2  # LICENSE_SEED and the sample's CMS_PREVIEW_SECRET
    [note] = [n for n in result.notes if "masked by name only" in n]
    assert "2 variables (CMS_PREVIEW_SECRET, LICENSE_SEED) are sensitive on Vercel" in note


async def test_a_sealed_railway_variable_is_masked_by_name(env: Env) -> None:
    env.rworld.set_variable("api", "LICENSE_SEED", SEED, sealed=True)
    env.rworld.log("api", f"boot: LICENSE_SEED={SEED} mode=prod", at=NOW - timedelta(seconds=5))

    result = await env.logs("api --lines 3")

    assert _messages(result)[-1] == "boot: LICENSE_SEED=*** mode=prod"
    assert result.masked_by_name == 1
    assert any("1 variable (LICENSE_SEED) is sealed on Railway" in note for note in result.notes)
