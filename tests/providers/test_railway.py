"""RailwayClient over real HTTP against the sandbox Railway; each document it sends checked by the schema.

After each test the `railway` fixture validates every request the fake received: the document must
be one of the constants in app/providers/graphql_docs.py (nothing interpolated), valid against
Railway's published schema, and its variables must fit the document's declarations.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.catalog import RailwayRef
from app.providers import graphql_docs
from app.providers.base import ProviderError
from app.providers.railway import (
    InvalidIdentifier,
    RailwayClient,
    RailwayGraphQLError,
    UnknownDeployment,
    railway_log_filter,
)
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.logs import parse_filter
from app.sandbox.railway.sample import SAMPLE_DEPLOYMENT_IDS, SAMPLE_JWT_SECRET, SAMPLE_SECRET_VALUES, sample_world
from app.sandbox.railway.world import SANDBOX_API_TOKEN, SANDBOX_PROJECT_TOKEN, FakeLog, RailwayWorld
from tests.spec_check import validate_railway_document

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
OLDEST, SECOND, FAILED, NEWEST = SAMPLE_DEPLOYMENT_IDS


@dataclass
class Railway:
    fake: FakeRailway
    world: RailwayWorld
    http: httpx.AsyncClient
    ref: RailwayRef

    def client(self, *, api_token: str | None = SANDBOX_API_TOKEN, project_token: str | None = None) -> RailwayClient:
        return RailwayClient(self.http, url=self.fake.url or "", api_token=api_token, project_token=project_token)


@pytest.fixture
async def railway() -> AsyncIterator[Railway]:
    world = sample_world(NOW, clock=lambda: NOW + timedelta(minutes=1))
    async with FakeRailway.serve(world) as fake, httpx.AsyncClient() as http:
        yield Railway(fake, world, http, world.ref("api"))
    documents = set(graphql_docs.ALL_DOCUMENTS.values())
    for call in fake.calls:
        assert call.query in documents, f"{call.operation}: not one of graphql_docs' constants"
        assert call.operation == graphql_docs.operation_name(call.query)
        validate_railway_document(call.query, call.variables)


# ---- deployments -----------------------------------------------------------------------------


async def test_deployments_are_newest_first_with_commit_status_and_the_current_one(railway: Railway) -> None:
    found = await railway.client().deployments(railway.ref)

    assert [d.id for d in found] == [NEWEST, FAILED, SECOND, OLDEST]
    assert [d.status for d in found] == ["SUCCESS", "FAILED", "REMOVED", "REMOVED"]
    assert [d.is_current for d in found] == [True, False, False, False]
    assert [d.can_rollback for d in found] == [False, False, True, True]
    newest = found[0]
    assert newest.created_at == NOW - timedelta(hours=3)
    assert newest.created_at.tzinfo is not None
    assert newest.commit_message == "Fix N+1 query in /orders"
    assert newest.commit_hash is not None and newest.commit_hash.startswith("d5e2f68")
    assert newest.author == "Dana Ops"
    assert newest.url is not None and newest.url.startswith("https://")
    assert newest.meta["branch"] == "main"


async def test_deployments_asks_for_the_limit_and_the_service_only(railway: Railway) -> None:
    found = await railway.client().deployments(railway.ref, limit=2)

    assert [d.id for d in found] == [NEWEST, FAILED]
    sent = railway.fake.calls[-1].variables
    assert sent["first"] == 2
    assert sent["input"] == {
        "projectId": railway.ref.project_id,
        "environmentId": railway.ref.environment_id,
        "serviceId": railway.ref.service_id,
    }


async def test_latest_deployment_reports_the_instances_and_a_crash(railway: Railway) -> None:
    client = railway.client()
    healthy = await client.latest_deployment(railway.ref)
    railway.world.crash("api")
    crashed = await client.latest_deployment(railway.ref)

    assert healthy.provider == "railway"
    assert healthy.deployment is not None and healthy.deployment.id == NEWEST
    assert healthy.deployment.is_current
    assert healthy.instance_states == ("RUNNING",)
    assert crashed.deployment is not None and crashed.deployment.status == "CRASHED"
    assert crashed.instance_states == ("CRASHED",)


async def test_latest_deployment_that_failed_leaves_the_previous_instances_serving(railway: Railway) -> None:
    railway.world.add_deployment("api", status="FAILED", commit_message="Break the build", at=NOW)

    observed = await railway.client().latest_deployment(railway.ref)

    assert observed.deployment is not None
    assert observed.deployment.status == "FAILED"
    assert observed.deployment.commit_message == "Break the build"
    assert not observed.deployment.is_current
    assert observed.instance_states == ("RUNNING",)  # the previous deployment still serves


async def test_deployment_by_id(railway: Railway) -> None:
    found = await railway.client().deployment(railway.ref, SECOND)

    assert found.id == SECOND
    assert found.status == "REMOVED"
    assert found.commit_message == "Cache sessions in Redis"
    assert found.can_rollback is True
    assert not found.is_current


async def test_unknown_deployment_is_its_own_error(railway: Railway) -> None:
    with pytest.raises(UnknownDeployment) as caught:
        await railway.client().deployment(railway.ref, "9a9a9a9a-0000-4000-8000-000000000000")

    assert caught.value.call == "railway deployment"
    assert "9a9a9a9a-0000-4000-8000-000000000000" in caught.value.reason


async def test_a_deployment_of_another_service_is_unknown_here(railway: Railway) -> None:
    worker_deployment = railway.world.service("worker").deployments[0].id

    with pytest.raises(UnknownDeployment, match="another service"):
        await railway.client().deployment(railway.ref, worker_deployment)


async def test_a_service_railway_cannot_find_is_not_mistaken_for_an_unknown_deployment(
    railway: Railway,
) -> None:
    wrong_environment = railway.ref.model_copy(update={"environment_id": "no-such-environment"})

    with pytest.raises(RailwayGraphQLError) as caught:
        await railway.client().deployment(wrong_environment, NEWEST)

    assert not isinstance(caught.value, UnknownDeployment)
    assert caught.value.paths == ["serviceInstance"]
    assert caught.value.reason == "ServiceInstance not found"


async def test_an_id_that_is_not_an_id_is_refused_before_anything_is_sent(railway: Railway) -> None:
    with pytest.raises(InvalidIdentifier, match="expected a Railway deployment id"):
        await railway.client().deployment(railway.ref, '") { __typename } #')
    with pytest.raises(InvalidIdentifier):
        await railway.client().rollback("../../etc")

    assert railway.fake.calls == []


# ---- actions ---------------------------------------------------------------------------------


async def test_rollback_deploys_the_target_again(railway: Railway) -> None:
    answer = await railway.client().rollback(SECOND)

    assert answer == {"action": "rollback", "deployment_id": SECOND, "accepted": True}
    assert railway.fake.calls[-1].operation == "DeploymentRollback"
    assert railway.fake.calls[-1].variables == {"id": SECOND}
    current = railway.world.current("api")
    assert current is not None and current.id not in SAMPLE_DEPLOYMENT_IDS
    assert current.commit_message == "Cache sessions in Redis"
    assert current.rollback_target == SECOND


async def test_rollback_refused_by_railway_says_why(railway: Railway) -> None:
    with pytest.raises(RailwayGraphQLError) as caught:
        await railway.client().rollback(FAILED)

    assert caught.value.call == "railway rollback"
    assert caught.value.reason == "Deployment cannot be rolled back"


async def test_restart_brings_crashed_instances_back(railway: Railway) -> None:
    railway.world.crash("api")

    answer = await railway.client().restart(NEWEST)

    assert answer == {"action": "restart", "deployment_id": NEWEST, "accepted": True}
    observed = await railway.client().latest_deployment(railway.ref)
    assert observed.instance_states == ("RUNNING",)
    assert observed.deployment is not None and observed.deployment.status == "SUCCESS"


async def test_redeploy_answers_with_the_new_deployment(railway: Railway) -> None:
    answer = await railway.client().redeploy(NEWEST)

    assert answer["deployment_id"] == NEWEST
    assert answer["status"] == "SUCCESS"
    new = railway.world.deployment(answer["new_deployment_id"])
    assert new.reason == "redeploy"
    assert railway.world.current("api") is new


async def test_stop_leaves_nothing_serving(railway: Railway) -> None:
    answer = await railway.client().stop(NEWEST)

    assert answer == {"action": "stop", "deployment_id": NEWEST, "accepted": True}
    assert railway.world.current("api") is None
    observed = await railway.client().latest_deployment(railway.ref)
    assert observed.deployment is not None and not observed.deployment.is_current


async def test_upsert_variable_sets_it_and_never_echoes_the_value(railway: Railway) -> None:
    secret = "s3cret-value-for-the-test"

    answer = await railway.client().upsert_variable(railway.ref, "FEATURE_FLAGS", secret)

    assert railway.world.service("api").variables["FEATURE_FLAGS"] == secret
    assert secret not in repr(answer)
    assert answer["name"] == "FEATURE_FLAGS" and answer["redeploys"] is True
    sent = railway.fake.calls[-1]
    assert sent.operation == "VariableUpsert"
    assert sent.variables["input"]["value"] == "***"  # even the fake's record never keeps it
    assert secret not in repr(railway.fake.calls)
    assert railway.world.current("api") is not None
    assert railway.world.current("api").reason == "variableChange"  # type: ignore[union-attr]


async def test_upsert_variable_can_skip_the_redeploy(railway: Railway) -> None:
    await railway.client().upsert_variable(railway.ref, "LOG_LEVEL", "debug", skip_deploys=True)

    assert railway.fake.calls[-1].variables["input"]["skipDeploys"] is True
    current = railway.world.current("api")
    assert current is not None and current.id == NEWEST


async def test_a_shared_variable_is_set_without_a_service_and_reaches_services_with_their_next_deploy(
    railway: Railway,
) -> None:
    """`variableUpsert` without `serviceId` sets the environment's shared variable; with skipDeploys no
    service deploys, and a deployment is given the new value only when it starts."""
    secret = "rotated-shared-secret-value-0123"
    worker = railway.world.current("worker")
    assert worker is not None

    answer = await railway.client().upsert_shared_variable(railway.ref, "JWT_SECRET", secret)

    sent = railway.fake.calls[-1]
    assert sent.operation == "VariableUpsert" and "serviceId" not in sent.variables["input"]
    assert sent.variables["input"]["skipDeploys"] is True and sent.variables["input"]["value"] == "***"
    assert answer["shared"] is True and answer["redeploys"] is False and secret not in repr(answer)
    assert await railway.client().shared_variables(railway.ref) == {"JWT_SECRET": secret}
    assert (await railway.client().service_variables(railway.ref))["JWT_SECRET"] == secret  # rendered now
    assert railway.world.current("api").id == NEWEST  # type: ignore[union-attr]
    assert railway.world.current("api").variables["JWT_SECRET"] == SAMPLE_JWT_SECRET  # type: ignore[union-attr]
    assert railway.world.current("worker") is worker


async def test_a_shared_variable_change_without_skip_deploys_redeploys_every_service_referencing_it(
    railway: Railway,
) -> None:
    """Railway's "Skip deploys for affected services" (schema): without it, each referencing service deploys."""
    railway.world.add_service("lone", project_id=railway.ref.project_id, environment_id=railway.ref.environment_id)
    railway.world.add_deployment("lone")
    lone = railway.world.current("lone")

    await railway.client().upsert_shared_variable(
        railway.ref, "JWT_SECRET", "another-new-value-456", skip_deploys=False
    )

    for name in ("api", "worker"):
        current = railway.world.current(name)
        assert current is not None and current.reason == "variableChange"
        assert current.variables["JWT_SECRET"] == "another-new-value-456"
    assert railway.world.current("lone") is lone  # it references nothing shared


