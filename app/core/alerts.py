"""The normalised alert every monitoring source is turned into, and the rules applied to it.

Seven tools describe "something is broken" in seven shapes; the incident flow wants one. An
`Alert` is that one shape, built only through `make_alert`, which cleans what the source sent
(control characters out, lengths capped, links checked) so nothing downstream has to distrust it.
Escaping for Slack or HTML is deliberately *not* done here: the text is kept as the source gave
it and each edge escapes for its own medium.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

AlertStatus = Literal["firing", "resolved"]
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")

TITLE_MAX = 300
DETAILS_MAX = 3000
SERVICE_MAX = 100
LINK_MAX = 2000
FINGERPRINT_MAX = 200
LABELS_MAX = 50
LABEL_KEY_MAX = 100
LABEL_VALUE_MAX = 500

# C0/C1 controls except tab and newline, lone surrogates (unencodable: they would break the
# database and Slack later, far from the cause) and bidi overrides (they make text lie about itself).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")

# The words tools use for how bad things are, in the four levels of the incident process.
_DEFAULT_SEVERITIES: dict[str, str] = {
    **dict.fromkeys(("critical", "crit", "fatal", "emergency", "p0"), "SEV1"),
    **dict.fromkeys(("error", "err", "high", "major", "p1"), "SEV2"),
    **dict.fromkeys(("warning", "warn", "medium", "minor", "p2"), "SEV3"),
    **dict.fromkeys(("info", "informational", "notice", "low", "p3", "p4"), "SEV4"),
}


class WebhookBodyError(ValueError):
    """A webhook body that cannot be read; `reason` says what was wrong and what is expected.

    The web edge answers 400 with the reason, so the person wiring up the monitoring tool can
    fix the template without reading pitcrew's source.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Alert:
    """One alert from one source, in the shape the incident flow understands.

    `fingerprint` identifies *the thing that is broken* within its source, so the firing and the
    resolved notification of the same problem carry the same one. `severity` is None when the
    source gave no word for it; the source's own word, if any, is kept in `labels["severity"]`
    so a team's mapping from pitcrew.yml can be applied later (`apply_severity_mapping`).
    """

    source: str
    fingerprint: str
    status: AlertStatus
    title: str
    service: str | None
    severity: str | None
    details: str
    link: str | None
    labels: dict[str, str] = field(default_factory=dict)
    started_at: datetime | None = None


def make_alert(
    *,
    source: str,
    fingerprint: str,
    status: AlertStatus,
    title: str,
    service: str | None = None,
    severity: str | None = None,
    details: str = "",
    link: str | None = None,
    labels: Mapping[str, object] | None = None,
    started_at: datetime | None = None,
) -> Alert:
    """An Alert with every field made safe to store and show, whatever the source sent."""
    return Alert(
        source=source,
        fingerprint=clean_fingerprint(fingerprint) or derive_fingerprint(title, service),
        status=status,
        title=clean_line(title, TITLE_MAX) or "(untitled alert)",
        service=(clean_line(service, SERVICE_MAX) or None) if service else None,
        severity=severity if severity in SEVERITIES else None,
        details=clean_text(details, DETAILS_MAX),
        link=clean_link(link),
        labels=clean_labels(labels or {}),
        started_at=started_at,
    )


