"""The yardstick for pitcrew's ack: a Bolt app whose `/health` listener does nothing but `await ack()`.

Everything else is pitcrew's own way of serving, so that bench_ack.py compares only what pitcrew
adds: the same AsyncApp options (signing secret, a bot token and SLACK_API_URL so the same
single-workspace authorization runs, process_before_response=False), the same Starlette mount
through AsyncSlackRequestHandler at `/slack/events`, and uvicorn with the options `pitcrew serve`
passes.

    SLACK_SIGNING_SECRET=... SLACK_BOT_TOKEN=... SLACK_API_URL=http://127.0.0.1:PORT/api/ \\
        python bench/bare_bolt_app.py --port 3001
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.web_limits import uvicorn_limits


def build_bare_app(*, signing_secret: str, token: str, api_url: str) -> Starlette:
    """Starlette serving a Bolt app that acks `/health` and does nothing else."""
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    bolt = AsyncApp(
        client=AsyncWebClient(token=token, base_url=base_url, timeout=15),
        signing_secret=signing_secret,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    @bolt.command("/health")
    async def on_health(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", slack_events, methods=["POST"])])


def main() -> int:
    parser = argparse.ArgumentParser(description="a Bolt app that only acks /health")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    web = build_bare_app(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token=os.environ["SLACK_BOT_TOKEN"],
        api_url=os.environ["SLACK_API_URL"],
    )
    # The options app/cli.py's `pitcrew serve` gives uvicorn (limits included), so only the app differs.
    uvicorn.run(
        web,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        **uvicorn_limits(),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
