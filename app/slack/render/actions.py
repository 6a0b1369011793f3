"""Proposed actions in Block Kit: what would happen, then the same message edited as it happens.

One function draws a proposal in whatever status it has (proposed, running, accepted, verified,
failed, cancelled, expired), so the first post and every later edit, by any instance or by the
verification job, look alike. Only an open proposal carries `action.confirm` (danger, with a
`confirm` dialog that restates the action) and `action.cancel`; a failed or expired one offers
"Propose again" instead. Everything people, providers or commits supply is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from app.core.actions import ProposalStatus, short_id, side_effects
from app.core.health import ServiceHealth, Verdict
from app.core.rollback_args import RollbackUsage
from app.core.verification import Phase
from app.flows.actions import ClickResult, DeploymentList, DeploymentView, Outcome, Proposal
from app.slack.render.common import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    escape,
    header,
    message,
    section,
)

CONFIRM = "action.confirm"
CANCEL = "action.cancel"
PROPOSE_AGAIN = "action.propose_again"
HEALTH_RESTART = "health.propose_restart"
HEALTH_REDEPLOY = "health.propose_redeploy"
HEALTH_ROLLBACK = "health.propose_rollback"
HEALTH_TERMINATE_IDLE = "health.propose_terminate_idle"
ROLLBACK_TO = "deployments.rollback_to"
REDEPLOY_CURRENT = "deployments.redeploy"

_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_EMOJI = {
    ProposalStatus.PROPOSED: ":warning:",
    ProposalStatus.RUNNING: ":hourglass_flowing_sand:",
    ProposalStatus.ACCEPTED: ":arrows_counterclockwise:",
    ProposalStatus.VERIFIED: ":white_check_mark:",
    ProposalStatus.FAILED: ":x:",
    ProposalStatus.CANCELLED: ":no_entry_sign:",
    ProposalStatus.EXPIRED: ":hourglass:",
}
_HEADLINE = {
    ProposalStatus.PROPOSED: "Proposed",
    ProposalStatus.RUNNING: "Running",
    ProposalStatus.ACCEPTED: "Accepted",
    ProposalStatus.VERIFIED: "Done and verified",
    ProposalStatus.FAILED: "Failed",
    ProposalStatus.CANCELLED: "Cancelled",
    ProposalStatus.EXPIRED: "Expired",
}


# ---- the proposal -------------------------------------------------------------------------------


def proposal_message(p: Proposal) -> dict[str, object]:
    """The proposal's message as it should read now."""
    status = ProposalStatus.EXPIRED if p.expired else p.status
    emoji, headline = _EMOJI[status], _HEADLINE[status]
    if p.settled is not None and p.settled.outcome == "unknown":
        emoji, headline = ":grey_question:", "Unknown"
    blocks: list[Block] = [
        header(f"{emoji} {headline}: {p.verb.lower()} {p.service}"),
        section(_what(p)),
    ]
    progress = _progress(p)
    if progress:
        blocks.append(section(progress))
    blocks.append(context(_who_and_when(p, status)))
    if p.open:
        blocks.append(
            actions(
                button(CONFIRM, p.verb, p.id, style="danger", confirm=_dialog(p)),
                button(CANCEL, "Cancel", p.id),
                block_id=f"proposal.{p.id}",
            )
        )
    elif p.can_propose_again:
        blocks.append(actions(button(PROPOSE_AGAIN, "Propose again", p.id), block_id=f"proposal.{p.id}.again"))
    return message(_text(p, status), blocks)


def _dialog(p: Proposal) -> dict[str, object]:
    """The "are you sure?" dialog, restating exactly what the button does."""
    lines = [f"*{escape(p.description)}*."]
    if p.target is not None:
        lines.append(f"Target: {_deployment_words(p.target)}.")
    if p.sessions is not None:
        lines.append(f"{p.sessions.count} session{_s(p.sessions.count)} would be ended.")
    if p.backups is not None:
        lines.append(f"Before it: {escape(p.backups)}.")
    lines.append("This changes production now.")
    return confirm_dialog(f"{p.verb} {p.service}?", " ".join(lines), confirm=p.verb, deny="Not now")


