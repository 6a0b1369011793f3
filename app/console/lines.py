"""Where the console's lines come from: a script, a pipe or a person at a terminal.

Each source answers `read(prompt)` with the next line or None at the end of input, and says
whether its lines should be echoed into the transcript (nobody saw them typed). The blocking
reads of stdin run in a daemon thread, so the event loop (and the app's work) keeps running
while the console waits for a person, and a pending read never holds up exit.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Protocol, runtime_checkable


class ConsoleInputError(Exception):
    """A line the console cannot act on; the message says what was wrong and what it expects."""


@runtime_checkable
class LineSource(Protocol):
    """Where lines come from. `echo` is true when nobody sees them typed (a script, a pipe)."""

    echo: bool

    async def read(self, prompt: str) -> str | None:
        """The next line without its newline, or None at the end of input."""
        ...


class ScriptedLines:
    """Lines from a list or an async iterator: the tests and `pitcrew demo --script`."""

    echo = True

    def __init__(self, lines: Iterable[str] | AsyncIterable[str]) -> None:
        self._lines = lines if isinstance(lines, AsyncIterable) else _aiter(lines)
        self._iterator: AsyncIterator[str] = aiter(self._lines)

    async def read(self, prompt: str) -> str | None:
        try:
            return (await anext(self._iterator)).rstrip("\r\n")
        except StopAsyncIteration:
            return None


class StdinLines:
    """Lines piped in (`printf '/health\\nquit\\n' | pitcrew console`), echoed into the transcript."""

    echo = True

    async def read(self, prompt: str) -> str | None:
        line = await _in_thread(sys.stdin.readline)
        return line.rstrip("\r\n") if line else None


class TerminalLines:
    """A person at a terminal: `input()` with line editing, in a thread so the event loop keeps running."""

    echo = False

    def __init__(self) -> None:
        try:
            import readline  # noqa: F401 - importing it gives input() history and editing
        except ImportError:  # pragma: no cover - not on every platform
            pass

    async def read(self, prompt: str) -> str | None:
        return await _in_thread(lambda: _input(prompt))


def _input(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


async def _aiter(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def _in_thread(read: Callable[[], str | None]) -> str | None:
    """Run a blocking read in a daemon thread: unlike the default executor, it never holds up exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def deliver(result: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = read(), None
        except Exception as err:
            result, error = None, err
        try:
            loop.call_soon_threadsafe(deliver, result, error)
        except RuntimeError:  # the loop closed while we waited for the line
            pass

    threading.Thread(target=work, name="pitcrew-console-input", daemon=True).start()
    return await future
