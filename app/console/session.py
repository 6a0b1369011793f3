"""`pitcrew console`: lines typed in a terminal become the requests Slack would send the app.

The session serves a FakeSlack on loopback, points the real Bolt app at it (SLACK_API_URL, the
bot token and the signing secret are the fake's own, whatever the environment says, so the
console never reaches the real Slack), and connects the fake to the app's ASGI routes: a
`/health` line goes through signature checking, Bolt, the listener, the flow and the renderer
exactly as in production, and what the app posts back is printed as text.

The session owns that wiring and what each line verb does (`click`, `thread`, `as`, ...);
where lines come from is `app.console.lines`, what is on screen and its numbers
`app.console.screen`, how a message reads as text `app.console.render`.

After each line the session waits until the work that line started has finished (Bolt runs
listeners as tasks after `ack()`), so a scripted run prints each line's answers before the next
line and its transcript is the same from run to run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
from pydantic import SecretStr

from app.catalog import Catalog
from app.charts.period_chart import PNG_SIGNATURE
from app.console.forms import FormAsker, form_fields, form_intro
from app.console.lines import ConsoleInputError, LineSource, ScriptedLines, StdinLines, TerminalLines
from app.console.render import COLOR, PLAIN, Palette, confirm_prompt, text_object
from app.console.screen import Screen
from app.deps import Deps, build_deps
from app.sandbox.slack import FakeSlack, SlackMessage
from app.settings import Settings
from app.slack.app import build_slack_app
from app.web import build_web_app

log = logging.getLogger("pitcrew.console")

WAIT_LIMIT_S = 60.0
APP_BASE_URL = "http://pitcrew"
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLASH = re.compile(r"^/[a-z0-9_\-]+$")
_NUMBER = re.compile(r"^[#\[]?(\d+)\]?$")
_MENTION = re.compile(r"^@pitcrew\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
_YES = ("y", "yes")

HELP = """\
Type what you would type in Slack:
  /health [service ...]   a slash command, e.g. /health api (each command answers `help`)
  @pitcrew <verb> ...     mention pitcrew, in the current thread if you are in one (@pitcrew help)
  click N                 press button [N]; when Slack would ask "are you sure?", answer y or n;
                          a form it opens asks its fields one line each (Enter keeps the [default],
                          `cancel` closes the form)
  thread N                go into the thread of message #N; `leave` goes back to the channel
  as U123                 act as another Slack user, e.g. one who is not an operator
  help                    this text
  quit                    leave the console (also `exit` or end of input)"""

HINT = "type a /command, @pitcrew <verb>, click N, thread N, as U123, help or quit"

# A line verb the console's host adds (`pitcrew demo` adds `demo ...`): called with the session and
# the rest of the line; it may raise ConsoleInputError. The session waits for its work like any line's.
ExtraCommand = Callable[["ConsoleSession", str], Awaitable[None]]


class _ErrorLines(logging.Handler):
    """Errors pitcrew logs while the console runs, as one line in the transcript instead of a traceback."""

    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__(logging.ERROR)
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        try:
            first = (record.getMessage().strip().splitlines() or [""])[0]
            self._write(f"! pitcrew error: {first}")
        except Exception:  # pragma: no cover - logging must never break the console
            self.handleError(record)


@dataclass(frozen=True)
class _Thread:
    channel: str
    ts: str
    number: int


class ConsoleSession:
    """The fake Slack, the app and the screen; `run()` feeds it lines, `handle()` one line.

    Use as `async with ConsoleSession(settings, catalog, user_id="U0CONSOLE", out=buffer) as s:`.
    Pass `slack` to prepare the fake first (its user groups, say); `wait_limit_s` bounds how long
    one line's work is waited for before the console moves on. `extra_commands` adds line verbs
    (`demo` in `pitcrew demo`) without the console knowing what they do; `extra_help` is appended
    to `help`.
    """

    def __init__(
        self, settings: Settings, catalog: Catalog, *, user_id: str, out: TextIO | None = None,
        palette: Palette = PLAIN, slack: FakeSlack | None = None, wait_limit_s: float = WAIT_LIMIT_S,
        extra_commands: Mapping[str, ExtraCommand] | None = None, extra_help: str = "",
    ) -> None:
        if not USER_ID.match(user_id):
            raise ConsoleInputError(_not_a_user(user_id))
        self.settings = settings
        self.catalog = catalog
        self.user = user_id
        self.channel = catalog.slack.alerts_channel
        self.slack = slack or FakeSlack()
        self.screen = Screen(out if out is not None else sys.stdout, palette, self.channel)
        self.wait_limit_s = wait_limit_s
        self.extra_commands = {verb.lower(): command for verb, command in (extra_commands or {}).items()}
        self.extra_help = extra_help
        self.deps: Deps | None = None
        self.web_app: Any = None
        self.app_client: httpx.AsyncClient | None = None
        self._stack = AsyncExitStack()
        self._queue: asyncio.Queue[tuple[str, SlackMessage]] | None = None
        self._baseline: set[asyncio.Task[Any]] = set()
        self._thread: _Thread | None = None
        self._views_seen = 0
        self._acks = 0
        self._greeted = False
        self._log_handler = _ErrorLines(self._error_line)
        self._images: dict[str, str] = {}  # file id -> where this session wrote the image
        self._images_dir = Path(tempfile.gettempdir())  # made for this session at its first image

    # --- life cycle --------------------------------------------------------------------------
    async def __aenter__(self) -> ConsoleSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Serve the fake, build the app against it, and remember which tasks were here before us."""
        try:
            await self._stack.enter_async_context(self.slack.serve())
            app_settings = self.settings.model_copy(update={
                "SLACK_API_URL": self.slack.api_url,
                "SLACK_BOT_TOKEN": SecretStr(self.slack.token),
                "SLACK_SIGNING_SECRET": SecretStr(self.slack.signing_secret),
                "SLACK_APP_TOKEN": None,
                # the console's stand-in Slack is its own workspace, whatever production's ids are
                "SLACK_TEAM_ID": None,
                "SLACK_APP_ID": None,
            })
            deps = build_deps(app_settings, self.catalog)
            self._stack.push_async_callback(deps.close)
            self.deps = deps
            self.web_app = build_web_app(deps, build_slack_app(deps))
            # The app's lifespan runs scheduled work (verifications, expiries, escalations) as `serve` does.
            await self._stack.enter_async_context(self.web_app.router.lifespan_context(self.web_app))
            self.app_client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.web_app), base_url=APP_BASE_URL, timeout=30.0
            )
            self._stack.push_async_callback(self.app_client.aclose)
            self.slack.connect_app(self.app_client)
            self._queue = self.slack.subscribe()
            self._views_seen = len(self.slack.calls_to("views.open"))
            logging.getLogger("pitcrew").addHandler(self._log_handler)
            self._stack.callback(logging.getLogger("pitcrew").removeHandler, self._log_handler)
            self._baseline = set(asyncio.all_tasks())
        except BaseException:
            await self._stack.aclose()
            raise

    async def close(self) -> None:
        """Stop whatever app work is still running (only after a wait ran out), then the app and the fake."""
        leftovers = self._app_tasks()
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.gather(*leftovers, return_exceptions=True)
        if self._queue is not None and self._queue in self.slack.listeners:
            self.slack.listeners.remove(self._queue)
        await self._stack.aclose()

    def ignore_tasks(self, *tasks: asyncio.Task[Any]) -> None:
        """Tasks of the caller's own (a demo's timer) that the wait after each line must not wait for."""
        self._baseline.update(tasks)

    # --- the loop ----------------------------------------------------------------------------
    async def run(self, source: LineSource | Iterable[str] | AsyncIterable[str]) -> int:
        """Read lines until `quit` or the end of input; 0 when the session ended normally."""
        if not isinstance(source, LineSource):
            source = ScriptedLines(source)
        if not self._greeted:
            self._greeted = True
            self.write(
                f"pitcrew console: you are {self.user} in #{self.channel}. "
                "Type help for what you can do, quit to leave."
            )
        while True:
            self.flush_events()
            await self.fill_forms(source)  # one opened by work no line started (a timer, a test)
            line = await source.read(self.prompt())
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):  # a comment in a script: narration for the transcript
                if source.echo:
                    self.write(line)
                continue
            if source.echo:
                self.write(f"> {line}")
            if not await self.feed(line, source):
                break
        return 0

    async def feed(self, line: str, source: LineSource | None = None) -> bool:
        """One line as `run()` treats it: acted on, bad input answered in one line, its work waited for.

        `source` answers a confirm dialog the line may raise; without one the dialog is declined.
        False when the line ends the session.
        """
        try:
            going_on = await self.handle(line, source)
        except ConsoleInputError as err:
            self.write(str(err))
        except httpx.HTTPError as err:
            self.write(f"could not reach pitcrew: {type(err).__name__}: {err}")
        except Exception as err:  # the console must never end in a traceback
            log.debug("console line %r failed", line, exc_info=True)
            self.write(f"the console could not do that: {type(err).__name__}: {err}")
        else:
            if not going_on:
                return False
        await self.settle()
        await self.fill_forms(source)
        return True

    async def handle(self, line: str, source: LineSource | None = None) -> bool:
        """Act on one line without waiting for its work; False to end. Raises ConsoleInputError for bad input."""
        word, _, rest = line.partition(" ")
        verb, rest = word.lower(), rest.strip()
        if line.startswith("/"):
            await self.slash(word, rest)
        elif line.startswith("@"):
            match = _MENTION.match(line)
            if match is None:
                raise ConsoleInputError(f"only @pitcrew listens here, not {word}: try `@pitcrew help`")
            await self.mention(match.group(1).strip())
        elif verb == "click":
            await self.click(_number(rest, "click", "button"), source)
        elif verb == "thread":
            self.enter_thread(_number(rest, "thread", "message"))
        elif verb == "leave":
            self.leave_thread()
        elif verb == "as":
            self.act_as(rest)
        elif verb in ("help", "?", "-h", "--help"):
            self.write(HELP + (f"\n{self.extra_help}" if self.extra_help else ""))
        elif verb in ("quit", "exit", "q"):
            return False
        elif verb in self.extra_commands:
            await self.extra_commands[verb](self, rest)
        else:
            shown = line if len(line) <= 40 else line[:39] + "…"
            raise ConsoleInputError(f"don't know {shown!r}: {HINT}")
        return True

    def prompt(self) -> str:
        where = f"#{self.channel}" + (f" ↳#{self._thread.number}" if self._thread else "")
        return f"{self.user} {where}> "

    # --- what a line does --------------------------------------------------------------------
    async def slash(self, command: str, text: str) -> None:
        """`/command text` in the channel (Slack runs slash commands in the channel, not in a thread)."""
        command = command.lower()
        if not _SLASH.match(command):
            raise ConsoleInputError(f"{command!r} is not a slash command: letters, digits, - or _ after /")
        channel = self._thread.channel if self._thread else self.channel
        response = await self.slack.slash(command, text, user=self.user, channel=channel)
        self._show_answer(response, channel, unhandled=f"pitcrew has no {command} command (type help)")

    async def mention(self, text: str) -> None:
        """`@pitcrew text` in the channel, or in the thread the console is in; shown as the user's message."""
        channel, thread_ts = (self._thread.channel, self._thread.ts) if self._thread else (self.channel, None)
        index = len(self.slack.messages)  # mention() records the message before its first await
        response = await self.slack.mention(text, user=self.user, channel=channel, thread_ts=thread_ts)
        message = self.slack.messages[index]
        self.screen.note_author(message, self.user)
        self._print(message, edited=False)
        if response.status_code != 200:
            self.write(f"pitcrew answered the mention with HTTP {response.status_code}")

    async def click(self, number: int, source: LineSource | None = None) -> None:
        """Press button [number], after the confirm dialog's y/N when the button has one."""
        ref, element = self.screen.button(number)
        confirm = element.get("confirm")
        if isinstance(confirm, dict):
            prompt = confirm_prompt(confirm)
            answer = await source.read(prompt) if source is not None else None
            if source is None or source.echo:
                self.write(prompt + (answer or ""))
            if (answer or "").strip().lower() not in _YES:
                self.write(f"not clicked: [{number}] was left alone")
                return
        response = await self.slack.click(
            ref.message, str(element.get("action_id")), user=self.user, value=element.get("value")
        )
        label = text_object(element.get("text")) or element.get("action_id")
        self._show_answer(
            response, ref.message.channel, unhandled=f"nothing in pitcrew handles the button “{label}”"
        )

    def enter_thread(self, number: int) -> None:
        message = self.screen.message(number).message
        if message.ephemeral_to:
            raise ConsoleInputError(f"message #{number} is visible only to you and has no thread")
        root_ts = message.thread_ts or message.ts
        root = self.screen.shown_at(message.channel, root_ts)
        self._thread = _Thread(message.channel, root_ts, root.number if root else number)
        self.write(
            f"in the thread of #{self._thread.number}: @pitcrew lines go there; "
            f"`leave` goes back to #{self.channel}"
        )

    def leave_thread(self) -> None:
        if self._thread is None:
            raise ConsoleInputError(f"you are not in a thread (you are in #{self.channel})")
        self._thread = None
        self.write(f"back in #{self.channel}")

    def act_as(self, user_id: str) -> None:
        if not user_id:
            self.write(f"you are {self.user}; `as U123` acts as another user")
            return
        if not USER_ID.match(user_id.upper()):
            raise ConsoleInputError(_not_a_user(user_id))
        user_id = user_id.upper()
        self.user = user_id
        self.write(f"you are now {user_id}")

    # --- waiting and printing ----------------------------------------------------------------
    async def settle(self) -> None:
        """Wait until the app's work for the last line is done and everything it sent is printed.

        Done means: no task is running that was not here when the session started (Bolt's
        listeners, the fake's request handlers), and the fake's queue is empty, for a few turns
        of the loop in a row. Work still running after `wait_limit_s` is left to finish on its
        own; its messages are printed when they arrive.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_limit_s
        quiet = 0
        while quiet < 3:
            self.flush_events()
            pending = self._app_tasks()
            if not pending and (self._queue is None or self._queue.empty()):
                quiet += 1
                await asyncio.sleep(0)
                continue
            quiet = 0
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.write(
                    f"(pitcrew is still working after {self.wait_limit_s:g} s; moving on: "
                    "its messages will appear when they arrive)"
                )
                self._baseline.update(pending)
                break
            if pending:
                await asyncio.wait(pending, timeout=min(remaining, 0.1), return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(0)
        self.flush_events()

    def message_number(self, message: SlackMessage) -> int | None:
        """The #N a message has on screen (what `thread N` takes), or None when it was not printed."""
        return self.screen.message_number(message)

    def button_number(self, message: SlackMessage, action_id: str, value: str | None = None) -> int | None:
        """The [N] of a printed message's first button `action_id` (with `value`, if given): what `click N` takes."""
        return self.screen.button_number(message, action_id, value)

    def _app_tasks(self) -> set[asyncio.Task[Any]]:
        current = asyncio.current_task()
        self._baseline = {task for task in self._baseline if not task.done()}
        return {
            task for task in asyncio.all_tasks()
            if task is not current and task not in self._baseline and not task.done()
        }

    def flush_events(self) -> None:
        """Print every message the fake received since the last look, in the order it received them."""
        if self._queue is None:
            return
        while not self._queue.empty():
            kind, message = self._queue.get_nowait()
            if kind == "updated" and self.screen.is_current(message):
                continue  # this version is on screen already
            self._print(message, edited=message.edits > 0)

    # --- forms -------------------------------------------------------------------------------
    async def fill_forms(self, source: LineSource | None) -> None:
        """Ask every form the app opened since the last look, submit it, and wait for its work.

        Slack opens a modal in the clicker's window; the console asks its fields through `source`
        (a form raised by a line fed without one is named and left unanswered)."""
        while True:
            opened = self.slack.calls_to("views.open")
            if len(opened) <= self._views_seen:
                return
            view = opened[self._views_seen].args.get("view") or {}
            self._views_seen += 1
            if isinstance(view, str):
                view = json.loads(view)
            if isinstance(view, dict):
                await self.fill_form(view, source)
                await self.settle()

    async def fill_form(self, view: dict[str, Any], source: LineSource | None) -> None:
        """One form: its fields asked, then a `view_submission` as Slack sends it; refused fields asked again."""
        for line in form_intro(view, palette=self.screen.palette):
            self.write(line)
        if source is None:
            self.write("(form left unanswered: nothing here can answer it)")
            return
        fields = form_fields(view)
        answers = await FormAsker(source, self.write).ask(fields)
        while answers is not None:
            response = await self.slack.submit(view, answers, user=self.user)
            errors = _form_errors(response)
            if errors is None:
                self._show_answer(response, self.channel, unhandled="nothing in pitcrew handles this form")
                return
            if not any(one.block_id in errors for one in fields):
                for block_id, note in errors.items():
                    self.write(f"! {block_id}: {note}")
                break
            answers = await FormAsker(source, self.write).ask(fields, previous=answers, errors=errors)
        self.write("form closed: nothing was sent")

    def _show_answer(self, response: httpx.Response, channel: str, *, unhandled: str) -> None:
        """What the app answered the request itself: an immediate message (`ack(text)`) or a failure."""
        if response.status_code == 404:
            self.write(unhandled)
            return
        if response.status_code != 200:
            first = (response.text.strip().splitlines() or [""])[0][:200]
            self.write(f"pitcrew answered HTTP {response.status_code}{f': {first}' if first else ''}")
            return
        body = response.text.strip()
        if not body:
            return
        try:
            payload = response.json()
        except ValueError:
            payload = {"text": body}
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return
        self._acks += 1
        in_channel = payload.get("response_type") == "in_channel"
        message = SlackMessage(
            channel=channel, ts=f"ack.{self._acks}", text=str(payload.get("text", "")),
            blocks=payload.get("blocks") or [], ephemeral_to=None if in_channel else self.user,
        )
        self._print(message, edited=False)

    def _print(self, message: SlackMessage, *, edited: bool) -> None:
        files = {fid: self._readable(fid, info) for fid, info in self.slack.uploads.items() if "content" in info}
        self.screen.show(message, edited=edited, viewer=self.user, files=files)

    def _readable(self, file_id: str, info: Mapping[str, Any]) -> bytes | str:
        """A text file's bytes; an image (a PNG: a report's or a runbook's chart) written to a file once,
        and the path it was written to, for the person at the console to open.

        Each session writes in a directory of its own: the fake Slack numbers files the same way in
        every run, so a shared directory would show a later run the image an earlier one left there."""
        content: bytes = info["content"]
        if not content.startswith(PNG_SIGNATURE):
            return content
        written = self._images.get(file_id)
        if written is None:
            if not self._images:
                self._images_dir = Path(tempfile.mkdtemp(prefix="pitcrew-console-"))
            path = self._images_dir / f"{file_id}-{Path(str(info.get('filename'))).name}"
            path.write_bytes(content)
            self._images[file_id] = written = str(path)
        return written

    def _error_line(self, text: str) -> None:
        self.flush_events()  # what the app sent before it failed comes first, as it happened
        self.write(text)

    def write(self, text: str) -> None:
        self.screen.write(text)


