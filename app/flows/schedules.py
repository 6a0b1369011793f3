"""Scheduled checks: each occurrence of a schedule of pitcrew.yml is a job, run once across instances.

Every occurrence is its own job in the jobs table, keyed by the schedule's name and its local due
time (`schedule:tls:2026-12-08T08:00+01:00`): whichever instances ensure it, the insert lands once.
On start every instance ensures each schedule's next occurrence (so a restart loses none), and an
occurrence that runs ensures the one after it first, before its check can fail. Running is claimed
too, in `report_runs` (app/store/reports.py), because a job may run twice (its lease ran out while
Slack was slow): only the instance whose insert of the occurrence's key landed checks and posts.

An occurrence is run only within its calendar's grace (app/core/calendars.py): one whose every
instance was down longer is skipped, and said so in the log, not posted late. A job whose schedule
was removed or whose calendar changed in pitcrew.yml since it was made finds its occurrence gone
and ends quietly: the start that loaded the new pitcrew.yml ensured the new next occurrence.

The check itself is a runbook probe (app/flows/runbook_probes.py `run_check`): the same code the
`check` steps run, reduced here to what app/core/schedules.py judges.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.catalog import Catalog, ScheduleConfig
from app.core.calendars import Calendar
from app.core.runbooks import CheckStep
from app.core.schedules import (
    PROBE_OF,
    Observed,
    ScheduleRun,
    error_period,
    findings_of,
)
from app.deps import Deps
from app.flows.runbook_probes import run_check
from app.store import jobs as job_store
from app.store import reports as claims
from app.store.db import transaction

log = logging.getLogger("pitcrew.schedules")

SCHEDULE_JOB = "schedules.run"

# Post `run` to `channel`; the ts of the message posted (None if the edge has none).
Publish = Callable[[ScheduleRun, str], Awaitable[str | None]]


def occurrence_key(name: str, calendar: Calendar, due: datetime) -> str:
    """`schedule:tls:2026-12-08T08:00+01:00`: the job's dedupe key and the run's claim."""
    return f"schedule:{name}:{calendar.key(due)}"


def channel_of(catalog: Catalog, schedule: ScheduleConfig) -> str:
    return schedule.channel or catalog.slack.alerts_channel


@dataclass(frozen=True)
class Upcoming:
    """A schedule and its next due time, as `pitcrew check` lists it."""

    name: str
    check: str
    services: tuple[str, ...]
    every: str
    zone: str
    post: str
    channel: str
    due: datetime
    due_local: str


def upcoming(catalog: Catalog, now: datetime) -> list[Upcoming]:
    """Every schedule with its next due time after `now`, soonest first."""
    found = []
    for schedule in catalog.schedules:
        calendar = catalog.schedule_calendar(schedule)
        due = calendar.next_due(now)
        found.append(Upcoming(
            schedule.name, schedule.check, tuple(schedule.targets), schedule.every, calendar.zone.key, schedule.post,
            channel_of(catalog, schedule), due, calendar.local(due),
        ))
    return sorted(found, key=lambda u: (u.due, u.name))


async def ensure_next(deps: Deps, schedule: ScheduleConfig, after: datetime) -> datetime:
    """Make the schedule's first occurrence after `after` a job (once, whoever asks); its due time."""
    calendar = deps.catalog.schedule_calendar(schedule)
    due = calendar.next_due(after)
    async with transaction(deps.sessions) as session:
        await job_store.enqueue(
            session, kind=SCHEDULE_JOB, payload={"schedule": schedule.name, "due": due.isoformat()},
            run_at=due, now=deps.clock(), dedupe_key=occurrence_key(schedule.name, calendar, due),
        )
    return due


async def ensure_schedules(deps: Deps) -> None:
    """On start: each schedule's next occurrence is a job. A failure is logged, not raised: the
    instance serves regardless, and the next start (or another instance's) ensures it."""
    now = deps.clock()
    for schedule in deps.catalog.schedules:
        try:
            await ensure_next(deps, schedule, now)
        except Exception as err:
            log.warning("could not schedule %s (%s)", schedule.name, err)


@dataclass(frozen=True)
class Outcome:
    """What one run of an occurrence's job did: `posted` or `quiet` (checked, nothing to post),
    `taken` (another run claimed it), `early` (not due yet), `missed` (past its grace), `gone` (no
    such schedule or occurrence in pitcrew.yml any more)."""

    outcome: str
    key: str | None = None
    run: ScheduleRun | None = None


async def run_occurrence(deps: Deps, name: str, due: datetime, publish: Publish) -> Outcome:
    """Check and, if there is something to say, post the occurrence `due` of schedule `name`.

    The claim comes first, in its own transaction: a publish that fails afterwards gives the claim
    back (so a retry posts) and raises."""
    schedule = deps.catalog.schedule(name)
    if schedule is None:
        return Outcome("gone")
    calendar = deps.catalog.schedule_calendar(schedule)
    key = occurrence_key(name, calendar, due)
    if not calendar.is_occurrence(due):
        return Outcome("gone", key)
    now = deps.clock()
    if now < due:
        return Outcome("early", key)
    if now - due >= calendar.grace(due):
        log.warning("schedule %s: the occurrence due %s was missed by more than %s; skipped", name, key,
                    calendar.grace(due))
        return Outcome("missed", key)
    channel = channel_of(deps.catalog, schedule)
    async with transaction(deps.sessions) as session:
        if not await claims.claim_run(session, key, now=now, channel=channel):
            return Outcome("taken", key)
    try:
        run = await check_schedule(deps, schedule, calendar, due)
        ts = await publish(run, channel) if run.to_post else None
    except BaseException:
        async with transaction(deps.sessions) as session:
            await claims.release_run(session, key)
        raise
    if not run.to_post:
        log.info("schedule %s %s: nothing wrong, nothing posted", name, key)
        return Outcome("quiet", key, run)
    async with transaction(deps.sessions) as session:
        await claims.record_post(session, key, ts)
    await deps.audit(
        actor="pitcrew", action="schedule.run", target=key,
        params={"check": schedule.check, "channel": channel, "problems": [f.service for f in run.problems]},
        outcome="posted",
    )
    return Outcome("posted", key, run)


async def check_schedule(deps: Deps, schedule: ScheduleConfig, calendar: Calendar, due: datetime) -> ScheduleRun:
    """Run the schedule's check on each of its services at once, and judge what each showed."""
    limits = schedule.limits
    period = None
    if schedule.check == "errors":
        previous = calendar.last_due(due - timedelta(seconds=1))
        period = error_period(limits, previous, due)

    async def one(service: str) -> tuple[str, Observed]:
        step = CheckStep(
            id=f"schedule.{schedule.name}", title=schedule.name, probe=PROBE_OF[schedule.check],  # type: ignore[arg-type]
            service=service,
            minutes=max(int(period.total_seconds() // 60), 1) if period is not None else None,
            names=tuple(deps.catalog.service(service).required_vars) if schedule.check == "variables" else (),
            hours=limits.max_age_hours if schedule.check == "backup" else None,
        )
        result = await run_check(deps, step, service)
        verdict = result.verdict.value if result.verdict is not None else None
        return service, Observed(result.ran, result.summary, result.detail, verdict, result.measure, result.chart)

    observed = await asyncio.gather(*(one(service) for service in schedule.targets))
    return ScheduleRun(
        schedule=schedule.name, check=schedule.check, every=schedule.every, due_local=calendar.local(due),
        post=schedule.post, findings=findings_of(schedule.check, observed, limits), period=period,
        limits=limits,
    )
