"""Silencing an incident: `@pitcrew silence 2h [reason]`, the Silence button, `@pitcrew unsilence`, expiry.

While silenced, the incident's alerts are stored and counted but page no one, post nothing and do
not reopen it (the alert path asks app/flows/alert_gate.py); escalation waits until the silence
ends (`page_later`). The silence ends by itself: a job at its end (`silence.expire`, handled in
app/slack/silence_jobs.py) ends it once, whoever runs it, unless it was lifted or replaced
meanwhile. Every change is on the timeline and in the audit trail; the root message shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.incidents import IncidentClosed, IncidentError, IncidentView, format_duration, incident_ref
from app.core.secrets import scrub
from app.core.silences import silenced
from app.deps import Deps
from app.flows.incident_announcements import refresh_root
from app.flows.incident_deadlines import reschedule
from app.flows.incident_notifier import IncidentNotifier, ThreadNote
from app.flows.incident_views import get_view
from app.store import alert_joins
from app.store import audit as audit_store
from app.store import incidents as incident_store
from app.store import silences as store
from app.store.db import transaction
from app.store.jobs import enqueue

EXPIRE_JOB = "silence.expire"


class NotSilenced(IncidentError):
    """`unsilence` on an incident that has no silence in force."""

    def __init__(self, incident_id: int) -> None:
        super().__init__(f"{incident_ref(incident_id)} is not silenced.")


@dataclass(frozen=True)
class SilenceEnded:
    """A silence that ended (lifted or expired), and how many alerts it held back."""

    view: IncidentView
    held: int


async def silence(
    deps: Deps, notifier: IncidentNotifier, incident_id: int, duration: timedelta, reason: str | None, *, by: str
) -> IncidentView:
    """Silence an open incident for `duration` (replacing a silence in force); its root shows it."""
    now = deps.clock()
    until = now + duration
    async with transaction(deps.sessions) as session:
        view = await get_view(session, incident_id)
        if not view.is_open or not await store.silence(
            session, incident_id, until=until, by=by, reason=reason, now=now
        ):
            raise IncidentClosed(incident_id, "silence it")
        text = f"Silenced for {format_duration(duration)}" + (f": {reason}" if reason else "")
        await incident_store.add_event(
            session, incident_id, at=now, kind="silenced", actor=by, text=text, data={"until": until.isoformat()}
        )
        await _audit(deps, session, by, "incident.silence", incident_id, now, {
            "until": until.isoformat(), "reason": (reason or "")[:300],
        })
        await enqueue(
            session,
            kind=EXPIRE_JOB,
            payload={"incident_id": incident_id, "until": until.isoformat()},
            run_at=until,
            now=now,
            dedupe_key=f"{EXPIRE_JOB}:{incident_id}:{until.timestamp():.6f}",
        )
        view = await get_view(session, incident_id)
    await refresh_root(deps, notifier, view)
    return view


async def unsilence(deps: Deps, notifier: IncidentNotifier, incident_id: int, *, by: str) -> SilenceEnded:
    """Lift the silence in force now; NotSilenced when there is none."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        await get_view(session, incident_id)
        lifted = await store.lift(session, incident_id, now=now)
        if lifted is None:
            raise NotSilenced(incident_id)
        ended = await _ended(session, deps, incident_id, lifted, now, actor=by, how="lifted")
    await refresh_root(deps, notifier, ended.view)
    return ended


async def expire(deps: Deps, notifier: IncidentNotifier, incident_id: int, until: datetime) -> SilenceEnded | None:
    """The expiry job: end the silence meant to end at `until`, once; None if lifted or replaced meanwhile."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        lifted = await store.expire(session, incident_id, until=until)
        if lifted is None:
            return None
        ended = await _ended(session, deps, incident_id, lifted, now, actor="pitcrew", how="expired")
    if ended.view.is_open:
        text = f"The silence is over: alerts post and page again ({ended.held} while silenced)."
        await notifier.post_thread(ended.view, ThreadNote("silence", text))
    await refresh_root(deps, notifier, ended.view)
    return ended


async def _ended(
    session: AsyncSession, deps: Deps, incident_id: int, lifted: store.Lifted, now: datetime, *, actor: str, how: str
) -> SilenceEnded:
    held = await store.alerts_since(session, incident_id, lifted.silenced_at)
    text = f"Silence {how}; {held} alert{'s' if held != 1 else ''} arrived while silenced"
    await incident_store.add_event(session, incident_id, at=now, kind="unsilenced", actor=actor, text=text)
    await _audit(deps, session, actor, f"incident.silence {how}", incident_id, now, {"held": held})
    await alert_joins.refresh_counts(session, incident_id)
    view = await get_view(session, incident_id)
    if view.is_open:
        await reschedule(session, deps, view, now)
    return SilenceEnded(view=view, held=held)


async def page_later(
    session: AsyncSession, view: IncidentView, now: datetime, *, kind: str = "incident.escalate"
) -> bool:
    """Whether a silence holds a page (an escalation, a reminder) now; if so, it is asked again at the end."""
    if not silenced(view.silenced_until, now) or view.silenced_until is None:
        return False
    await enqueue(
        session,
        kind=kind,
        payload={"incident_id": view.id},
        run_at=view.silenced_until,
        now=now,
        dedupe_key=f"{kind}:{view.id}:{view.escalation_level}:silence:{view.silenced_until.timestamp():.0f}",
    )
    return True


async def _audit(
    deps: Deps,
    session: AsyncSession,
    actor: str,
    action: str,
    incident_id: int,
    now: datetime,
    params: dict[str, str | int],
) -> None:
    await audit_store.append(
        session, at=now, actor=actor, action=action, target=incident_ref(incident_id),
        params=scrub(params, deps.secret_values()), outcome="ok",
    )
