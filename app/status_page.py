"""`GET /status` (HTML, readable on a phone) and `GET /status.json`: what stakeholders may see.

The page's name, its components' states and their last 90 days as a row of daily bars (each
bar's colour its worst incident, its uptime in its title and aria-label), and the public incidents
open or of the last 7 days: title, severity, state, times and the public updates. Nothing internal
(services, alert details, who did what) ever reaches these pages, and everything shown is HTML-escaped, so a title with
`<script>` stays text. A disabled page answers 404; a page that requires a token answers 401
without it, and is not cached by shared caches.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.core.incident_reports import STATE_EMOJI
from app.core.incidents import format_datetime
from app.core.signatures import bearer_token
from app.core.status_history import HISTORY_DAYS, ComponentHistory, DayBar, format_uptime
from app.core.status_page import ComponentStatus
from app.deps import Deps
from app.flows.status_page import STATUS_DAYS, PageClosed, PublicIncident, StatusReport, check_access, public_status

CACHE = {"Cache-Control": "public, max-age=15"}
PRIVATE_CACHE = {"Cache-Control": "private, max-age=15"}
_STATE_CLASS = {"investigating": "red", "identified": "orange", "monitoring": "yellow", "resolved": "green"}
# A day's bar by its worst incident, in the components' colours (SEV3 and SEV4 are both "degraded").
_BAR_CLASS = {"SEV1": "red", "SEV2": "orange", "SEV3": "yellow", "SEV4": "yellow"}
_COMPONENT_WORDS = {
    "operational": ("green", "Operational"),
    "degraded": ("yellow", "Degraded performance"),
    "partial_outage": ("orange", "Partial outage"),
    "major_outage": ("red", "Major outage"),
}


def status_routes(deps: Deps) -> list[Route]:
    def token_of(request: Request) -> str | None:
        return request.query_params.get("token") or bearer_token(request.headers.get("authorization"))

    def headers() -> dict[str, str]:
        return PRIVATE_CACHE if deps.catalog.status_page.require_token else CACHE

    async def status_json(request: Request) -> Response:
        try:
            check_access(deps, token_of(request))
        except PageClosed as closed:
            return JSONResponse({"error": closed.reason}, status_code=closed.status)
        report = await public_status(deps)
        return JSONResponse(report.as_json(), headers=headers())

    async def status_html(request: Request) -> Response:
        token = token_of(request)
        try:
            check_access(deps, token)
        except PageClosed as closed:
            return PlainTextResponse(closed.reason, status_code=closed.status)
        report = await public_status(deps)
        # The link to the JSON carries the token only when it came in the URL (a browser has no header).
        query = "?" + urlencode({"token": token}) if request.query_params.get("token") else ""
        return HTMLResponse(status_page(report, now=deps.clock(), json_query=query), headers=headers())

    return [
        Route("/status.json", status_json, methods=["GET"]),
        Route("/status", status_html, methods=["GET"]),
    ]


def status_page(report: StatusReport, *, now: datetime, json_query: str = "") -> str:
    incidents = report.incidents
    open_ = [i for i in incidents if i.state != "resolved"]
    past = [i for i in incidents if i.state == "resolved"]
    if open_:
        banner = f'<p class="banner red">{len(open_)} ongoing incident{"s" if len(open_) != 1 else ""}</p>'
    else:
        banner = '<p class="banner green">No ongoing incidents</p>'
    sections = [banner]
    sections += [f'<p class="banner maintenance">{escape(w.line)}</p>' for w in report.maintenance]
    if report.components:
        sections.append("<ul class=\"components\">" + "".join(_component(c) for c in report.components) + "</ul>")
    if open_:
        sections.append("<h2>Ongoing</h2>" + "".join(_card(i) for i in open_))
    if report.history:
        sections.append(_history(report.history))
    sections.append(f"<h2>Past {STATUS_DAYS} days</h2>")
    sections.append("".join(_card(i) for i in past) if past else "<p>No incidents.</p>")
    return _PAGE.format(
        name=escape(report.name),
        body="\n".join(sections),
        updated=escape(format_datetime(now)),
        json_href=escape(f"status.json{json_query}"),
    )


def _component(component: ComponentStatus) -> str:
    colour, words = _COMPONENT_WORDS.get(component.status, ("grey", component.status))
    return f'<li class="{colour}"><span>{escape(component.name)}</span> <b>{escape(words)}</b></li>'


def _history(histories: tuple[ComponentHistory, ...]) -> str:
    """Each component's row of daily bars: flex items that share the row's width, so 90 of them fit a
    360 px phone without scrolling; each says its day, uptime and worst incident (title, aria-label)."""
    rows = []
    for history in histories:
        summary = f"{history.name}, past {HISTORY_DAYS} days: {format_uptime(history.uptime)} uptime"
        bars = "".join(_bar(day) for day in history.days)
        rows.append(
            f'<div class="history"><p><span>{escape(history.name)}</span> '
            f'<b>{escape(format_uptime(history.uptime))} uptime</b></p>'
            f'<ol class="bars" aria-label="{escape(summary)}">{bars}</ol>'
            f'<p class="axis"><span>{HISTORY_DAYS} days ago</span><span>Today</span></p></div>'
        )
    return f"<h2>Uptime, past {HISTORY_DAYS} days</h2>" + "".join(rows)


def _bar(day: DayBar) -> str:
    colour = _BAR_CLASS.get(day.worst or "", "ok")
    label = escape(day.label)
    return f'<li class="bar {colour}" title="{label}" aria-label="{label}"></li>'


def _card(incident: PublicIncident) -> str:
    state = incident.state
    times = f"Started {escape(format_datetime(incident.started_at))}"
    if incident.resolved_at:
        times += f" · resolved {escape(format_datetime(incident.resolved_at))}"
    updates = "".join(
        f"<li><time>{escape(format_datetime(u.at))}</time> {escape(u.text)}</li>" for u in reversed(incident.updates)
    )
    return (
        f'<article class="{_STATE_CLASS.get(state, "grey")}">'
        f"<h3>{escape(STATE_EMOJI.get(state, ''))} {escape(incident.title)}</h3>"
        f'<p class="meta">{escape(incident.ref)} · {escape(incident.severity)} · {escape(state)}</p>'
        f'<p class="meta">{times}</p>'
        f"<ul>{updates}</ul></article>"
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>{name}</title>
<style>
body {{ font-family: system-ui, -apple-system, sans-serif; margin: 0 auto; max-width: 42rem; padding: 1rem;
       line-height: 1.45; color: #1d1c1d; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 1.5rem; }} h3 {{ font-size: 1rem; margin: 0; }}
.banner {{ padding: .75rem 1rem; border-radius: .5rem; font-weight: 600; }}
.banner.green {{ background: #e3f6e8; }} .banner.red {{ background: #fde4e4; }}
.banner.maintenance {{ background: #e4eefd; }}
article {{ border-left: .3rem solid #999; padding: .5rem .75rem; margin: .75rem 0; background: #f7f7f7;
          border-radius: .25rem; overflow-wrap: anywhere; }}
article.red {{ border-color: #d93025; }} article.orange {{ border-color: #f29900; }}
article.yellow {{ border-color: #f4c20d; }} article.green {{ border-color: #188038; }}
.meta {{ color: #555; font-size: .875rem; margin: .2rem 0; }}
ul {{ padding-left: 1.1rem; margin: .4rem 0 0; }} li {{ margin: .25rem 0; }}
time {{ color: #555; font-size: .875rem; margin-right: .3rem; }}
.components {{ list-style: none; padding: 0; }}
.components li {{ display: flex; justify-content: space-between; padding: .45rem .75rem; margin: .25rem 0;
                 background: #f7f7f7; border-left: .3rem solid #999; border-radius: .25rem; }}
.components li.green {{ border-color: #188038; }} .components li.yellow {{ border-color: #f4c20d; }}
.components li.orange {{ border-color: #f29900; }} .components li.red {{ border-color: #d93025; }}
.history p {{ display: flex; justify-content: space-between; margin: .9rem 0 0; }}
.history .axis {{ color: #777; font-size: .75rem; margin: .15rem 0 0; }}
.bars {{ display: flex; gap: 1px; list-style: none; padding: 0; margin: .3rem 0 0; height: 2rem; width: 100%; }}
.bars .bar {{ flex: 1 1 0; min-width: 0; margin: 0; border-radius: 1px; background: #188038; }}
.bars .bar.yellow {{ background: #f4c20d; }} .bars .bar.orange {{ background: #f29900; }}
.bars .bar.red {{ background: #d93025; }}
footer {{ color: #777; font-size: .8rem; margin-top: 2rem; }}
</style>
</head>
<body>
<h1>{name}</h1>
{body}
<footer>Updated {updated}. Also as JSON: <a href="{json_href}">status.json</a>.</footer>
</body>
</html>
"""
