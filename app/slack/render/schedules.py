"""A scheduled check's result as a Slack message: which schedule and check, what each service showed,
and, for a problem, what to do about it (the command or runbook that deals with it).

Everything shown comes from the probes, masked by the flows that produced it; it is escaped here
all the same, since a log line or a query is text from elsewhere.
"""

from __future__ import annotations

from typing import Any

from app.core.durations import format_limit
from app.core.schedules import Finding, ScheduleRun
from app.slack.render.common import Block, context, escape, header, message, section

MAX_FINDINGS_SHOWN = 20  # services listed with their detail; the rest are counted
_CHECK_WORDS = {
    "tls": "TLS certificates",
    "backup": "backup age",
    "health": "health",
    "errors": "error review",
    "slow_queries": "slow-query review",
    "migrations": "migrations",
    "metrics": "metrics",
    "variables": "required variables",
    "rotation": "secret rotation",
}


def what_to_do(check: str, service: str) -> str:
    """The next move for a problem this check found on `service`."""
    return {
        "tls": "Renew the certificate of the host named above where its TLS is managed (a platform that "
               "renews by itself fails to when the domain no longer points at it); "
               f"`/health {service}` reads it again.",
        "backup": f"Take one now: `@pitcrew backup {service}` (proposed, then confirmed by an operator); "
                  "`/health` shows whether a backup schedule exists.",
        "health": f"`/health {service}` for the full card; an incident's runbooks offer the restart or rollback.",
        "errors": f"`/logs {service} --level error --top --since 1d` for the most frequent errors now; the "
                  "`high-error-rate` runbook walks through them.",
        "slow_queries": f"`/logs {service} --slow` lists them; the `slow-performance` runbook suggests indexes.",
        "migrations": "The `db-migration` runbook: a backup first, then the migration, then its check.",
        "metrics": f"The last hour's chart is in the thread; `/health {service}` for the figures now; "
                   f"`@pitcrew scale {service} memory 2GB` (or cpu, replicas) proposes more room.",
        "variables": f"`@pitcrew vars {service}` shows what is set; `@pitcrew set {service} NAME` sets one.",
        "rotation": "`@pitcrew rotate NAME` makes a new secret and sets it where it is used.",
    }.get(check, f"`/health {service}`")


def _threshold(run: ScheduleRun) -> str | None:
    limits = run.limits
    if run.check == "backup":
        return f"a backup newer than {limits.max_age_hours} h"
    if run.check == "errors":
        period = f" over {format_limit(run.period)}" if run.period is not None else ""
        return f"at most {limits.max_errors} error line{'s' if limits.max_errors != 1 else ''}{period}"
    if run.check == "slow_queries":
        return f"no statement averaging over {limits.slow_ms:,.0f} ms"
    if run.check == "tls" and limits.days is not None:
        return f"at least {limits.days} days left on each certificate"
    return None


def schedule_title(run: ScheduleRun) -> str:
    problems = len(run.problems)
    words = _CHECK_WORDS.get(run.check, run.check)
    if problems:
        return f"⏰ {run.schedule}: {words}: {problems} problem{'s' if problems != 1 else ''}"
    return f"⏰ {run.schedule}: {words}: all fine"


def _finding(finding: Finding, check: str) -> list[Block]:
    icon = "🔴" if finding.problem else "✅"
    seen = finding.observed
    said = seen.summary if seen.ran else f"could not check: {seen.summary}"
    blocks: list[Block] = [section(f"{icon} *{escape(finding.service)}*: {escape(said)}")]
    if seen.detail and finding.problem:
        blocks.append(context("\n".join(escape(line) for line in seen.detail)))
    if finding.problem:
        blocks.append(context(f"What to do: {what_to_do(check, escape(finding.service))}"))
    return blocks


def schedule_message(run: ScheduleRun) -> dict[str, Any]:
    """The post of one run: problems first, each with its evidence and what to do."""
    title = schedule_title(run)
    about = f"Scheduled check `{escape(run.schedule)}`: `{run.check}` every {escape(run.every)}, due {run.due_local}"
    threshold = _threshold(run)
    if threshold:
        about += f" · expected: {threshold}"
    blocks: list[Block] = [header(title), context(about)]
    shown = run.findings[:MAX_FINDINGS_SHOWN]
    for finding in shown:
        blocks.extend(_finding(finding, run.check))
    if len(run.findings) > len(shown):
        blocks.append(context(f"{len(run.findings) - len(shown)} more services not shown."))
    lines = [title, about.replace("`", "")]
    lines += [
        escape(f"{'problem' if f.problem else 'ok'}: {f.service}: {f.observed.summary}") for f in run.findings
    ]
    return message("\n".join(lines), blocks)
