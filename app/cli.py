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
import os
import re
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from app import __version__
from app.catalog import Catalog, CatalogError, load_catalog
from app.settings import Settings
from app.startup import StartupError, current_revision, ensure_database, first_line, wait_for_database
from app.store.db import DatabaseUrlError, safe_url

log = logging.getLogger("pitcrew.cli")

def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from app.log_masking import mask_logs

    mask_logs(())  # `token=...`, bearer tokens, passwords in URLs; `serve` adds its secrets' values
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
    except BrokenPipeError:  # `pitcrew audit export | head`: the reader has all it wanted
        _quiet_stdout()
        return 141  # as a process ended by SIGPIPE, for `set -o pipefail`


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush into the closed pipe does not
    print the traceback that `head` caused by leaving early."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pitcrew", description="pitcrew: your operations runbooks as Slack commands.")
    parser.add_argument("--version", action="version", version=f"pitcrew {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what pitcrew does")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the Slack app over HTTP (or Socket Mode with --socket)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=None, help="port (default $PORT, else 3000)")
    serve.add_argument(
        "--socket", action="store_true",
        help="Slack over Socket Mode (needs SLACK_APP_TOKEN); HTTP is still served for webhooks, /healthz, /status",
    )
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
    verify = audit_sub.add_parser(
        "verify", help="recompute the hash chain (with AUDIT_KEY), compare it with its anchors, name the first break"
    )
    verify.add_argument(
        "--anchor", action="append", default=[], metavar="HEAD|FILE",
        help='a head kept outside the database: "audit head: seq N, hash H" (as posted), N:H, or a file of '
        "them or of `audit export` lines; may be repeated",
    )
    verify.set_defaults(run=_audit_verify)
    export = audit_sub.add_parser("export", help="write the trail as JSON lines to standard output")
    export.add_argument(
        "--since", default=None, help="ISO date/time (2026-01-31, 2026-01-31T12:00Z) or a duration (24h, 7d)"
    )
    export.set_defaults(run=_audit_export)
    anchor = audit_sub.add_parser("anchor", help="post the trail's head to a Slack channel, outside the database")
    anchor.add_argument(
        "--channel", default=None,
        help="channel id (C...); default: pitcrew.yml's audit.anchor_channel, else updates, else alerts channel",
    )
    anchor.set_defaults(run=_audit_anchor)
    return parser


# --- helpers ------------------------------------------------------------------------------------
def load_settings() -> Settings:
    return Settings()


def load_config(settings: Settings) -> Catalog:
    return load_catalog(settings.PITCREW_CONFIG)


def run_async(factory: Callable[[], Coroutine[Any, Any, int]]) -> int:
    return asyncio.run(factory())


def warn_if_unkeyed(settings: Settings) -> None:
    """One line at start when AUDIT_KEY is unset: pitcrew serves, but its trail is only as safe as
    write access to its database."""
    if settings.audit_key() is None:
        from app.check import UNKEYED

        logging.getLogger("pitcrew").warning(UNKEYED)


def serving_line(url: str, database_url: str, instance: str) -> str:
    """The one line `serve` prints at start: where to reach it, which database (password masked), and
    which instance this is (as the jobs it claims name it), so a log shows at once what is running."""
    return f"pitcrew serving on {url}, database {safe_url(database_url)}, instance {instance}"


# --- commands -----------------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.deps import build_deps, process_secrets
    from app.jobs.runner import worker_name
    from app.log_masking import mask_logs
    from app.slack.app import build_slack_app
    from app.web import build_web_app

    settings = load_settings()
    mask_logs(settings.secret_values())
    catalog = load_config(settings)
    mask_logs(process_secrets(settings, catalog, os.environ))  # before anything may quote a DSN
    missing = [name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if not getattr(settings, name)]
    if missing:
        raise StartupError(f"{' and '.join(missing)} not set: create the Slack app from manifest.yml and copy them")
    run_async(lambda: wait_for_database(settings))
    warn_if_unkeyed(settings)

    port = args.port or settings.PORT
    print(serving_line(f"http://{args.host}:{port}", settings.DATABASE_URL, worker_name()), flush=True)
    if args.socket:
        if not settings.SLACK_APP_TOKEN:
            raise StartupError("--socket needs SLACK_APP_TOKEN (an app-level token with connections:write)")
        return run_async(lambda: _serve_socket(settings, catalog, host=args.host, port=port, verbose=args.verbose))

    deps = build_deps(settings, catalog)
    web = build_web_app(deps, build_slack_app(deps), close_deps_on_shutdown=True)
    # Everything built so far lives as long as the process: out of the collector's sight, a full
    # collection no longer walks it (each one paused the loop, and every ack behind it, for ~50 ms).
    gc.collect()
    gc.freeze()
    uvicorn.run(web, **uvicorn_options(args.host, port, verbose=args.verbose))
    return 0


