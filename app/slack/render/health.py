"""The `/health` card: an overall verdict, a line per service with its evidence, and a summary.

Services are shown worst first, because whoever types `/health` during an incident is looking
for what is broken; each service's section carries `block_id` `health.<service>` so a later
message update (or a restart/rollback button beside it) can find it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.core.health import CheckResult, HealthReport, ServiceHealth, Verdict
from app.core.health_args import HealthUsage, HealthUsageError, known_services
from app.slack.render.common import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    Block,
    context,
    divider,
    escape,
    header,
    message,
    section,
    truncate,
)

EMOJI = {
    Verdict.OK: ":large_green_circle:",
    Verdict.DEGRADED: ":large_yellow_circle:",
    Verdict.DOWN: ":red_circle:",
}
SERVICE_BLOCK_PREFIX = "health."
_GROUP_SEPARATOR = "\n\n"

ActionsFor = Callable[[ServiceHealth], Sequence[Block]]


def health_card(report: HealthReport, *, actions_for: ActionsFor | None = None) -> dict[str, object]:
    """The card for one report, within 50 blocks however many services the catalog has.

    `actions_for` gives the blocks to show under a service (a restart or rollback proposal on a
    failing one); they count against the 50 and are dropped, service by service, when they do not fit.
    With more services than blocks, several services share a section.
    """
    ordered = sorted(report.services, key=lambda s: -s.verdict.rank)  # stable: catalog order within a verdict
    extras = {s.service: list(actions_for(s)) if actions_for else [] for s in ordered}
    top = [
        header(f"{EMOJI[report.overall]} {headline(report)}"),
        context(escape(summary(report))),
        divider(),
    ]
    budget = MAX_BLOCKS - len(top)
    if sum(1 + len(extras[s.service]) for s in ordered) <= budget:
        body: list[Block] = []
        for service in ordered:
            body.append(section(service_text(service), block_id=SERVICE_BLOCK_PREFIX + service.service))
            body.extend(extras[service.service])
    else:
        body = _grouped(ordered, extras, budget)
    if not ordered:
        body = [section("No services are listed in pitcrew.yml.")]
    return message(card_text(report, ordered), [*top, *body])


def _grouped(ordered: list[ServiceHealth], extras: dict[str, list[Block]], budget: int) -> list[Block]:
    """Services packed several to a section (each at most 3000 characters), in at most `budget` blocks.

    One block is kept free for a note naming what did not fit, so no service disappears silently.
    """
    blocks: list[Block] = []
    chunk: list[str] = []

    def flush() -> None:
        if chunk:
            blocks.append(section(_GROUP_SEPARATOR.join(chunk)))
            chunk.clear()

    shown = 0
    for index, service in enumerate(ordered):
        text = truncate(service_text(service), MAX_SECTION_TEXT)
        if chunk and len(_GROUP_SEPARATOR.join([*chunk, text])) > MAX_SECTION_TEXT:
            flush()
        is_last = index == len(ordered) - 1
        room = budget - (0 if is_last else 1) - len(blocks) - 1  # after this service's section and a note
        extra = extras[service.service]
        if room < 0:
            break
        if len(extra) > room:
            extra = []
        chunk.append(text)
        shown += 1
        if extra:
            flush()
            blocks.extend(extra)
    flush()
    if shown < len(ordered):
        rest = ordered[shown:]
        down = sum(1 for s in rest if s.verdict is Verdict.DOWN)
        names = ", ".join(s.service for s in rest)
        blocks.append(context(escape(f"{len(rest)} more services not shown ({down} down): {names}")))
    return blocks


def headline(report: HealthReport) -> str:
    """`All 4 services ok`, `1 down, 1 degraded of 4 services`, or `api down` for a single service."""
    total = len(report.services)
    if total == 0:
        return "No services to check"
    if total == 1:
        only = report.services[0]
        return f"{only.service} {only.verdict}"
    counts = report.counts
    bad = [f"{counts[v]} {v}" for v in (Verdict.DOWN, Verdict.DEGRADED) if counts[v]]
    if not bad:
        return f"All {total} services ok"
    return f"{', '.join(bad)} of {total} services"


def summary(report: HealthReport) -> str:
    """`3 ok, 1 down · checked in 412 ms`."""
    counts = ", ".join(f"{n} {v}" for v, n in report.counts.items() if n) or "no services"
    return f"{counts} · checked in {elapsed(report.elapsed_ms)}"


def elapsed(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def service_text(service: ServiceHealth) -> str:
    """The mrkdwn of one service: its verdict, then a line per check with its evidence (all escaped)."""
    name, provider = escape(service.service), escape(service.provider)
    lines = [f"{EMOJI[service.verdict]} *{name}* ({provider}): {service.verdict}"]
    for check in service.checks:
        lines.append(f"• {escape(check_line(check, ' · '))}")
    if not service.checks:
        lines.append("• no checks configured")
    return "\n".join(lines)


def check_line(check: CheckResult, separator: str) -> str:
    """`name: evidence · evidence`; a failed call already names itself (`GET https://x failed: ...`)."""
    said = separator.join(check.evidence)
    if check.evidence and check.evidence[0].startswith(check.name + " "):
        return said
    return f"{check.name}: {said}" if said else check.name


def card_text(report: HealthReport, ordered: Sequence[ServiceHealth] | None = None) -> str:
    """What the blocks say, in plain words: notifications and screen readers read only this."""
    ordered = ordered if ordered is not None else report.services
    lines = [f"Health: {headline(report)}. {summary(report)}."]
    for service in ordered:
        if service.verdict is Verdict.OK:
            continue
        problems = "; ".join(check_line(c, ", ") for c in service.checks if c.verdict is not Verdict.OK)
        lines.append(f"{service.service} ({service.provider}) {service.verdict}: {problems}")
    ok = [s.service for s in ordered if s.verdict is Verdict.OK]
    if ok and len(ok) < len(ordered):
        lines.append(f"ok: {', '.join(ok)}")
    return escape("\n".join(lines))


def health_usage(err: HealthUsage) -> dict[str, object]:
    """The private answer to `/health help` or to a name that is not a service."""
    lines = []
    if isinstance(err, HealthUsageError):
        label = "Unknown service" if len(err.unknown) == 1 else "Unknown services"
        lines.append(f"{label}: {', '.join(f'`{escape(name)}`' for name in err.unknown)}")
    lines.append(escape(err.usage))
    known = escape(known_services(err.known))
    text = "\n".join([*lines, known.capitalize()])
    return message(text, [section("\n".join(lines)), context(known.capitalize())])