async def test_several_variables_go_in_one_collection_upsert_with_one_deploy(railway: Railway) -> None:
    secret = "one-value-under-two-names-789"
    before = len(railway.world.service("api").deployments)

    answer = await railway.client().upsert_variables(railway.ref, {"JWT_SECRET": secret, "NEXTAUTH_SECRET": secret})

    sent = railway.fake.calls[-1]
    assert sent.operation == "VariableCollectionUpsert"
    assert sent.variables["input"]["replace"] is False and sent.variables["input"]["skipDeploys"] is False
    assert sent.variables["input"]["variables"] == {"JWT_SECRET": "***", "NEXTAUTH_SECRET": "***"}
    assert sent.variables["input"]["serviceId"] == railway.ref.service_id
    assert answer["names"] == ["JWT_SECRET", "NEXTAUTH_SECRET"] and secret not in repr(answer)
    api = railway.world.service("api")
    assert api.variables["JWT_SECRET"] == api.variables["NEXTAUTH_SECRET"] == secret
    assert api.variables["PORT"] == "8080"  # replace false: nothing else removed
    assert len(api.deployments) == before + 1  # one deploy for both
    with pytest.raises(InvalidIdentifier):
        await railway.client().upsert_variables(railway.ref, {"OK": "x", "9BAD": "y"})