def uvicorn_options(host: str, port: int, *, verbose: bool) -> dict[str, Any]:
    """uvicorn's options for `serve` and `serve --socket` alike: the edge's limits (keep-alive, header
    deadline, connection limit: app/web_limits.py) hold whichever way Slack reaches pitcrew."""
    from app.web_limits import uvicorn_limits

    return {
        "host": host,
        "port": port,
        "log_level": "info" if verbose else "warning",
        "access_log": verbose,
        "proxy_headers": True,
        **uvicorn_limits(),
    }


async def _serve_socket(settings: Settings, catalog: Catalog, *, host: str, port: int, verbose: bool) -> int:
    """Slack over Socket Mode, and HTTP beside it in the same process, on the same port rules as
    `serve`: webhooks, /healthz and the status page need HTTP whichever way Slack reaches pitcrew.
    The web app's lifespan runs the job runner, as in `serve`. A Slack that cannot be reached is
    retried for ever, one log line per attempt (app/slack/socket_mode.py), while HTTP keeps serving."""
    import uvicorn
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from app.deps import build_deps
    from app.slack.app import build_slack_app
    from app.slack.socket_mode import RETRY_INTERVAL_S, socket_mode_logger
    from app.web import build_web_app

    deps = build_deps(settings, catalog)
    slack_app = build_slack_app(deps)
    web = build_web_app(deps, slack_app, close_deps_on_shutdown=True)
    config = uvicorn.Config(web, **uvicorn_options(host, port, verbose=verbose))
    assert settings.SLACK_APP_TOKEN is not None
    handler = AsyncSocketModeHandler(
        slack_app, settings.SLACK_APP_TOKEN.get_secret_value(), logger=socket_mode_logger(),
        ping_interval=RETRY_INTERVAL_S,
    )
    connecting = asyncio.create_task(handler.connect_async(), name="pitcrew-socket")
    try:
        await uvicorn.Server(config).serve()
    finally:
        await handler.close_async()
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from app.store.migrate import upgrade

    settings = load_settings()
    before = asyncio.run(current_revision(settings))
    applied = pending_migrations(settings.DATABASE_URL, before)
    upgrade(settings.DATABASE_URL)
    where = safe_url(settings.DATABASE_URL)
    if not applied:
        print(f"database at {where} is up to date: no migration to apply (at {before})")
    else:
        print(f"database at {where} is up to date: applied {len(applied)} migration{'s' if len(applied) > 1 else ''}")
        for revision, title in applied:
            print(f"  {revision}  {title}")
    return 0


def pending_migrations(database_url: str, current: str | None) -> list[tuple[str, str]]:
    """(revision, first line of its docstring) of each migration after `current` up to head, oldest first."""
    from alembic.script import ScriptDirectory

    from app.store.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    newer = list(scripts.iterate_revisions("head", current))
    return [(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "") for r in reversed(newer)]


def _console(args: argparse.Namespace) -> int:
    from app.console.session import console_main

    settings = load_settings()
    catalog = load_config(settings)
    run_async(lambda: ensure_database(settings, migrate=settings.DATABASE_URL.startswith("sqlite")))
    return run_async(lambda: console_main(settings, catalog, user_id=args.user_id))


def _demo(args: argparse.Namespace) -> int:
    from app.demo.command import demo_main

    try:
        return run_async(lambda: demo_main(script=args.script))
    except KeyboardInterrupt:  # Ctrl-C at the prompt: everything is torn down; leave the prompt's line
        print()
        return 130


def _check(args: argparse.Namespace) -> int:
    from app.check import run_checks

    settings = load_settings()
    catalog = load_config(settings)
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
    from app.core.audit import ChainVerifier, head_mac_ok
    from app.store import audit as audit_store
    from app.store.db import create_engine, session_factory

    settings = load_settings()
    key = settings.audit_key()
    given = [anchor for value in args.anchor for anchor in _anchors_from(value)]
    run_async(lambda: ensure_database(settings, migrate=False))

    async def go() -> int:
        engine = create_engine(settings.DATABASE_URL)
        sessions = session_factory(engine)
        try:
            # The head is read first: entries appended while we verify are beyond it and left for next time.
            head = await audit_store.head(sessions)
            recorded = await audit_store.last_anchor(sessions)
            anchors = [*given, *([recorded.anchor()] if recorded is not None else [])]
            verifier = ChainVerifier(key, anchors)
            async for entry in audit_store.entries(sessions):
                if entry.seq > head.seq or not verifier.add(entry):
                    break
        finally:
            await engine.dispose()
        report = verifier.report()
        if not report.ok:
            print(
                f"audit trail BROKEN at entry #{report.broken_seq}: {report.reason} "
                f"({report.checked} entries before it are intact)"
            )
            return 1
        if report.checked != head.seq:
            print(f"audit trail BROKEN: entries #{report.checked + 1} to #{head.seq} are missing")
            return 1
        cut = verifier.missing_anchors()
        if cut:
            print(f"audit trail BROKEN: entry #{cut[0].seq}, anchored in {cut[0].source}, is missing (cut off)")
            return 1
        if report.checked and verifier.last_hash != head.hash:
            print(f"audit trail BROKEN: the head row does not match entry #{head.seq} (it was changed)")
            return 1
        if key is not None and report.keyed and not head_mac_ok(head.seq, head.hash, head.mac, key):
            print(
                f"audit trail BROKEN: the head row (#{head.seq}) does not carry a valid MAC "
                "(entries cut from the end and the head moved back, or written without AUDIT_KEY)"
            )
            return 1
        if report.unchecked:
            print(
                f"audit trail NOT VERIFIED: {report.unchecked} entries were chained with AUDIT_KEY, which is not "
                "set here; their links hold, but their content cannot be checked without the key"
            )
            return 2
        if key is None:
            print(f"audit trail intact: {report.checked} entries verified, unkeyed")
            print("unkeyed: " + _UNKEYED_VERIFY)
        elif report.unkeyed and not report.keyed:
            print(
                f"audit trail intact: {report.checked} entries verified, none of them with AUDIT_KEY (all chained "
                "with SHA-256 only: written before AUDIT_KEY was set, or rewritten by someone without it)"
            )
        elif report.unkeyed:
            print(
                f"audit trail intact: {report.checked} entries verified ({report.keyed} with AUDIT_KEY; the "
                f"{report.unkeyed} before it was set are chained with SHA-256 only)"
            )
        else:
            print(f"audit trail intact: {report.checked} entries verified with AUDIT_KEY")
        for anchor in report.anchors_matched:
            print(f"matches {anchor.source}: entry #{anchor.seq}")
        if not anchors:
            print("no anchor to compare with yet: `pitcrew audit anchor` posts one")
        return 0

    return run_async(go)