def _form_errors(response: httpx.Response) -> dict[str, str] | None:
    """The app's notes under a form's fields (`response_action: errors`), or None when it took the form."""
    if response.status_code != 200 or not response.text.strip():
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("response_action") != "errors":
        return None
    return {str(key): str(note) for key, note in (payload.get("errors") or {}).items()}


def _not_a_user(user_id: str) -> str:
    return f"{user_id!r} is not a Slack user id (expected U or W, then capitals and digits, like U0123ABC)"


def _number(text: str, verb: str, what: str) -> int:
    match = _NUMBER.match(text.strip())
    if match is None:
        raise ConsoleInputError(f"{verb} needs a {what} number, like `{verb} 3`")
    return int(match.group(1))


@contextmanager
def _errors_only_in_console() -> Any:
    """Keep pitcrew's log records (tracebacks among them) off the terminal unless -v asked for them.

    The session already prints each error as one line; the root handler would add the traceback.
    """
    logger = logging.getLogger("pitcrew")
    verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
    before = logger.propagate
    logger.propagate = verbose
    try:
        yield
    finally:
        logger.propagate = before


async def console_main(
    settings: Settings, catalog: Catalog, *, user_id: str,
    lines: AsyncIterator[str] | Iterable[str] | None = None, out: TextIO = sys.stdout,
) -> int:
    """`pitcrew console`: lines from `lines`, else from the terminal (or a pipe); the transcript to `out`."""
    if not USER_ID.match(user_id):
        print(f"pitcrew: --as {_not_a_user(user_id)}", file=sys.stderr)
        return 2
    source: LineSource
    if lines is not None:
        source = ScriptedLines(lines)
    elif sys.stdin.isatty():
        source = TerminalLines()
    else:
        source = StdinLines()
    palette = COLOR if _isatty(out) else PLAIN
    with _errors_only_in_console():
        async with ConsoleSession(settings, catalog, user_id=user_id, out=out, palette=palette) as session:
            return await session.run(source)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
