"""How fast `/logs` filters, masks and groups, and that its memory does not grow with the line count.

    python bench/bench_logs.py            # 20,000 and 200,000 lines
    python bench/bench_logs.py 1000000    # any counts

Lines imitate what the seed runbooks' services print (Express, Prisma, SendGrid, Stripe, Postgres):
mixed levels, request ids inline and in attributes, numbers everywhere, and secrets in about 3% of
them. Records are built first, as a provider would hand them over; the timed part is what the
`/logs` flow does with them, on one core. Memory is measured separately (tracemalloc slows Python
down) on a lazily generated stream, so it covers generation and pipeline together.
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.logs import LogFilter, LogRecord, TopGroups, make_record, process
from app.core.masking import Masker

VARIABLES = {
    "DATABASE_URL": "postgresql://app:Zq8vN2xLw4Rt@db.internal:5432/app",
    "JWT_SECRET": "f3T9kLm2Qw8Zx7Vb4Nc6Hp1Jd5Rs0Ay",
    "JWT_REFRESH_SECRET": "Yh7Gt5Fr3De1Sw9Qa8Zx6Cv4Bn2Mk0Lp",
    "SENDGRID_API_KEY": "SG.kX9fLm2Qw8ZxVb4Nc6Hp1J.d5Rs0AyT3gU7iO9pE2wQ4rT6yU8iO0pA1sD3fG5hJ7kL",
    "STRIPE_SECRET_KEY": "sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5Rs0AyT3",
    "STRIPE_WEBHOOK_SECRET": "whsec_Qw8ZxVb4Nc6Hp1Jd5Rs0AyT3gU7iO9p",
    "REDIS_URL": "redis://default:Rd5Xs8Qp2Lm@redis.internal:6379",
    "NODE_ENV": "production",
    "PORT": "8080",
    "FRONTEND_URL": "https://app.example.com",
}
ROUTES = ["users", "invoices", "assessments", "organizations", "files", "auth/refresh", "dashboard/stats"]
EMAILS = [f"user{n}@example.com" for n in range(300)]
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkJvYiJ9.SflKxwRJSMeKKF2QT4fwpMeJf36"


def _line(rng: random.Random) -> tuple[str, str | None, dict[str, str]]:
    """One (message, provider severity, attributes)."""
    req = str(uuid.UUID(int=rng.getrandbits(128)))
    attrs = {"deploymentId": "7d1c2e4f-0a9b-4c8d-9e7f-6a5b4c3d2e1f"}
    n = rng.random()
    ms = rng.choice((rng.randint(1, 40), rng.randint(40, 900), rng.randint(900, 30000)))
    if n < 0.30:
        attrs["requestId"] = req
        status = rng.choice((200, 200, 200, 201, 204, 304, 400, 401, 404, 500))
        return f"GET /api/{rng.choice(ROUTES)}/{rng.randint(1, 99999)} {status} {ms}ms", None, attrs
    if n < 0.42:
        return (f"[req {req}] POST /api/{rng.choice(ROUTES)} {rng.choice((200, 201, 422))} in {ms}ms "
                f"user={rng.randint(1, 5000)}"), None, attrs
    if n < 0.52:
        return ('prisma:query SELECT "public"."User"."id", "public"."User"."email" FROM "public"."User" '
                'WHERE "public"."User"."id" = $1 LIMIT $2 OFFSET $3'), "debug", attrs
    if n < 0.60:
        return (f'{{"level":"info","msg":"request completed","reqId":"{req}","responseTime":{ms},'
                f'"statusCode":200}}'), None, attrs
    if n < 0.66:
        template = uuid.UUID(int=rng.getrandbits(128)).hex
        return f"Sending email to {rng.choice(EMAILS)} via SendGrid (template d-{template})", "info", attrs
    if n < 0.71:
        return (f"Slow query ({ms} ms): SELECT * FROM invoices WHERE organization_id = "
                f"'{uuid.UUID(int=rng.getrandbits(128))}' ORDER BY created_at DESC"), "warn", attrs
    if n < 0.75:
        return f"Error: connect ECONNREFUSED 10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}:5432", None, attrs
    if n < 0.78:
        return "PrismaClientKnownRequestError: Unique constraint failed on the fields: (`email`)", None, attrs
    if n < 0.82:
        return f"Job {rng.getrandbits(96):024x} completed in {ms}ms (attempt {rng.randint(1, 3)}/3)", "info", attrs
    if n < 0.85:
        prop = rng.choice(("id", "email", "organizationId", "map"))
        return f"TypeError: Cannot read properties of undefined (reading '{prop}')", None, attrs
    if n < 0.88:
        ip = f"10.1.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
        return f"Rate limit exceeded for {ip} on /api/auth/login", "warn", attrs
    if n < 0.91:
        return f"Memory usage high: {rng.randint(380, 510)} MB (limit 512 MB)", "warn", attrs
    if n < 0.94:
        return "Health check OK", "info", attrs
    if n < 0.97:
        moment = datetime(2025, 1, 2, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 86400))
        return (f"{moment:%Y-%m-%dT%H:%M:%S}Z INFO cache hit key=user:{rng.randint(1, 5000)}:profile "
                f"ttl={rng.randint(1, 3600)}"), None, attrs
    # about 3% of lines carry a secret, in the ways apps leak them
    leak = rng.randrange(6)
    if leak == 0:
        return f"Connected to {VARIABLES['DATABASE_URL']} in {ms}ms", "info", attrs
    if leak == 1:
        return f"[error] SendGrid 401 Unauthorized, SENDGRID_API_KEY={VARIABLES['SENDGRID_API_KEY']}", None, attrs
    if leak == 2:
        return f"outgoing headers: {{\"authorization\":\"Bearer {JWT}\",\"x-request-id\":\"{req}\"}}", "debug", attrs
    if leak == 3:
        return f"Stripe webhook: verifying with {VARIABLES['STRIPE_WEBHOOK_SECRET']} failed", "error", attrs
    if leak == 4:
        attrs["authorization"] = f"Bearer {JWT}"
        return f"auth middleware rejected token for user {rng.randint(1, 5000)}", "warn", attrs
    return f"config loaded JWT_SECRET={VARIABLES['JWT_SECRET']} PORT=8080", "debug", attrs


def generate(count: int, seed: int = 7) -> Iterator[LogRecord]:
    """`count` records, oldest first, one every 0.4 s, built the way a provider builds them."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 2, tzinfo=UTC)
    for i in range(count):
        message, severity, attrs = _line(rng)
        yield make_record(message, timestamp=start + timedelta(milliseconds=400 * i), level=severity,
                          attributes=attrs)


