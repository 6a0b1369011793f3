"""The managers' view of a period: `/incident report [7d|30d]` and the weekly post.

Reads the period's incidents (and the time spent silenced or in maintenance), has the core compute
the figures (app/core/period_report.py), and hands the `PeriodReport` back, or, for the weekly
post, to a `Publish` the edge gives (Slack posts the message and uploads the chart). The weekly
post is claimed before it is published (app/store/reports.py): one post a week, however many
instances run its job and however often.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.period_report import PeriodReport, Span, period_report
from app.core.report_schedule import WeeklySchedule, due_now
from app.core.silences import silence_spans
from app.deps import Deps
from app.store import maintenance as maintenance_store
from app.store import reports as store
from app.store import silences as silence_store
from app.store.db import transaction

log = logging.getLogger("pitcrew.reports")

# Publish the report where it belongs; the ts of the message posted (None if the edge has none).
Publish = Callable[[PeriodReport, str], Awaitable[str | None]]


def report_zone(deps: Deps) -> tzinfo:
    """Days are counted in the weekly post's time zone when one is configured, else UTC."""
    weekly = deps.catalog.reports.weekly
    return ZoneInfo(weekly.timezone) if weekly is not None else UTC


async def build_report(deps: Deps, days: int, *, until: datetime | None = None) -> PeriodReport:
    """The report of the `days` days before `until` (now by default)."""
    end = until or deps.clock()
    since = end - timedelta(days=days)
    async with transaction(deps.sessions) as session:
        incidents = await store.started_between(session, since, end)
        silences, maintenance = await quiet_spans(session, since, end)
    return period_report(
        incidents, until=end, days=days, zone=report_zone(deps), silences=silences, maintenance=maintenance
    )


async def quiet_spans(session: AsyncSession, since: datetime, until: datetime) -> tuple[list[Span], list[Span]]:
    """The spans spent silenced (from the incidents' timelines), and in maintenance (the windows, a
    cancelled one cut at its cancellation), overlapping [since, until); the core clips them to the
    period and counts overlaps once."""
    events = await silence_store.silence_events(session, since, until)
    silenced = [Span(start, end) for start, end in silence_spans(events, until)]
    windows = [
        Span(start, end if end <= until else None)
        for start, end in await maintenance_store.spans(session, since, until)
    ]
    return silenced, windows


def weekly_schedule(deps: Deps) -> WeeklySchedule | None:
    weekly = deps.catalog.reports.weekly
    if weekly is None:
        return None
    return WeeklySchedule(day=weekly.day, hour=weekly.hour, zone=ZoneInfo(weekly.timezone))


@dataclass(frozen=True)
class WeeklyOutcome:
    """What one run of the weekly job did: `posted` (this instance posted `key`), `taken` (another
    did), `not_due` (no due time passed within the grace) or `off` (no `reports.weekly`)."""

    outcome: str
    key: str | None = None
    report: PeriodReport | None = None


async def post_weekly(deps: Deps, publish: Publish) -> WeeklyOutcome:
    """Post this week's report if it is due and nobody posted it yet.

    The claim comes first, in its own transaction: a publish that fails afterwards gives the claim
    back (so the next run tries again) and raises."""
    schedule = weekly_schedule(deps)
    weekly = deps.catalog.reports.weekly
    if schedule is None or weekly is None:
        return WeeklyOutcome("off")
    now = deps.clock()
    due = due_now(schedule, now)
    if due is None:
        return WeeklyOutcome("not_due")
    key = f"weekly:{schedule.week_key(due)}"
    channel = weekly.channel(deps.catalog.slack)
    async with transaction(deps.sessions) as session:
        if not await store.claim_run(session, key, now=now, channel=channel):
            return WeeklyOutcome("taken", key)
    report = await build_report(deps, weekly.days, until=due)
    try:
        ts = await publish(report, channel)
    except Exception:
        async with transaction(deps.sessions) as session:
            await store.release_run(session, key)
        raise
    async with transaction(deps.sessions) as session:
        await store.record_post(session, key, ts)
    await deps.audit(
        actor="pitcrew", action="report.weekly", target=key,
        params={"channel": channel, "days": report.days, "incidents": report.total}, outcome="posted",
    )
    log.info("weekly report %s posted to %s", key, channel)
    return WeeklyOutcome("posted", key, report)