def _what(p: Proposal) -> str:
    lines = [f"*{escape(p.description)}*"]
    before = "" if p.open else " (when proposed)"  # what the proposal showed; the outcome follows below
    if p.kind in ("rollback", "promote"):
        lines.append(f"*{'Now' if p.open else 'Was serving'}:* {_deployment_line(p.current, p.as_of)}")
        lines.append(f"*Target:* {_deployment_line(p.target, p.as_of)}")
        if p.why:
            lines.append(f"*Why this one:* {escape(p.why)}")
        for skipped in p.passed_over:
            lines.append(
                f"*Passed over:* `{escape(short_id(skipped.id))}` {escape(skipped.status)}: {escape(skipped.reason)}"
            )
        also = side_effects(p.provider, p.kind)
        if also:
            lines.append(f"*Also:* {escape(also)}")
    elif p.kind in ("restart", "redeploy", "stop"):
        lines.append(f"*Deployment{before}:* {_deployment_line(p.current, p.as_of)}")
        if p.why:
            lines.append(f"*Why:* {escape(p.why)}")
    elif p.kind in ("set_variable", "unset_variable"):
        lines.extend(_variable_lines(p))
        if p.current is not None:
            lines.append(f"*Deployment{before}:* {_deployment_line(p.current, p.as_of)}")
    elif p.kind in ("scale", "backup"):
        if p.backups is not None:  # what the backup adds to: how old the newest one is, and any schedule
            lines.append(f"*Backups{before}:* {escape(p.backups)}")
        if p.current is not None:
            lines.append(f"*Deployment{before}:* {_deployment_line(p.current, p.as_of)}")
        also = side_effects(p.provider, p.kind)
        if also:
            lines.append(f"*Also:* {escape(also)}")
    elif p.kind == "terminate_idle_sessions" and p.sessions is not None:
        preview = p.sessions
        lines.append(
            f"*Would end:* {preview.count} session{_s(preview.count)} idle for more than "
            f"{preview.idle_minutes:g} min, by application and user:"
        )
        for group in preview.groups:
            app = escape(group.application or "(no application name)")
            user = escape(group.user or "?")
            lines.append(f"• `{app}` as `{user}`: {group.count} (longest idle {_duration(group.longest_idle_s)})")
    return "\n".join(lines)


def _progress(p: Proposal) -> str:
    """What happened once confirmed: the provider's answer or failure, then the verification."""
    lines: list[str] = []
    if p.settled is not None:
        when = f" at {_clock(p.settled.at)}" if p.settled.at else ""
        mark = {"done": ":white_check_mark:", "not_done": ":x:"}.get(p.settled.outcome, ":grey_question:")
        lines.append(
            f"{mark} *pitcrew stopped while this was running; asked {escape(p.provider.capitalize())}{when}:* "
            f"{escape(p.settled.evidence)}"
        )
        if p.settled.outcome == "unknown":
            lines.append("Check the service at the provider before proposing it again.")
    elif p.failure is not None:
        lines.append(f":x: *{escape(p.failure.call)} failed:* {escape(p.failure.reason)}")
        if p.failure.uncertain:
            lines.append(
                "No answer came back, so it may have happened anyway: check the service before proposing again."
            )
    elif p.answer is not None:
        lines.append(f":white_check_mark: {escape(_answer_words(p))}")
    state = p.verification
    if state is not None:
        until = _clock(p.verify_until) if p.verify_until else "?"
        every = f"every {p.policy.verify_interval_s} s until {until}"
        deployment = f" `{escape(short_id(state.deployment_id))}`" if state.deployment_id else ""
        match state.phase:
            case Phase.DEPLOYING if p.status is ProposalStatus.ACCEPTED:
                seen = escape(state.last or "no look yet")
                lines.append(f":hourglass_flowing_sand: Watching {every}: {seen}")
            case Phase.STARTING:
                seen = escape(state.last)
                lines.append(f":hourglass_flowing_sand: Deployment{deployment} live; {seen} (watching {every})")
            case Phase.WATCHING:
                since = _clock(state.healthy_since) if state.healthy_since else "?"
                lines.append(f":large_green_circle: Deployment{deployment} healthy since {since}; watching {every}")
            case Phase.VERIFIED:
                lines.append(
                    f":white_check_mark: Verified: deployment{deployment} healthy through the watch "
                    f"({state.checks} look{_s(state.checks)}, until {until})"
                )
            case Phase.FAILED:
                lines.append(f":x: *Verification failed:* {escape(state.reason)}")
    return "\n".join(lines)