_UNKEYED_VERIFY = (
    "AUDIT_KEY is not set, so this shows only that the rows match their SHA-256 chain; "
    "anyone with write access to the database could have rewritten them and recomputed it"
)


def _anchors_from(value: str) -> list[Any]:
    """The anchors in `--anchor VALUE`: a file's (when VALUE names one), else VALUE's own."""
    from pathlib import Path

    from app.core.audit import parse_anchors

    path = Path(value)
    if path.is_file():
        try:
            found = parse_anchors(path.read_text(encoding="utf-8"), f"{value}")
        except (OSError, UnicodeDecodeError) as err:
            raise StartupError(f"--anchor {value}: cannot read it ({err})") from None
    else:
        found = parse_anchors(value, "the anchor given")
    if not found:
        raise StartupError(
            f"--anchor {value!r}: expected \"audit head: seq N, hash H\" (as posted to Slack), N:H, "
            "or a file of such lines or of `pitcrew audit export` output"
        )
    return found


def _audit_export(args: argparse.Namespace) -> int:
    from app.core.audit import anchor_text
    from app.store import audit as audit_store
    from app.store.db import create_engine, session_factory

    settings = load_settings()
    since = _parse_since(args.since, datetime.now(UTC))
    run_async(lambda: ensure_database(settings, migrate=False))

    async def go() -> int:
        engine = create_engine(settings.DATABASE_URL)
        last = None
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
                    "scheme": entry.scheme,
                }
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
                last = entry
        finally:
            await engine.dispose()
        if last is not None:  # the head, to keep apart from the database: `audit verify --anchor` takes it
            print(anchor_text(last.seq, last.hash), file=sys.stderr)
        return 0

    return run_async(go)


def _audit_anchor(args: argparse.Namespace) -> int:
    from slack_sdk.errors import SlackApiError

    from app.catalog import SLACK_CHANNEL
    from app.deps import build_deps
    from app.flows.audit_anchor import post_anchor
    from app.slack.audit_jobs import slack_poster
    from app.slack.client import web_client

    settings = load_settings()
    catalog = load_config(settings)
    channel = args.channel or catalog.audit.channel(catalog.slack)
    if not re.fullmatch(SLACK_CHANNEL, channel):
        raise StartupError(f"--channel {channel!r}: expected a Slack channel id (C...), not its name")
    if not settings.SLACK_BOT_TOKEN:
        raise StartupError("SLACK_BOT_TOKEN not set: the anchor is posted to Slack by the bot")
    run_async(lambda: ensure_database(settings, migrate=False))

    async def go() -> int:
        deps = build_deps(settings, catalog)
        try:
            result = await post_anchor(
                deps, slack_poster(web_client(settings)), channel=channel, actor="pitcrew audit anchor"
            )
        except SlackApiError as err:
            error = err.response.get("error", "an error")
            hint = " (invite @pitcrew to the channel)" if error in ("not_in_channel", "channel_not_found") else ""
            raise StartupError(f"Slack refused the anchor in {channel}: {error}{hint}") from None
        except Exception as err:
            raise StartupError(f"could not post the anchor to {channel}: {first_line(err)}") from None
        finally:
            await deps.close()
        if not result.posted:
            print(result.reason)
            return 0
        print(f"posted to {channel}: {result.text}")
        print("keep it outside pitcrew's database too: `pitcrew audit verify --anchor \"<that line>\"` checks it")
        return 0

    return run_async(go)
