"""`pitcrew demo`: the sandbox with a person at the console, or the scripted story playing itself.

It sits above both the demo's world (`world`) and the story (`story`), which imports the world:
the entry point that chooses between them belongs to neither.
"""

from __future__ import annotations

import sys
from typing import TextIO

from app.console.lines import LineSource, StdinLines
from app.console.render import COLOR, PLAIN
from app.demo.story import play_story
from app.demo.world import LiveTerminal, banner, errors_as_lines, running_demo


async def demo_main(*, script: bool = False, out: TextIO = sys.stdout) -> int:
    """`pitcrew demo` (a person at the console) or `pitcrew demo --script` (the story plays itself)."""
    interactive = not script and sys.stdin.isatty() and _isatty(out)
    live = LiveTerminal(out) if interactive else None
    with errors_as_lines():
        async with running_demo(out, palette=COLOR if interactive else PLAIN, live=live) as demo:
            demo.session.write(banner(demo.sandbox))
            if script:
                return await play_story(demo.session, demo.sandbox)
            source: LineSource = live if live is not None else StdinLines()
            return await demo.session.run(source)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