async def test_upsert_variable_refuses_a_name_that_is_not_one(railway: Railway) -> None:
    with pytest.raises(InvalidIdentifier, match="variable name"):
        await railway.client().upsert_variable(railway.ref, "BAD NAME; rm -rf", "x")

    assert railway.fake.calls == []


# ---- logs and variables ----------------------------------------------------------------------


async def test_deployment_logs_with_railway_filter_syntax(railway: Railway) -> None:
    lines = await railway.client().deployment_logs(NEWEST, filter=railway_log_filter(level="error"), limit=50)

    assert [line.message for line in lines] == ["Error: Redis connection timeout after 5000ms"]
    line = lines[0]
    assert line.level == "error"
    assert line.timestamp == NOW - timedelta(hours=3) + timedelta(minutes=8)
    assert line.attributes["requestId"] == "req_3Xy8zA"
    sent = railway.fake.calls[-1].variables
    assert sent["filter"] == "@level:error"
    assert sent["limit"] == 50


async def test_deployment_logs_are_oldest_first_with_levels_and_decoded_attributes(railway: Railway) -> None:
    lines = await railway.client().deployment_logs(NEWEST, limit=3)

    assert [line.message for line in lines] == [
        "GET /orders 200 184ms",
        "Slow query: SELECT * FROM orders (2.4 s)",
        "Error: Redis connection timeout after 5000ms",
    ]
    assert [line.level for line in lines] == ["info", "warning", "error"]
    assert lines[0].attributes["status"] == 200  # Railway sends attribute values JSON-encoded
    assert lines[0].attributes["deploymentId"] == NEWEST


