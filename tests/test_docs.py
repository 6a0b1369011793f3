"""The docs cannot drift from the product: every file, command, variable, key and output they show is
checked here against the real thing.

* Fenced `yaml` blocks are pitcrew.yml (validated by the real catalog loader), runbooks (the real
  runbook loader), Slack manifest settings (keys of `manifest.yml`) or Alertmanager configuration.
* Every `pitcrew ...` command (in console blocks, README's indented commands, inline code) parses
  with the CLI's own parser; the safe ones run; those shown with their output are run in the
  situation the doc describes and must print what the doc shows.
* `curl` examples are sent to a running pitcrew and must get the answer shown.
* Environment variables named exist in Settings; files and links point at something that exists;
  `/routes` and `/commands` are served; configuration.md documents every key of the catalog with
  its real default.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
import yaml
from pydantic import BaseModel

from app.catalog import Catalog, parse_catalog
from app.cli import _parser
from app.core import actions as action_defaults
from app.core.audit import GENESIS, AuditEntry, entry_hash
from app.core.runbook_loader import parse_runbook
from app.demo.story import play_story
from app.demo.world import running_demo
from app.sandbox.uptime import UPTIMEROBOT_TEMPLATE
from app.settings import Settings
from app.store import audit as audit_store
from app.store.db import create_engine, session_factory, transaction
from app.store.migrate import upgrade_async

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
OURS = {"README.md", "slack-setup.md", "deploy-railway.md", "configuration.md", "webhooks.md", "operators.md",
        "audit.md", "scaling.md", "troubleshooting.md", "status-page.md", "security.md", "architecture.md"}
# Variables the docs name that are not pitcrew's settings, and why they may be named.
OTHER_VARIABLES = {
    "APP_DATABASE_URL": "the example of a variable a postgres service's dsn_env names",
    "TEST_DATABASE_URL": "where the tests create PostgreSQL databases",
    "FALLBACK_MODE": "the example variable a runbook's set_variable step changes",
    "DATABASE_PUBLIC_URL": "the public URL Railway gives its PostgreSQL, to run `pitcrew check` from a laptop",
}
# Files the docs name that live on the user's side, not in this repository.
USER_FILES = {"pitcrew.yml", "alertmanager.yml", "audit.jsonl", "pitcrew.db"}
OTHER_COMMANDS = (
    "python3 -m venv", ". .venv/bin/activate", "pip install", "pip-compile", "python -m pytest", "railway link",
    "railway ssh",
)


# ---- reading the docs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    found, lines = [], path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = re.match(r"^```(\w*)\s*$", lines[index])
        if match:
            start = index
            index += 1
            body = []
            while index < len(lines) and not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            found.append(Block(path, start + 1, match.group(1), "\n".join(body)))
        index += 1
    return found


def all_blocks(lang: str | None = None) -> list[Block]:
    return [b for path in DOCS for b in fenced_blocks(path) if lang is None or b.lang == lang]


def prose(path: Path) -> str:
    """The text outside fenced blocks."""
    return re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def inline_code(path: Path) -> list[str]:
    return re.findall(r"`([^`\n]+)`", prose(path))


@dataclass(frozen=True)
class ConsoleCommand:
    block: Block
    command: str
    output: tuple[str, ...]


def console_commands() -> list[ConsoleCommand]:
    """`$ command` lines of console blocks, each with the output lines under it."""
    found = []
    for block in all_blocks("console"):
        current: str | None = None
        output: list[str] = []
        for line in block.text.splitlines():
            if line.startswith("$ "):
                if current is not None:
                    found.append(ConsoleCommand(block, current, tuple(output)))
                current, output = line[2:], []
            elif current is not None:
                output.append(line)
        if current is not None:
            found.append(ConsoleCommand(block, current, tuple(output)))
    return found


def shell_lines() -> Iterator[tuple[str, str]]:
    """(where, command line) for everything the docs ask someone to type in a shell."""
    for item in console_commands():
        yield item.block.where, item.command
    for block in all_blocks():
        if block.lang in ("sh", "bash", "shell"):
            for line in block.text.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    yield block.where, line
    for path in DOCS:  # README's indented commands
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.startswith("    ") and ("&&" in line or line.strip().startswith("pitcrew ")):
                yield f"{path.relative_to(REPO)}:{number}", line.strip()
    for path in DOCS:
        for span in inline_code(path):
            if span.startswith("pitcrew ") and not re.search(r"[\[<…|]|\.\.\.", span):
                yield f"{path.relative_to(REPO)} (inline)", span


def pitcrew_argv(segment: str) -> list[str] | None:
    """The arguments after `pitcrew` (or `python -m app`) in one command, or None if it is another program."""
    words = shlex.split(segment)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value before the command
        words.pop(0)
    if words[:2] == ["railway", "run"]:
        words = words[2:]
    if ">" in words:
        words = words[: words.index(">")]
    if words[:1] == ["pitcrew"]:
        return words[1:]
    if words[:3] in (["python", "-m", "app"], ["python3", "-m", "app"]):
        return words[3:]
    return None


def documented_pitcrew_commands() -> list[tuple[str, list[str]]]:
    found = []
    for where, line in shell_lines():
        for segment in re.split(r"&&|;", line):
            if segment.strip():
                argv = pitcrew_argv(segment.strip())
                if argv is not None:
                    found.append((where, argv))
    return found


# ---- commands ------------------------------------------------------------------------------------


def test_every_pitcrew_command_in_the_docs_parses():
    commands = documented_pitcrew_commands()
    assert len(commands) >= 15
    parser = _parser()
    for where, argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: `pitcrew {' '.join(argv)}` is not a valid pitcrew command")
        assert getattr(args, "run", None) is not None, f"{where}: `pitcrew {' '.join(argv)}` does nothing"


def test_every_other_command_is_one_we_know():
    for where, line in shell_lines():
        for segment in re.split(r"&&|;", line):
            segment = segment.strip()
            if not segment or pitcrew_argv(segment) is not None or segment.startswith("curl "):
                continue
            assert segment.startswith(OTHER_COMMANDS), f"{where}: `{segment}` is neither pitcrew nor a known command"


def test_the_readme_starts_with_the_demo_and_keeps_the_ci_test_command():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = [line.strip() for line in text.splitlines() if line.startswith("    python3 -m venv")]
    assert commands[0].endswith("&& pitcrew demo"), commands[0]
    test_command = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && python -m pytest"
    assert test_command in commands
    assert test_command in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def run_pitcrew(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """pitcrew as a user runs it: a subprocess with only the environment given (no leak from this shell)."""
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "PYTHONPATH": str(REPO)}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "app", *argv], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL,
    )


SAFE = {"check", "runbooks", "audit", "db", "console"}
SAFE_CATALOG = """
slack: {alerts_channel: C0ALERTS, operators: [U0OPS1]}
services:
  api: {provider: http, health: {url: "http://127.0.0.1:9/health", timeout_s: 1}}
