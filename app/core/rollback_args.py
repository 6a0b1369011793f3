"""The arguments of `/rollback <service> [deployment-id | list]`, checked before anything is looked up.

Parsing says only what was typed; whether the service exists and the deployment belongs to it
is the flow's business (it asks the catalog and the provider), so a button and a command reach
the same answers to the same mistakes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

USAGE = (
    "Usage: `/rollback <service>` proposes rolling back to the newest successful deployment before the "
    "current one; `/rollback <service> <deployment-id>` to that deployment; `/rollback <service> list` "
    "shows the last 10 deployments. Nothing changes until an operator confirms."
)
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class RollbackUsage(Exception):
    """`help`, or arguments that are not the command's shape; the message says what was wrong."""

    def __init__(self, problem: str | None = None) -> None:
        self.problem = problem
        self.usage = USAGE
        super().__init__(f"{problem}\n{USAGE}" if problem else USAGE)


@dataclass(frozen=True)
class RollbackArgs:
    service: str
    target: str | None = None  # a deployment id, when one was named
    list_only: bool = False

    @classmethod
    def parse(cls, text: str | None) -> RollbackArgs:
        words = (text or "").split()
        if not words or words[0].lower() in ("help", "-h", "--help", "?"):
            raise RollbackUsage(None if words else "Which service? Name one.")
        if len(words) > 2:
            raise RollbackUsage(f"Too many words: `{' '.join(words)}`.")
        service = words[0].lower()
        if not _WORD.match(service):
            raise RollbackUsage(f"`{words[0]}` is not a service name.")
        if len(words) == 1:
            return cls(service)
        second = _without_scheme(words[1])
        if second.lower() in ("list", "ls"):
            return cls(service, list_only=True)
        if not _WORD.match(second):
            raise RollbackUsage(f"`{second}` is not a deployment id (expected letters, digits, - and _).")
        return cls(service, target=second)


def _without_scheme(word: str) -> str:
    """A deployment URL as Vercel prints it (`https://web-abc123.vercel.app/`) names the deployment by its host."""
    for scheme in ("https://", "http://"):
        if word.lower().startswith(scheme):
            return word[len(scheme):].rstrip("/")
    return word