async def test_deployment_logs_in_a_time_window(railway: Railway) -> None:
    started = NOW - timedelta(hours=3) + timedelta(minutes=1)

    lines = await railway.client().deployment_logs(
        NEWEST, start=started, end=started + timedelta(seconds=1, milliseconds=500), limit=100
    )

    assert [line.message for line in lines] == [
        "Starting api (node dist/server.js)",
        f"Connecting to {SAMPLE_SECRET_VALUES[0]}",
    ]
    sent = railway.fake.calls[-1].variables
    assert sent["startDate"] == "2025-11-20T09:01:00.000Z"
    assert sent["endDate"] == "2025-11-20T09:01:01.500Z"


async def test_a_naive_time_is_refused(railway: Railway) -> None:
    with pytest.raises(ValueError, match="aware"):
        await railway.client().deployment_logs(NEWEST, start=datetime(2025, 1, 1), limit=10)


async def test_a_filter_from_a_user_travels_only_as_a_variable(railway: Railway) -> None:
    hostile = '") { me { email } } #'

    await railway.client().deployment_logs(NEWEST, filter=hostile, limit=5)

    assert railway.fake.calls[-1].query == graphql_docs.DEPLOYMENT_LOGS
    assert railway.fake.calls[-1].variables["filter"] == hostile


async def test_environment_logs_keep_to_the_service(railway: Railway) -> None:
    lines = await railway.client().environment_logs(railway.ref, limit=100)

    messages = [line.message for line in lines]
    assert "worker: processed 42 jobs" not in messages
    assert messages[-1] == "Error: Redis connection timeout after 5000ms"
    assert railway.fake.calls[-1].variables["filter"] == f"@service:{railway.ref.service_id}"


async def test_environment_logs_combine_the_scope_with_the_user_filter(railway: Railway) -> None:
    lines = await railway.client().environment_logs(
        railway.ref, filter="@level:warn OR timeout", start=NOW - timedelta(days=1), end=NOW, limit=10
    )

    assert [line.message for line in lines] == [
        "Slow query: SELECT * FROM orders (2.4 s)",
        "Error: Redis connection timeout after 5000ms",
    ]
    sent = railway.fake.calls[-1].variables
    assert sent["filter"] == f"@service:{railway.ref.service_id} AND (@level:warn OR timeout)"
    assert sent["anchorDate"] == "2025-11-20T12:00:00.000Z"
    assert sent["beforeDate"] == "2025-11-19T12:00:00.000Z"
    assert sent["beforeLimit"] == 10


