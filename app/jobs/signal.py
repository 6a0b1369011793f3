"""In-process wake-up for the job runner: work handed over by a request of this instance starts at
once instead of at the runner's next poll. It carries no state: the job itself is in the database,
and another instance finds it by polling."""

from __future__ import annotations

from collections.abc import Callable


class JobSignal:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every notify(); returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()
