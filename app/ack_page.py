"""`GET /ack/<token>`: the ack link of a webhook page, opened from a phone without Slack.

A valid link acknowledges the incident as the person it paged and answers a small HTML page; a used
or expired one answers 410 and changes nothing; an unknown one 404. Link previewers (Slack's
unfurler, chat apps) fetch URLs before anyone taps them: a HEAD, or a GET whose User-Agent names a
known previewer, gets the page without using the link (docs/security.md says why GET acknowledges).
"""

from __future__ import annotations

import logging
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from app.deps import Deps
from app.flows.ack_links import acknowledge_by_link
from app.slack.incident_jobs import notifier_for

log = logging.getLogger("pitcrew.ack")
PREVIEWERS = ("slackbot", "facebookexternalhit", "twitterbot", "discordbot", "telegrambot", "whatsapp",
              "linkedinbot", "skypeuripreview", "embedly", "iframely", "googlebot", "bingbot")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
TOKEN_MAX = 100


def _page(status: int, heading: str, text: str) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(heading)}</title><style>body{{font:1.1rem system-ui,sans-serif;margin:2rem auto;"
        "max-width:32rem;padding:0 1rem}h1{font-size:1.4rem}</style></head>"
        f"<body><h1>{escape(heading)}</h1><p>{escape(text)}</p></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def ack_routes(deps: Deps) -> list[Route]:
    async def ack(request: Request) -> Response:
        token = request.path_params["token"]
        agent = request.headers.get("user-agent", "").lower()
        if request.method == "HEAD" or any(bot in agent for bot in PREVIEWERS):
            return _page(200, "Acknowledge from your phone", "Open this link on your phone to acknowledge.")
        if not token or len(token) > TOKEN_MAX:
            return _page(404, "Unknown link", "This acknowledge link is not known to pitcrew.")
        try:
            outcome = await acknowledge_by_link(deps, notifier_for(deps), token)
        except Exception:  # the database or Slack is away: say so, never a traceback
            log.exception("ack link could not be processed")
            return _page(503, "Try again", "pitcrew could not record this right now; open the link again in a moment.")
        if outcome.status == "unknown":
            return _page(404, "Unknown link", "This acknowledge link is not known to pitcrew.")
        if outcome.status in ("used", "expired"):
            why = "was used already" if outcome.status == "used" else "has expired (links last one hour)"
            return _page(410, "Link no longer valid",
                         f"This acknowledge link {why}; nothing was changed. Acknowledge in Slack instead.")
        view = outcome.view
        assert view is not None
        if outcome.status == "acknowledged":
            return _page(200, f"{view.ref} acknowledged", f"You are on it: {view.title}. The thread in Slack says so.")
        if outcome.status == "already":
            who = view.acknowledged_by or "someone"
            return _page(200, f"{view.ref} was acknowledged", f"{view.title}: already acknowledged by {who}.")
        return _page(200, f"{view.ref} is resolved", f"{view.title}: resolved already; nothing to acknowledge.")

    return [Route("/ack/{token}", ack, methods=["GET"])]