async def test_build_logs_end_with_why_the_build_failed(railway: Railway) -> None:
    lines = await railway.client().build_logs(FAILED, limit=2)

    assert [(line.level, line.message) for line in lines] == [
        ("error", "npm ERR! engine Unsupported engine"),
        ("error", "Build failed with exit code 1"),
    ]


async def test_service_variables_for_masking(railway: Railway) -> None:
    found = await railway.client().service_variables(railway.ref)

    assert found["DATABASE_URL"] == SAMPLE_SECRET_VALUES[0]
    assert found["PORT"] == "8080"


async def test_a_sealed_variable_comes_back_without_its_value(railway: Railway) -> None:
    railway.world.set_variable("api", "LICENSE_SEED", "ls-9d8c7b6a5f4e", sealed=True)

    found = await railway.client().service_variables(railway.ref)

    assert "LICENSE_SEED" in found and found["LICENSE_SEED"] is None  # set, but unreadable: not ""


async def test_references_are_rendered_for_deployments_and_kept_unrendered_on_request(railway: Railway) -> None:
    railway.world.set_variable("api", "LICENSE_SEED", "ls-9d8c7b6a5f4e", sealed=True)
    client = railway.client()
    worker = railway.world.ref("worker")

    rendered = await client.service_variables(worker)
    unrendered = await client.unrendered_variables(worker)
    own = await client.unrendered_variables(railway.ref)

    assert rendered["JWT_SECRET"] == SAMPLE_JWT_SECRET  # `${{shared.JWT_SECRET}}` rendered
    assert rendered["DATABASE_URL"] == SAMPLE_SECRET_VALUES[0]  # `${{api.DATABASE_URL}}` rendered
    assert unrendered == {"QUEUE": "default", "JWT_SECRET": "${{shared.JWT_SECRET}}",
                          "DATABASE_URL": "${{api.DATABASE_URL}}"}
    assert own["LICENSE_SEED"] is None  # sealed: never read back, rendered or not
    call = railway.fake.calls[-1]
    assert call.operation == "Variables" and call.variables["unrendered"] is True


def test_railway_log_filter_builds_railway_syntax() -> None:
    assert railway_log_filter() is None
    assert railway_log_filter(level="ERROR") == "@level:error"
    assert railway_log_filter(level="error", text='say "hi"') == '@level:error AND "say  hi"'
    with pytest.raises(InvalidIdentifier, match="log level"):
        railway_log_filter(level="error OR @service:x")


def test_the_sandbox_understands_railway_filters() -> None:
    error = FakeLog(NOW, "Redis timeout", level="error", attributes={"requestId": "r1"})
    info = FakeLog(NOW, "GET / 200", level="info")
    tags = {"serviceId": "s1"}

    def matching(text: str) -> list[str]:
        return [line.message for line in (error, info) if parse_filter(text)(line, tags)]

    assert matching("") == ["Redis timeout", "GET / 200"]
    assert matching("@level:error") == ["Redis timeout"]
    assert matching('"get /"') == ["GET / 200"]
    assert matching("-@level:error") == ["GET / 200"]
    assert matching("@service:s1 AND (@level:info OR timeout)") == ["Redis timeout", "GET / 200"]
    assert matching("@service:s2 AND timeout") == []
    assert matching("@requestId:r1") == ["Redis timeout"]


# ---- credentials -----------------------------------------------------------------------------


async def test_an_account_token_is_sent_as_bearer(railway: Railway) -> None:
    await railway.client(api_token=SANDBOX_API_TOKEN).latest_deployment(railway.ref)

    call = railway.fake.calls[-1]
    assert call.auth == "bearer"
    assert call.headers["authorization"] == "***"
    assert "project-access-token" not in call.headers


async def test_a_project_token_is_sent_as_project_access_token(railway: Railway) -> None:
    await railway.client(api_token=None, project_token=SANDBOX_PROJECT_TOKEN).latest_deployment(railway.ref)

    call = railway.fake.calls[-1]
    assert call.auth == "project"
    assert "authorization" not in call.headers


async def test_with_both_tokens_the_project_token_is_sent_alone(railway: Railway) -> None:
    client = railway.client(api_token="not-the-account-token", project_token=SANDBOX_PROJECT_TOKEN)

    await client.deployments(railway.ref)  # succeeds: the wrong account token was not what counted

    call = railway.fake.calls[-1]
    assert call.auth == "project"
    assert "authorization" not in call.headers


