"""The MAC of stored Slack requests, made at intake and checked before a job runner replays one.

app/slack/deferral.py stores a verified request as a job and replays it later without Slack's
signature (the stored body is not what Slack signed). Here is what makes that replay safe against
someone who can write to the database but holds none of pitcrew's secrets: the stored body carries a
MAC (app/core/request_mac.py), and a job whose MAC does not verify is refused, audited, and failed.
"""

from __future__ import annotations

from typing import Any

from app.core.request_mac import request_key, request_mac, request_mac_ok
from app.deps import Deps
from app.jobs.runner import GiveUp
from app.store.jobs import ClaimedJob

REFUSED = "forged or altered stored request refused"


def stored_request_key(deps: Deps) -> bytes | None:
    """The key of stored requests' MACs: derived from AUDIT_KEY, else from the signing secret."""
    return request_key(*deps.settings.key_secrets())


def sealed_payload(deps: Deps, kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The job payload of a request: its body and MAC; None when pitcrew has no secret to MAC with
    (then the request must not be stored: its replay could not be told from a forged one)."""
    key = stored_request_key(deps)
    if key is None:
        return None
    return {"body": body, "mac": request_mac(key, kind, body)}


async def refuse_unless_sealed(deps: Deps, job: ClaimedJob) -> None:
    """Raise GiveUp (the job is parked at once), after an audit entry, unless the job's body carries
    the MAC made at intake."""
    body, mac = job.payload.get("body"), job.payload.get("mac")
    if request_mac_ok(stored_request_key(deps), job.kind, body, mac):
        return
    claimed = body if isinstance(body, dict) else {}
    await deps.audit(
        actor="pitcrew",
        action="slack.replay",
        target=f"job {job.id}",
        params={"claimed_user": _claimed_user(claimed), "command": _short(claimed.get("command")),
                "type": _short(claimed.get("type"))},
        outcome=f"refused: {REFUSED} (its MAC does not verify)",
    )
    raise GiveUp(f"{REFUSED}: its MAC does not verify, so it was not run")


def _claimed_user(body: dict[str, Any]) -> str | None:
    """Who the request claims to come from (a command's user_id, a click's user, an event's user)."""
    user = body.get("user_id") or body.get("user") or (body.get("event") or {}).get("user")
    if isinstance(user, dict):
        user = user.get("id")
    return str(user)[:40] if user else None


def _short(value: Any) -> str | None:
    """Text from the row, which anyone with database access wrote: bounded before it is audited."""
    return str(value)[:60] if value is not None else None
