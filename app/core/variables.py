"""A service's variables as its provider lets pitcrew read them, for masking its log lines.

Why not a plain `{name: value}`: providers do not give one value per name. Vercel keeps an entry per
target (production, preview, development) under the same key, each with its own value, and a
secret printed by a production deployment is the production entry's value, not whichever entry
came last. And some values cannot be read back at all (Vercel's `sensitive` variables, Railway's
sealed ones): for those only the name is known, so a line is masked where it names them
(`NAME=...`, `"NAME": "..."`), and the result says how many were masked that way only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceVariables:
    """`values`: every readable (name, value) pair, a name possibly more than once; `unreadable`:
    the names whose value the provider never returns."""

    values: tuple[tuple[str, str], ...] = ()
    unreadable: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, variables: Mapping[str, str | None]) -> ServiceVariables:
        """One value per name; a name whose value is None (sealed) is unreadable."""
        return cls(
            values=tuple((name, value) for name, value in variables.items() if value is not None),
            unreadable=frozenset(name for name, value in variables.items() if value is None),
        )

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]], unreadable: Iterable[str] = ()) -> ServiceVariables:
        return cls(values=tuple(pairs), unreadable=frozenset(unreadable))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.values)

    @property
    def names(self) -> frozenset[str]:
        """Every variable's name, readable or not."""
        return frozenset(name for name, _ in self.values) | self.unreadable

    @property
    def masked_by_name_only(self) -> frozenset[str]:
        """Names with no readable value at all (a name readable for one target is masked by value)."""
        readable = {name for name, _ in self.values}
        return frozenset(self.unreadable - readable)

    def __len__(self) -> int:
        return len(self.names)
