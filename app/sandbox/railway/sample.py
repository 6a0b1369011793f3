"""A Railway world to start from: the project the demo, the console and most tests run against.

Service `api` (four deployments, one failed to build, a log that prints its DATABASE_URL) and a
`worker`, both in one environment, with fixed ids tests can name. A new kind of sample state (a
volume, a sealed variable, metrics) is added here, through the `RailwayWorld` methods that build it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from app.sandbox.railway.world import SANDBOX_PROJECT_TOKEN, FakeLog, RailwayWorld, utcnow

SAMPLE_PROJECT_ID = "5a1c3e8f-7d42-4b0e-9c61-2f8a0d3b7e15"
SAMPLE_ENVIRONMENT_ID = "0c9e4b27-3f15-4e8a-a2d6-71b5c8e9f403"
SAMPLE_API_SERVICE_ID = "b7f2d1c4-8e3a-4f69-b5d0-9a1e6c2f7d38"
SAMPLE_WORKER_SERVICE_ID = "e4a8c6b2-1d7f-4c3e-8b95-3f0d2a6e1c74"
SAMPLE_DEPLOYMENT_IDS = (  # oldest to newest
    "1f3b5d7e-2a4c-4e6f-8a0b-c1d2e3f4a5b6",
    "2c4e6a8b-3d5f-4b7a-9c1d-e2f3a4b5c6d7",
    "3d5f7b9c-4e6a-4c8b-8d2e-f3a4b5c6d7e8",
    "4e6a8c0d-5f7b-4d9c-9e3f-a4b5c6d7e8f9",
)
SAMPLE_JWT_SECRET = "sandbox-jwt-secret-5c1d2e3f9a"
SAMPLE_SECRET_VALUES = ("postgresql://app:sandbox-db-password@postgres.railway.internal:5432/app",)


def sample_world(now: datetime | None = None, *, clock: Callable[[], datetime] = utcnow) -> RailwayWorld:
    """Service `api` with four deployments (one failed to build) and a `worker`, both in one environment.

    The api's log prints its DATABASE_URL once, as careless apps do, so the demo can show masking.
    """
    now = now or clock()
    world = RailwayWorld(clock=clock)
    world.project_tokens[SANDBOX_PROJECT_TOKEN] = (SAMPLE_PROJECT_ID, SAMPLE_ENVIRONMENT_ID)
    database_url = SAMPLE_SECRET_VALUES[0]
    world.add_service(
        "api",
        project_id=SAMPLE_PROJECT_ID,
        environment_id=SAMPLE_ENVIRONMENT_ID,
        service_id=SAMPLE_API_SERVICE_ID,
        variables={
            "DATABASE_URL": database_url,
            "SESSION_SECRET": "sandbox-session-secret-0f9e8d7c",
            "NODE_ENV": "production",
            "PORT": "8080",
            "LOG_LEVEL": "info",  # seeds/000 "Environment Variables": LOG_LEVEL=info
            "JWT_SECRET": "${{shared.JWT_SECRET}}",
        },
    )
    # The kinds of variable Railway has: the service's own (above), a shared one referenced with
    # `${{shared.X}}`, and (the worker's) a reference to another service's (`${{api.X}}`,
    # docs.railway.com/variables/reference). A sealed one (`set_variable(..., sealed=True)`) is left to
    # the tests that want one: its value cannot be masked in the api's logs but by name.
    world.set_shared_variable(SAMPLE_PROJECT_ID, SAMPLE_ENVIRONMENT_ID, "JWT_SECRET", SAMPLE_JWT_SECRET)
    world.add_service(
        "worker",
        project_id=SAMPLE_PROJECT_ID,
        environment_id=SAMPLE_ENVIRONMENT_ID,
        service_id=SAMPLE_WORKER_SERVICE_ID,
        variables={
            "QUEUE": "default",
            "JWT_SECRET": "${{shared.JWT_SECRET}}",
            "DATABASE_URL": "${{api.DATABASE_URL}}",
        },
    )
    history = [
        (timedelta(days=3), "SUCCESS", "Add /health endpoint", "a3f9c21", "Dana Ops"),
        (timedelta(days=2), "SUCCESS", "Cache sessions in Redis", "b81e4d0", "Lee Dev"),
        (timedelta(days=1), "FAILED", "Upgrade to Node 22", "c07a9b3", "Lee Dev"),
        (timedelta(hours=3), "SUCCESS", "Fix N+1 query in /orders", "d5e2f68", "Dana Ops"),
    ]
    for deployment_id, (ago, status, message, short_sha, author) in zip(SAMPLE_DEPLOYMENT_IDS, history, strict=True):
        at = now - ago
        build = [
            FakeLog(at=at, message="Using Nixpacks"),
            FakeLog(at=at + timedelta(seconds=20), message="npm ci"),
        ]
        runtime: list[FakeLog] = []
        if status == "FAILED":
            build += [
                FakeLog(at + timedelta(seconds=41), "npm ERR! engine Unsupported engine", level="error"),
                FakeLog(at + timedelta(seconds=42), "Build failed with exit code 1", level="error"),
            ]
        else:
            build.append(FakeLog(at=at + timedelta(seconds=55), message="Build completed"))
            runtime = _startup_log(at + timedelta(minutes=1), database_url)
        world.add_deployment(
            "api",
            deployment_id=deployment_id,
            status=status,
            commit_message=message,
            commit_hash=(short_sha * 6)[:40],
            author=author,
            at=at,
            logs=runtime,
            build_logs=build,
        )
    worker_at = now - timedelta(days=2)
    world.add_deployment(
        "worker",
        status="SUCCESS",
        commit_message="Retry failed emails",
        commit_hash="e19f" * 10,
        author="Lee Dev",
        at=worker_at,
        logs=[FakeLog(at=now - timedelta(minutes=5), message="worker: processed 42 jobs")],
    )
    return world


def _startup_log(at: datetime, database_url: str) -> list[FakeLog]:
    return [
        FakeLog(at=at, message="Starting api (node dist/server.js)"),
        FakeLog(at=at + timedelta(seconds=1), message=f"Connecting to {database_url}"),
        FakeLog(at=at + timedelta(seconds=2), message="Listening on :8080"),
        FakeLog(
            at=at + timedelta(minutes=5),
            message="GET /orders 200 184ms",
            attributes={"requestId": "req_7Hk2pQ", "status": 200},
        ),
        FakeLog(
            at=at + timedelta(minutes=6),
            message="Slow query: SELECT * FROM orders (2.4 s)",
            level="warn",
            attributes={"requestId": "req_9Lm4rT"},
        ),
        FakeLog(
            at=at + timedelta(minutes=7),
            message="Error: Redis connection timeout after 5000ms",
            level="error",
            attributes={"requestId": "req_3Xy8zA"},
        ),
    ]
