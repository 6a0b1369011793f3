"""The `pitcrew` command: serve, console, demo, db upgrade, check, audit, runbooks.

Start-up problems (a wrong pitcrew.yml, an unreachable database, a missing token) end in one line
saying what is wrong and what to do, never a traceback: the person reading it is often half awake.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from app import __version__
from app.catalog import Catalog, CatalogError, load_catalog
from app.settings import Settings
from app.store.db import DatabaseUrlError, safe_url


class StartupError(Exception):
    """Something the person must fix before pitcrew can start; the message says what."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        result: int = args.run(args)
        return result
    except StartupError as err:
        print(f"pitcrew: {err}", file=sys.stderr)
        return 1
    except CatalogError as err:
        print(f"pitcrew: {err.path} is not valid:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except DatabaseUrlError as err:
        print(f"pitcrew: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pitcrew", description="pitcrew: your operations runbooks as Slack commands.")
    parser.add_argument("--version", action="version", version=f"pitcrew {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what pitcrew does")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the Slack app over HTTP (or Socket Mode with --socket)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=None, help="port (default $PORT, else 3000)")
    serve.add_argument("--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)")
    serve.set_defaults(run=_serve)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(title="db commands", metavar="COMMAND")
    upgrade = db_sub.add_parser("upgrade", help="apply migrations to DATABASE_URL")
    upgrade.set_defaults(run=_db_upgrade)

    console = sub.add_parser("console", help="drive pitcrew from the terminal, without Slack")
    console.add_argument(
        "--as", dest="user_id", default="U0CONSOLE", help="Slack user id to act as (default U0CONSOLE)"
    )
    console.set_defaults(run=_console)

    demo = sub.add_parser("demo", help="the whole product on this machine: sandbox providers, SQLite, the console")
    demo.add_argument(
        "--script", action="store_true", help="play the demo's story by itself; exit 0 if every step behaved"
    )
    demo.set_defaults(run=_demo)

    check = sub.add_parser("check", help="validate pitcrew.yml and reach Slack, the providers and the database")
    check.set_defaults(run=_check)

    runbooks = sub.add_parser("runbooks", help="runbook files")
    runbooks_sub = runbooks.add_subparsers(title="runbooks commands", metavar="COMMAND")
    validate = runbooks_sub.add_parser(
        "validate", help="check runbook files (default: the built-ins and pitcrew.yml's runbooks_dir)"
    )
    validate.add_argument("paths", nargs="*", metavar="PATH", help="runbook files or directories")
    validate.set_defaults(run=_runbooks_validate)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(title="audit commands", metavar="COMMAND")
    verify = audit_sub.add_parser("verify", help="recompute the hash chain and name the first broken entry")
    verify.set_defaults(run=_audit_verify)
    export = audit_sub.add_parser("export", help="write the trail as JSON lines to standard output")
    export.add_argument(
        "--since", default=None, help="ISO date/time (2026-01-31, 2026-01-31T12:00Z) or a duration (24h, 7d)"
    )
    export.set_defaults(run=_audit_export)
    return parser


# --- helpers ------------------------------------------------------------------------------------
def load_settings() -> Settings:
    return Settings()


def load_config(settings: Settings) -> Catalog:
    return load_catalog(settings.PITCREW_CONFIG)


def run_async(factory: Callable[[], Coroutine[Any, Any, int]]) -> int:
    return asyncio.run(factory())


async def current_revision(settings: Settings) -> str | None:
    """Reach the database and read its migration revision; one clear line if it cannot be reached."""
    from alembic.runtime.migration import MigrationContext

    from app.store.db import create_engine

    engine = create_engine(settings.DATABASE_URL)
    try:
        async with asyncio.timeout(10), engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    except Exception as err:
        where = safe_url(settings.DATABASE_URL)
        raise StartupError(f"cannot reach the database at {where}: {_first_line(err)}") from None
    finally:
        await engine.dispose()


async def ensure_database(settings: Settings, *, migrate: bool) -> None:
    """Reach the database and check its schema is current; with `migrate`, bring it up to date instead."""
    from alembic.script import ScriptDirectory

    from app.store.migrate import alembic_config, upgrade_async

    current = await current_revision(settings)
    head = ScriptDirectory.from_config(alembic_config(settings.DATABASE_URL)).get_current_head()
    if current != head:
        if not migrate:
            raise StartupError(
                f"the database at {safe_url(settings.DATABASE_URL)} is not up to date "
                f"(at {current or 'no schema'}, need {head}): run `pitcrew db upgrade`"
            )
        await upgrade_async(settings.DATABASE_URL)


def _first_line(err: BaseException) -> str:
    original = getattr(err, "orig", None) or err
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


# --- commands -----------------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.deps import build_deps
    from app.slack.app import build_slack_app
    from app.web import build_web_app
    from app.web_limits import uvicorn_limits

    settings = load_settings()
    catalog = load_config(settings)
    missing = [name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if not getattr(settings, name)]
    if missing:
        raise StartupError(f"{' and '.join(missing)} not set: create the Slack app from manifest.yml and copy them")
    run_async(lambda: ensure_database(settings, migrate=False))

    if args.socket:
        if not settings.SLACK_APP_TOKEN:
            raise StartupError("--socket needs SLACK_APP_TOKEN (an app-level token with connections:write)")
        return run_async(lambda: _serve_socket(settings, catalog))

    port = args.port or settings.PORT
    deps = build_deps(settings, catalog)
    web = build_web_app(deps, build_slack_app(deps), close_deps_on_shutdown=True)
    # Everything built so far lives as long as the process: out of the collector's sight, a full
    # collection no longer walks it (each one paused the loop, and every ack behind it, for ~50 ms).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        web,
        host=args.host,
        port=port,
        log_level="info" if args.verbose else "warning",
        access_log=args.verbose,
        proxy_headers=True,
        **uvicorn_limits(),  # keep-alive, header deadline, connection limit: app/web_limits.py
    )
    return 0