def run_top(records: Iterable[LogRecord], masker: Masker, filt: LogFilter) -> TopGroups:
    """`/logs api --top`: every matching line masked and grouped."""
    top = TopGroups()
    for record in process(records, filt, masker, None, keep="first"):
        top.add(record)
    return top


def run_tail(records: Iterable[LogRecord], masker: Masker, filt: LogFilter) -> list[LogRecord]:
    """`/logs api --lines 50 ...`: the last 50 matching lines, masked."""
    return list(process(records, filt, masker, 50))


SCENARIOS: list[tuple[str, Callable[..., object], LogFilter]] = [
    ("--top (no filter: mask + group every line)", run_top, LogFilter()),
    ("--top --level error", run_top, LogFilter(level="error")),
    ("--lines 50 --level warn --grep timeout", run_tail, LogFilter(level="warn", grep="timeout")),
    ("--lines 50 (no filter)", run_tail, LogFilter()),
]
RUNS = 5


def best_seconds(run: Callable[..., object], records: list[LogRecord], filt: LogFilter) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of RUNS, each with a new Masker (a cold cache, as in a real
    request). CPU time is shown because other work on the machine stretches the wall clock."""
    walls, cpus = [], []
    for _ in range(RUNS):
        masker = Masker.for_variables(VARIABLES)
        wall, cpu = time.perf_counter(), time.process_time()
        run(records, masker, filt)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def _time_building(count: int) -> float:
    started = time.perf_counter()
    for _ in generate(count):
        pass
    return time.perf_counter() - started


def peak_memory(count: int) -> float:
    """Peak traced MiB while generating `count` records lazily and grouping them (the worst scenario)."""
    masker = Masker.for_variables(VARIABLES)
    tracemalloc.start()
    tracemalloc.reset_peak()
    top = run_top(generate(count), masker, LogFilter())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert top.total == count
    return peak / 2**20


def leaked(records: list[LogRecord]) -> int:
    """How many shown strings still hold a secret value (must be 0)."""
    masker = Masker.for_variables(VARIABLES)
    secrets = [v for k, v in VARIABLES.items() if k not in ("NODE_ENV", "PORT", "FRONTEND_URL")]
    secrets += ["Zq8vN2xLw4Rt", "Rd5Xs8Qp2Lm", JWT]
    shown = [g.example for g in run_top(records, masker, LogFilter()).groups(None)]
    shown += [g.pattern for g in run_top(records, masker, LogFilter()).groups(None)]
    for record in process(records, LogFilter(), masker, None):
        shown.append(record.message)
        shown.extend(record.attributes.values())
    return sum(1 for text in shown for secret in secrets if secret in text)


def main(counts: list[int]) -> None:
    print(f"Python {sys.version.split()[0]}, one core; best of {RUNS} runs; records built before timing.\n")
    print(f"{'scenario':<46} {'lines':>9} {'wall s':>7} {'cpu s':>7} {'lines/s (wall)':>15}")
    for count in counts:
        records = list(generate(count))
        for name, run, filt in SCENARIOS:
            wall, cpu = best_seconds(run, records, filt)
            print(f"{name:<46} {count:>9,} {wall:>7.3f} {cpu:>7.3f} {count / wall:>15,.0f}")
        building = min(_time_building(count) for _ in range(3))
        print(f"{'(building the records, not part of the above)':<46} {count:>9,} {building:>7.3f} {'':>7} "
              f"{count / building:>15,.0f}")
    print()
    for count in counts:
        print(f"peak traced memory, --top over {count:,} lazily generated lines: {peak_memory(count):.2f} MiB")
    sample = list(generate(20_000))
    print(f"\nsecret values left in anything shown for 20,000 lines: {leaked(sample)}")
    top = run_top(sample, Masker.for_variables(VARIABLES), LogFilter())
    print(f"top groups of those 20,000 lines ({top.distinct} patterns):")
    for group in top.groups(8):
        print(f"{group.count:>7}  {group.level or '-':<5}  {group.pattern[:100]}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [20_000, 200_000])