async def test_a_project_token_reaches_only_its_project(railway: Railway) -> None:
    railway.world.add_service("elsewhere", project_id="other-project", environment_id="other-env")
    railway.world.add_deployment("elsewhere", status="SUCCESS")
    client = railway.client(api_token=None, project_token=SANDBOX_PROJECT_TOKEN)

    with pytest.raises(ProviderError) as caught:
        await client.latest_deployment(railway.world.ref("elsewhere"))

    assert caught.value.call == "railway latest deployment"
    assert caught.value.reason == "Not Authorized"


async def test_a_wrong_token_is_not_authorized(railway: Railway) -> None:
    with pytest.raises(ProviderError) as caught:
        await railway.client(api_token="wrong").deployments(railway.ref)

    assert caught.value.call == "railway deployments"
    assert caught.value.reason == "Not Authorized"


async def test_the_client_never_shows_its_token() -> None:
    async with httpx.AsyncClient() as http:
        client = RailwayClient(http, url="https://x.invalid", api_token="tok-123456", project_token=None)

        assert "tok-123456" not in repr(client)


# ---- failures --------------------------------------------------------------------------------


async def test_http_401_becomes_a_provider_error(railway: Railway) -> None:
    railway.world.fail_next(status=401, body='{"errors":[{"message":"Unauthorized: invalid token"}]}')

    with pytest.raises(ProviderError) as caught:
        await railway.client().deployments(railway.ref)

    assert caught.value.call == "railway deployments"
    assert caught.value.reason == "HTTP 401: Unauthorized: invalid token"


async def test_http_500_becomes_a_provider_error_with_the_body(railway: Railway) -> None:
    railway.world.fail_next(status=500, body="upstream connect error")

    with pytest.raises(ProviderError) as caught:
        await railway.client().restart(NEWEST)

    assert caught.value.call == "railway restart"
    assert caught.value.reason == "HTTP 500: upstream connect error"


async def test_graphql_errors_become_a_provider_error(railway: Railway) -> None:
    railway.world.fail_next(graphql_error="Problem processing request")

    with pytest.raises(RailwayGraphQLError) as caught:
        await railway.client().latest_deployment(railway.ref)

    assert caught.value.call == "railway latest deployment"
    assert caught.value.messages == ["Problem processing request"]
    assert str(caught.value) == "railway latest deployment failed: Problem processing request"


async def test_an_answer_that_is_not_json(railway: Railway) -> None:
    railway.world.fail_next(status=200, body="<html>maintenance</html>")

    with pytest.raises(ProviderError) as caught:
        await railway.client().service_variables(railway.ref)

    assert caught.value.call == "railway service variables"
    assert caught.value.reason == "the answer was not JSON (<html>maintenance</html>)"


async def test_a_railway_that_does_not_answer_times_out(railway: Railway) -> None:
    railway.world.stall()

    with pytest.raises(ProviderError) as caught:
        await railway.client().deployments(railway.ref, timeout_s=0.2)

    assert caught.value.call == "railway deployments"
    assert caught.value.reason == "no answer within 0.2 s"


async def test_a_railway_that_cannot_be_reached() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    async with httpx.AsyncClient() as http:
        client = RailwayClient(http, url=f"http://127.0.0.1:{port}/graphql/v2", api_token="t", project_token=None)
        with pytest.raises(ProviderError) as caught:
            await client.deployments(RailwayRef(project_id="p", environment_id="e", service_id="s"))

    assert caught.value.call == "railway deployments"
    assert caught.value.reason.startswith("could not reach Railway (ConnectError")


# ---- the documents themselves ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(graphql_docs.ALL_DOCUMENTS))
def test_every_document_is_valid_against_railways_schema(name: str) -> None:
    validate_railway_document(graphql_docs.ALL_DOCUMENTS[name])


def test_the_documents_cover_every_operation_the_client_sends() -> None:
    names = {graphql_docs.operation_name(doc) for doc in graphql_docs.ALL_DOCUMENTS.values()}

    assert len(names) == len(graphql_docs.ALL_DOCUMENTS)  # one operation name per document
    assert set(FakeRailway(RailwayWorld()).operations) == names


def test_the_validator_rejects_a_misspelt_field() -> None:
    misspelt = graphql_docs.DEPLOYMENTS.replace("canRollback", "canRolback")

    with pytest.raises(AssertionError, match="canRolback"):
        validate_railway_document(misspelt)


