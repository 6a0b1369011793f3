"""`pitcrew audit verify` against someone who can write to the database: a trail rewritten and
rechained without AUDIT_KEY fails with it; one rewritten by someone holding the key fails against
the anchor posted to Slack; without the key, verify says the chain is unkeyed."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from app.core.audit import HMAC_SHA256, SHA256, AuditEntry, entry_hash, head_mac
from app.sandbox.slack import FakeSlack
from app.store import audit as audit_store
from app.store.db import create_engine, session_factory, transaction
from app.store.models import AuditAnchor, AuditEvent, AuditHead
from tests.test_cli import pitcrew

KEY = "k3y-0f-the-aud1t-trail-kept-outside-the-database"
CATALOG = "slack: {alerts_channel: C0ALERTS, updates_channel: C0UPDATES, operators: [U0OPS1]}\n"


async def _append(url: str, count: int, *, key: str | None, start: int = 0) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine, audit_key=key.encode() if key else None)
    try:
        for i in range(start, start + count):
            async with transaction(sessions) as session:
                await audit_store.append(
                    session, at=datetime.now(UTC), actor="U0OPS1", action="action.confirm", target="p1",
                    params={"i": i}, outcome="ok",
                )
    finally:
        await engine.dispose()


async def _rewrite(url: str, seq: int, *, outcome: str, key: str | None, scheme: str) -> None:
    """What someone with write access does: change entry `seq`, then recompute every hash from it on
    (HMAC with `key` when given, else SHA-256) and the head, so that each link holds again."""
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
            previous = rows[seq - 2].hash if seq > 1 else "0" * 64
            for row in rows[seq - 1:]:
                entry = AuditEntry(row.seq, row.at, row.actor, row.action, row.target, row.params,
                                   outcome if row.seq == seq else row.outcome, previous)
                digest = entry_hash(entry, key.encode() if key else None)
                await session.execute(
                    update(AuditEvent).where(AuditEvent.seq == row.seq)
                    .values(outcome=entry.outcome, prev_hash=previous, hash=digest, scheme=scheme)
                )
                previous = digest
            mac = head_mac(len(rows), previous, key.encode()) if key else None
            await session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=previous, mac=mac))
    finally:
        await engine.dispose()


async def _verify(tmp_path: Path, url: str, *args: str, key: str | None = KEY) -> Any:
    env = {"DATABASE_URL": url, **({"AUDIT_KEY": key} if key else {})}
    return await asyncio.to_thread(pitcrew, "audit", "verify", *args, cwd=tmp_path, **env)


async def test_a_trail_rewritten_and_rechained_without_the_key_fails_verify_with_it(db_url: str, tmp_path: Path):
    await _append(db_url, 3, key=None)  # written before AUDIT_KEY was set
    await _append(db_url, 4, key=KEY, start=3)
    intact = await _verify(tmp_path, db_url)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.splitlines()[0] == (
        "audit trail intact: 7 entries verified (4 with AUDIT_KEY; the 3 before it was set are chained "
        "with SHA-256 only)"
    )

    # Entry #5 rewritten and the chain recomputed with SHA-256: every link holds, as the old check wanted.
    await _rewrite(db_url, 5, outcome="refused", key=None, scheme=SHA256)
    broken = await _verify(tmp_path, db_url)
    assert broken.returncode == 1
    assert broken.stdout.startswith("audit trail BROKEN at entry #5: it is chained without AUDIT_KEY after entries")

    # The same with a made-up key, the entries still marked as keyed.
    await _rewrite(db_url, 5, outcome="refused", key="a-guess", scheme=HMAC_SHA256)
    guessed = await _verify(tmp_path, db_url)
    assert guessed.returncode == 1
    assert guessed.stdout.startswith("audit trail BROKEN at entry #5: its content does not match its MAC")

    # And without the key, verify does not pretend: the keyed entries cannot be checked.
    unkeyed = await _verify(tmp_path, db_url, key=None)
    assert unkeyed.returncode == 2
    assert unkeyed.stdout.startswith("audit trail NOT VERIFIED: 4 entries were chained with AUDIT_KEY")


async def test_the_whole_chain_rewritten_without_the_key_is_not_called_keyed(db_url: str, tmp_path: Path):
    await _append(db_url, 4, key=KEY)
    await _rewrite(db_url, 1, outcome="refused", key=None, scheme=SHA256)  # no keyed entry left
    engine = create_engine(db_url)
    try:
        async with transaction(session_factory(engine)) as session:
            await session.execute(update(AuditHead).values(mac=None))
    finally:
        await engine.dispose()
    rewritten = await _verify(tmp_path, db_url)
    assert rewritten.returncode == 0
    assert rewritten.stdout.splitlines()[0] == (
        "audit trail intact: 4 entries verified, none of them with AUDIT_KEY (all chained with SHA-256 only: "
        "written before AUDIT_KEY was set, or rewritten by someone without it)"
    )


async def test_a_tail_cut_and_the_head_moved_back_without_the_key_is_found(db_url: str, tmp_path: Path):
    await _append(db_url, 4, key=KEY)
    await _truncate(db_url, keep=2)
    cut = await _verify(tmp_path, db_url)
    assert cut.returncode == 1
    assert cut.stdout.startswith("audit trail BROKEN: the head row (#2) does not carry a valid MAC")


async def _truncate(url: str, keep: int) -> None:
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            await session.execute(delete(AuditEvent).where(AuditEvent.seq > keep))
            kept = await session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == keep))
            await session.execute(update(AuditHead).values(seq=keep, hash=kept))
    finally:
        await engine.dispose()


async def test_an_anchor_posted_to_slack_catches_a_rewrite_by_someone_holding_the_key(
    db_url: str, tmp_path: Path, fake_slack: FakeSlack
):
    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    await _append(db_url, 5, key=KEY)
    slack_env = {"SLACK_BOT_TOKEN": fake_slack.token, "SLACK_API_URL": fake_slack.api_url, "AUDIT_KEY": KEY}
    anchored = await asyncio.to_thread(pitcrew, "audit", "anchor", cwd=tmp_path, DATABASE_URL=db_url, **slack_env)
    assert anchored.returncode == 0, anchored.stdout + anchored.stderr
    [posted] = [m for m in fake_slack.messages if m.channel == "C0UPDATES"]  # the updates channel by default
    assert re.fullmatch(r"audit head: seq 5, hash [0-9a-f]{64}", posted.text)
    assert anchored.stdout.startswith(f"posted to C0UPDATES: {posted.text}")

    intact = await _verify(tmp_path, db_url)
    assert intact.returncode == 0, intact.stdout
    assert "audit trail intact: 6 entries verified with AUDIT_KEY" in intact.stdout  # the anchor is audited too
    assert re.search(r"matches the anchor of .* \(Slack channel C0UPDATES\): entry #5", intact.stdout)

    # Someone with database write AND the key rewrites entry #2 and recomputes every MAC and the head's.
    await _rewrite(db_url, 2, outcome="refused", key=KEY, scheme=HMAC_SHA256)
    caught = await _verify(tmp_path, db_url)
    assert caught.returncode == 1
    assert caught.stdout.startswith("audit trail BROKEN at entry #5: its hash differs from the one anchored in")

    # They delete the recorded anchors too: the line kept from Slack still catches it.
    engine = create_engine(db_url)
    try:
        async with transaction(session_factory(engine)) as session:
            await session.execute(delete(AuditAnchor))
    finally:
        await engine.dispose()
    assert (await _verify(tmp_path, db_url)).returncode == 0  # the chain alone cannot tell
    kept = await _verify(tmp_path, db_url, "--anchor", posted.text)
    assert kept.returncode == 1 and "BROKEN at entry #5: its hash differs from the one anchored in" in kept.stdout


async def test_export_prints_the_head_and_verify_takes_the_export_as_anchors(db_url: str, tmp_path: Path):
    await _append(db_url, 3, key=KEY)
    exported = await asyncio.to_thread(
        pitcrew, "audit", "export", cwd=tmp_path, DATABASE_URL=db_url, AUDIT_KEY=KEY
    )
    assert exported.returncode == 0
    lines = exported.stdout.splitlines()
    assert len(lines) == 3 and '"scheme": "hmac-sha256"' in lines[0]
    assert re.fullmatch(r"audit head: seq 3, hash [0-9a-f]{64}\n", exported.stderr)
    (tmp_path / "audit.jsonl").write_text(exported.stdout)

    assert (await _verify(tmp_path, db_url, "--anchor", "audit.jsonl")).returncode == 0
    await _rewrite(db_url, 1, outcome="refused", key=KEY, scheme=HMAC_SHA256)
    against_export = await _verify(tmp_path, db_url, "--anchor", "audit.jsonl")
    assert against_export.returncode == 1
    assert "BROKEN at entry #1: its hash differs from the one anchored in audit.jsonl" in against_export.stdout
    bad = await _verify(tmp_path, db_url, "--anchor", "yesterday's hash")
    assert bad.returncode == 1 and "--anchor \"yesterday's hash\": expected" in bad.stderr


async def test_without_the_key_verify_and_check_say_the_chain_is_unkeyed(db_url: str, tmp_path: Path):
    await _append(db_url, 2, key=None)
    result = await _verify(tmp_path, db_url, key=None)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == [
        "audit trail intact: 2 entries verified, unkeyed",
        "unkeyed: AUDIT_KEY is not set, so this shows only that the rows match their SHA-256 chain; "
        "anyone with write access to the database could have rewritten them and recomputed it",
    ]
    entries = [e async for e in _entries(db_url)]
    assert [e.scheme for e in entries] == [SHA256, SHA256]
    assert replace(entries[0], hash=entry_hash(entries[0])) == entries[0]


async def _entries(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    try:
        async for entry in audit_store.entries(session_factory(engine)):
            yield entry
    finally:
        await engine.dispose()


async def test_check_warns_when_the_key_is_unset_and_says_when_it_is(tmp_path: Path):
    from app.check import run_checks
    from app.settings import Settings
    from app.store.migrate import upgrade_async
    from tests.fixtures import catalog_from

    url = f"sqlite:///{tmp_path / 'p.db'}"
    await upgrade_async(url)
    found = {}
    for key in (None, KEY):
        lines: list[str] = []
        settings = Settings(DATABASE_URL=url, **({"AUDIT_KEY": key} if key else {}))
        await run_checks(settings, catalog_from({}), lines.append)
        found[key] = lines
    [unkeyed] = [line for line in found[None] if " audit: " in line]
    assert unkeyed.startswith("WARN audit: AUDIT_KEY not set: the audit trail is hash-chained without a key")
    assert found[None][-1].endswith("ok, 2 warnings, 1 failed")  # and slack.responders; Slack is not set up: FAIL
    [keyed] = [line for line in found[KEY] if " audit: " in line]
    assert keyed.startswith("ok   audit: AUDIT_KEY set") and KEY not in "\n".join(found[KEY])


def test_serve_says_at_start_that_the_trail_is_unkeyed(tmp_path: Path):
    import os
    import subprocess
    import sys

    from tests.test_cli import REPO

    (tmp_path / "pitcrew.yml").write_text(CATALOG)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert pitcrew("db", "upgrade", cwd=tmp_path, DATABASE_URL=url).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUDIT_KEY"))}
    env.update(DATABASE_URL=url, SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s", PYTHONPATH=str(REPO))
    serve = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert serve.stderr is not None
        first = serve.stderr.readline()
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert first.startswith("WARNING pitcrew: AUDIT_KEY not set: the audit trail is hash-chained without a key")


async def test_a_trail_written_before_the_upgrade_still_verifies_and_the_key_takes_over(tmp_path: Path):
    """A database at 0004 (SHA-256 chain, no scheme column) upgraded, then written with AUDIT_KEY."""
    import sqlite3

    from app.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0004")
    previous = "0" * 64
    with sqlite3.connect(tmp_path / "old.db") as db:  # what the older pitcrew wrote
        for seq in (1, 2, 3):
            at = datetime(2026, 11, 1, 12, seq, tzinfo=UTC)
            entry = AuditEntry(seq, at, "U0OPS1", "command /health", "C0ALERTS", {"text": "api"}, "ok", previous)
            digest = entry_hash(entry)
            db.execute(
                "INSERT INTO audit_events (seq, at, actor, action, target, params, outcome, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, at.isoformat(" "), entry.actor, entry.action, entry.target, '{"text": "api"}', "ok",
                 previous, digest),
            )
            previous = digest
        db.execute("UPDATE audit_head SET seq = 3, hash = ?", (previous,))
    await asyncio.to_thread(upgrade, url)

    before = await _verify(tmp_path, url, key=None)
    assert before.returncode == 0 and before.stdout.startswith("audit trail intact: 3 entries verified, unkeyed")
    await _append(url, 2, key=KEY)
    after = await _verify(tmp_path, url)
    assert after.returncode == 0, after.stdout
    assert after.stdout.startswith("audit trail intact: 5 entries verified (2 with AUDIT_KEY; the 3 before it")