async def _serve_socket(settings: Settings, catalog: Catalog) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from app.deps import build_deps
    from app.jobs.purge import schedule_purge
    from app.jobs.runner import JobRunner
    from app.slack.app import build_slack_app
    from app.slack.deferral import slack_job_handlers

    deps = build_deps(settings, catalog)
    slack_app = build_slack_app(deps)
    await schedule_purge(deps)
    runner = JobRunner(deps, handlers=slack_job_handlers(slack_app))
    jobs = asyncio.create_task(runner.run_forever(), name="pitcrew-jobs")
    try:
        assert settings.SLACK_APP_TOKEN is not None
        handler = AsyncSocketModeHandler(slack_app, settings.SLACK_APP_TOKEN.get_secret_value())
        await handler.start_async()
    finally:
        jobs.cancel()
        await asyncio.gather(jobs, return_exceptions=True)
        await deps.close()
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from app.store.migrate import upgrade

    settings = load_settings()
    asyncio.run(current_revision(settings))
    upgrade(settings.DATABASE_URL)
    print(f"database at {safe_url(settings.DATABASE_URL)} is up to date")
    return 0


def _console(args: argparse.Namespace) -> int:
    from app.console.session import console_main

    settings = load_settings()
    catalog = load_config(settings)
    run_async(lambda: ensure_database(settings, migrate=settings.DATABASE_URL.startswith("sqlite")))
    return run_async(lambda: console_main(settings, catalog, user_id=args.user_id))


def _demo(args: argparse.Namespace) -> int:
    from app.sandbox.demo import demo_main

    try:
        return run_async(lambda: demo_main(script=args.script))
    except KeyboardInterrupt:  # Ctrl-C at the prompt: everything is torn down; leave the prompt's line
        print()
        return 130


def _check(args: argparse.Namespace) -> int:
    from app.check import run_checks

    settings = load_settings()
    catalog = load_config(settings)
    print(f"ok  {settings.PITCREW_CONFIG}: {len(catalog.services)} services")
    return run_async(lambda: run_checks(settings, catalog, print))


def _runbooks_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.flows.runbook_files import RunbookFileError, builtin_dir, load_runbooks, validate_paths

    if args.paths:
        problems = validate_paths(Path(p) for p in args.paths)
        checked = ", ".join(args.paths)
    else:
        settings = load_settings()
        team = None
        if Path(settings.PITCREW_CONFIG).exists():
            catalog = load_config(settings)
            team = Path(catalog.runbooks_dir) if catalog.runbooks_dir else None
        try:
            names = load_runbooks(builtin_dir(), team).names()
        except RunbookFileError as err:
            problems = err.problems
        else:
            problems = []
            checked = f"{len(names)} runbooks ({', '.join(names)})"
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); nothing was loaded", file=sys.stderr)
        return 1
    print(f"ok: {checked}")
    return 0


def _parse_since(value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    units = {"m": 60, "h": 3600, "d": 86400}
    if value[-1:] in units and value[:-1].isdigit():
        return now - timedelta(seconds=int(value[:-1]) * units[value[-1]])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise StartupError(
            f"--since {value!r}: expected an ISO date/time (2026-01-31T12:00Z) or a duration (24h, 7d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _audit_verify(args: argparse.Namespace) -> int:
    from app.core.audit import ChainVerifier
    from app.store import audit as audit_store
    from app.store.db import create_engine, session_factory

    settings = load_settings()
    run_async(lambda: ensure_database(settings, migrate=False))

    async def go() -> int:
        engine = create_engine(settings.DATABASE_URL)
        verifier = ChainVerifier()
        try:
            # The head is read first: entries appended while we verify are beyond it and left for next time.
            expected = await audit_store.head_seq(session_factory(engine))
            async for entry in audit_store.entries(session_factory(engine)):
                if entry.seq > expected or not verifier.add(entry):
                    break
        finally:
            await engine.dispose()
        report = verifier.report()
        if report.ok and report.checked != expected:
            print(f"audit trail BROKEN: entries #{report.checked + 1} to #{expected} are missing")
            return 1
        if report.ok:
            print(f"audit trail intact: {report.checked} entries verified")
            return 0
        print(
            f"audit trail BROKEN at entry #{report.broken_seq}: {report.reason} "
            f"({report.checked} entries before it are intact)"
        )
        return 1

    return run_async(go)


def _audit_export(args: argparse.Namespace) -> int:
    from app.store import audit as audit_store
    from app.store.db import create_engine, session_factory

    settings = load_settings()
    since = _parse_since(args.since, datetime.now(UTC))
    run_async(lambda: ensure_database(settings, migrate=False))

    async def go() -> int:
        engine = create_engine(settings.DATABASE_URL)
        try:
            async for entry in audit_store.entries(session_factory(engine), since=since):
                record = {
                    "seq": entry.seq,
                    "at": entry.at.isoformat(),
                    "actor": entry.actor,
                    "action": entry.action,
                    "target": entry.target,
                    "params": entry.params,
                    "outcome": entry.outcome,
                    "prev_hash": entry.prev_hash,
                    "hash": entry.hash,
                }
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        finally:
            await engine.dispose()
        return 0

    return run_async(go)