def _variable_lines(p: Proposal) -> list[str]:
    """Name, whether it exists and its old fingerprint, the new fingerprint and length, what redeploys:
    never a value (fingerprints are keyed HMACs, app/core/value_fingerprints.py)."""
    name = escape(str(p.params.get("name")))
    preview = p.variable or {}
    if not preview:  # a proposal from before previews, or a runbook's templated value
        then = "then the service redeploys" if p.params.get("redeploy", True) else "no redeploy"
        return [f"*Variable:* `{name}` = `***` ({then})"]
    if not preview.get("exists"):
        old = "not set now"
    elif preview.get("unreadable"):
        old = "set now (its value cannot be read: sealed or sensitive)"
    else:
        old = f"set now, fingerprint `{escape(str(preview.get('old_fingerprint') or '?'))}`"
    lines = [f"*Variable:* `{name}`: {old}"]
    if preview.get("shared"):
        shared = escape(str(preview["shared"]))
        lines[0] = (
            f"*Variable:* `{name}`, a reference to the shared `{shared}` of its Railway environment: "
            f"the shared `{shared}` is what changes; {old}"
        )
    if preview.get("shared_with"):
        others = ", ".join(escape(str(n)) for n in preview["shared_with"])
        lines.append(f"*Also referenced by:* {others}: each takes the new value when it next deploys")
    if preview.get("replaces_reference"):
        what = escape(str(preview["replaces_reference"]))
        lines.append(
            f"*Note:* `{name}` is now a reference to {what}: this gives {escape(p.service)} a value of its own "
            f"instead, and the other services referencing it keep theirs. To change a shared secret everywhere: "
            f"`@pitcrew rotate {name}`"
        )
    if preview.get("also"):
        others = ", ".join(f"`{escape(str(n))}`" for n in preview["also"])
        lines.append(f"*Also set:* {others}, which hold the same value on this service (one change, one deploy)")
    if p.kind == "set_variable":
        fingerprint = escape(str(preview.get("new_fingerprint") or "?"))
        lines.append(f"*New value:* `***` ({preview.get('new_length')} characters, fingerprint `{fingerprint}`)")
    else:
        lines.append("*New value:* none: the variable is removed")
    lines.append(f"*Redeploys:* {escape(str(preview.get('redeploys') or 'nothing'))}")
    if preview.get("revert_after_s"):
        minutes = int(preview["revert_after_s"]) / 60
        lines.append(f"*Revert reminder:* pitcrew proposes the old value back {minutes:g} min after this runs")
    if p.why:
        lines.append(f"*Why:* {escape(p.why)}")
    return lines


def _answer_words(p: Proposal) -> str:
    answer = p.answer or {}
    provider = p.provider.capitalize()
    if p.kind == "terminate_idle_sessions":
        ended = int(answer.get("terminated", 0))
        return f"Ended {ended} idle session{_s(ended)}."
    if answer.get("new_deployment_id"):
        return f"{provider} accepted: new deployment {answer['new_deployment_id']}."
    if p.kind in ("set_variable", "unset_variable"):
        then = f" {provider} redeploys the service." if answer.get("redeploys") else ""
        done = "set" if p.kind == "set_variable" else "removed"
        return f"{provider} {done} {answer.get('name')}.{then}"
    if p.provider == "vercel":
        target = answer.get("deployment_id")
        return f"{provider} accepted (HTTP {answer.get('status')}): production now points at {target}."
    return f"{provider} accepted {p.kind} of deployment {answer.get('deployment_id')}."


def _who_and_when(p: Proposal, status: ProposalStatus) -> str:
    parts = [f"Proposed by {mention(p.proposed_by)}"]
    if status is ProposalStatus.PROPOSED:
        minutes = max(0, round((p.expires_at - p.as_of).total_seconds() / 60))
        parts.append(f"expires {_clock(p.expires_at)} (in {minutes} min)")
        if p.policy.second_approver:
            parts.append(
                "needs a second operator: two different operators must approve (the proposer counts if an operator)"
            )
            if p.approvals:
                parts.append(f"approved so far by {', '.join(mention(u) for u in p.approvals)}")
        else:
            parts.append("only an operator can confirm")
    elif status is ProposalStatus.EXPIRED:
        parts.append(f"expired {_clock(p.expires_at)} without confirmation")
    elif status is ProposalStatus.CANCELLED:
        parts.append(f"cancelled by {mention(p.cancelled_by or '?')}")
    elif p.confirmed_by:
        parts.append(f"confirmed by {mention(p.confirmed_by)}")
        if len(p.approvals) > 1:
            parts.append(f"approved by {', '.join(mention(u) for u in p.approvals)}")
    if p.incident_id is not None:
        parts.append(f"INC-{p.incident_id}")
    parts.append(f"proposal {p.id[:8]}")
    return " · ".join(parts)