"""


async def test_the_safe_commands_run_without_a_traceback(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(SAFE_CATALOG)
    (tmp_path / "runbooks").mkdir()
    await upgrade_async(f"sqlite:///{tmp_path / 'pitcrew.db'}")
    seen = set()
    for where, argv in documented_pitcrew_commands():
        if not argv or argv[0] not in SAFE or tuple(argv) in seen:
            continue
        seen.add(tuple(argv))
        result = await asyncio.to_thread(run_pitcrew, *argv, cwd=tmp_path)
        assert result.returncode in (0, 1), f"{where}: pitcrew {' '.join(argv)}: {result.stderr[-800:]}"
        assert "Traceback" not in result.stdout + result.stderr, f"{where}: pitcrew {' '.join(argv)}"
    assert {a[0] for a in seen} >= {"check", "db", "audit"}


# ---- outputs the docs show, reproduced ----------------------------------------------------------


def normalised(lines: list[str] | tuple[str, ...]) -> list[str]:
    """Lines with what differs from run to run and release to release (migration revisions, how many
    `db upgrade` applied and which) made equal."""
    return [
        re.sub(r"applied \d+ migrations?", "applied N migrations", re.sub(r"need \w+\)", "need REV)", line.rstrip()))
        for line in lines
        if line.strip() and not re.match(r"^  \w+  ", line)  # `db upgrade`'s list of what it applied
    ]


def shown_output(doc: str, command: str) -> tuple[str, ...]:
    matches = [c for c in console_commands() if c.block.path.name == doc and c.command == command]
    assert matches, f"{doc} no longer shows `$ {command}`"
    return matches[0].output


def test_configuration_md_shows_what_a_wrong_file_gets(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(
        "slack: {alerts_channel: C0ALERTS, operators: [U0OPS1, oncall]}\n"
        "services:\n  api: {provider: http, health: {url: api.example.com/health}}\n"
    )
    result = run_pitcrew("check", cwd=tmp_path)
    assert result.returncode == 2
    assert normalised(result.stdout.splitlines() + result.stderr.splitlines()) == normalised(
        shown_output("configuration.md", "pitcrew check")
    )


TROUBLE_CATALOG = """
slack: {alerts_channel: C0ALERTS}
services:
  api:
    provider: railway
    railway: {project_id: p1, environment_id: e1, service_id: s1}
  web:
    provider: vercel
    vercel: {project_id: prj_example}
  db:
    provider: postgres
    postgres: {dsn_env: APP_DATABASE_URL}
