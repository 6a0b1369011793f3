"""How many Vercel log drain lines one pitcrew instance stores a second, on PostgreSQL.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/bench_drain.py [seconds] [batch]

One instance of the real web app (uvicorn, `POST /drains/vercel`) on a fresh PostgreSQL database;
the sandbox Vercel answers the one environment-variables call the masker needs. Clients POST signed
NDJSON batches (default 500 lines, as Vercel batches them) for the given time (default 20 s), four
at a time. Every line goes through what production does: signature, parsing, masking with the
project's variables, pitcrew's secrets and the secret shapes, insert, and the per-project row bound.
The clients run in the same process as the server, so the figure is a conservative one.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.catalog import parse_catalog
from app.deps import build_deps
from app.sandbox.server import LoopbackServer
from app.sandbox.slack import FakeSlack
from app.sandbox.vercel.rest import FakeVercel, drain_signature
from app.sandbox.vercel.sample import sample_world
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN
from app.settings import Settings
from app.slack.app import build_slack_app
from app.store.migrate import upgrade_async
from app.web import build_web_app
from bench.bench_logs import VARIABLES, _line

SECRET = "bench-drain-secret-0c9d"
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))


def batches(project_id: str, size: int, count: int) -> list[bytes]:
    """Distinct batches of realistic lines (about 3% with a secret in them)."""
    rng = random.Random(7)
    out = []
    for _ in range(count):
        entries = []
        for _ in range(size):
            message, level, attrs = _line(rng)
            entries.append({
                "id": uuid.uuid4().hex, "projectId": project_id, "deploymentId": "dpl_Bench1",
                "source": "lambda", "host": "bench-acme.vercel.app", "timestamp": int(time.time() * 1000),
                "level": level or "info", "message": message, "path": "/api/" + rng.choice("abcdef"),
                "statusCode": 200, "requestId": attrs.get("requestId", ""), "type": "stdout",
            })
        out.append("".join(json.dumps(e) + "\n" for e in entries).encode())
    return out


async def main(seconds: float, size: int) -> None:
    admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"pitcrew_bench_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        await upgrade_async(url)
        world = sample_world()
        for key, value in VARIABLES.items():
            world.set_env("web", key, value)
        ref = world.ref("web")
        catalog = parse_catalog(json.dumps({
            "slack": {"alerts_channel": "C0ALERTS", "updates_channel": "C0UPDATES", "operators": ["U0OPS"]},
            "services": {"web": {"provider": "vercel", "vercel": ref.model_dump()}},
        }))
        async with FakeVercel.serve(world) as vercel, FakeSlack().serve() as slack:
            settings = Settings(DATABASE_URL=url, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET="s" * 32,
                                SLACK_API_URL=slack.api_url, VERCEL_API_URL=vercel.url,
                                VERCEL_TOKEN=SANDBOX_VERCEL_TOKEN, VERCEL_DRAIN_SECRET=SECRET)
            deps = build_deps(settings, catalog)
            web = build_web_app(deps, build_slack_app(deps), job_poll_s=3600)
            bodies = batches(ref.project_id, size, 40)
            signed = [(b, drain_signature(b, SECRET)) for b in bodies]
            async with web.router.lifespan_context(web), LoopbackServer(web) as server, httpx.AsyncClient(
                base_url=server.url, timeout=60
            ) as http:
                warm = await http.post("/drains/vercel", content=signed[0][0],
                                       headers={"x-vercel-signature": signed[0][1]})
                assert warm.status_code == 200, warm.text
                sent = 0
                deadline = time.perf_counter() + seconds
                cpu0, wall0 = time.process_time(), time.perf_counter()

                async def client(n: int) -> None:
                    nonlocal sent
                    i = n
                    while time.perf_counter() < deadline:
                        body, signature = signed[i % len(signed)]
                        answer = await http.post("/drains/vercel", content=body,
                                                 headers={"x-vercel-signature": signature})
                        assert answer.status_code == 200, answer.text
                        sent += answer.json()["stored"]
                        i += CLIENTS

                await asyncio.gather(*(client(n) for n in range(CLIENTS)))
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            await deps.close()
        print(f"batch {size} lines, {CLIENTS} clients, {wall:.1f} s: {sent:,} lines stored, "
              f"{sent / wall:,.0f} lines/s (wall), process CPU {cpu:.1f} s")
    finally:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0, int(sys.argv[2]) if len(sys.argv) > 2 else 500))