def _text(p: Proposal, status: ProposalStatus) -> str:
    """The plain-text version: what notifications and screen readers read."""
    said = f"{_HEADLINE[status]}: {escape(p.description)}."
    if status is ProposalStatus.PROPOSED and p.policy.second_approver:
        so_far = f" Approved so far by {', '.join(mention(u) for u in p.approvals)}." if p.approvals else ""
        said += (
            f" Proposed by {mention(p.proposed_by)}; two different operators must approve by "
            f"{_clock(p.expires_at)}.{so_far}"
        )
    elif status is ProposalStatus.PROPOSED:
        said += f" Proposed by {mention(p.proposed_by)}; an operator must confirm by {_clock(p.expires_at)}."
    elif p.settled is not None:
        said += f" pitcrew stopped while it was running, then asked the provider: {escape(p.settled.evidence)}"
    elif p.failure is not None:
        said += f" {escape(p.failure.call)} failed: {escape(p.failure.reason)}"
    elif p.verification is not None and p.verification.phase is Phase.FAILED:
        said += f" Verification failed: {escape(p.verification.reason)}"
    elif p.answer is not None:
        said += f" {escape(_answer_words(p))}"
    return said


# ---- replies to clicks and commands --------------------------------------------------------------


def click_reply(outcome: Outcome, verb: str) -> dict[str, object]:
    """What the clicker alone is told when a click changed nothing (refused, too late, unknown)."""
    what = f"{outcome.proposal.verb.lower()} {outcome.proposal.service}" if outcome.proposal else "this action"
    reason = escape(outcome.reason)
    if outcome.holder and _USER.match(outcome.holder):
        reason = reason.replace(outcome.holder, mention(outcome.holder))
    if outcome.result is ClickResult.REFUSED:
        text = f":no_entry: You cannot {verb} *{escape(what)}*: {reason}."
    elif outcome.result is ClickResult.APPROVED:
        text = f":ballot_box_with_check: You approved *{escape(what)}*: {reason}."
    else:
        text = f":information_source: Nothing done ({escape(what)}): {reason}."
    return message(text, [section(text)])


def failed_reply(verb: str, err: BaseException) -> dict[str, object]:
    """A click or command that hit an unexpected error: the clicker is told, with where to look."""
    text = (
        f":warning: pitcrew could not {escape(verb)} ({escape(type(err).__name__)}). "
        "The proposal's own message shows where it stands; try again in a moment."
    )
    return message(text, [section(text)])


def action_error(reason: str) -> dict[str, object]:
    text = f":warning: Nothing was proposed: {escape(reason)}"
    return message(text, [section(text)])


def proposal_moved(p: Proposal) -> dict[str, object]:
    """Told privately to the asker when the proposal could not be posted where it was asked for."""
    text = (f":envelope: pitcrew is not a member of this channel, so the proposal to {escape(p.description)} "
            "is in your direct messages with @pitcrew, where an operator you show it to can confirm it. "
            "`/invite @pitcrew` here to have proposals posted in this channel.")
    return message(text, [section(text)])


def verification_alert(p: Proposal, said: str) -> dict[str, object]:
    """Posted in the proposal's thread when verification fails, where the responders are."""
    text = f":rotating_light: {escape(p.service)}: {escape(said)}"
    if p.confirmed_by:
        text += f" (after {escape(p.verb.lower())} confirmed by {mention(p.confirmed_by)})"
    blocks = [section(text)]
    if p.can_propose_again:
        blocks.append(actions(button(PROPOSE_AGAIN, "Propose again", p.id), block_id=f"alert.{p.id}"))
    return message(text, blocks)


def rollback_usage(err: RollbackUsage, known: Mapping[str, object]) -> dict[str, object]:
    names = ", ".join(f"`{escape(n)}`" for n in sorted(known)) or "none (pitcrew.yml lists no services)"
    lines = [escape(err.problem)] if err.problem else []
    lines += [escape(err.usage), f"Services: {names}"]
    text = "\n".join(lines)
    return message(text, [section(text)])