def test_the_validator_rejects_a_misspelt_argument_and_wrong_variables() -> None:
    with pytest.raises(AssertionError, match="startdate"):
        validate_railway_document(
            graphql_docs.DEPLOYMENT_LOGS.replace("startDate: $startDate", "startdate: $startDate")
        )
    with pytest.raises(AssertionError, match="first"):
        validate_railway_document(
            graphql_docs.DEPLOYMENTS, {"input": {}, "first": "ten", "serviceId": "s", "environmentId": "e"}
        )
    with pytest.raises(AssertionError, match="serviceId"):
        validate_railway_document(graphql_docs.LATEST_DEPLOYMENT, {"environmentId": "e"})
    with pytest.raises(AssertionError, match="not declared"):
        validate_railway_document(graphql_docs.DEPLOYMENT_STOP, {"id": "d", "force": True})


# ---- as Railway really behaves -------------------------------------------------------------------

from app.providers.railway import OPTIONAL_FIELDS, RAILWAY_LEVELS  # noqa: E402
from app.providers.rate_limits import RateLimited  # noqa: E402
from tests.spec_check import railway_schema  # noqa: E402


async def test_a_short_rate_limit_is_retried_once_and_succeeds(railway: Railway) -> None:
    railway.world.rate_limit_next(retry_after_s=2)

    found = await railway.client().deployments(railway.ref)

    assert [d.id for d in found][:1] == [NEWEST]
    assert [c.operation for c in railway.fake.calls] == ["Deployments", "Deployments"]


async def test_a_long_rate_limit_says_until_when_and_asks_nothing_more(railway: Railway) -> None:
    railway.world.rate_limit_next(retry_after_s=900, times=10)
    client = RailwayClient(
        railway.http, url=railway.fake.url or "", api_token=SANDBOX_API_TOKEN, project_token=None, clock=lambda: NOW
    )

    with pytest.raises(RateLimited) as caught:
        await client.deployments(railway.ref)

    assert caught.value.reason == "Railway's rate limit: retry after 12:15 UTC"
    assert caught.value.until == NOW + timedelta(seconds=900)
    assert len(railway.fake.calls) == 1  # no retry storm


async def test_a_rate_limit_is_retried_once_only(railway: Railway) -> None:
    railway.world.rate_limit_next(retry_after_s=1, times=2)

    with pytest.raises(RateLimited):
        await railway.client().deployments(railway.ref)

    assert len(railway.fake.calls) == 2


async def test_with_both_tokens_the_project_token_is_used_only_in_its_environment(railway: Railway) -> None:
    staging = railway.world.add_service(
        "api-staging", project_id=railway.ref.project_id, environment_id="staging-env-1"
    )
    railway.world.add_deployment("api-staging", status="SUCCESS")
    client = railway.client(api_token=SANDBOX_API_TOKEN, project_token=SANDBOX_PROJECT_TOKEN)

    seen = await client.latest_deployment(railway.world.ref("api-staging"))
    await client.latest_deployment(railway.ref)

    assert seen.deployment is not None and seen.deployment.meta["service_id"] == staging.id
    by_operation = [(c.operation, c.auth) for c in railway.fake.calls]
    assert by_operation == [
        ("ProjectToken", "project"),
        ("LatestDeployment", "bearer"),
        ("LatestDeployment", "project"),
    ]


async def test_the_sandbox_refuses_a_project_token_in_another_environment_of_its_project(railway: Railway) -> None:
    railway.world.add_service("api-staging", project_id=railway.ref.project_id, environment_id="staging-env-1")
    railway.world.add_deployment("api-staging", status="SUCCESS")
    client = railway.client(api_token=None, project_token=SANDBOX_PROJECT_TOKEN)

    with pytest.raises(ProviderError, match="Not Authorized"):
        await client.latest_deployment(railway.world.ref("api-staging"))
    assert await client.token_for(railway.world.ref("api-staging")) is None
    assert await client.token_for(railway.ref) == "project token"


async def test_a_partial_answer_keeps_the_fields_that_resolved(railway: Railway) -> None:
    railway.world.fail_field("creator", "Not Authorized")

    found = await railway.client().deployments(railway.ref)

    assert [d.id for d in found] == [NEWEST, FAILED, SECOND, OLDEST]
    assert found[0].author == "Dana Ops"  # from the commit, the creator being left out


