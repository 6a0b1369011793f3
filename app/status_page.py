"""`GET /status` (HTML, readable on a phone) and `GET /status.json`: what stakeholders may see.

Open incidents and those of the last 7 days: title, severity, state, times and the public
updates. Nothing internal (services, alert details, who did what) ever reaches these pages, and
everything shown is HTML-escaped, so a title with `<script>` stays text.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from app.core.incident_reports import STATE_EMOJI
from app.core.incidents import format_datetime
from app.deps import Deps
from app.flows.incidents import STATUS_DAYS, PublicIncident, public_status

CACHE = {"Cache-Control": "public, max-age=15"}
_STATE_CLASS = {"investigating": "red", "identified": "orange", "monitoring": "yellow", "resolved": "green"}


def status_routes(deps: Deps) -> list[Route]:
    async def status_json(request: Request) -> Response:
        incidents = await public_status(deps)
        return JSONResponse({"incidents": [i.as_json() for i in incidents]}, headers=CACHE)

    async def status_html(request: Request) -> Response:
        incidents = await public_status(deps)
        return HTMLResponse(status_page(incidents, now=deps.clock()), headers=CACHE)

    return [
        Route("/status.json", status_json, methods=["GET"]),
        Route("/status", status_html, methods=["GET"]),
    ]


def status_page(incidents: list[PublicIncident], *, now: datetime) -> str:
    open_ = [i for i in incidents if i.state != "resolved"]
    past = [i for i in incidents if i.state == "resolved"]
    if open_:
        banner = f'<p class="banner red">{len(open_)} ongoing incident{"s" if len(open_) != 1 else ""}</p>'
    else:
        banner = '<p class="banner green">No ongoing incidents</p>'
    sections = [banner]
    if open_:
        sections.append("<h2>Ongoing</h2>" + "".join(_card(i) for i in open_))
    sections.append(f"<h2>Past {STATUS_DAYS} days</h2>")
    sections.append("".join(_card(i) for i in past) if past else "<p>No incidents.</p>")
    return _PAGE.format(body="\n".join(sections), updated=escape(format_datetime(now)))


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
<title>Status</title>
<style>
body {{ font-family: system-ui, -apple-system, sans-serif; margin: 0 auto; max-width: 42rem; padding: 1rem;
       line-height: 1.45; color: #1d1c1d; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 1.5rem; }} h3 {{ font-size: 1rem; margin: 0; }}
.banner {{ padding: .75rem 1rem; border-radius: .5rem; font-weight: 600; }}
.banner.green {{ background: #e3f6e8; }} .banner.red {{ background: #fde4e4; }}
article {{ border-left: .3rem solid #999; padding: .5rem .75rem; margin: .75rem 0; background: #f7f7f7;
          border-radius: .25rem; overflow-wrap: anywhere; }}
article.red {{ border-color: #d93025; }} article.orange {{ border-color: #f29900; }}
article.yellow {{ border-color: #f4c20d; }} article.green {{ border-color: #188038; }}
.meta {{ color: #555; font-size: .875rem; margin: .2rem 0; }}
ul {{ padding-left: 1.1rem; margin: .4rem 0 0; }} li {{ margin: .25rem 0; }}
time {{ color: #555; font-size: .875rem; margin-right: .3rem; }}
footer {{ color: #777; font-size: .8rem; margin-top: 2rem; }}
</style>
</head>
<body>
<h1>Service status</h1>
{body}
<footer>Updated {updated}. Also as JSON: <a href="status.json">status.json</a>.</footer>
</body>
</html>
"""
