"""Reading runbook files: the built-ins shipped in the package, then the team's own over them.

Loading is all or nothing: if any file has a mistake, nothing is loaded and every mistake of
every file is reported as `path:line: reason`. A team that breaks one runbook finds out at start
(or from `pitcrew runbooks validate`), not halfway through an incident.

Reading a handful of small files is done once at start, so `load_runbooks` is plain blocking
code; `load_runbooks_async` runs it in a thread for a caller that is already inside the event
loop (a reload from Slack).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

import app.runbooks
from app.core.runbook_loader import RunbookInvalid, parse_runbook
from app.core.runbooks import Runbook, RunbookSet

SUFFIXES = (".yml", ".yaml")


def builtin_dir() -> Path:
    """Where the built-in runbooks are installed (inside the package, so any working directory works)."""
    return Path(app.runbooks.__file__).parent


class RunbookFileError(Exception):
    """Runbook files that cannot be used; `problems` lists each as `path:line: reason`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def runbook_files(directory: Path) -> list[Path]:
    """The runbook files of a directory, by name; hidden files (editor leftovers) are ignored."""
    return sorted(
        path for path in directory.iterdir()
        if path.suffix in SUFFIXES and path.is_file() and not path.name.startswith(".")
    )


def _read(path: Path, shown: str, problems: list[str]) -> Runbook | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"{shown}:1: not UTF-8 text")
        return None
    except OSError as err:
        problems.append(f"{shown}: cannot read: {err.strerror or err}")
        return None
    try:
        return parse_runbook(text, shown)
    except RunbookInvalid as err:
        problems.extend(err.messages())
        return None


def _read_layer(paths: Iterable[Path], problems: list[str], *, shown_as: str | None = None) -> list[Runbook]:
    """Every runbook of one layer; two files of one layer may not claim the same name."""
    runbooks: list[Runbook] = []
    seen: dict[str, str] = {}
    for path in paths:
        shown = f"{shown_as}{path.name}" if shown_as is not None else str(path)
        runbook = _read(path, shown, problems)
        if runbook is None:
            continue
        if runbook.name in seen:
            problems.append(f"{shown}:1: runbook name `{runbook.name}` is also used by {seen[runbook.name]}")
            continue
        seen[runbook.name] = shown
        runbooks.append(runbook)
    return runbooks


def _directory_files(directory: Path, what: str, problems: list[str]) -> list[Path]:
    if not directory.exists():
        problems.append(f"{directory}: {what} not found")
        return []
    if not directory.is_dir():
        problems.append(f"{directory}: {what} is not a directory")
        return []
    try:
        return runbook_files(directory)
    except OSError as err:
        problems.append(f"{directory}: cannot list: {err.strerror or err}")
        return []


def load_runbooks(builtin_dir: Path, team_dir: Path | None) -> RunbookSet:
    """The built-in runbooks with the team's over them by name; raises RunbookFileError listing
    every mistake of every file, and then loads nothing."""
    problems: list[str] = []
    builtin = _read_layer(_directory_files(builtin_dir, "built-in runbooks directory", problems), problems,
                          shown_as="builtin:")
    team: list[Runbook] = []
    if team_dir is not None:
        files = _directory_files(team_dir, "runbooks_dir (from pitcrew.yml)", problems)
        team = _read_layer(files, problems)
    if problems:
        raise RunbookFileError(problems)
    return RunbookSet.layered(builtin, team)


async def load_runbooks_async(builtin_dir: Path, team_dir: Path | None) -> RunbookSet:
    """`load_runbooks` off the event loop."""
    return await asyncio.to_thread(load_runbooks, builtin_dir, team_dir)


def validate_paths(paths: Iterable[Path]) -> list[str]:
    """Every mistake in the given files and directories (`path:line: reason`); empty when all is well.

    A directory is checked as one layer, so two of its files claiming one name is a mistake, as
    it would be at load time.
    """
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            _read_layer(_directory_files(path, "directory", problems), problems)
        elif path.exists():
            _read_layer([path], problems)
        else:
            problems.append(f"{path}: no such file or directory")
    return problems
