"""On call as the rest of pitcrew uses it: the rotations of pitcrew.yml as core values, who an
`oncall:<rotation>` escalation target is at this moment, the board of `/incident oncall`, overrides
(added, ended by their job), and the hand-off: claimed once, summarised, the user group updated.

Who is on call is computed by app/core/oncall.py from the catalog and the overrides in the
database; nothing here caches a person, so a step that runs after a hand-off pages the new one.
Slack is reached only through the callables the edge hands in (app/slack/oncall_jobs.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import Catalog, RotationConfig
from app.core.durations import BadDuration, parse_duration
from app.core.incidents import IncidentView
from app.core.oncall import (
    WEEKDAYS,
    Handoff,
    OnCall,
    Override,
    Restriction,
    Rotation,
    handoffs,
    last_handoff,
    next_handoff,
    on_call,
    oncall_rotation,
)
from app.deps import Deps
from app.store import jobs as job_store
from app.store import maintenance as maintenance_store
from app.store import oncall as store
from app.store import reports as report_store
from app.store.db import transaction
from app.store.incidents import list_open

log = logging.getLogger("pitcrew.oncall")

MAX_OVERRIDE = timedelta(days=14)
BOARD_DAYS = 14
# A hand-off missed by more than this (every instance down) is not announced late.
HANDOFF_GRACE = timedelta(hours=2)
_ROTATIONS: dict[int, tuple[Catalog, dict[str, Rotation]]] = {}


class OncallError(Exception):
    """An on-call request that cannot be done; the message says why (shown privately, nothing changed)."""


def rotations(deps: Deps) -> dict[str, Rotation]:
    """The catalog's rotations as core values (none without `oncall:`); built once per catalog."""
    cached = _ROTATIONS.get(id(deps.catalog))
    if cached is not None and cached[0] is deps.catalog:
        return cached[1]
    config = deps.catalog.oncall
    built = {name: to_rotation(name, r) for name, r in (config.rotations.items() if config else ())}
    _ROTATIONS[id(deps.catalog)] = (deps.catalog, built)
    return built


def to_rotation(name: str, config: RotationConfig) -> Rotation:
    restrict = None
    if config.restrict is not None:
        end = time.max if config.restrict.end == "24:00" else time.fromisoformat(config.restrict.end)
        restrict = Restriction(
            frozenset(WEEKDAYS.index(d) for d in config.restrict.days), time.fromisoformat(config.restrict.start), end
        )
    return Rotation(
        name=name, members=tuple(config.members), length=config.length, handoff=time.fromisoformat(config.handoff),
        zone=ZoneInfo(config.timezone), anchor=config.anchor, restrict=restrict,
    )


# --- escalation: `oncall:<rotation>` resolved when the step runs ---------------------------------------


@dataclass(frozen=True)
class Paged:
    """Who to mention (Slack ids, each `oncall:` target replaced by whoever is on call) and, per
    rotation named, who that was (None: nobody, outside the rotation's hours)."""

    ids: tuple[str, ...]
    on_call: tuple[tuple[str, str | None], ...] = ()

    def said(self) -> str:
        """`on call: primary @U1; nobody on call for secondary now`, plain text for thread and timeline."""
        parts = [f"on call for {name}: @{who}" if who else f"nobody on call for {name} now (outside its hours)"
                 for name, who in self.on_call]
        return "; ".join(parts)


async def resolve_targets(session: AsyncSession, deps: Deps, notify: Sequence[str], now: datetime) -> Paged:
    """`notify` with each `oncall:<rotation>` replaced by whoever is on call at `now` (nobody outside
    a restricted rotation's hours: then nobody is mentioned for it, and `on_call` says so)."""
    if not any(oncall_rotation(w) for w in notify):
        return Paged(tuple(notify))
    overrides = await store.in_force(session, now - timedelta(seconds=1), now + timedelta(seconds=1))
    ids: list[str] = []
    found: list[tuple[str, str | None]] = []
    known = rotations(deps)
    for who in notify:
        name = oncall_rotation(who)
        if name is None:
            ids.append(who)
            continue
        rotation = known.get(name)
        person = on_call(rotation, now, overrides).user if rotation is not None else None
        found.append((name, person))
        if person is not None:
            ids.append(person)
    return Paged(tuple(dict.fromkeys(ids)), tuple(found))


