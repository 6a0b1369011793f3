"""What the incident jobs do when they fall due: escalate, remind, resolve after the quiet period,
post the post-mortem draft, and the Slack work alerts cause (root message, its spaced edits, notes).

Each function is called by a job (app/slack/incident_jobs.py registers them with the job runner,
with the Slack notifier) and re-reads the incident before acting: a job is a wake-up call, and by
the time it runs the incident may have been acknowledged, updated or resolved. What must happen
once is claimed with a compare-and-set in the database, so a job run twice (a retry, a second
instance) never pages anyone twice. Each returns the time to run again, or None when done.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incidents import (
    IncidentView,
    auto_resolve_at,
    escalation_plan,
    format_duration,
    next_escalation,
    reminder_due,
    severity_label,
)
from app.deps import Deps
from app.flows import incident_first_note as first_note
from app.flows import pagers, silences
from app.flows.incident_announcements import announce, announce_resolution, refresh_root
from app.flows.incident_deadlines import reschedule, schedule_refresh
from app.flows.incident_notifier import IncidentNotifier, ThreadNote
from app.flows.incident_policy import escalation_steps, first_responder_ids, policy_of
from app.flows.incident_views import get_view, load
from app.flows.incidents import resolved_bookkeeping
from app.flows.oncall import resolve_targets
from app.flows.postmortem import postmortem
from app.store import alert_joins, slack_pace
from app.store import incidents as store
from app.store.db import transaction
from app.store.jobs import enqueue

ROOT_NOT_POSTED_RETRY = timedelta(seconds=5)
# Slack's chat.update is a Tier 3 method (about 50 calls a minute per workspace): an alert storm
# over many incidents edits their root messages within this budget, leaving room for people's.
ROOT_EDITS_PER_MINUTE = 40
ROOT_EDITS_LANE = "root edits"  # the budget's lane in app/store/slack_pace.py, shared by all instances
# Ten edits may go at once, then one every 2 s: never more than 40 in any minute (10 + 60 / 2).
ROOT_EDITS_BURST = 10
ROOT_EDIT_SECONDS = 60 / (ROOT_EDITS_PER_MINUTE - ROOT_EDITS_BURST)


def _recovered(view: IncidentView) -> bool:
    """Its alerts recovered and it is waiting out the quiet period: nobody needs paging or reminding.

    Should an alert fire again, the incident reopens and its deadlines are set again.
    """
    return view.state == "monitoring" and view.recovered_at is not None


async def escalate_if_due(deps: Deps, notifier: IncidentNotifier, incident_id: int) -> None:
    """Not acknowledged by the response time: mention the next step of `slack.escalation` in the thread."""
    policy = policy_of(deps)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        plan = escalation_plan(escalation_steps(deps), view.severity)
        due = next_escalation(
            plan,
            level=view.escalation_level,
            started_at=view.started_at,
            escalated_at=view.escalated_at,
            response_time=policy.response_time(view.severity),
            acknowledged=view.acknowledged_at is not None,
            resolved=not view.is_open,
        )
        if due is None or due.at > now or _recovered(view):
            return  # acknowledged, over, recovered, or moved later (a job waits at the new time)
        if await silences.page_later(session, view, now):
            return  # silenced: nobody is paged now; asked again when the silence ends
        new_level = due.level + 1 if due.step is not None else due.level
        if not await store.escalated(session, incident_id, level=view.escalation_level, new_level=new_level, now=now):
            return  # another run got there first
        waited = format_duration(now - view.started_at)
        response = format_duration(policy.response_time(view.severity))
        text = f"Not acknowledged after {waited} ({severity_label(view.severity)} response time: {response})."
        if due.step is None:
            text += " Nobody further to escalate to in pitcrew.yml (slack.escalation)."
        else:
            text += " Escalating."
        # `oncall:<rotation>` is whoever is on call now, not when the incident opened (a hand-off
        # may have passed since).
        paged = await resolve_targets(session, deps, due.step.notify if due.step is not None else (), now)
        notify = paged.ids
        if paged.on_call:
            text += f" ({paged.said()})"
        await store.add_event(
            session,
            incident_id,
            at=now,
            kind="escalation",
            text=text + (f" Notified: {', '.join(notify)}" if notify else ""),
        )
        view = await get_view(session, incident_id)
        await pagers.page(session, deps, view, paged, level=new_level, now=now)  # outside Slack too
        await reschedule(session, deps, view, now)
    await notifier.post_thread(view, ThreadNote("escalation", text, notify=tuple(notify)))


async def remind_if_due(deps: Deps, notifier: IncidentNotifier, incident_id: int) -> None:
    """No status update for the severity's cadence: remind the commander (or whoever is on it) in the thread."""
    policy = policy_of(deps)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        due = reminder_due(
            policy,
            severity=view.severity,
            started_at=view.started_at,
            last_update_at=view.last_update_at,
            reminded_at=view.reminded_at,
            resolved=not view.is_open,
        )
        if due is None or due > now or _recovered(view):
            return
        if await silences.page_later(session, view, now, kind="incident.remind"):
            return  # silenced: no reminder now; asked again when the silence ends
        if not await store.reminded(session, incident_id, seen=view.reminded_at, now=now):
            return
        silent = format_duration(now - (view.last_update_at or view.started_at))
        cadence = format_duration(policy.cadence(view.severity) or timedelta())
        who = view.commander or view.acknowledged_by or view.declared_by
        notify = (who,) if who else first_responder_ids(deps, view.severity)
        text = (
            f"No status update for {silent}; {view.severity} expects one every {cadence}. "
            "Post one with `@pitcrew update <what is known, what is being done>`."
        )
        await store.add_event(session, incident_id, at=now, kind="reminder", text=text)
        view = await get_view(session, incident_id)
        await reschedule(session, deps, view, now)
    await notifier.post_thread(view, ThreadNote("reminder", text, notify=notify))


