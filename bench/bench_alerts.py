"""An alert storm against two pitcrew instances on one PostgreSQL: throughput, dedupe, no loss, Slack's limits.

The target: 10,000 alerts over 50 fingerprints, sent to two app instances sharing one
PostgreSQL, open exactly 50 incidents, lose no alert, stay within Slack's rate limits, at
2,000 alerts/s or more across the two instances on this 2-core machine. Python HTTP clients
saturate long before the servers do, so the load comes from `wrk` (bench/wrk_alerts.lua), one wrk
per instance, each sending its exact share of generic webhook bodies that cycle over the
fingerprints (the two instances get the same fingerprints, interleaved, so they race to open
the same incidents).

Processes, all on 127.0.0.1, started and stopped here:
- the fake Slack (this script with `--fakes`): FakeSlack's Web API, which also notes the time of
  every chat.postMessage / chat.update so that the rate each message and channel saw is known;
- pitcrew exactly as `python -m app serve` runs it (with its job runner), N instances on one
  PostgreSQL database created for the run and dropped after it;
- wrk, one per instance.

Afterwards it waits for the Slack work the storm caused (root messages, spaced edits) and checks:
incidents opened for the storm's fingerprints (must equal the fingerprint count), alerts stored
(must equal alerts sent and answered 202), the occurrence counts (must add up to the alerts), the
edits per root message and the shortest gap between two edits of one message (must be at least
`incidents.root_edit_interval_seconds`), the busiest minute of chat.update and busiest second
of chat.postMessage per channel, and roots first: the time from the storm's end (every alert
stored) to the last root message in #alerts, and how many thread notes reached #alerts before it
(at most the burst). A benchmark, not a test: figures depend on the machine.

    python bench/bench_alerts.py [--alerts 10000] [--fingerprints 50] [--instances 2]
        [--connections 32] [--threads 2] [--edit-interval 20] [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from app.flows.escalation import ROOT_EDITS_PER_MINUTE
from app.slack.post_pace import BURST_POSTS
from bench.processes import Processes, base_env, cpu_seconds, free_port, wait_listening

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
WEBHOOK_SECRET = "bench-webhook-secret-" + uuid.uuid4().hex[:8]
ALERTS, UPDATES = "C0ALERTS", "C0UPDATES"
# app/slack/post_pace.py: a burst, plus the one message whose share starts it (each job posts one per channel).
PACE_ALLOWANCE = BURST_POSTS + 1
ROOTS_WITHIN_S = 25.0  # issue 14: 20 incidents of a 2,000-alert storm have their roots in #alerts by then
ROOTS_TARGET_INCIDENTS = 20
DRAIN_TIMEOUT_S = 300.0  # root-message edits are budgeted (40 a minute): fifty incidents take a while
WARMUP_PER_INSTANCE = 20
STORED_SQL = "SELECT count(*) FROM alerts WHERE fingerprint LIKE 'storm-%'"


# --- the fake Slack process ------------------------------------------------------------------------
async def serve_fakes() -> None:
    """FakeSlack, noting when each post and edit arrived, and `/stats` summing them up."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from app.sandbox.slack import FakeSlack

    seen: list[tuple[float, str, str, str | None]] = []  # (time, method, channel, ts or thread_ts)

    class TimedSlack(FakeSlack):
        async def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
            answer = await super()._m_chat_postMessage(args)
            seen.append((time.time(), "chat.postMessage", str(args.get("channel")), args.get("thread_ts")))
            return answer

        async def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
            answer = await super()._m_chat_update(args)
            seen.append((time.time(), "chat.update", str(args.get("channel")), str(args.get("ts"))))
            return answer

    fake = TimedSlack(token=TOKEN, signing_secret=SIGNING_SECRET)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(slack_figures(seen, fake))

    app = Starlette(routes=[Route("/stats", stats, methods=["GET"]), Mount("/slack", app=fake.app)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY (see bench_ack)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    print(json.dumps({"url": f"http://127.0.0.1:{sock.getsockname()[1]}"}), flush=True)
    await serving


def most_ahead_of_pace(times: list[float], windows_s: tuple[float, ...] = (1.0, 10.0, 60.0)) -> float:
    """The most posts any window of W seconds held beyond W (one a second), over a few W."""
    times = sorted(times)
    most = 0.0
    for window in windows_s:
        end = 0
        for start, at in enumerate(times):
            while end < len(times) and times[end] < at + window:
                end += 1
            most = max(most, end - start - window)
    return most


def slack_figures(seen: list[tuple[float, str, str, str | None]], fake: Any) -> dict[str, Any]:
    updates: dict[str, list[float]] = defaultdict(list)
    posts_per_second: dict[str, Counter[int]] = defaultdict(Counter)
    post_times: dict[str, list[float]] = defaultdict(list)
    updates_per_minute: Counter[int] = Counter()
    roots = 0
    alerts_posts: list[tuple[float, bool]] = []  # (time, is a root) of each post in #alerts, in arrival order
    for at, method, channel, ts in seen:
        if method == "chat.update" and ts:
            updates[ts].append(at)
            updates_per_minute[int(at // 60)] += 1
        else:
            posts_per_second[channel][int(at)] += 1
            post_times[channel].append(at)
            if channel == ALERTS:
                roots += ts is None
                alerts_posts.append((at, ts is None))
    gaps = [b - a for times in updates.values() for a, b in itertools.pairwise(times)]
    windows = [
        sum(1 for t in (x for v in updates.values() for x in v) if start <= t < start + 60)
        for start in sorted(x for v in updates.values() for x in v)
    ]
    last_root = max((i for i, (_, root) in enumerate(alerts_posts) if root), default=-1)
    return {
        "calls": len(fake.calls),
        "last_call_at": max((s[0] for s in seen), default=0.0),
        "root_posts": roots,
        "last_root_at": alerts_posts[last_root][0] if last_root >= 0 else None,
        # Thread notes (first notes, recoveries) that reached #alerts before the last root.
        "notes_before_last_root": sum(1 for _, root in alerts_posts[: max(last_root, 0)] if not root),
        "posts": {channel: sum(c.values()) for channel, c in posts_per_second.items()},
        "busiest_second_posts": {channel: max(c.values()) for channel, c in posts_per_second.items()},
        "posts_ahead_of_pace": {channel: most_ahead_of_pace(t) for channel, t in post_times.items()},
        "posting_span_s": {channel: round(max(t) - min(t), 1) for channel, t in post_times.items()},
        "edits": sum(len(v) for v in updates.values()),
        "edited_messages": len(updates),
        "max_edits_per_message": max((len(v) for v in updates.values()), default=0),
        "min_gap_between_edits_s": round(min(gaps), 3) if gaps else None,
        "busiest_minute_edits": max(windows, default=0),
    }


@contextlib.contextmanager
def postgres_database(pg_admin: str, keep: bool) -> Iterator[str]:
    import psycopg

    from app.store.migrate import upgrade

    name = f"pitcrew_alerts_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{pg_admin.rsplit('/', 1)[0]}/{name}"
        upgrade(url)
        yield url
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(url: str, sql: str) -> Any:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        return row[0] if row and len(row) == 1 else row


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        result: dict[str, Any] = json.loads(answer.read())
        return result


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


# --- the run ---------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    processes = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="pitcrew-bench-alerts-"))
    try:
        fakes = processes.start([sys.executable, __file__, "--fakes"], env=base_env())
        assert fakes.stdout is not None
        fakes_url = json.loads(fakes.stdout.readline())["url"]
        with postgres_database(args.pg_admin, args.keep_db) as db_url:
            return storm(args, db_url, fakes_url, tmp, processes)
    finally:
        processes.stop_all()


def storm(args: argparse.Namespace, db_url: str, fakes_url: str, tmp: Path, processes: Processes) -> int:
    catalog = tmp / "pitcrew.yml"
    catalog.write_text(
        f"slack:\n  alerts_channel: {ALERTS}\n  updates_channel: {UPDATES}\n  operators: [U0OPS1]\n"
        "  escalation:\n    - {after_minutes: 0, notify: [S0ONCALL]}\n    - {after_minutes: 30, notify: [U0LEAD]}\n"
        "services:\n  api:\n    provider: http\n    health: {url: 'https://api.example.com/health'}\n"
        f"incidents:\n  root_edit_interval_seconds: {args.edit_interval}\n"
        # Every storm alert is for api: correlation would make them one incident. This storm is about
        # many incidents (one per fingerprint), so it is off unless asked (`--correlate-minutes 10`
        # measures the correlated path: one incident, every fingerprint a joined alert).
        f"  correlate_minutes: {args.correlate_minutes:g}\n"
    )
    env = {
        **base_env(),
        "DATABASE_URL": db_url,
        "PITCREW_CONFIG": str(catalog),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{fakes_url}/slack/api/",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    servers = []
    for _ in range(args.instances):
        port = free_port()
        log = tmp / f"pitcrew-{port}.log"
        argv = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
        if args.serve_with:  # a wrapper of `pitcrew serve` (a profiler), given the port as its argument
            argv = [sys.executable, args.serve_with, str(port)]
        servers.append((port, processes.start(argv, env=env, log=log), log))
    for port, proc, log in servers:
        wait_listening(port, proc, log)
    warm_up(servers)
    cpu_before = {proc.pid: cpu_seconds(proc.pid) for _, proc, _ in servers}
    pg_before = postgres_cpu()
    figures, elapsed, stored_at = run_wrks(args, servers, db_url)
    ended = time.time()
    cpu = {pid: cpu_seconds(pid) - before for pid, before in cpu_before.items()}
    pg_cpu = postgres_cpu() - pg_before
    drained_s = drain(db_url, fakes_url, ended)
    return report(args, db_url, fakes_url, figures, elapsed, drained_s, stored_at, cpu, pg_cpu, servers)


def warm_up(servers: list[tuple[int, subprocess.Popen[bytes], Path]]) -> None:
    """A few bodies that are readable but no alert (a Vercel deployment being created): pools, imports."""
    body = json.dumps({"type": "deployment.created", "payload": {"deployment": {"id": "dpl_warm"}}}).encode()
    for port, _, _ in servers:
        for _ in range(WARMUP_PER_INSTANCE):
            status = post(f"http://127.0.0.1:{port}/webhooks/vercel?token={WEBHOOK_SECRET}", body)
            if status != 202:
                raise RuntimeError(f"warm-up webhook answered HTTP {status}")


def run_wrks(
    args: argparse.Namespace, servers: list[tuple[int, subprocess.Popen[bytes], Path]], db_url: str
) -> tuple[list[dict[str, Any]], float, float]:
    """One wrk per instance, all at once, each sending its exact share; (their figures, seconds for all,
    the wall-clock time the storm ended: the moment the database held every alert).

    wrk's own runtime is always its -d (its main thread sleeps that long even when every thread
    has stopped), so the time is taken here: from starting the wrks to the moment the database
    holds every alert sent; then the wrks are interrupted (SIGINT), which makes them report.
    """
    share = args.alerts // len(servers)
    running = []
    started = time.perf_counter()
    for i, (port, _, _) in enumerate(servers):
        quota = share if i < len(servers) - 1 else args.alerts - share * (len(servers) - 1)
        env = {
            **os.environ,
            "WRK_ALERTS_QUOTA": str(quota),
            "WRK_ALERTS_FINGERPRINTS": str(args.fingerprints),
            "WRK_ALERTS_TOKEN": WEBHOOK_SECRET,
            "WRK_ALERTS_OFFSET": str(i * 3),
            "WRK_ALERTS_THREADS": str(args.threads),
        }
        command = [
            args.wrk,
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.max_duration}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(BENCH / "wrk_alerts.lua"),
            f"http://127.0.0.1:{port}",
        ]
        running.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + args.max_duration
    while time.monotonic() < deadline:
        if query(db_url, STORED_SQL) >= args.alerts:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    stored_at = time.time()
    time.sleep(0.5)  # the last answers reach wrk
    results = []
    for proc in running:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no WRK_JSON line ({proc.returncode}):\n{out}\n{err}")
        print(out.rstrip(), flush=True)
        results.append(json.loads(line.removeprefix("WRK_JSON ")))
    return results, elapsed, stored_at


def postgres_cpu() -> float:
    """CPU seconds of every postgres process (the server's share of the 2 cores)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if (proc / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(proc.name))
    return total


def drain(db_url: str, fakes_url: str, ended: float) -> float:
    """Wait for the Slack work the storm made due (root messages, spaced edits); seconds past the storm."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        waiting = query(
            db_url,
            "SELECT count(*) FROM jobs WHERE status IN ('pending', 'running') "
            "AND kind IN ('incident.announce', 'incident.first_note', 'incident.refresh', 'incident.alert_note')",
        )
        if waiting == 0:
            break
        time.sleep(0.25)
    quiet_since = time.time()
    while time.time() - quiet_since < 2.0 and time.monotonic() < deadline:
        time.sleep(0.25)
    return max(0.0, get_json(f"{fakes_url}/stats")["last_call_at"] - ended)


def report(
    args: argparse.Namespace,
    db_url: str,
    fakes_url: str,
    figures: list[dict[str, Any]],
    elapsed: float,
    drained_s: float,
    stored_at: float,
    cpu: dict[int, float],
    pg_cpu: float,
    servers: list[Any],
) -> int:
    sent = sum(f["sent"] for f in figures)
    accepted = sum(f["accepted"] for f in figures)
    refused = sum(f["refused"] for f in figures)
    errors = sum(f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["timeouts"] for f in figures)
    wall = elapsed
    window = query(
        db_url,
        "SELECT extract(epoch FROM max(received_at) - min(received_at)) FROM alerts WHERE fingerprint LIKE 'storm-%'",
    )
    incidents, occurrences = query(
        db_url, "SELECT count(*), coalesce(sum(occurrences), 0) FROM incidents WHERE fingerprint LIKE 'generic:storm-%'"
    )
    stored = query(db_url, STORED_SQL)
    linked = query(db_url, "SELECT count(*) FROM alerts WHERE fingerprint LIKE 'storm-%' AND incident_id IS NOT NULL")
    failed_jobs = query(db_url, "SELECT count(*) FROM jobs WHERE status = 'failed'")
    slack = get_json(f"{fakes_url}/stats")
    rate = sent / wall if wall else 0.0
    last_root_s = slack["last_root_at"] - stored_at if slack["last_root_at"] is not None else None
    first_alert_at = query(
        db_url, "SELECT extract(epoch FROM min(received_at)) FROM alerts WHERE fingerprint LIKE 'storm-%'"
    )
    from_start_s = (
        slack["last_root_at"] - float(first_alert_at) if slack["last_root_at"] is not None and first_alert_at else None
    )
    cpu_ms = sum(cpu.values()) * 1000 / max(sent, 1)
    lines = [
        "",
        f"alerts sent {sent} to {len(figures)} instances ({args.fingerprints} fingerprints), "
        f"{args.connections} connections x {args.threads} threads per wrk",
        f"throughput      {rate:,.0f} alerts/s across the instances ({wall:.2f} s from the first request to the "
        f"last alert stored; {float(window or 0):.2f} s between the first and last alert's arrival)",
        "latency p50/p90/p99/max (ms, per wrk): "
        + "; ".join(
            f"{f['p50_us'] / 1000:.1f}/{f['p90_us'] / 1000:.1f}/{f['p99_us'] / 1000:.1f}/{f['max_us'] / 1000:.0f}"
            for f in figures
        ),
        f"answers         {accepted} x 202, {refused} other, {errors} socket errors/timeouts",
        f"incidents       {incidents} opened (expected {args.fingerprints}); occurrences add up to {occurrences}",
        f"alerts stored   {stored} ({linked} linked to an incident); sent {sent}",
        f"CPU             pitcrew {cpu_ms:.2f} ms/alert over {len(cpu)} processes; postgres {pg_cpu:.1f} s in all",
        f"Slack           {slack['root_posts']} root messages; posts per channel {slack['posts']}; "
        f"busiest second of posts {slack['busiest_second_posts']}",
        f"                posts ahead of one a second, most in any 1/10/60 s window {slack['posts_ahead_of_pace']} "
        f"(burst allowed {PACE_ALLOWANCE}); posted over {slack['posting_span_s']} s",
        f"                {slack['edits']} edits of {slack['edited_messages']} messages, at most "
        f"{slack['max_edits_per_message']} per message, shortest gap between edits of one message "
        f"{slack['min_gap_between_edits_s']} s (interval {args.edit_interval} s); busiest minute "
        f"{slack['busiest_minute_edits']} edits",
        f"roots first     last root in {ALERTS} {_seconds(last_root_s)} after the storm's end (every alert stored), "
        f"{_seconds(from_start_s)} after its first alert; "
        f"{slack['notes_before_last_root']} thread notes before it (burst {BURST_POSTS})",
        f"drained         Slack work finished {drained_s:.1f} s after the storm; failed jobs {failed_jobs}",
    ]
    checks = {
        f"exactly {args.fingerprints} incidents": incidents == args.fingerprints,
        "no alert lost (stored == sent == 202s == occurrences)": stored == sent == accepted == occurrences,
        "every alert linked to its incident": linked == sent,
        "one root message per incident": slack["root_posts"] == args.fingerprints,
        "edits of one message spaced by the interval": (slack["min_gap_between_edits_s"] or args.edit_interval)
        >= args.edit_interval - 0.05,
        f"root edits within {ROOT_EDITS_PER_MINUTE} a minute": slack["busiest_minute_edits"] <= ROOT_EDITS_PER_MINUTE,
        "posts at Slack's pace (one a second per channel after a burst)": all(
            ahead <= PACE_ALLOWANCE for ahead in slack["posts_ahead_of_pace"].values()
        ),
        f"roots first (at most a burst of {BURST_POSTS} thread notes before the last root)": (
            slack["notes_before_last_root"] <= BURST_POSTS
        ),
        "target of 2,000 alerts/s": rate >= 2000,
    }
    if args.fingerprints <= ROOTS_TARGET_INCIDENTS:  # beyond, the pace alone takes longer (one root a second)
        checks[f"target of every root within {ROOTS_WITHIN_S:g} s of the storm"] = (
            last_root_s is not None and last_root_s <= ROOTS_WITHIN_S
        )
    lines += [f"{'ok  ' if ok else 'FAIL'} {name}" for name, ok in checks.items()]
    print("\n".join(lines), flush=True)
    for _, proc, log in servers:
        Processes.stop(proc)
        if args.serve_with:
            print(f"{log.name}: " + " | ".join(log.read_text(errors="replace").splitlines()[-3:]))
        bad = [x for x in log.read_text(errors="replace").splitlines() if "Traceback" in x or "ERROR" in x]
        if bad:
            print(f"{log.name}: {len(bad)} error lines, first: {bad[0][:200]}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"wrk": figures, "slack": slack, "checks": checks, "rate": rate, "last_root_s": last_root_s,
                 "last_root_from_start_s": from_start_s}, indent=2
            )
        )
    return 0 if all(ok for name, ok in checks.items() if "target" not in name) else 1


def _seconds(value: float | None) -> str:
    return "(none)" if value is None else f"{value:.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fakes", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--fingerprints", type=int, default=50)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32, help="connections per wrk (one wrk per instance)")
    parser.add_argument("--threads", type=int, default=2, help="threads per wrk")
    parser.add_argument("--edit-interval", type=int, default=20, help="incidents.root_edit_interval_seconds")
    parser.add_argument("--correlate-minutes", type=float, default=0, help="incidents.correlate_minutes")
    parser.add_argument("--max-duration", type=int, default=120, help="an upper bound: runs end when done")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--wrk", default="wrk")
    parser.add_argument("--keep-db", action="store_true", help="keep the database for inspection")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--serve-with", default=None, help="a script wrapping `pitcrew serve` (profiling)")
    args = parser.parse_args()
    if args.fakes:
        asyncio.run(serve_fakes())
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