# --- /incident oncall -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationBoard:
    name: str
    now: OnCall
    next: Handoff | None
    coming: tuple[Handoff, ...]
    zone: str


@dataclass(frozen=True)
class OncallBoard:
    at: datetime
    rotations: tuple[RotationBoard, ...]
    days: int = BOARD_DAYS


def require_oncall(deps: Deps) -> dict[str, Rotation]:
    known = rotations(deps)
    if not known:
        raise OncallError("No rotations are set up: add an `oncall:` block to pitcrew.yml (see docs/configuration.md).")
    return known


async def board(deps: Deps) -> OncallBoard:
    """Who is on call now and next for each rotation, and the hand-offs of the coming two weeks."""
    known = require_oncall(deps)
    now = deps.clock()
    until = now + timedelta(days=BOARD_DAYS)
    async with transaction(deps.sessions) as session:
        overrides = await store.in_force(session, now - timedelta(seconds=1))
    rows = []
    for name, rotation in known.items():
        coming = handoffs(rotation, now, until, overrides)
        rows.append(RotationBoard(
            name, on_call(rotation, now, overrides), next_handoff(rotation, now, overrides), tuple(coming),
            rotation.zone.key,
        ))
    return OncallBoard(now, tuple(rows))


# --- overrides -------------------------------------------------------------------------------------------

OVERRIDE_END_JOB = "oncall.override_end"
Announce = Callable[[str], Awaitable[str | None]]  # post plain text in the alerts channel; its ts


async def add_override(
    deps: Deps, *, rotation: str, user: str, duration_text: str, by: str, announce: Announce
) -> Override:
    """`user` takes `rotation`'s shift from now for the duration: stored, its end job scheduled,
    announced, audited. Raises OncallError (nothing changed) for an unknown rotation, a user not in
    it, a duration that does not parse, or an override already covering part of that time."""
    known = require_oncall(deps)
    if rotation not in known:
        raise OncallError(f"Unknown rotation `{rotation[:40]}`; rotations: {', '.join(sorted(known))}.")
    if user not in known[rotation].members:
        raise OncallError(
            f"@{user} is not a member of the {rotation} rotation; its members: "
            + ", ".join(f"@{m}" for m in known[rotation].members) + "."
        )
    try:
        span = parse_duration(duration_text, limit=MAX_OVERRIDE, what="the override")
    except BadDuration as err:
        raise OncallError(str(err)) from None
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        try:
            override = await store.add_override(
                session, rotation=rotation, user=user, start=now, end=now + span, by=by, now=now
            )
        except store.OverlappingOverride as err:
            clash = err.clash
            raise OncallError(
                f"@{clash.user} already holds the {rotation} shift until {clash.end:%Y-%m-%d %H:%M} UTC "
                f"(override {clash.id}); overrides of a rotation may not overlap: wait for it to end."
            ) from None
        await job_store.enqueue(
            session, kind=OVERRIDE_END_JOB, payload={"override": override.id}, run_at=override.end, now=now,
            dedupe_key=f"{OVERRIDE_END_JOB}:{override.id}",
        )
    await deps.audit(
        actor=by, action="oncall.override", target=rotation,
        params={"user": user, "until": override.end.isoformat(), "id": override.id}, outcome="added",
    )
    await announce(
        f"@{user} takes the {rotation} on-call shift from @{by} until {override.end:%Y-%m-%d %H:%M} UTC "
        f"(override {override.id})."
    )
    return override


async def end_override(deps: Deps, override_id: int, announce: Announce) -> Override | None:
    """The override's time is up: mark it ended (once, whoever runs the job), announce, audit."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        ended = await store.end_override(session, override_id, now=now)
    if ended is None:
        return None
    rotation = rotations(deps).get(ended.rotation)
    back = on_call(rotation, now).user if rotation is not None else None
    tail = f" @{back} is on call again." if back else " Nobody is on call for it now (outside its hours)."
    await deps.audit(actor="pitcrew", action="oncall.override_end", target=ended.rotation,
                     params={"user": ended.user, "id": ended.id}, outcome="ended")
    await announce(f"The override of the {ended.rotation} shift by @{ended.user} has ended.{tail}")
    return ended


# --- the hand-off ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffSummary:
    """What a hand-off posts: who hands to whom, the open incidents, the incidents of the shift that
    ended, and the silences and maintenance windows in force."""

    handoff: Handoff
    open_incidents: tuple[IncidentView, ...]
    last_shift: tuple[IncidentView, ...]
    silenced: tuple[str, ...] = ()
    maintenance: tuple[str, ...] = ()
    group: str | None = None


@dataclass
class HandoffPorts:
    """What the edge does for a hand-off: post the summary (its ts), set the user group's members."""

    post: Callable[[HandoffSummary], Awaitable[str | None]]
    set_group: Callable[[str, list[str]], Awaitable[None]]
    done: list[str] = field(default_factory=list)


