"""`/incident ...`, and the same verbs as `@pitcrew <verb>` inside an incident thread.

Both parse the words into one IncidentCommand, call one incident flow, and render what it
returns. A slash command answers privately (the change itself is posted in the incident's thread
by the flow); a mention answers in the thread, where everyone already sees the change, so it
only adds what was asked for (a timeline, a post-mortem) or what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.catalog import UnknownService
from app.core.incident_args import (
    THREAD_VERBS,
    IncidentCommand,
    IncidentUsage,
    IncidentUsageError,
    parse_incident_command,
    parse_thread_verb,
)
from app.core.incidents import IncidentError, incident_ref, severity_label
from app.core.maintenance import MaintenanceError
from app.core.responders import Place, needs_responder
from app.deps import Deps
from app.flows import correlation, incident_views
from app.flows import incidents as flows
from app.flows import runbooks as runbook_flows
from app.flows.incident_notifier import IncidentNotifier
from app.flows.postmortem import postmortem
from app.slack.commands.incident_report import answer_report
from app.slack.commands.oncall import answer_oncall
from app.slack.commands.quiet import QUIET_VERBS, run_quiet
from app.slack.context import audit_command, deps_of
from app.slack.deferral import deferred
from app.slack.incident_notifier import SlackIncidentNotifier, status_url_of
from app.slack.mention_verbs import Mention, Reply
from app.slack.render import incidents as render
from app.slack.render.common import escape, message, section
from app.slack.render.runbooks import with_progress
from app.slack.responders import refuse_unless_responder


@dataclass(frozen=True)
class Answer:
    """What to show the person who asked: a message, or a form to open; `confirmation` when the
    thread shows the change already (a mention then adds nothing)."""

    outcome: str
    message: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    confirmation: bool = False


def notifier_from(client: Any, deps: Deps) -> SlackIncidentNotifier:
    return SlackIncidentNotifier(client, deps.catalog, status_url=status_url_of(deps.settings.PUBLIC_URL))


def may_open_form(body: dict[str, Any]) -> bool:
    """A declare without a title, or a resolve without a summary, opens a form with the request's
    trigger_id, which Slack honours for 3 s only: such a command cannot wait for a job runner."""
    try:
        parsed = parse_incident_command(str(body.get("text", "")))
    except IncidentUsage:
        return False
    return (parsed.verb == "declare" and parsed.title is None) or (parsed.verb == "resolve" and parsed.text is None)


@deferred(unless=may_open_form)
async def on_incident(ack: Any, command: dict[str, Any], respond: Any, context: Any, client: Any) -> None:
    await ack()
    deps = deps_of(context)
    try:
        parsed = parse_incident_command(command.get("text", ""))
    except IncidentUsage as err:
        await respond(**render.usage(err), response_type="ephemeral")
        await audit_command(context, command, "usage")
        return
    if parsed.verb == "report":
        await audit_command(context, command, await answer_report(deps, client, respond, command, parsed))
        return
    if needs_responder(parsed.verb):  # slash commands run in a channel, never in a thread
        refused = await refuse_unless_responder(
            context, client, user=command.get("user_id", "unknown"), verb=parsed.verb,
            ref=_ref(parsed), place=Place(command.get("channel_id")),
        )
        if refused is not None:
            await respond(**refused.message, response_type="ephemeral")
            await audit_command(context, command, refused.outcome)
            return
    if parsed.verb in ("oncall", "oncall_override"):
        await audit_command(context, command, await answer_oncall(deps, client, respond, command, parsed))
        return
    try:
        answer = await execute(
            deps,
            notifier_from(client, deps),
            parsed,
            user=command.get("user_id", "unknown"),
            channel=command.get("channel_id"),
            can_open_form=True,
        )
    except (IncidentError, UnknownService, MaintenanceError) as err:
        await respond(**render.problem(str(err)), response_type="ephemeral")
        await audit_command(context, command, f"refused: {err}")
        return
    except IncidentUsage as err:  # words that parse but name what does not exist (a service)
        await respond(**render.usage(err), response_type="ephemeral")
        await audit_command(context, command, "usage")
        return
    if answer.form is not None:
        await client.views_open(trigger_id=command.get("trigger_id"), view=answer.form)
    elif answer.message is not None:
        await respond(**answer.message, response_type="ephemeral")
    await audit_command(context, command, answer.outcome)
    deps.job_signal.notify()


async def execute(
    deps: Deps,
    notifier: IncidentNotifier,
    cmd: IncidentCommand,
    *,
    user: str,
    channel: str | None,
    can_open_form: bool,
) -> Answer:
    """One parsed command, done: the flow called, the answer rendered."""
    verb, incident_id = cmd.verb, cmd.incident_id
    if verb in QUIET_VERBS:
        outcome, said, confirmation = await run_quiet(deps, notifier, cmd, user=user)
        return Answer(outcome, said, confirmation=confirmation)
    if verb == "list":
        views = await incident_views.list_open(deps)
        return Answer(f"{len(views)} open", render.incident_list(views))
    if verb == "declare":
        if cmd.title is None:
            if not can_open_form:
                return Answer("usage", render.problem("declare needs a severity and a title: declare SEV2 API slow"))
            services = sorted(deps.catalog.services)
            return Answer("form", form=render.declare_view(services=services, severity=cmd.severity, channel=channel))
        if cmd.service is not None and cmd.service not in deps.catalog.services:
            known = ", ".join(sorted(deps.catalog.services)) or "none"
            raise IncidentUsageError(f"unknown service `{cmd.service[:40]}` (known: {known}); nothing was declared")
        view = await flows.declare(
            deps, notifier, severity=cmd.severity or "", title=cmd.title, by=user, service=cmd.service
        )
        return Answer(f"declared {view.ref}", declared(view), confirmation=True)
    assert incident_id is not None
    if verb == "show":
        card = render.incident_card(await incident_views.load(deps, incident_id))
        return Answer("shown", with_progress(card, await runbook_flows.progress(deps, incident_id)))
    if verb == "timeline":
        report = await incident_views.timeline(deps, incident_id)
        return Answer("timeline", render.timeline_message(report.view, report.entries, report.alerts_received))
    if verb == "postmortem":
        markdown = await postmortem(deps, incident_id)
        return Answer("postmortem", render.postmortem_message(await incident_views.load(deps, incident_id), markdown))
    if verb == "ack":
        result = await flows.acknowledge(deps, notifier, incident_id, by=user)
        if result.acknowledged_now:
            return Answer("acknowledged", render.done(f"Acknowledged {result.view.ref}."), confirmation=True)
        who, when = result.view.acknowledged_by, result.view.acknowledged_at
        said = f"{result.view.ref} was acknowledged already by {render.mention(who)}"
        said += f" at {when:%H:%M} UTC." if when else "."
        return Answer("already acknowledged", message(said, [section(said)]))
    if verb == "update":
        view = await flows.post_update(deps, notifier, incident_id, cmd.text or "", by=user)
        return Answer("updated", render.done(f"Posted the update to {view.ref}."), confirmation=True)
    if verb == "state":
        before = await incident_views.load(deps, incident_id)
        view = await flows.change_state(deps, notifier, incident_id, cmd.state or "", by=user, note=cmd.text)
        if view.state == before.state and cmd.state == before.state:
            return Answer("unchanged", render.done(f"{view.ref} is {view.state} already."))
        return Answer(f"state {view.state}", render.done(f"{view.ref} is now {view.state}."), confirmation=True)
    if verb == "sev":
        before = await incident_views.load(deps, incident_id)
        view = await flows.change_severity(deps, notifier, incident_id, cmd.severity or "", by=user)
        if before.severity == view.severity:
            return Answer("unchanged", render.done(f"{view.ref} is {severity_label(view.severity)} already."))
        return Answer(
            f"severity {view.severity}", render.done(f"{view.ref} is now {view.severity}."), confirmation=True
        )
    if verb == "assign":
        view = await flows.assign_role(deps, notifier, incident_id, cmd.role or "", cmd.user or "", by=user)
        said = f"{render.mention(cmd.user)} is now the {escape(cmd.role or '')} of {view.ref}."
        return Answer(f"assigned {cmd.role}", message(said, [section(said)]), confirmation=True)
    if verb == "keep":
        view = await flows.keep_open(deps, notifier, incident_id, by=user)
        return Answer("kept open", render.done(f"{view.ref} stays open until someone resolves it."), confirmation=True)
    if verb == "visibility":
        view, changed = await flows.set_visibility(deps, notifier, incident_id, cmd.text or "", by=user)
        where = "shown on" if cmd.text == "public" else "kept off"
        said = f"{view.ref} is {where} the status page" + ("." if changed else " already.")
        return Answer(f"visibility {cmd.text}", render.done(said), confirmation=changed)
    if verb == "merge":
        view = await correlation.merge(deps, notifier, incident_id, cmd.other_id or 0, by=user)
        said = f"Merged {incident_ref(cmd.other_id or 0)} into {view.ref}."
        return Answer(f"merged {incident_ref(cmd.other_id or 0)}", render.done(said), confirmation=True)
    if verb == "split":
        result = await correlation.split(deps, notifier, incident_id, cmd.text or "", by=user)
        said = f"Split {', '.join(result.sources)} out of {result.old.ref} into {result.new.ref}."
        return Answer(f"split into {result.new.ref}", render.done(said), confirmation=True)
    if verb == "resolve":
        if cmd.text is None:
            view = await incident_views.load(deps, incident_id)
            if not view.is_open:
                return Answer("resolved already", render.problem(f"{view.ref} is resolved already."))
            if can_open_form:
                return Answer("form", form=render.resolve_view(view))
            ask = (
                f"Resolving {view.ref} needs a summary (it goes to the status page and the post-mortem): "
                "`@pitcrew resolve <what happened and what fixed it>`, or use the Resolve button."
            )
            return Answer("summary asked", message(escape(ask), [section(escape(ask))]))
        view = await flows.resolve(deps, notifier, incident_id, by=user, summary=cmd.text)
        return Answer("resolved", render.done(f"Resolved {view.ref}."), confirmation=True)
    return Answer("usage", render.usage(IncidentUsage()))


def _ref(cmd: IncidentCommand) -> str | None:
    return incident_ref(cmd.incident_id) if cmd.incident_id is not None else None


def declared(view: Any) -> dict[str, Any]:
    where = f" — its thread is in <#{view.channel}>" if view.channel else ""
    text = f"Declared {view.ref} ({escape(view.severity)}): {escape(view.title)}{where}."
    return message(text, [section(text)])


# --- the same verbs as mentions in the thread ------------------------------------------------------


def mention_verb(verb: str) -> Any:
    """The `@pitcrew <verb> ...` handler: the incident is the thread's own."""

    async def handle(mention: Mention, context: Any, reply: Reply) -> str:
        deps = deps_of(context)

        def answer_to(reply: Reply) -> Reply:
            """Split, merge, silence, unsilence refuse privately (the thread is the team's; a typo the typist's)."""
            if verb not in ("split", "merge", "silence", "unsilence"):
                return reply

            async def privately(**said: Any) -> Any:
                return await context.client.chat_postEphemeral(
                    channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **said
                )

            return privately

        view = await incident_views.find_by_thread(deps, mention.channel, mention.thread_ts)
        if view is None:
            await reply(**render.thread_only(verb))
            return "not in an incident thread"
        try:
            parsed = parse_thread_verb(view.id, f"{verb} {mention.args}")
        except IncidentUsage as err:
            await answer_to(reply)(**render.usage(err))
            return "usage"
        if needs_responder(parsed.verb):
            refused = await refuse_unless_responder(
                context, context.client, user=mention.user, verb=parsed.verb, ref=view.ref,
                place=Place(mention.channel, in_incident_thread=True),
            )
            if refused is not None:
                await context.client.chat_postEphemeral(
                    channel=mention.channel, user=mention.user, thread_ts=mention.reply_ts, **refused.message
                )
                return f"{view.ref} {refused.outcome}"
        try:
            answer = await execute(
                deps,
                notifier_from(context.client, deps),
                parsed,
                user=mention.user,
                channel=mention.channel,
                can_open_form=False,
            )
        except (IncidentError, UnknownService, MaintenanceError) as err:
            await answer_to(reply)(**render.problem(str(err)))
            return f"refused: {err}"
        if answer.message is not None and not answer.confirmation:
            await reply(**answer.message)
        deps.job_signal.notify()
        return f"{view.ref} {answer.outcome}"

    return handle


_MENTION_ALIASES = {"acknowledge": "ack", "severity": "sev", "post-mortem": "postmortem"}
INCIDENT_VERBS: dict[str, Any] = {
    **{verb: mention_verb(verb) for verb in THREAD_VERBS if verb != "show"},
    **{alias: mention_verb(verb) for alias, verb in _MENTION_ALIASES.items()},
}
