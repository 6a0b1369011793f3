"""On call's jobs and Slack side: the hand-off job (one for all instances, its dedupe key its name)
wakes at each rotation's next hand-off, posts the summary in the alerts channel and sets
`oncall.slack_group` to whoever is on call; the override's end job announces the end.

Posting once per hand-off is the flow's claim (app/flows/oncall.py), not the job's: a job may run
twice, or a one-off run (an override just added) may race the periodic one. The periodic job never
ends: a failure is logged and tried again shortly; without `oncall:` it looks again a day later.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from app.deps import Deps
from app.flows import oncall as flows
from app.jobs.runner import Again, handles
from app.slack.client import web_client
from app.slack.render import oncall as render
from app.store import jobs as job_store
from app.store.db import transaction
from app.store.jobs import ClaimedJob

log = logging.getLogger("pitcrew.oncall")

HANDOFF_JOB = "oncall.handoff"
RETRY = timedelta(minutes=2)
OFF_RECHECK = timedelta(days=1)


def announcer(deps: Deps, client: Any) -> flows.Announce:
    """Post a line of the on-call flow in the alerts channel; its ts."""

    async def announce(text: str) -> str | None:
        posted = await client.chat_postMessage(channel=deps.catalog.slack.alerts_channel, **render.said(text))
        return str(posted.get("ts") or "") or None

    return announce


def handoff_ports(deps: Deps, client: Any) -> flows.HandoffPorts:
    async def post(summary: flows.HandoffSummary) -> str | None:
        posted = await client.chat_postMessage(channel=deps.catalog.slack.alerts_channel, **render.handoff(summary))
        return str(posted.get("ts") or "") or None

    async def set_group(group: str, users: list[str]) -> None:
        await client.usergroups_users_update(usergroup=group, users=",".join(users))

    return flows.HandoffPorts(post=post, set_group=set_group)


@handles(HANDOFF_JOB)
async def handoff(deps: Deps, job: ClaimedJob) -> Again | None:
    now = deps.clock()
    once = bool(job.payload.get("once"))
    if not flows.rotations(deps):
        return None if once else Again(now + OFF_RECHECK)
    try:
        done = await flows.run_handoffs(deps, handoff_ports(deps, web_client(deps.settings)))
    except Exception as err:  # Slack or the database away: the hand-off's claim was given back
        log.warning("could not announce the on-call hand-off (%s); trying again in %s", err, RETRY)
        return Again(now + RETRY)
    if done:
        log.info("on-call hand-offs announced: %s", ", ".join(done))
    if once:
        return None
    return Again(await flows.next_handoff_at(deps) or now + OFF_RECHECK)


@handles(flows.OVERRIDE_END_JOB)
async def override_end(deps: Deps, job: ClaimedJob) -> None:
    client = web_client(deps.settings)
    await flows.end_override(deps, int(job.payload["override"]), announcer(deps, client))
    await flows.run_handoffs(deps, handoff_ports(deps, client))


async def handoff_soon(deps: Deps, reason: str) -> None:
    """A one-off run of the hand-off now (an override started): its summary and group update."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        await job_store.enqueue(session, kind=HANDOFF_JOB, payload={"once": True}, run_at=now, now=now,
                                dedupe_key=f"{HANDOFF_JOB}:{reason}")


async def schedule_handoffs(deps: Deps) -> None:
    """Make sure the hand-off job exists when rotations are set (once for all instances). Called when
    an instance starts its job runner; a failure is logged, not raised."""
    if not flows.rotations(deps):
        return
    now = deps.clock()
    try:
        at = await flows.next_handoff_at(deps) or now + OFF_RECHECK
        async with transaction(deps.sessions) as session:
            await job_store.enqueue(session, kind=HANDOFF_JOB, payload={}, run_at=at, now=now,
                                    dedupe_key=HANDOFF_JOB, revive_failed=True)
    except Exception as err:
        log.warning("could not schedule the on-call hand-offs (%s)", err)