def handoff_key(handoff: Handoff) -> str:
    return f"{handoff.rotation}@{handoff.at.isoformat()}"


async def next_handoff_at(deps: Deps) -> datetime | None:
    """When the hand-off job should wake next: the first hand-off of any rotation after now."""
    now = deps.clock()
    async with transaction(deps.sessions) as session:
        overrides = await store.in_force(session, now - timedelta(seconds=1))
    times = [h.at for r in rotations(deps).values() if (h := next_handoff(r, now, overrides)) is not None]
    return min(times, default=None)


async def run_handoffs(deps: Deps, ports: HandoffPorts) -> list[str]:
    """Announce each rotation's latest hand-off if it passed less than HANDOFF_GRACE ago and nobody
    announced it yet (claimed first; given back if the post fails, and the error raised)."""
    now = deps.clock()
    config = deps.catalog.oncall
    async with transaction(deps.sessions) as session:
        overrides = await store.in_force(session, now - timedelta(days=8))
    for rotation in rotations(deps).values():
        handoff = last_handoff(rotation, now, overrides)
        if handoff is None or now - handoff.at >= HANDOFF_GRACE:
            continue
        key = handoff_key(handoff)
        async with transaction(deps.sessions) as session:
            if not await store.claim_handoff(session, key, now=now):
                continue
        try:
            summary = await _summary(deps, rotation, handoff)
            group = config.slack_group if config and config.group_rotation == rotation.name else None
            if group is not None and handoff.after is not None:  # nobody on call: the group keeps its last
                try:
                    await ports.set_group(group, [handoff.after])
                    summary = replace(summary, group=group)
                except Exception as err:  # the summary matters more than the group: said in the log
                    log.warning("could not set the on-call user group %s (%s)", group, err)
            ts = await ports.post(summary)
        except Exception:
            async with transaction(deps.sessions) as session:
                await store.release_handoff(session, key)
            raise
        async with transaction(deps.sessions) as session:
            await store.record_handoff(session, key, ts)
        await deps.audit(
            actor="pitcrew", action="oncall.handoff", target=rotation.name,
            params={"from": handoff.before, "to": handoff.after, "at": handoff.at.isoformat()}, outcome="posted",
        )
        ports.done.append(key)
    return ports.done


async def _summary(deps: Deps, rotation: Rotation, handoff: Handoff) -> HandoffSummary:
    async with transaction(deps.sessions) as session:
        open_now = await list_open(session)
        shift_start = last_handoff(rotation, handoff.at - timedelta(seconds=1))
        since = shift_start.at if shift_start is not None else handoff.at - timedelta(days=1)
        last_shift = await report_store.overlapping(session, since, handoff.at)
        silenced, maintenance = await quieting_in_force(session, handoff.at, open_now)
    return HandoffSummary(handoff, tuple(open_now), tuple(v for v in last_shift if v.started_at >= since),
                          silenced, maintenance)


async def quieting_in_force(
    session: AsyncSession, at: datetime, open_now: Sequence[IncidentView]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The silences (open incidents silenced past `at`) and maintenance windows in force at `at`, as
    plain lines for the summary: the next person should know what is being held back."""
    silenced = tuple(
        f"{v.ref} until {v.silenced_until:%Y-%m-%d %H:%M} UTC"
        for v in open_now if v.silenced_until is not None and v.silenced_until > at
    )
    in_force = await maintenance_store.in_force(session, at)
    windows = tuple(f"window {n}: {', '.join(services)}" for n, services in in_force)
    return silenced, windows
