"""How old each secret of `rotate_after_days` is, for `/health` (app/flows/health.py).

Apart from app/flows/rotation.py so that `/health` does not import the actions flow (which imports
the verification, which imports `/health`). The age is that of pitcrew's last completed rotation
(`@pitcrew rotate`): a secret changed by hand, or never rotated by pitcrew, has no age on record.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from app.store import rotations as store

if TYPE_CHECKING:
    from app.deps import Deps


async def overdue(deps: Deps, limits: dict[str, int]) -> list[tuple[str, int]]:
    """Of `limits` ({NAME: days}), the names last rotated longer ago than their limit, or never by
    pitcrew: each with its age in whole days (-1 for never)."""
    now = deps.clock()
    late: list[tuple[str, int]] = []
    for name, days in sorted(limits.items()):
        last = await store.last_done(deps.sessions, name)
        if last is None:
            late.append((name, -1))
            continue
        last = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
        if now - last > timedelta(days=days):
            late.append((name, (now - last).days))
    return late