"""


def test_troubleshooting_md_shows_what_check_says_on_a_fresh_machine(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(TROUBLE_CATALOG)
    result = run_pitcrew("check", cwd=tmp_path)
    assert result.returncode == 1
    assert normalised(result.stdout.splitlines()) == normalised(shown_output("troubleshooting.md", "pitcrew check"))


def test_troubleshooting_md_shows_what_serve_says_on_an_old_schema(tmp_path):
    (tmp_path / "pitcrew.yml").write_text(SAFE_CATALOG)
    serve = run_pitcrew("serve", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s")
    assert serve.returncode == 1
    assert normalised(serve.stderr.splitlines()) == normalised(shown_output("troubleshooting.md", "pitcrew serve"))
    upgrade = run_pitcrew("db", "upgrade", cwd=tmp_path)
    assert upgrade.returncode == 0
    assert normalised(upgrade.stdout.splitlines()) == normalised(
        shown_output("troubleshooting.md", "pitcrew db upgrade")
    )


async def test_audit_md_verify_and_its_broken_chain_are_what_pitcrew_says(tmp_path):
    url = f"sqlite:///{tmp_path / 'pitcrew.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        for number in range(18):
            async with transaction(session_factory(engine, audit_key=b"the-key")) as session:
                await audit_store.append(
                    session, at=datetime.now(UTC), actor="U0OPS1", action="command /health", target="C0ALERTS",
                    params={"text": str(number)}, outcome="ok",
                )
    finally:
        await engine.dispose()
    intact = await asyncio.to_thread(run_pitcrew, "audit", "verify", cwd=tmp_path, AUDIT_KEY="the-key")
    assert intact.returncode == 0
    assert intact.stdout.splitlines() == list(shown_output("audit.md", "pitcrew audit verify"))

    with sqlite3.connect(tmp_path / "pitcrew.db") as db:
        db.execute("UPDATE audit_events SET outcome = 'ok, honestly' WHERE seq = 13")
    broken = await asyncio.to_thread(run_pitcrew, "audit", "verify", cwd=tmp_path, AUDIT_KEY="the-key")
    assert broken.returncode == 1
    [shown] = [b for b in all_blocks("text") if b.path.name == "audit.md" and "BROKEN" in b.text]
    assert broken.stdout.strip() == shown.text.strip()

    exported = await asyncio.to_thread(run_pitcrew, "audit", "export", "--since", "24h", cwd=tmp_path)
    assert exported.returncode == 0
    keys = {tuple(json.loads(line)) for line in exported.stdout.splitlines()}
    for block in (b for b in all_blocks("json") if b.path.name == "audit.md"):
        assert keys == {tuple(json.loads(block.text))}, block.where


def test_audit_md_sample_lines_hash_as_the_chain_does():
    samples = [json.loads(b.text) for b in all_blocks("json") if b.path.name == "audit.md"]
    assert len(samples) == 2
    for record in samples:
        entry = AuditEntry(
            seq=record["seq"], at=datetime.fromisoformat(record["at"]), actor=record["actor"],
            action=record["action"], target=record["target"], params=record["params"], outcome=record["outcome"],
            prev_hash=record["prev_hash"],
        )
        assert entry_hash(entry) == record["hash"], f"entry #{record['seq']} of audit.md does not hash to its hash"
        assert len(record["prev_hash"]) == len(GENESIS)


async def test_the_curl_examples_get_the_answers_shown():
    examples = [c for c in console_commands() if c.command.startswith("curl ")]
    assert len(examples) >= 4
    for block in {c.block for c in examples}:
        async with running_demo(io.StringIO()) as demo:  # a fresh pitcrew per block: INC-1 is the first
            secret = demo.sandbox.settings.WEBHOOK_SECRET
            assert secret is not None
            for example in (c for c in examples if c.block == block):
                answer = await send_curl(example.command, demo.sandbox.app_url, secret.get_secret_value())
                assert [answer] == list(example.output), f"{block.where}: {example.command[:80]}"


async def send_curl(command: str, base_url: str, secret: str) -> str:
    """Send what a documented `curl` line sends, to `base_url` instead of pitcrew.example.com."""
    words = shlex.split(command.replace("$WEBHOOK_SECRET", secret))
    method, headers, data, url = "GET", {}, None, None
    index = 1
    while index < len(words):
        word = words[index]
        if word == "-X":
            method, index = words[index + 1], index + 2
        elif word == "-H":
            name, _, value = words[index + 1].partition(":")
            headers[name.strip()] = value.strip()
            index += 2
        elif word in ("-d", "--data", "--data-binary"):
            data, method, index = words[index + 1], "POST" if method == "GET" else method, index + 2
        else:
            url, index = word, index + 1
    assert url is not None and url.startswith("https://pitcrew.example.com/"), command
    async with httpx.AsyncClient() as client:
        response = await client.request(
            method, url.replace("https://pitcrew.example.com", base_url), headers=headers, content=data
        )
    return response.text


def test_the_uptimerobot_template_is_the_one_the_sandbox_fills_in():
    [block] = [b for b in all_blocks("json") if b.path.name == "webhooks.md"]
    assert json.loads(block.text) == UPTIMEROBOT_TEMPLATE


def test_the_procfile_shown_is_the_procfile():
    [block] = [b for b in all_blocks("text") if b.path.name == "deploy-railway.md"]
    assert block.text.strip() == (REPO / "Procfile").read_text(encoding="utf-8").strip()


async def test_texts_quoted_from_the_demo_appear_in_its_story():
    """README's abridged transcript and the refusal operators.md quotes are what the demo prints."""
    out = io.StringIO()
    async with running_demo(out) as demo:
        assert await play_story(demo.session, demo.sandbox) == 0, out.getvalue()[-2000:]
    played = {_loose(line) for line in out.getvalue().splitlines()}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("    > demo break api")
    transcript = [line[4:] for line in readme[start:].split("\n\n")[0].splitlines()]
    assert len(transcript) > 15
    for line in transcript:
        shown = _loose(line)
        if shown.endswith("…"):
            assert any(p.startswith(shown[:-1].rstrip()) for p in played), f"README: {line!r}"
        else:
            assert shown in played, f"README shows a line the demo does not print: {line!r}"
    [refusal] = [b for b in all_blocks("text") if b.path.name == "operators.md"]
    assert any(refusal.text.strip() in line for line in out.getvalue().splitlines())