async def test_an_error_on_a_field_pitcrew_needs_is_still_an_error(railway: Railway) -> None:
    railway.world.fail_field("activeDeployments", "Problem processing request")

    with pytest.raises(RailwayGraphQLError, match="Problem processing request"):
        await railway.client().deployments(railway.ref)


def test_the_optional_fields_are_nullable_in_railways_schema() -> None:
    from graphql import GraphQLNonNull

    schema = railway_schema()
    for name in OPTIONAL_FIELDS:
        owners = [t for t in (schema.get_type("Deployment"), schema.get_type("Log")) if name in t.fields]  # type: ignore[union-attr]
        assert owners, name
        assert all(not isinstance(t.fields[name].type, GraphQLNonNull) for t in owners), name  # type: ignore[union-attr]


async def test_railway_answers_one_line_more_than_asked_and_the_client_trims(railway: Railway) -> None:
    raw = await railway.http.post(
        railway.fake.url or "",
        json={"query": graphql_docs.DEPLOYMENT_LOGS, "operationName": "DeploymentLogs",
              "variables": {"deploymentId": NEWEST, "limit": 2}},
        headers={"Authorization": f"Bearer {SANDBOX_API_TOKEN}"},
    )
    lines = await railway.client().deployment_logs(NEWEST, limit=2)
    build = await railway.client().build_logs(NEWEST, 2)

    assert len(raw.json()["data"]["deploymentLogs"]) == 3
    assert [line.message for line in lines] == [
        "Slow query: SELECT * FROM orders (2.4 s)",
        "Error: Redis connection timeout after 5000ms",
    ]
    assert [line.message for line in build] == ["npm ci", "Build completed"]


def test_the_level_filter_names_only_railways_levels() -> None:
    assert railway_log_filter(level="warning") == "@level:warn"
    assert railway_log_filter(level="fatal") == "@level:error"
    assert railway_log_filter(level="trace") == "@level:debug"
    assert {railway_log_filter(level=w) for w in ("debug", "info", "warn", "error")} == {
        f"@level:{w}" for w in RAILWAY_LEVELS
    }


async def test_the_sandbox_normalises_levels_as_railway_does(railway: Railway) -> None:
    railway.world.log("api", "disk almost full", level="warning")
    railway.world.log("api", "out of memory", level="critical")

    warned = await railway.client().deployment_logs(NEWEST, filter="@level:warning", limit=50)
    raw = await railway.http.post(
        railway.fake.url or "",
        json={"query": graphql_docs.DEPLOYMENT_LOGS, "operationName": "DeploymentLogs",
              "variables": {"deploymentId": NEWEST, "filter": "@level:warn OR @level:error", "limit": 50}},
        headers={"Authorization": f"Bearer {SANDBOX_API_TOKEN}"},
    )

    assert warned == []  # Railway knows no `warning`
    by_message = {line["message"]: line["severity"] for line in raw.json()["data"]["deploymentLogs"]}
    assert by_message["disk almost full"] == "warn"
    assert by_message["out of memory"] == "error"


async def test_railways_hourly_budget_is_logged_when_low_then_waited_for(
    railway: Railway, caplog: pytest.LogCaptureFixture
) -> None:
    railway.world.set_budget(100, remaining=3)  # Railway's Free plan, nearly spent
    client = RailwayClient(
        railway.http, url=railway.fake.url or "", api_token=SANDBOX_API_TOKEN, project_token=None,
        clock=lambda: NOW + timedelta(minutes=1),
    )
    with caplog.at_level("WARNING", logger="pitcrew.providers"):
        for _ in range(3):
            await client.latest_deployment(railway.ref)
        with pytest.raises(RateLimited) as caught:
            await client.latest_deployment(railway.ref)

    assert "Railway API budget low: 0 of 100" in caplog.text
    assert caught.value.reason == "Railway's rate limit: retry after 13:01 UTC"
    assert len(railway.fake.calls) == 4


async def test_with_both_tokens_a_revoked_project_token_leaves_the_account_token_working(railway: Railway) -> None:
    client = railway.client(api_token=SANDBOX_API_TOKEN, project_token="revoked-project-token")

    seen = await client.latest_deployment(railway.ref)
    await client.latest_deployment(railway.ref)

    assert seen.deployment is not None
    assert [(c.operation, c.auth) for c in railway.fake.calls] == [
        ("ProjectToken", "project"), ("LatestDeployment", "bearer"), ("LatestDeployment", "bearer"),
    ]
