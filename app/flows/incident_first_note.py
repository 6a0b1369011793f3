"""The first note in the thread of an incident an alert opened: who is paged, and the runbooks offered.

An alert's incident posts its root message alone, so that in a storm every new incident's root
leaves before any thread note (roots first: app/slack/post_pace.py); this note follows when the
channel has room. It is one message where there used to be two, the responders' note and the
runbook offer, and says what each said: the first responders' mention with how to acknowledge,
then the offer with a Run button per runbook. Incidents declared by hand keep their responders'
note with the root (people's commands are not paced) and are offered no runbook, as before.

Posted once: its job exists once per incident (its dedupe key) and runs on one instance; a run
again (a retry) finds the note on the timeline and posts nothing. An incident resolved before its
turn came gets no note; one acknowledged meanwhile gets the offer without paging anyone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from app.core.incidents import IncidentView
from app.flows import pagers
from app.flows.incident_policy import first_responder_ids
from app.flows.incident_timeline import record_event
from app.flows.incident_views import load
from app.flows.oncall import Paged, resolve_targets
from app.flows.runbook_offers import OFFERED_EVENT, offer_runbooks
from app.flows.runbook_views import Offer
from app.store import incidents as incident_store
from app.store.db import transaction

if TYPE_CHECKING:
    from app.deps import Deps

log = logging.getLogger("pitcrew.incidents")

PAGED_EVENT = "paged"
JOB_KIND = "incident.first_note"


@dataclass(frozen=True)
class FirstNote:
    """What the first note says: `notify` (first responders' Slack ids, to mention) and the `offer`;
    at least one of them."""

    notify: tuple[str, ...]
    offer: Offer | None
    oncall: str = ""  # who of `notify` is on call for which rotation (app/flows/oncall.py), plain text


class FirstNoteNotifier(Protocol):
    async def post_first_note(self, view: IncidentView, note: FirstNote) -> None:
        """Post `note` in the incident's thread, as one message."""
        ...


async def first_note(deps: Deps, incident_id: int) -> tuple[IncidentView, FirstNote] | None:
    """The incident and its first note, or None when there is nothing (more) to post."""
    view = await load(deps, incident_id)
    if not view.is_open or not view.thread_ts:
        return None
    async with transaction(deps.sessions) as session:
        for kind in (PAGED_EVENT, OFFERED_EVENT):
            if await incident_store.count_events(session, incident_id, kind):
                return None
    paged = Paged(())
    if view.acknowledged_at is None:  # `oncall:<rotation>`: whoever is on call when the note goes out
        async with transaction(deps.sessions) as session:
            paged = await resolve_targets(session, deps, first_responder_ids(deps, view.severity), deps.clock())
            await pagers.page(session, deps, view, paged, level=0, now=deps.clock())  # outside Slack too
    notify = paged.ids
    try:
        offer = await offer_runbooks(deps, view)
    except Exception:  # the responders are paged either way; `@pitcrew runbook` still starts one by hand
        log.exception("offering runbooks for incident %s failed", incident_id)
        offer = None
    if not notify and offer is None:
        return None
    return view, FirstNote(notify=notify, offer=offer, oncall=paged.said())


async def post_first_note(deps: Deps, notifier: FirstNoteNotifier, view: IncidentView, note: FirstNote) -> None:
    """Post the note and put on the timeline who was paged and which runbooks were offered."""
    await notifier.post_first_note(view, note)
    if note.notify:
        said = f" ({note.oncall})" if note.oncall else ""
        await record_event(deps, view.id, kind=PAGED_EVENT, text=f"Paged: {', '.join(note.notify)}{said}")
    if note.offer is not None:
        names = ", ".join(r.name for r in note.offer.runbooks)
        await record_event(deps, view.id, kind=OFFERED_EVENT, text=f"Runbooks offered: {names}")