def _loose(line: str) -> str:
    """A transcript line with what changes from run to run (numbers, ports, durations) made equal."""
    return re.sub(r"\d+", "N", line.strip())


# ---- files, yaml, json ---------------------------------------------------------------------------


def catalog_keys(model: type[BaseModel] = Catalog, prefix: str = "") -> dict[str, Any]:
    """Every key path of the catalog (`services.<name>.health[].url`) with its field."""
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        path = prefix + name
        found[path] = field
        annotation = field.annotation
        for inner, suffix in _nested(annotation):
            found.update(catalog_keys(inner, path + suffix + "."))
    return found


def _nested(annotation: Any) -> Iterator[tuple[type[BaseModel], str]]:
    candidates = [(annotation, "")]
    while candidates:
        current, suffix = candidates.pop()
        origin = getattr(current, "__origin__", None)
        if isinstance(current, type) and issubclass(current, BaseModel):
            yield current, suffix
        elif origin is dict:
            candidates.append((get_args(current)[1], ".<name>"))
        elif origin is list:
            candidates.append((get_args(current)[0], "[]"))
        else:
            candidates.extend((arg, suffix) for arg in get_args(current))


def configuration_rows() -> dict[str, str]:
    """`key` → its default cell, from the tables of configuration.md."""
    rows = {}
    for line in (REPO / "docs" / "configuration.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([a-z0-9_.<>\[\]]+)` \|\s*([^|]*?)\s*\|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip("`")
        heading = re.match(r"^## `([a-z_]+)`$", line)
        if heading:  # a section documents its key
            rows.setdefault(heading.group(1), "")
    return rows


EFFECTIVE_ACTION_DEFAULTS = {
    "actions.expire_minutes": action_defaults.DEFAULT_EXPIRE_MINUTES,
    "actions.second_approver": False,
    "actions.verify.interval_s": action_defaults.DEFAULT_VERIFY_INTERVAL_S,
    "actions.verify.window_minutes": action_defaults.DEFAULT_VERIFY_WINDOW_MINUTES,
}


def test_configuration_md_documents_every_key_of_the_catalog_with_its_default():
    keys, rows = catalog_keys(), configuration_rows()
    assert set(rows) == set(keys), (
        f"undocumented: {sorted(set(keys) - set(rows))}; documented but not in the catalog: "
        f"{sorted(set(rows) - set(keys))}"
    )
    for path, cell in rows.items():
        field = keys[path]
        default = None if field.is_required() else (
            field.default_factory() if field.default_factory is not None else field.default
        )
        if cell == "required":
            assert field.is_required(), f"{path} is documented as required but has a default"
        elif cell.startswith("required for") or cell in ("none", "all"):
            assert default is None, f"{path}: documented `{cell}`, default is {default!r}"
        elif cell == "inherited":
            assert path.startswith(("services.<name>.actions", "services.<name>.thresholds")), path
        elif path in EFFECTIVE_ACTION_DEFAULTS:
            assert yaml.safe_load(cell) == EFFECTIVE_ACTION_DEFAULTS[path], f"{path}: documented {cell}"
        elif cell:
            assert yaml.safe_load(cell) == _plain(default), f"{path}: documented {cell}, default is {default!r}"


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


MINIMAL_SLACK = {"slack": {"alerts_channel": "C0ALERTS"}}


def test_every_yaml_block_is_valid_for_what_it_configures():
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    kinds: dict[str, int] = {}
    for block in all_blocks("yaml"):
        document = yaml.safe_load(block.text)
        if isinstance(document, dict) and ("slack" in document or set(document) <= set(Catalog.model_fields)):
            parse_catalog(yaml.safe_dump({**MINIMAL_SLACK, **document}), block.where)  # raises CatalogError
            kind = "catalog"
        elif isinstance(document, dict) and {"name", "steps"} <= set(document):
            parse_runbook(block.text, block.where)
            kind = "runbook"
        elif isinstance(document, dict) and "receivers" in document:
            hooks = [h for r in document["receivers"] for h in r.get("webhook_configs", [])]
            assert hooks and all(h["url"].endswith("/webhooks/alertmanager") for h in hooks), block.where
            assert all(h["http_config"]["authorization"]["type"] == "Bearer" for h in hooks), block.where
            assert document["route"]["receiver"] in {r["name"] for r in document["receivers"]}, block.where
            kind = "alertmanager"
        elif isinstance(document, dict) and set(document) <= set(manifest):
            _within(document, manifest, block.where)
            kind = "manifest"
        else:
            assert block.path.name == "runbooks.md", f"{block.where}: a yaml block of no known kind"
            kind = "runbook fragment"
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds.get("catalog", 0) >= 4 and kinds.get("manifest") and kinds.get("alertmanager"), kinds


def _within(snippet: dict[str, Any], reference: dict[str, Any], where: str) -> None:
    for key, value in snippet.items():
        assert key in reference, f"{where}: `{key}` is not a key of manifest.yml"
        if isinstance(value, dict):
            _within(value, reference[key], where)


def test_the_manifest_url_is_where_the_docs_say_and_its_commands_are_served():
    lines = [line for line in (REPO / "manifest.yml").read_text(encoding="utf-8").splitlines()
             if not line.lstrip().startswith("#")]
    assert sum("https://pitcrew.example.com/slack/events" in line for line in lines) == 6  # slack-setup.md: six


async def test_every_slash_command_of_the_manifest_is_answered():
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    out = io.StringIO()
    async with running_demo(out) as demo:
        await demo.session.run([f"{command} help" for command in commands])
    assert "pitcrew has no" not in out.getvalue(), out.getvalue()
    for command in commands:
        assert f"> {command} help" in out.getvalue()


def test_environment_variables_named_in_the_docs_exist():
    named: dict[str, str] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", text) + re.findall(r"\$([A-Z][A-Z0-9_]+)", text):
            named.setdefault(name, str(path.relative_to(REPO)))
    assert "WEBHOOK_SECRET" in named and "DATABASE_URL" in named
    for name, where in named.items():
        assert name in Settings.model_fields or name in OTHER_VARIABLES, f"{where}: `{name}` is not a setting"


def test_environment_table_of_configuration_md_is_settings():
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = text[text.index("## Environment variables"):]
    rows = re.findall(r"^\| `([A-Z_]+)` \|.*\| (.+?) \|$", table, flags=re.M)
    assert {name for name, _ in rows} == set(Settings.model_fields)
    for name, default in rows:
        value = Settings.model_fields[name].default
        if default in ("—", "unset"):
            assert value is None, name
        else:
            assert str(value) == default.strip("`"), f"{name}: documented default {default}, real {value!r}"


def test_files_and_links_in_the_docs_exist():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("<"):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            assert linked.exists(), f"{path.relative_to(REPO)}: link to {target} goes nowhere"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), f"{path.relative_to(REPO)}: no heading #{anchor} in {file_part}"
        for span in inline_code(path):
            if " " in span or "<" in span or "://" in span or span.startswith(("/", "$", "-", ".")):
                continue
            if span in USER_FILES or span.startswith("runbooks/"):
                continue
            if "/" in span or re.search(r"\.(ya?ml|md|py|toml|jsonl?)$", span) or span == "Procfile":
                assert (REPO / span).exists() or (path.parent / span).exists(), (
                    f"{path.relative_to(REPO)}: `{span}` does not exist"
                )


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", prose(path), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in headings}


def test_routes_and_commands_named_in_the_docs_exist():
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    routes = {"/slack/events", "/healthz", "/status", "/status.json", "/webhooks"}
    commands |= {"/invite"}  # Slack's own
    for path in (p for p in DOCS if p.name in OURS):
        for span in inline_code(path):
            word = span.split(" ")[0]
            if re.fullmatch(r"/[a-z.]+", word) or word.startswith(("/slack/", "/webhooks/")):
                assert word in commands or word in routes or word.startswith("/webhooks/"), (
                    f"{path.relative_to(REPO)}: `{span}` is neither a slash command nor a route"
                )
