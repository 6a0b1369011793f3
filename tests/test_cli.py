"""The `pitcrew` command as a person runs it: a real subprocess, its exit code and what it prints."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CATALOG = """
slack: {alerts_channel: C0ALERTS, operators: [U0OPS1]}
services:
  api: {provider: http, health: {url: "http://127.0.0.1:9/health", timeout_s: 1}}
"""


def pitcrew(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAILWAY_", "VERCEL_"))}
    environment.update(env)
    environment["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def test_wrong_catalog_is_refused_with_key_paths(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(
        "slack: {alerts_channel: C0ALERTS}\nservices:\n  api: {provider: http, health: {url: nope}}\n"
    )
    result = pitcrew("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "services.api.health.url: not a URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_catalog_says_how_to_fix(tmp_path):
    result = pitcrew("console", cwd=tmp_path)
    assert result.returncode == 2
    assert "file not found" in result.stderr and "PITCREW_CONFIG" in result.stderr


def test_unreachable_database_is_one_clear_line(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    # (`serve` waits for the database instead: tests/test_serve_start.py)
    result = pitcrew("audit", "verify", cwd=tmp_path, DATABASE_URL="postgresql://postgres:hunter2@127.0.0.1:1/nothing")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pitcrew: cannot reach the database at postgresql+psycopg://postgres:***@127.0.0.1:1")
    assert "hunter2" not in result.stderr


def test_serve_without_slack_tokens_names_them(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    result = pitcrew("serve", cwd=tmp_path)
    assert result.returncode == 1
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set" in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    result = pitcrew("serve", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="secret")
    assert result.returncode == 1
    assert "run `pitcrew db upgrade`" in result.stderr


def test_db_upgrade_then_audit_verify_and_export(tmp_path):
    db = tmp_path / "p.db"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    upgraded = pitcrew("db", "upgrade", cwd=tmp_path, **env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in upgraded.stdout
    assert pitcrew("db", "upgrade", cwd=tmp_path, **env).returncode == 0  # idempotent

    verified = pitcrew("audit", "verify", cwd=tmp_path, **env)
    assert verified.returncode == 0 and "0 entries verified" in verified.stdout


async def test_audit_verify_names_a_tampered_row_and_export_writes_json_lines(tmp_path):
    import asyncio
    import json
    from datetime import UTC, datetime

    from app.store import audit as audit_store
    from app.store.db import create_engine, session_factory, transaction
    from app.store.migrate import upgrade_async

    db = tmp_path / "p.db"
    url = f"sqlite:///{db}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        for i in range(3):
            async with transaction(session_factory(engine)) as session:
                await audit_store.append(session, at=datetime.now(UTC), actor="U1", action="command /health",
                                         target="C1", params={"i": i}, outcome="ok")
    finally:
        await engine.dispose()

    exported = await asyncio.to_thread(pitcrew, "audit", "export", cwd=tmp_path, DATABASE_URL=url)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["actor"] == "U1" and records[1]["prev_hash"] == records[0]["hash"]
    later = await asyncio.to_thread(pitcrew, "audit", "export", "--since", "1h", cwd=tmp_path, DATABASE_URL=url)
    assert len(later.stdout.splitlines()) == 3
    bad = await asyncio.to_thread(pitcrew, "audit", "export", "--since", "yesterday", cwd=tmp_path, DATABASE_URL=url)
    assert bad.returncode == 1 and "--since 'yesterday'" in bad.stderr

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_events SET outcome = 'refused' WHERE seq = 2")
    result = await asyncio.to_thread(pitcrew, "audit", "verify", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    assert "BROKEN at entry #2" in result.stdout


def test_runbooks_validate_points_at_the_line(tmp_path):
    (tmp_path / "bad.yml").write_text("name: x\ntitle: X\nsteps:\n  - check: nonsense\n")
    result = pitcrew("runbooks", "validate", str(tmp_path / "bad.yml"), cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.yml:4" in result.stderr
    builtins = pitcrew("runbooks", "validate", cwd=tmp_path)
    assert builtins.returncode == 0, builtins.stderr
    shipped = sorted(path.stem for path in (REPO / "app" / "runbooks").glob("*.yml"))
    assert f"ok: {len(shipped)} runbooks ({', '.join(shipped)})" in builtins.stdout


def test_check_reports_each_failure(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    result = pitcrew("check", cwd=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")
    assert result.returncode == 1
    assert "FAIL slack: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set" in result.stdout
    assert "FAIL database" in result.stdout and "pitcrew db upgrade" in result.stdout
    assert "ok   runbooks" in result.stdout or "ok  runbooks" in result.stdout


async def test_audit_verify_finds_deleted_tail_rows(tmp_path):
    import asyncio
    from datetime import UTC, datetime

    from app.store import audit as audit_store
    from app.store.db import create_engine, session_factory, transaction
    from app.store.migrate import upgrade_async

    db = tmp_path / "p.db"
    url = f"sqlite:///{db}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        for i in range(4):
            async with transaction(session_factory(engine)) as session:
                await audit_store.append(session, at=datetime.now(UTC), actor="U1", action="a", target=None,
                                         params={"i": i}, outcome="ok")
    finally:
        await engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_events WHERE seq >= 3")
    result = await asyncio.to_thread(pitcrew, "audit", "verify", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    assert "entries #3 to #4 are missing" in result.stdout


def test_db_upgrade_names_the_migrations_it_applied_and_says_when_there_were_none(tmp_path):
    from alembic.script import ScriptDirectory

    from app.store.migrate import alembic_config

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    revisions = [r.revision for r in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()]
    first = pitcrew("db", "upgrade", cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert f"applied {len(revisions)} migrations" in first.stdout
    for revision in revisions:
        assert revision in first.stdout
    again = pitcrew("db", "upgrade", cwd=tmp_path, **env)
    assert again.returncode == 0, again.stderr
    assert "no migration to apply" in again.stdout and "applied" not in again.stdout


def test_check_without_a_database_says_so_without_creating_one(tmp_path):
    import re

    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAILWAY_", "VERCEL_"))}
    environment.pop("DATABASE_URL", None)
    environment["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "app", "check"], cwd=tmp_path, env=environment, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert not (tmp_path / "pitcrew.db").exists()  # a check looks; it does not create
    lines = result.stdout.strip().splitlines()
    [database] = [line for line in lines if line.split()[1] == "database"]
    assert database.startswith("FAIL database ") and "no database file" in database and "pitcrew db upgrade" in database
    *checked, summary = lines
    for line in checked:  # one width of prefix, so the subjects line up
        assert re.match(r"^(ok  |FAIL|WARN) \S", line), line
    oks = sum(line.startswith("ok ") for line in checked)
    fails = sum(line.startswith("FAIL") for line in checked)
    warns = sum(line.startswith("WARN") for line in checked)
    assert any(line.startswith("ok   pitcrew.yml: 1 services") for line in checked)
    assert summary == f"{oks} ok, {warns} warnings, {fails} failed", summary


async def test_audit_export_into_a_pipe_closed_early_ends_quietly(tmp_path):
    import asyncio
    from datetime import UTC, datetime

    from app.store import audit as audit_store
    from app.store.db import create_engine, session_factory, transaction
    from app.store.migrate import upgrade_async

    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            for i in range(600):  # far more than a pipe holds: the export must still be writing when it closes
                await audit_store.append(session, at=datetime.now(UTC), actor="U1", action="command /health",
                                         target="C1", params={"i": i, "pad": "x" * 200}, outcome="ok")
    finally:
        await engine.dispose()

    def head_1() -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": url}
        return subprocess.run(
            f"{sys.executable} -m app audit export | head -2", shell=True, cwd=tmp_path, env=environment,
            capture_output=True, text=True, timeout=120,
        )

    result = await asyncio.to_thread(head_1)
    assert len(result.stdout.splitlines()) == 2
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
