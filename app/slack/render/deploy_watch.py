"""A post-deploy watch's one message in the alerts channel, posted at its start and edited after each look.

`👀 deploy 3f2a1b9c of api: 7 of 15 min, healthy, 0 new errors, p95 310 ms` while it watches; then
`✅ ... watched 15 min: healthy, ...`, `🔴 ... regressed after 2 min: ... — INC-12`, or the newer deploy
that superseded it. The first line is the message's `text` too (notifications and screen readers read
only that); the context line names the deploy and the baseline it is compared with. Commit messages
and authors come from the provider: escaped like everything else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.deploy_watch import ENDED, HEALTHY, REGRESSED, SUPERSEDED, WatchView, progress, short_deployment, span
from app.slack.render.common import context, escape, message, section, truncate


def headline(view: WatchView, *, now: datetime) -> str:
    """The message's first line, in plain text (not escaped)."""
    name = f"deploy {view.short} of {view.service}"
    last = view.last
    if view.status == HEALTHY:
        return f"✅ {name}: watched {span(view.minutes)}: {last.summary() if last else 'healthy'}"
    if view.status == REGRESSED:
        after = f" after {span(last.minutes)}" if last else ""
        where = f" — incident {view.incident_ref}" if view.incident_ref else ""
        return f"🔴 {name} regressed{after}: {view.outcome or 'worse than the deployment before'}{where}"
    if view.status == SUPERSEDED:
        newer = short_deployment(view.superseded_by) if view.superseded_by else "a newer one"
        watched = f" after {span(last.minutes)}" if last else ""
        return f"⏭️ {name}: watch ended{watched}, superseded by deploy {newer}"
    if view.status == ENDED:
        return f"⏹️ {name}: {view.outcome or 'watch ended'}"
    elapsed = max(0.0, (now - view.started_at).total_seconds() / 60)
    seen = last.summary() if last else "first look in a moment"
    return f"👀 {name}: {progress(elapsed, view.minutes)}, {seen}"


def watch_message(view: WatchView, *, now: datetime) -> dict[str, Any]:
    text = headline(view, now=now)
    about = [f"started by {view.cause}"]
    deploy = view.deploy.describe()
    if deploy:
        about.insert(0, deploy)
    lines = [f"*{escape(truncate(text, 2500))}*"]
    last = view.last
    if last is not None and view.status != HEALTHY:
        lines.extend(f"• {escape(truncate(p, 300))}" for p in last.problems[:3])
    notes = [*view.baseline.notes, *(last.notes if last else ())]
    grey = [escape(" · ".join(about)), f"before the deploy: {escape(view.baseline.describe())}"]
    if notes:
        grey.append(escape(truncate("not measured: " + "; ".join(dict.fromkeys(notes)), 600)))
    if view.status == REGRESSED and view.incident_ref:
        grey.append(f"a rollback to the deployment before is proposed in {view.incident_ref}'s thread")
    return message(text, [section("\n".join(lines)), context(*grey)])
