"""VercelClient over real HTTP against the sandbox Vercel; each call it makes checked by the OpenAPI spec.

After each test the `vercel` fixture validates every request the fake received: the path must be
one of the spec's (or the rollback operation SOURCES.md documents), every query parameter declared
by that operation and of the declared type.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.catalog import VercelRef
from app.providers.base import ProviderError
from app.providers.vercel import InvalidIdentifier, UnknownDeployment, VercelClient
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.sample import SAMPLE_DEPLOYMENT_IDS, SAMPLE_PREVIEW_ID, SAMPLE_TEAM_ID, sample_world
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN, VercelWorld
from tests.spec_check import validate_vercel_call

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
OLDEST, SECOND, FAILED, NEWEST = SAMPLE_DEPLOYMENT_IDS
TAIL_S = 0.5  # how long a test tails an open log stream before taking what came


@dataclass
class Vercel:
    fake: FakeVercel
    world: VercelWorld
    http: httpx.AsyncClient
    ref: VercelRef

    def client(self, token: str = SANDBOX_VERCEL_TOKEN) -> VercelClient:
        return VercelClient(self.http, url=self.fake.url or "", token=token)


@pytest.fixture
async def vercel() -> AsyncIterator[Vercel]:
    world = sample_world(NOW, clock=lambda: NOW + timedelta(minutes=1))
    async with FakeVercel.serve(world) as fake, httpx.AsyncClient() as http:
        yield Vercel(fake, world, http, world.ref("web"))
    for call in fake.calls:
        validate_vercel_call(call.method, call.path, call.query)


# ---- environment variables ---------------------------------------------------------------------


async def test_env_values_read_each_encrypted_entry_and_sensitive_ones_by_name(vercel: Vercel) -> None:
    found = await vercel.client().env_values(vercel.ref)

    assert sorted(found.values) == [
        ("NEXT_PUBLIC_ANALYTICS", "on"),  # plain: the list gives its value, no read of its own
        ("NEXT_PUBLIC_API_URL", "https://api.acme-shop.example"),  # the production entry only
        ("NEXT_PUBLIC_SITE_URL", "https://www.acme-shop.example"),
        ("REVALIDATE_TOKEN", "rv-sandbox-7f3a9c21"),
    ]
    assert found.unreadable == {"CMS_PREVIEW_SECRET"}  # sensitive: Vercel never returns the value
    assert found.masked_by_name_only == {"CMS_PREVIEW_SECRET"}
    listing, *reads = vercel.fake.calls
    assert listing.path == f"/v10/projects/{vercel.ref.project_id}/env"
    assert listing.query == {"teamId": SAMPLE_TEAM_ID}  # `decrypt=true` is not honoured: not sent
    assert sorted(call.path.rsplit("/", 1)[0] for call in reads) == [f"/v1/projects/{vercel.ref.project_id}/env"] * 3


async def test_env_readings_keep_each_entry_with_its_targets_type_and_value(vercel: Vercel) -> None:
    found = {(r.key, r.targets): r for r in await vercel.client().env_readings(vercel.ref)}

    assert found[("NEXT_PUBLIC_API_URL", ("production",))].value == "https://api.acme-shop.example"
    assert found[("NEXT_PUBLIC_API_URL", ("preview",))].value == "https://api-preview.acme-shop.example"
    sensitive = found[("CMS_PREVIEW_SECRET", ("production", "preview"))]
    assert sensitive.type == "sensitive" and sensitive.value is None
    assert found[("NEXT_PUBLIC_ANALYTICS", ("production", "preview", "development"))].type == "plain"
    reads = [c for c in vercel.fake.calls if c.path.startswith("/v1/")]
    assert len(reads) == 4  # each encrypted entry read on its own; plain and sensitive ones are not


async def test_the_env_list_gives_ciphertext_so_it_is_never_taken_for_the_value(vercel: Vercel) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{vercel.fake.url}/v10/projects/{vercel.ref.project_id}/env",
            params={"decrypt": "true", "teamId": SAMPLE_TEAM_ID},
            headers={"Authorization": f"Bearer {SANDBOX_VERCEL_TOKEN}"},
        )
    envs = {e["key"]: e for e in answer.json()["envs"]}
    assert envs["REVALIDATE_TOKEN"]["decrypted"] is False
    assert envs["REVALIDATE_TOKEN"]["value"] != "rv-sandbox-7f3a9c21"
    assert "value" not in envs["CMS_PREVIEW_SECRET"]


async def test_env_values_keep_every_target_and_read_only_the_deployments_target(vercel: Vercel) -> None:
    vercel.world.set_env("web", "STRIPE_WEBHOOK_SIGNING", "prod-whsig-51Hq8", targets=["production"])
    vercel.world.set_env("web", "STRIPE_WEBHOOK_SIGNING", "prev-whsig-77Zt2", targets=["preview", "development"])
    client = vercel.client()

    production = await client.env_values(vercel.ref, target="production")
    preview = await client.env_values(vercel.ref, target="preview")
    every = await client.env_values(vercel.ref, target=None)

    assert ("STRIPE_WEBHOOK_SIGNING", "prod-whsig-51Hq8") in production.values
    assert ("STRIPE_WEBHOOK_SIGNING", "prev-whsig-77Zt2") not in production.values
    assert ("STRIPE_WEBHOOK_SIGNING", "prev-whsig-77Zt2") in preview.values
    assert {v for k, v in every.values if k == "STRIPE_WEBHOOK_SIGNING"} == {"prod-whsig-51Hq8", "prev-whsig-77Zt2"}


async def test_a_project_named_by_its_name_is_resolved_to_its_id_once(vercel: Vercel) -> None:
    by_name = VercelRef(project_id="web", team_id=SAMPLE_TEAM_ID)
    client = vercel.client()

    found = await client.deployment(by_name, NEWEST)  # the ownership check compares ids, not a name
    await client.rollback(by_name, SECOND)
    await client.promote(by_name, NEWEST)

    assert found.id == NEWEST
    resolutions = [c for c in vercel.fake.calls if c.path == "/v9/projects/web"]
    actions = [c.path for c in vercel.fake.calls if c.method == "POST"]
    # one lookup of the id, plus the production pointer deployment() reads with every call
    assert len(resolutions) == 2
    assert actions == [
        f"/v1/projects/{vercel.ref.project_id}/rollback/{SECOND}",
        f"/v10/projects/{vercel.ref.project_id}/promote/{NEWEST}",
    ]


async def test_env_values_refused_say_which_call(vercel: Vercel) -> None:
    with pytest.raises(ProviderError) as caught:
        await vercel.client(token="not-the-token").env_values(vercel.ref)
    assert caught.value.call == "vercel environment variables" and "HTTP 403" in str(caught.value)


# ---- deployments -----------------------------------------------------------------------------


async def test_deployments_are_production_newest_first_with_commit_and_current(vercel: Vercel) -> None:
    found = await vercel.client().deployments(vercel.ref)

    assert [d.id for d in found] == [NEWEST, FAILED, SECOND, OLDEST]  # the preview is not production
    assert [d.status for d in found] == ["READY", "ERROR", "READY", "READY"]
    assert [d.is_current for d in found] == [True, False, False, False]
    assert [d.can_rollback for d in found] == [False, False, True, True]
    newest = found[0]
    assert newest.created_at == NOW - timedelta(hours=2)
    assert newest.commit_message == "Fix hydration warning on /pricing"
    assert newest.author == "Dana Ops"
    assert newest.commit_hash is not None and len(newest.commit_hash) == 39
    assert newest.url is not None and newest.url.startswith("https://")
    assert newest.meta["branch"] == "main"
    assert found[1].meta["error_message"] == 'Command "npm run build" exited with 1'


async def test_deployments_send_the_project_team_and_target(vercel: Vercel) -> None:
    await vercel.client().deployments(vercel.ref, limit=3)

    listing = next(c for c in vercel.fake.calls if c.path == "/v6/deployments")
    assert listing.query == {
        "projectId": vercel.ref.project_id,
        "limit": "3",
        "target": "production",
        "teamId": SAMPLE_TEAM_ID,
    }
    project = next(c for c in vercel.fake.calls if c.path.startswith("/v9/projects/"))
    assert project.path == f"/v9/projects/{vercel.ref.project_id}"
    assert project.query == {"teamId": SAMPLE_TEAM_ID}


async def test_deployments_of_every_target(vercel: Vercel) -> None:
    found = await vercel.client().deployments(vercel.ref, limit=2, target=None)

    assert [d.id for d in found] == [SAMPLE_PREVIEW_ID, NEWEST]
    assert "target" not in next(c for c in vercel.fake.calls if c.path == "/v6/deployments").query


async def test_latest_deployment_is_the_newest_production_one(vercel: Vercel) -> None:
    client = vercel.client()
    ready = await client.latest_deployment(vercel.ref)
    vercel.world.add_deployment("web", state="ERROR", commit_message="Break prod", at=NOW)
    failed = await client.latest_deployment(vercel.ref)

    assert ready.provider == "vercel"
    assert ready.deployment is not None and ready.deployment.id == NEWEST and ready.deployment.is_current
    assert failed.deployment is not None and failed.deployment.status == "ERROR"
    assert not failed.deployment.is_current
    assert failed.instance_states == ()


async def test_a_project_without_deployments_has_no_latest(vercel: Vercel) -> None:
    vercel.world.add_project("empty", project_id="prj_empty", team_id=SAMPLE_TEAM_ID)

    observed = await vercel.client().latest_deployment(vercel.world.ref("empty"))

    assert observed.deployment is None


async def test_deployment_by_id(vercel: Vercel) -> None:
    found = await vercel.client().deployment(vercel.ref, SECOND)

    assert found.id == SECOND
    assert found.status == "READY"
    assert found.commit_message == "Add pricing page"
    assert not found.is_current
    assert next(c for c in vercel.fake.calls if c.path.startswith("/v13/")).path == f"/v13/deployments/{SECOND}"


async def test_unknown_deployment_is_its_own_error(vercel: Vercel) -> None:
    with pytest.raises(UnknownDeployment) as caught:
        await vercel.client().deployment(vercel.ref, "dpl_doesNotExist")

    assert caught.value.call == "vercel deployment"
    assert caught.value.reason == "HTTP 404: Deployment not found (not_found)"


async def test_a_deployment_of_another_project_is_unknown_here(vercel: Vercel) -> None:
    vercel.world.add_project("docs", project_id="prj_docs", team_id=SAMPLE_TEAM_ID)
    other = vercel.world.add_deployment("docs", commit_message="Docs")

    with pytest.raises(UnknownDeployment, match="another project"):
        await vercel.client().deployment(vercel.ref, other.id)


@pytest.mark.parametrize("bad", ["../../v2/user", "dpl_x/../../y", "dpl x", "", "dpl_%2e%2e", "a" * 101])
async def test_an_id_that_is_not_an_id_is_refused_before_anything_is_sent(vercel: Vercel, bad: str) -> None:
    client = vercel.client()

    with pytest.raises(InvalidIdentifier, match="expected a Vercel id"):
        await client.deployment(vercel.ref, bad)
    with pytest.raises(InvalidIdentifier):
        await client.rollback(vercel.ref, bad)
    with pytest.raises(InvalidIdentifier):
        await client.runtime_logs(vercel.ref, bad)

    assert vercel.fake.calls == []


async def test_a_team_id_that_is_not_an_id_is_refused(vercel: Vercel) -> None:
    with pytest.raises(InvalidIdentifier, match="team id"):
        await vercel.client().deployments(VercelRef(project_id="prj_x", team_id="team_x&teamId=other"))


async def test_a_team_project_is_not_found_without_its_team(vercel: Vercel) -> None:
    with pytest.raises(ProviderError) as caught:
        await vercel.client().deployments(VercelRef(project_id=vercel.ref.project_id))

    assert caught.value.call == "vercel deployments"
    assert caught.value.reason == "HTTP 404: Project not found (not_found)"
    assert all("teamId" not in c.query for c in vercel.fake.calls)


# ---- actions ---------------------------------------------------------------------------------


async def test_rollback_points_production_at_the_target(vercel: Vercel) -> None:
    client = vercel.client()

    answer = await client.rollback(vercel.ref, SECOND, description="INC-42: checkout failing")

    assert answer == {
        "action": "rollback",
        "project_id": vercel.ref.project_id,
        "deployment_id": SECOND,
        "status": 201,
    }
    call = vercel.fake.calls[-1]
    assert (call.method, call.path) == ("POST", f"/v1/projects/{vercel.ref.project_id}/rollback/{SECOND}")
    assert call.query == {"description": "INC-42: checkout failing", "teamId": SAMPLE_TEAM_ID}
    found = await client.deployments(vercel.ref)
    assert [d.id for d in found if d.is_current] == [SECOND]


async def test_on_hobby_only_the_previous_production_deployment_can_be_rolled_back_to(vercel: Vercel) -> None:
    vercel.world.project("web").plan = "hobby"
    client = vercel.client()

    with pytest.raises(ProviderError) as caught:
        await client.rollback(vercel.ref, OLDEST)
    assert "upgrade to pro" in caught.value.reason and "HTTP 400" in caught.value.reason
    await client.rollback(vercel.ref, SECOND)  # the previous production deployment (FAILED never served)
    assert vercel.world.production("web").id == SECOND


async def test_rollback_to_what_already_serves_is_refused_with_vercels_reason(vercel: Vercel) -> None:
    with pytest.raises(ProviderError) as caught:
        await vercel.client().rollback(vercel.ref, NEWEST)

    assert caught.value.call == "vercel rollback"
    assert caught.value.reason == "HTTP 409: This deployment is already serving production (conflict)"


async def test_rollback_to_an_unknown_deployment(vercel: Vercel) -> None:
    with pytest.raises(UnknownDeployment) as caught:
        await vercel.client().rollback(vercel.ref, "dpl_gone")

    assert caught.value.call == "vercel rollback"


async def test_promote_undoes_a_rollback(vercel: Vercel) -> None:
    client = vercel.client()
    await client.rollback(vercel.ref, SECOND)

    answer = await client.promote(vercel.ref, NEWEST)

    assert answer["action"] == "promote" and answer["status"] == 201
    assert vercel.fake.calls[-1].path == f"/v10/projects/{vercel.ref.project_id}/promote/{NEWEST}"
    production = vercel.world.production("web")
    assert production is not None and production.id == NEWEST


# ---- logs ------------------------------------------------------------------------------------


async def test_runtime_logs_show_only_lines_logged_after_the_request(vercel: Vercel) -> None:
    """Vercel's runtime-logs endpoint is a live tail: the sample world's earlier lines (and one logged
    just before the call) never come; a line logged while the stream is open does."""
    vercel.world.log("web", "logged before the request")
    client = vercel.client()

    async def log_during_the_tail() -> None:
        await vercel.world.tail_opened.wait()
        vercel.world.log("web", "logged during the tail", level="error", path="/api/checkout", status=500)

    writer = asyncio.create_task(log_during_the_tail())
    lines = await client.runtime_logs(vercel.ref, NEWEST, limit=100, tail_s=TAIL_S)
    await writer

    assert [line.message for line in lines] == ["logged during the tail"]
    assert lines[0].level == "error"
    assert lines[0].attributes["requestPath"] == "/api/checkout"
    assert lines[0].attributes["responseStatusCode"] == 500
    call = vercel.fake.calls[-1]
    assert call.path == f"/v1/projects/{vercel.ref.project_id}/deployments/{NEWEST}/runtime-logs"
    assert call.query == {"teamId": SAMPLE_TEAM_ID}


async def test_runtime_logs_stop_reading_at_the_limit(vercel: Vercel) -> None:
    for n in range(3):
        vercel.world.when_tailed("web", f"GET /pricing 200 #{n}", path="/pricing")

    lines = await vercel.client().runtime_logs(vercel.ref, NEWEST, limit=2, tail_s=60)

    # the stream stays open after its lines, so only stopping at the limit lets this return
    assert [line.message for line in lines] == ["GET /pricing 200 #0", "GET /pricing 200 #1"]


async def test_runtime_logs_end_when_the_tail_is_over(vercel: Vercel) -> None:
    vercel.world.when_tailed("web", "TypeError: Cannot read properties of undefined", level="error", status=500)

    lines = await vercel.client().runtime_logs(vercel.ref, NEWEST, limit=100, tail_s=TAIL_S)

    assert [line.level for line in lines] == ["error"]
    assert lines[-1].attributes["responseStatusCode"] == 500


async def test_runtime_logs_of_a_stream_that_ends(vercel: Vercel) -> None:
    vercel.world.live_tail = False
    for n in range(4):
        vercel.world.when_tailed("web", f"line {n}")

    lines = await vercel.client().runtime_logs(vercel.ref, NEWEST, limit=100, tail_s=60)

    assert len(lines) == 4


async def test_runtime_logs_of_an_unknown_deployment(vercel: Vercel) -> None:
    with pytest.raises(UnknownDeployment) as caught:
        await vercel.client().runtime_logs(vercel.ref, "dpl_gone", tail_s=TAIL_S)

    assert caught.value.call == "vercel runtime logs"
    assert caught.value.reason == "HTTP 404: Deployment not found (not_found)"


async def test_runtime_logs_that_never_answer_time_out(vercel: Vercel) -> None:
    vercel.world.stall()

    with pytest.raises(ProviderError) as caught:
        await vercel.client().runtime_logs(vercel.ref, NEWEST, timeout_s=0.2, tail_s=0.2)

    assert caught.value.call == "vercel runtime logs"
    assert caught.value.reason == "no answer within 0.2 s"


async def test_build_events_are_the_end_of_the_build_oldest_first(vercel: Vercel) -> None:
    lines = await vercel.client().build_events(FAILED, limit=2, ref=vercel.ref)

    assert [(line.level, line.message) for line in lines] == [
        ("error", "Type error: Property 'params' does not exist"),
        ("error", 'Error: Command "npm run build" exited with 1'),
    ]
    assert lines[0].attributes["type"] == "stderr"
    call = vercel.fake.calls[-1]
    assert call.path == f"/v3/deployments/{FAILED}/events"
    assert call.query == {"limit": "2", "direction": "backward", "follow": "0", "teamId": SAMPLE_TEAM_ID}


async def test_build_events_without_the_team_are_not_found(vercel: Vercel) -> None:
    with pytest.raises(UnknownDeployment) as caught:
        await vercel.client().build_events(FAILED)

    assert caught.value.call == "vercel build events"


# ---- credentials and failures ----------------------------------------------------------------


async def test_the_token_is_sent_as_bearer(vercel: Vercel) -> None:
    await vercel.client().deployment(vercel.ref, NEWEST)

    assert all(call.auth == "bearer" for call in vercel.fake.calls)
    assert all(call.headers["authorization"] == "***" for call in vercel.fake.calls)


async def test_a_wrong_token_is_refused(vercel: Vercel) -> None:
    with pytest.raises(ProviderError) as caught:
        await vercel.client(token="wrong").deployments(vercel.ref)

    assert caught.value.call == "vercel deployments"
    assert caught.value.reason == "HTTP 403: Not authorized (forbidden)"


async def test_http_401_becomes_a_provider_error(vercel: Vercel) -> None:
    body = '{"error": {"code": "unauthorized", "message": "The token has expired"}}'
    vercel.world.fail_next(status=401, body=body)

    with pytest.raises(ProviderError) as caught:
        await vercel.client().build_events(FAILED, ref=vercel.ref)

    assert caught.value.call == "vercel build events"
    assert caught.value.reason == "HTTP 401: The token has expired (unauthorized)"


async def test_http_500_becomes_a_provider_error(vercel: Vercel) -> None:
    vercel.world.fail_next(status=500, times=2)

    with pytest.raises(ProviderError) as caught:
        await vercel.client().latest_deployment(vercel.ref)

    assert caught.value.call == "vercel latest deployment"
    assert caught.value.reason == "HTTP 500: An unexpected error occurred (internal_server_error)"


async def test_an_error_body_that_is_not_json_is_quoted(vercel: Vercel) -> None:
    vercel.world.fail_next(status=502, body="<html>Bad gateway</html>")

    with pytest.raises(ProviderError) as caught:
        await vercel.client().promote(vercel.ref, SECOND)

    assert caught.value.call == "vercel promote"
    assert caught.value.reason == "HTTP 502: <html>Bad gateway</html>"


async def test_an_answer_that_is_not_json(vercel: Vercel) -> None:
    vercel.world.fail_next(status=200, body="not json", times=2)

    with pytest.raises(ProviderError) as caught:
        await vercel.client().deployment(vercel.ref, NEWEST)

    assert caught.value.call == "vercel deployment"
    assert caught.value.reason == "the answer was not JSON (not json)"


async def test_a_vercel_that_does_not_answer_times_out(vercel: Vercel) -> None:
    vercel.world.stall()

    with pytest.raises(ProviderError) as caught:
        await vercel.client().rollback(vercel.ref, SECOND, timeout_s=0.2)

    assert caught.value.call == "vercel rollback"
    assert caught.value.reason == "no answer within 0.2 s"
    production = vercel.world.production("web")
    assert production is not None and production.id == NEWEST


async def test_the_client_never_shows_its_token() -> None:
    async with httpx.AsyncClient() as http:
        client = VercelClient(http, url="https://api.vercel.com", token="vc-secret-123")

        assert "vc-secret-123" not in repr(client)


# ---- the spec check itself -------------------------------------------------------------------


def test_the_spec_check_accepts_the_calls_the_client_makes() -> None:
    validate_vercel_call("GET", "/v6/deployments", {"projectId": "prj_1", "limit": "10", "target": "production"})
    validate_vercel_call("GET", "/v13/deployments/dpl_1", {"teamId": "team_1"})
    validate_vercel_call("POST", "/v1/projects/prj_1/rollback/dpl_1", {"description": "why", "teamId": "team_1"})
    validate_vercel_call("GET", "/v3/deployments/dpl_1/events", {"limit": "5", "direction": "backward", "follow": "0"})


@pytest.mark.parametrize(
    ("method", "path", "query", "complaint"),
    [
        ("GET", "/v6/deployment", {}, "matches no path"),
        ("GET", "/v6/deployments", {"projectID": "prj_1"}, "'projectID' is not declared"),
        ("GET", "/v6/deployments", {"limit": "ten"}, "not a number"),
        ("DELETE", "/v6/deployments", {}, "allows only GET"),
        ("GET", "/v3/deployments/dpl_1/events", {"direction": "sideways"}, "not one of"),
        ("POST", "/v9/projects/prj_1/rollback/dpl_1", {}, "matches no path"),
        ("POST", "/v1/projects/prj_1/rollback/dpl_1", {"reason": "x"}, "'reason' is not declared"),
    ],
)
def test_the_spec_check_rejects_what_vercel_does_not_have(
    method: str, path: str, query: dict[str, str], complaint: str
) -> None:
    with pytest.raises(AssertionError, match=complaint):
        validate_vercel_call(method, path, query)


# ---- rate limits -----------------------------------------------------------------------------------


async def test_a_short_vercel_rate_limit_is_retried_once_and_succeeds(vercel: Vercel) -> None:
    vercel.world.rate_limit_next(retry_after_s=1)

    found = await vercel.client().deployments(vercel.ref)

    assert found
    assert [c.path for c in vercel.fake.calls].count(vercel.fake.calls[0].path) == 2


async def test_a_long_vercel_rate_limit_says_until_when_and_asks_nothing_more(vercel: Vercel) -> None:
    from app.providers.rate_limits import RateLimited

    vercel.world.rate_limit_next(retry_after_s=900, times=10)
    client = VercelClient(vercel.http, url=vercel.fake.url or "", token=SANDBOX_VERCEL_TOKEN, clock=lambda: NOW)

    with pytest.raises(RateLimited) as caught:
        await client.promote(vercel.ref, "dpl_whatever1")

    assert caught.value.reason == "Vercel's rate limit: retry after 12:15 UTC"
    assert len(vercel.fake.calls) == 1


async def test_a_live_tail_of_a_project_named_by_its_name_asks_for_its_id_and_says_a_rate_limit(
    vercel: Vercel,
) -> None:
    """The runtime-logs path takes the project's id (OpenAPI `projectId`), like promote and rollback;
    and a 429 on the stream says until when, as every other call does."""
    from app.providers.rate_limits import RateLimited

    by_name = VercelRef(project_id="web", team_id=SAMPLE_TEAM_ID)
    client = VercelClient(vercel.http, url=vercel.fake.url or "", token=SANDBOX_VERCEL_TOKEN, clock=lambda: NOW)

    await client.runtime_logs(by_name, NEWEST, limit=1, tail_s=0.2)
    tails = [c.path for c in vercel.fake.calls if c.path.endswith("/runtime-logs")]
    assert tails == [f"/v1/projects/{vercel.ref.project_id}/deployments/{NEWEST}/runtime-logs"]

    vercel.world.rate_limit_next(retry_after_s=900)
    with pytest.raises(RateLimited) as caught:
        await client.runtime_logs(by_name, NEWEST, limit=1, tail_s=0.2)
    assert caught.value.reason == "Vercel's rate limit: retry after 12:15 UTC"