def clean_text(value: str, limit: int) -> str:
    """Multi-line text without unsafe characters, capped at `limit` characters (an ellipsis marks the cut)."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _UNSAFE.sub("", text).strip()
    return _cap(text, limit)


def clean_line(value: str, limit: int) -> str:
    """One line of text: as `clean_text`, with line breaks and tabs turned into spaces."""
    text = clean_text(value, len(value) + 1)
    text = re.sub(r"[\t\n]+", " ", text).strip()
    return _cap(text, limit)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_link(value: str | None) -> str | None:
    """An http(s) URL with a host, or None: a link becomes a clickable target, so nothing else passes."""
    if not isinstance(value, str):
        return None
    link = value.strip()
    if not link or len(link) > LINK_MAX:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs") for ch in link):
        return None
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return link


def clean_fingerprint(value: str) -> str:
    """A fingerprint short and plain enough to be part of a database key; long ones are hashed, not cut."""
    text = clean_line(value, len(value) + 1) if value else ""
    if len(text) > FINGERPRINT_MAX or (value and not text):  # too long, or nothing printable in it
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return text


def clean_labels(labels: Mapping[str, object]) -> dict[str, str]:
    """Scalar labels only, as strings, capped in number and size; nested values and nulls are dropped."""
    cleaned: dict[str, str] = {}
    for key, value in labels.items():
        if len(cleaned) >= LABELS_MAX:
            break
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str) or not isinstance(key, str):
            continue
        name = clean_line(key, LABEL_KEY_MAX)
        if name:
            cleaned[name] = clean_line(value, LABEL_VALUE_MAX)
    return cleaned


def derive_fingerprint(*parts: str | None) -> str:
    """A stable fingerprint from the parts that identify a problem, for sources that give none."""
    joined = "\x1f".join(p or "" for p in parts)
    return hashlib.sha256(joined.encode("utf-8", "replace")).hexdigest()[:16]


def severity_from(word: str | None, mapping: Mapping[str, str] | None = None) -> str | None:
    """The SEV level for a source's severity word, or None when the word means nothing to us.

    A team's own mapping (from pitcrew.yml, keys case-insensitive) wins, so a team whose
    `warning` pages someone can say so; then SEV1..SEV4 given directly; then the common words.
    """
    if not isinstance(word, str) or not word.strip():
        return None
    key = word.strip().lower()
    if mapping:
        for name, level in mapping.items():
            if name.strip().lower() == key and level.strip().upper() in SEVERITIES:
                return level.strip().upper()
    compact = key.replace("-", "").replace(" ", "").upper()
    if compact in SEVERITIES:
        return compact
    return _DEFAULT_SEVERITIES.get(key)


def apply_severity_mapping(alert: Alert, mapping: Mapping[str, str] | None) -> Alert:
    """The alert with its severity recomputed from the source's own word under a team's mapping.

    Parsers know nothing of pitcrew.yml, so they map with the defaults only; the flow, which
    holds the catalog, calls this. An alert whose source gave no word is returned unchanged.
    """
    word = alert.labels.get("severity")
    if not mapping or not word:
        return alert
    severity = severity_from(word, mapping)
    if severity == alert.severity:
        return alert
    return replace(alert, severity=severity)


def resolve_service(alert: Alert, services: Mapping[str, Iterable[str]]) -> str | None:
    """Which catalog service the alert is about, given each service's health URLs.

    The alert's own service field wins when it names a known service. Otherwise its link (and a
    monitored `url`/`instance` label) is matched against the health URLs: same host, and the
    health URL sharing the longest path with the alert's wins. Two services matching equally
    well give None rather than a guess, since acting on the wrong service is worse than asking.
    """
    if alert.service:
        if alert.service in services:
            return alert.service
        lowered = {name.lower(): name for name in services}
        if alert.service.lower() in lowered:
            return lowered[alert.service.lower()]
    candidates = [alert.link, alert.labels.get("url"), alert.labels.get("instance")]
    best: tuple[int, bool] | None = None
    winners: set[str] = set()
    for candidate in candidates:
        target = _host_and_path(candidate)
        if target is None:
            continue
        for name, urls in services.items():
            for url in urls:
                health = _host_and_path(url)
                if health is None or health[0] != target[0]:
                    continue
                score = _path_score(target[1], health[1])
                if best is None or score > best:
                    best, winners = score, {name}
                elif score == best:
                    winners.add(name)
        if winners:
            break  # the link is the best witness; labels are consulted only when it matched nothing
    return next(iter(winners)) if len(winners) == 1 else None


def _host_and_path(url: str | None) -> tuple[str, list[str]] | None:
    if not url or "//" not in url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.lower().rstrip("."), [seg for seg in parts.path.split("/") if seg]


def _path_score(alert_path: list[str], health_path: list[str]) -> tuple[int, bool]:
    """(leading path segments shared, the health path lies wholly within the alert's): higher is closer.

    Whole segments only, so `/administrator` shares nothing with `/admin`; at equal length a
    health URL that contains the alert's path (`/` for a site root) beats one that diverges.
    """
    shared = 0
    for a, b in zip(alert_path, health_path, strict=False):
        if a != b:
            break
        shared += 1
    return shared, shared == len(health_path)


def dedupe_key(alert: Alert) -> str:
    """`source:fingerprint`, the key that makes a repeat or a recovery join the open incident."""
    fingerprint = alert.fingerprint or derive_fingerprint(alert.title, alert.service)
    return f"{alert.source}:{fingerprint}"
