"""How fast pitcrew acknowledges a slash command, next to a bare Bolt app that only acks.

The target: p99 at 50 concurrent connections no worse than the bare app's, both measured in
the same run on the same machine. Python HTTP clients saturate before either server does, so the
load comes from `wrk` (bench/wrk_slash.lua) with a `/health` slash command signed at start.

Three kinds of process, each started and stopped here, all on 127.0.0.1:
- the fakes (this script with `--fakes`): a FakeSlack Web API at /slack/api/ (SLACK_API_URL of
  both servers, so Bolt's auth.test is answered), a SampleService at /service/health (the one
  quick service of pitcrew's catalog), and /response, the response_url of the signed command,
  which counts the answers posted to it so the script can see the post-ack work finish;
- pitcrew exactly as `python -m app serve` runs it, on a freshly migrated SQLite file or a
  PostgreSQL database created for the run and dropped after it;
- bench/bare_bolt_app.py, the same Bolt options, mount and uvicorn options, with a listener
  that only acks.

Each case gets a fresh server: start, 10 sequential warm-up commands (Bolt's auth.test, the
database pool, lazy imports), then `wrk -t2 -c50 -d15s --latency`, then a wait (at most 300 s)
for the work of every acked command (answers and audit entries), then stop. The command texts:
- `/health help`: pitcrew acks, then posts its usage privately and writes the audit entry;
  the least post-ack work a real command does.
- `/health`: pitcrew acks, then probes the quick service, posts the card and audits. pitcrew
  stores each command before acking and its job runner does the work when no request waits, so
  under wrk most of the work comes after the load.
The bare app does no post-ack work whatever it is sent.

    python bench/bench_ack.py [--duration 15] [--connections 50] [--threads 2]
        [--backends sqlite,postgres] [--texts help,] [--pace-ms 0] [--slow-clients 0]
        [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres]

`--pace-ms N` makes each connection wait 0 to 2N ms between requests, to compare the acks below
saturation as well. `--slow-clients N` holds N slow connections open on each server during its
run (bench/slow_clients.py): half stop mid-header, half send one byte of a 100-byte signed body,
and each reconnects when the server closes it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from app.sandbox import slack_payloads as payloads
from bench.processes import Processes, base_env, cpu_seconds, free_port, wait_listening
from bench.slow_clients import SlowClients

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret-" + uuid.uuid4().hex[:8]
ALERTS = "C0ALERTS"
USER = "U0OPS1"
WARMUP_COMMANDS = 10
DRAIN_TIMEOUT_S = 300.0
DRAIN_QUIET_S = 5.0


@dataclass(frozen=True)
class Case:
    """One server under load: the bare app, or pitcrew on a backend, sent `/health <text>`."""

    server: str  # "bare" or "pitcrew"
    text: str = ""
    backend: str | None = None

    @property
    def label(self) -> str:
        command = f"/health {self.text}".strip()
        if self.server == "bare":
            return f"bare Bolt (ack only), {command}"
        return f"pitcrew {self.backend}, {command}"


@dataclass
class Result:
    case: Case
    wrk: dict[str, Any]
    cards_during: int = 0
    cards_total: int = 0
    drain_s: float = 0.0
    audited: int | None = None
    cpu_ms_per_command: float = 0.0
    load_before: float = 0.0  # the machine's 1-minute load average as the case started
    log_errors: list[str] = field(default_factory=list)


# --- the fakes process -----------------------------------------------------------------------------
async def serve_fakes() -> None:
    """FakeSlack's Web API, the quick sample service and a counting response URL, until terminated.

    The response URL is our own counter rather than FakeSlack's: FakeSlack keeps and scans every
    message it was sent, which at thousands of posts a second would make the fake the bottleneck.
    """
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from app.sandbox.service import SampleService
    from app.sandbox.slack import FakeSlack

    fake = FakeSlack(token=TOKEN, signing_secret=SIGNING_SECRET)
    sample = SampleService()
    counts: dict[str, Any] = {"responses": 0, "in_channel": 0, "ephemeral": 0, "last_at": 0.0}

    async def response(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            kind = json.loads(body).get("response_type") or "ephemeral"
        except ValueError:
            kind = "ephemeral"
        counts["responses"] += 1
        counts["in_channel" if kind == "in_channel" else "ephemeral"] += 1
        counts["last_at"] = time.time()
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({**counts, "sample_requests": sample.requests})

    app = Starlette(
        routes=[
            Route("/response", response, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
            Mount("/slack", app=fake.app),
            Mount("/service", app=sample.app),
        ]
    )
    # Our own socket rather than LoopbackServer's: a listening socket made without IPPROTO_TCP has
    # proto 0, asyncio then skips TCP_NODELAY on the connections it accepts, and every answer's
    # body waits ~40 ms for the client's delayed ACK (uvicorn writes headers and body apart).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    print(json.dumps({"url": f"http://127.0.0.1:{sock.getsockname()[1]}"}), flush=True)
    await serving


# --- databases -------------------------------------------------------------------------------------
@contextlib.contextmanager
def database(backend: str, tmp: Path, pg_admin: str) -> Iterator[str]:
    """A migrated, empty database for one case; a PostgreSQL one is dropped afterwards."""
    from app.store.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'pitcrew-{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        yield url
        return
    import psycopg

    name = f"pitcrew_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{pg_admin.rsplit('/', 1)[0]}/{name}"
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def audit_count(url: str) -> int:
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM audit_events").fetchone()
        return int(row[0]) if row else 0


def postgres_reachable(pg_admin: str) -> str | None:
    """None when we may create databases there, else why not."""
    try:
        import psycopg

        with psycopg.connect(pg_admin, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as err:
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return None


# --- one case --------------------------------------------------------------------------------------
def fakes_stats(fakes_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{fakes_url}/stats", timeout=5) as answer:
        result: dict[str, Any] = json.loads(answer.read())
        return result


def send_signed(url: str, body: bytes) -> int:
    headers = payloads.signed_headers(body, SIGNING_SECRET, content_type=payloads.FORM)
    request = urllib.request.Request(f"{url}/slack/events", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


def wait_for_responses(fakes_url: str, at_least: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while fakes_stats(fakes_url)["responses"] < at_least:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the warm-up commands were not all answered within {timeout_s:g} s")
        time.sleep(0.05)


def run_wrk(url: str, body: bytes, args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], str]:
    body_file = tmp / "slash-body.txt"
    body_file.write_bytes(body)
    headers = payloads.signed_headers(body, SIGNING_SECRET, content_type=payloads.FORM)
    env = {
        **os.environ,
        "WRK_SLASH_BODY_FILE": str(body_file),
        "WRK_SLASH_TIMESTAMP": headers["x-slack-request-timestamp"],
        "WRK_SLASH_SIGNATURE": headers["x-slack-signature"],
        "WRK_SLASH_PACE_MS": str(args.pace_ms or ""),
    }
    command = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(BENCH / "wrk_slash.lua"),
        f"{url}/slack/events",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.duration + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no WRK_JSON line:\n{done.stdout}")
    return json.loads(line.removeprefix("WRK_JSON ")), done.stdout


def run_case(case: Case, fakes_url: str, args: argparse.Namespace, tmp: Path, processes: Processes) -> Result:
    load_before = os.getloadavg()[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / f"server-{port}.log"
    env = {
        **base_env(),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{fakes_url}/slack/api/",
    }
    body = payloads.slash_command(
        "/health", case.text, user_id=USER, channel_id=ALERTS, response_url=f"{fakes_url}/response"
    )
    with contextlib.ExitStack() as stack:
        db_url = None
        if case.server == "pitcrew":
            assert case.backend is not None
            db_url = stack.enter_context(database(case.backend, tmp, args.pg_admin))
            catalog = tmp / "pitcrew.yml"
            catalog.write_text(
                f"slack: {{alerts_channel: {ALERTS}, operators: [{USER}]}}\n"
                f"services:\n  api:\n    provider: http\n"
                f"    health: {{url: '{fakes_url}/service/health', timeout_s: 2}}\n"
            )
            env |= {"DATABASE_URL": db_url, "PITCREW_CONFIG": str(catalog)}
            argv = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
        else:
            argv = [sys.executable, str(BENCH / "bare_bolt_app.py"), "--host", "127.0.0.1", "--port", str(port)]
        proc = processes.start(argv, env=env, log=log)
        try:
            wait_listening(port, proc, log)
            before = fakes_stats(fakes_url)["responses"]
            for _ in range(WARMUP_COMMANDS):
                status = send_signed(url, body)
                if status != 200:
                    raise RuntimeError(f"{case.label}: warm-up command answered HTTP {status}")
            if case.server == "pitcrew":
                wait_for_responses(fakes_url, before + WARMUP_COMMANDS, timeout_s=10)
            start_count = fakes_stats(fakes_url)["responses"]
            cpu_before = cpu_seconds(proc.pid)
            with SlowClients(port, args.slow_clients, SIGNING_SECRET) as slow:
                figures, report = run_wrk(url, body, args, tmp)
            ended = time.time()
            if args.slow_clients:
                report += f"\n{args.slow_clients} slow clients held, {slow.connections} connections opened in all"
            print(f"--- {case.label}\n{report.rstrip()}", flush=True)
            during = fakes_stats(fakes_url)["responses"] - start_count
            total, audited, drain_s = during, None, 0.0
            if db_url is not None:
                total, audited, drain_s = drain(fakes_url, start_count, db_url, ended, acked=figures["requests"])
            commands = total if db_url is not None else figures["requests"]
            cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / max(commands, 1)
        finally:
            Processes.stop(proc)
        errors = [x for x in log.read_text(errors="replace").splitlines() if "Traceback" in x or "ERROR" in x]
    return Result(case, figures, during, total, drain_s, audited, cpu_ms, load_before, errors)


def drain(fakes_url: str, start_count: int, db_url: str, ended: float, acked: int) -> tuple[int, int, float]:
    """Wait for the work of the acked commands: (answers, audit entries, seconds past wrk's end).

    pitcrew stores each command as a job before it acks, and its job runner does the work when
    no request is waiting, so under wrk the work mostly comes after the load. Done when every
    command wrk saw acked is audited (the audit entry is the last thing a listener does) and the
    answers have stopped, or when neither count has moved for DRAIN_QUIET_S, or after
    DRAIN_TIMEOUT_S.
    """
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    last, moved_at = (-1, -1), time.monotonic()
    while time.monotonic() < deadline:
        stats = fakes_stats(fakes_url)
        answers, audited = stats["responses"] - start_count, audit_count(db_url) - WARMUP_COMMANDS
        if (answers, audited) != last:
            last, moved_at = (answers, audited), time.monotonic()
        answers_quiet = time.time() - stats["last_at"] > DRAIN_QUIET_S
        if (answers_quiet and audited >= max(answers, acked)) or time.monotonic() - moved_at > DRAIN_QUIET_S:
            break
        time.sleep(0.1)
    done = time.time()
    stats = fakes_stats(fakes_url)
    return stats["responses"] - start_count, audit_count(db_url) - WARMUP_COMMANDS, max(0.0, done - ended)


# --- report ----------------------------------------------------------------------------------------
def table(results: list[Result]) -> str:
    head = (
        f"{'case':<40} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'non-2xx':>8} {'sock err':>8} {'CPU ms/cmd':>10} {'load':>5}  "
        "post-ack answers (during / drained, +s)  audited"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        w = r.wrk
        rate = w["requests"] / (w["duration_us"] / 1e6)
        sock = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
        answers = "-" if r.case.server == "bare" else f"{r.cards_during} / {r.cards_total} (+{r.drain_s:.1f} s)"
        lines.append(
            f"{r.case.label:<40} {rate:8.0f} {w['p50_us'] / 1000:8.1f} {w['p90_us'] / 1000:8.1f} "
            f"{w['p99_us'] / 1000:8.1f} {w['max_us'] / 1000:8.1f} {w['non_2xx_3xx']:8d} {sock:8d} "
            f"{r.cpu_ms_per_command:10.2f} {r.load_before:5.2f}  "
            f"{answers:<40} {'-' if r.audited is None else r.audited}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per case (default 15, at most 20)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres", help="pitcrew's databases (default sqlite,postgres)")
    parser.add_argument(
        "--texts", default="help,", help="comma-separated /health texts for pitcrew (default 'help,': help and empty)"
    )
    parser.add_argument(
        "--pace-ms", type=int, default=0, help="each connection waits this long between requests (default 0: saturate)"
    )
    parser.add_argument(
        "--slow-clients",
        type=int,
        default=0,
        help="hold this many slow connections open during each run (unfinished headers and bodies; default 0)",
    )
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--wrk", default="wrk")
    parser.add_argument("--fakes", action="store_true", help=argparse.SUPPRESS)  # the fakes process itself
    args = parser.parse_args()
    if args.fakes:
        asyncio.run(serve_fakes())
        return 0
    if not 1 <= args.duration <= 20:
        parser.error("--duration must be between 1 and 20 seconds")
    if shutil.which(args.wrk) is None:
        parser.error(f"--wrk {args.wrk}: not found; install wrk (apt-get install wrk) or give its path")

    backends = [b for b in args.backends.split(",") if b]
    if "postgres" in backends and (why := postgres_reachable(args.pg_admin)) is not None:
        print(f"PostgreSQL skipped: cannot reach {args.pg_admin}: {why}")
        backends.remove("postgres")
    texts = args.texts.split(",")
    cases = [Case("bare")]
    cases += [Case("pitcrew", text, backend) for backend in backends for text in texts]
    cases.append(Case("bare"))  # again at the end: how much the same server varies from run to run

    processes = Processes()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="pitcrew-bench-ack-") as tmp_name:
            tmp = Path(tmp_name)
            fakes = processes.start([sys.executable, str(Path(__file__).resolve()), "--fakes"], env=base_env())
            assert fakes.stdout is not None
            fakes_url = json.loads(fakes.stdout.readline())["url"]
            for case in cases:
                results.append(run_case(case, fakes_url, args, tmp, processes))
    finally:
        processes.stop_all()

    print(
        f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s"
        f"{f', {args.pace_ms} ms between requests per connection' if args.pace_ms else ''}"
        f"{f', {args.slow_clients} slow connections held open' if args.slow_clients else ''}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, "
        f"nproc {os.cpu_count()}, python {sys.version.split()[0]}\n"
    )
    print(table(results))
    print(
        "\nload: the 1-minute load average as each case started. The servers, wrk and the fakes share "
        f"{os.cpu_count()} CPUs; anything else running (a load well above the previous case's leftover) skews a case."
    )
    for r in results:
        if r.log_errors:
            print(f"\n{r.case.label}: {len(r.log_errors)} error lines in the server log, first: {r.log_errors[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