def deployment_list(listing: DeploymentList) -> dict[str, object]:
    """`/rollback <service> list`: a section per deployment, a "Roll back to this" button on each candidate."""
    title = f"Deployments of {listing.service} ({listing.provider}), newest first"
    blocks: list[Block] = [header(title)]
    for d in listing.deployments:
        accessory = None
        if d.id in listing.candidates:
            accessory = button(ROLLBACK_TO, "Roll back to this", f"{listing.service} {d.id}")
        elif d.id == listing.redeployable:  # proposes; the card shows what it would build
            accessory = button(REDEPLOY_CURRENT, "Redeploy this", listing.service)
        line = _deployment_line(d, listing.as_of, with_url=True)
        if d.id in listing.passed_over:
            line += f"\n:warning: not the default target: {escape(listing.passed_over[d.id])}"
        blocks.append(section(line, accessory=accessory))
    if not listing.deployments:
        blocks.append(section("No deployments found."))
    if listing.rollback_target:
        hint = (
            f"`/rollback {escape(listing.service)}` would roll back to `{escape(short_id(listing.rollback_target))}`;"
            f" `/rollback {escape(listing.service)} &lt;deployment-id&gt;` picks another."
        )
    else:
        hint = "There is no earlier successful deployment to roll back to."
    if listing.redeployable:
        hint += (
            f" Or redeploy what serves now (`{escape(short_id(listing.redeployable))}`): a new production build "
            "of it, with the variables as they are now."
        )
    blocks.append(context(hint))
    lines = [title] + [
        f"{d.id} {d.status} {_commit(d)}".rstrip()
        + (f" (passed over: {listing.passed_over[d.id]})" if d.id in listing.passed_over else "")
        for d in listing.deployments
    ]
    return message(escape("\n".join(lines)), blocks)


# ---- health-card buttons ------------------------------------------------------------------------


def health_actions(service: ServiceHealth) -> list[Block]:
    """Buttons under a service that is down on the `/health` card: they propose, never act.

    None when the provider they would go through could not be reached by the probe: a line says
    so instead, so nobody confirms a restart that can only fail.
    """
    if service.verdict is not Verdict.DOWN:
        return []
    name = service.service
    buttons = {
        "railway": [
            button(HEALTH_RESTART, f"Restart {name}", name),
            button(HEALTH_ROLLBACK, f"Roll back {name}", name),
        ],
        "vercel": [
            button(HEALTH_REDEPLOY, f"Redeploy {name}", name),  # a new production build of what serves
            button(HEALTH_ROLLBACK, f"Roll back {name}", name),
        ],
        "postgres": [button(HEALTH_TERMINATE_IDLE, "End idle sessions", name)],
    }.get(service.provider, [])
    if not buttons:
        return []
    unreached = service.unreached
    if unreached is not None:
        return [context(escape(f"{unreached}: no actions offered."))]
    return [actions(*buttons, block_id=f"health.actions.{name}")]


# ---- words --------------------------------------------------------------------------------------


def mention(user: str) -> str:
    return f"<@{user}>" if _USER.match(user) else escape(user)


def _deployment_line(d: DeploymentView | None, now: datetime, *, with_url: bool = False) -> str:
    if d is None:
        return "none"
    parts = [f"`{escape(short_id(d.id))}` *{escape(d.status)}*"]
    if d.is_current:
        parts.append("current")
    commit = _commit(d)
    if commit:
        parts.append(escape(commit))
    if d.author:
        parts.append(escape(d.author))
    if d.created_at:
        parts.append(f"{_ago(d.created_at, now)} ago")
    line = " · ".join(parts)
    if with_url and len(d.id) != len(short_id(d.id)):
        line += f"\nid `{escape(d.id)}`"
    return line


def _deployment_words(d: DeploymentView) -> str:
    commit = _commit(d)
    return escape(f"{short_id(d.id)} ({commit})" if commit else short_id(d.id))


def _commit(d: DeploymentView) -> str:
    sha = d.commit_hash[:7] if d.commit_hash else ""
    first = d.commit_message.strip().splitlines()[0][:80] if d.commit_message and d.commit_message.strip() else ""
    return " ".join(part for part in (sha, f"“{first}”" if first else "") if part)


def _ago(then: datetime, now: datetime) -> str:
    return _duration(max((now - then).total_seconds(), 0))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _clock(moment: datetime) -> str:
    """A time Slack shows in each reader's own zone; the fallback (and the console) read UTC."""
    fallback = moment.astimezone(UTC).strftime("%H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{time}}|{fallback}>"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
