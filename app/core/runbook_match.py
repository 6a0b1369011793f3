"""Choosing the runbooks to offer for an incident: which `applies` match it, and in what order.

Runbooks bound to the incident's service in pitcrew.yml come first, then those whose `applies`
criteria all match, the most specific first. Patterns are globs on purpose (see `Applies` in
app/core/runbooks.py). Pure: app/flows/runbook_offers.py reads the incident and posts the offer.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence

from app.core.runbooks import Applies, Runbook, RunbookSet


def _glob(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text.casefold(), pattern.casefold())


def _literal_chars(pattern: str) -> int:
    return sum(1 for char in pattern if char not in "*?[]!")


def _specificity(
    applies: Applies, *, source: str | None, service: str | None, title: str | None,
    labels: Mapping[str, str], severity: str | None,
) -> tuple[int, int, int] | None:
    """How precisely a runbook matches, or None if it does not.

    More criteria beat fewer; then a runbook bound to the service beats one that is not; then
    the longer literal text of the patterns that matched (`*frontend*down*` beats `*down*`).
    """
    if applies.is_empty:
        return None
    criteria = 0
    literal = 0
    if applies.sources:
        if source is None or source.casefold() not in {s.casefold() for s in applies.sources}:
            return None
        criteria += 1
    if applies.services:
        if service is None or service not in applies.services:
            return None
        criteria += 1
    if applies.severities:
        if severity is None or severity.upper() not in applies.severities:
            return None
        criteria += 1
    if applies.title_patterns:
        matched = [p for p in applies.title_patterns if title is not None and _glob(p, title)]
        if not matched:
            return None
        criteria += 1
        literal += max(_literal_chars(p) for p in matched)
    if applies.labels:
        for key, pattern in applies.labels.items():
            value = labels.get(key)
            if value is None or not _glob(pattern, value):
                return None
            literal += _literal_chars(pattern)
        criteria += 1
    return criteria, int(bool(applies.services)), literal


def matching(
    runbooks: Iterable[Runbook], *, source: str | None = None, service: str | None = None,
    title: str | None = None, labels: Mapping[str, str] | None = None, severity: str | None = None,
) -> list[Runbook]:
    """The runbooks whose `applies` match, the most specific first (ties by name)."""
    scored = []
    for runbook in runbooks:
        score = _specificity(runbook.applies, source=source, service=service, title=title,
                             labels=labels or {}, severity=severity)
        if score is not None:
            scored.append((score, runbook))
    scored.sort(key=lambda item: (tuple(-part for part in item[0]), item[1].name))
    return [runbook for _score, runbook in scored]


def suggest(
    runbooks: RunbookSet, *, bound: Sequence[str] = (), source: str | None = None,
    service: str | None = None, title: str | None = None, labels: Mapping[str, str] | None = None,
    severity: str | None = None,
) -> list[Runbook]:
    """The runbooks to offer for an incident: those the catalog binds to its service first, in
    the catalog's order, then the matching ones. Unknown bound names are skipped here (the
    catalog check reports them) so that a typo in pitcrew.yml does not hide every runbook.
    """
    chosen = [runbooks.get(name) for name in dict.fromkeys(bound) if name in runbooks]
    names = {runbook.name for runbook in chosen}
    found = matching(runbooks, source=source, service=service, title=title, labels=labels, severity=severity)
    return chosen + [runbook for runbook in found if runbook.name not in names]