async def auto_resolve_if_due(deps: Deps, notifier: IncidentNotifier, incident_id: int) -> None:
    """Every alert recovered and stayed quiet for the quiet period: resolve, unless kept open."""
    policy = policy_of(deps)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        at = auto_resolve_at(
            policy, state=view.state, recovered_at=view.recovered_at, keep_open=not view.resolves_by_itself
        )
        if at is None or at > now:
            return
        summary = f"The alert recovered and stayed quiet for {format_duration(policy.quiet)}; resolved automatically."
        if not await store.resolve(
            session, incident_id, summary=summary, now=now, only_if_recovered_at=view.recovered_at
        ):
            return
        await resolved_bookkeeping(session, deps, incident_id, by="pitcrew", summary=summary, now=now)
        view = await get_view(session, incident_id)
    await announce_resolution(deps, notifier, view, by="pitcrew")


async def post_postmortem_draft(deps: Deps, notifier: IncidentNotifier, incident_id: int) -> None:
    markdown = await postmortem(deps, incident_id)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        await store.add_event(session, incident_id, at=now, kind="postmortem", text="Post-mortem draft posted")
    await notifier.post_thread(
        view,
        ThreadNote(
            "postmortem",
            f"Post-mortem draft for {view.ref}: fill in the blanks and share it. "
            f"`/incident {view.id} postmortem` gives it again as Markdown.",
            document=markdown,
        ),
    )


async def announce_alert(deps: Deps, notifier: IncidentNotifier, incident_id: int) -> None:
    """The root message of an alert's incident, alone; its first note (who is paged, the runbooks
    offered) is a job of its own, posted when the channel has room: roots first in a storm."""
    await announce(deps, notifier, incident_id, page=False)
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        await enqueue(
            session,
            kind=first_note.JOB_KIND,
            payload={"incident_id": incident_id},
            run_at=now,
            now=now,
            dedupe_key=f"{first_note.JOB_KIND}:{incident_id}",
        )


async def refresh_if_due(deps: Deps, notifier: IncidentNotifier, incident_id: int) -> datetime | None:
    """The spaced edit of the root message after alerts joined; when to try again, if not now.

    Edits are claimed in the database (`root_edited_at`), so a late job and an on-time one, or two
    instances, never edit the same message twice within the interval; the time is set again once
    Slack has answered, so the spacing holds as Slack sees it, not only as pitcrew does. Across all
    incidents and instances, alert-driven edits stay within ROOT_EDITS_PER_MINUTE (a storm over
    fifty incidents would otherwise make fifty edits every interval).
    """
    policy = policy_of(deps)
    now = deps.clock()
    interval = timedelta(seconds=policy.root_edit_interval_s)
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.thread_ts:
            return now + ROOT_NOT_POSTED_RETRY  # the root message is still being posted
        edited = view.root_edited_at
        if edited is not None and edited > now - interval:
            return edited + interval
        budget_later = await _take_root_edit(session, now)
        if budget_later is not None:
            return budget_later
        if not await store.claim_root_edit(session, incident_id, now=now, not_before=now - interval):
            return now + interval
        await alert_joins.refresh_counts(session, incident_id)
        view = await get_view(session, incident_id)
    await notifier.update_root(view)
    async with transaction(deps.sessions) as session:
        await store.mark_root_edited(session, incident_id, max(deps.clock(), now))
    return None


async def post_alert_note(deps: Deps, notifier: IncidentNotifier, incident_id: int, note: str) -> datetime | None:
    """A recovery or a refiring, posted once in the thread; the root message is edited at once too."""
    view = await load(deps, incident_id)
    if not view.thread_ts:
        return deps.clock() + ROOT_NOT_POSTED_RETRY
    if note == "recovered":
        quiet = format_duration(policy_of(deps).quiet)
        text = (
            f"Recovered: the alert is resolved. {view.ref} is monitoring and resolves by itself after {quiet} "
            "of quiet, unless it fires again or someone keeps it open (`@pitcrew keep`)."
        )
        if view.keep_open:
            text = f"Recovered: the alert is resolved. {view.ref} is kept open: resolve it when you are done."
        elif view.declared_by:
            text = (
                f"Recovered: the alerts that joined {view.ref} are resolved. It was declared by hand, so it "
                "does not resolve by itself: resolve it when you are done."
            )
    else:
        text = f"Fired again: {view.ref} is back to {view.state}."
    await notifier.post_thread(view, ThreadNote(note, text))
    await _edit_root_within_budget(deps, notifier, view)
    return None


async def _edit_root_within_budget(deps: Deps, notifier: IncidentNotifier, view: IncidentView) -> None:
    """Edit the root at once, unless this minute's edits are spent (fifty incidents recovering
    together): then the spaced edit shows it, when there is room again."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        if await _take_root_edit(session, now) is not None:
            await schedule_refresh(session, policy_of(deps), view.id, now)
            return
    await refresh_root(deps, notifier, view)


async def _take_root_edit(session: AsyncSession, now: datetime) -> datetime | None:
    """One edit of this minute's budget: None when taken, else when the next one will be free."""
    free_at = await slack_pace.take_if_free(
        session,
        ROOT_EDITS_LANE,
        now=now.timestamp(),
        seconds=ROOT_EDIT_SECONDS,
        burst_s=(ROOT_EDITS_BURST - 1) * ROOT_EDIT_SECONDS,
    )
    return None if free_at is None else datetime.fromtimestamp(free_at, UTC)
