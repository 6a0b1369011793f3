"""`POST /drains/vercel` (and GET/HEAD for Vercel's endpoint check): log drain deliveries in, a status out.

Statuses: 200 once stored (with what was kept and skipped); 401 for a missing or wrong signature
(or no VERCEL_DRAIN_SECRET); 400 with the reason for a body that is neither NDJSON nor a JSON array;
413 over `DRAIN_MAX_BODY_BYTES`; 503 when the batch cannot be masked or stored now. Never a 500.

The body limit is larger than the webhooks' 1 MiB: Vercel batches many lines a request and a single
message may reach 256 KB before Vercel truncates it (vercel.com/docs/drains/reference/logs,
`message`: "may be truncated if over 256 KB"); its docs state no maximum batch size, so 16 MiB (a
few dozen maximal messages, tens of thousands of ordinary lines) bounds memory while leaving room.
A drain may gzip its deliveries (`compression: gzip` in the Drains API); such a body is inflated to
the same bound, and its signature is accepted over either form.
"""

from __future__ import annotations

import logging
import zlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.deps import Deps
from app.flows.log_drain import DrainMaskers, DrainRefused, receive_drain
from app.web_limits import BodyRefused, read_body

log = logging.getLogger("pitcrew.drains")

DRAIN_MAX_BODY_BYTES = 16 * 1024 * 1024
VERIFY_HEADER = "x-vercel-verify"
UNAUTHORIZED = "not authorized: no valid x-vercel-signature for this drain"


def drain_routes(deps: Deps) -> list[Route]:
    maskers = DrainMaskers()  # per instance: a cache of each project's masker (app/flows/log_drain.py)

    def verified(response: Response) -> Response:
        """Every answer carries the verification code when one is configured: Vercel checks the
        endpoint by the `x-vercel-verify` header of its answer when the drain is created."""
        code = deps.settings.VERCEL_DRAIN_VERIFY
        if code:
            response.headers[VERIFY_HEADER] = code
        return response

    async def check(request: Request) -> Response:
        return verified(JSONResponse({"ok": True, "drain": "vercel"}))

    async def deliver(request: Request) -> Response:
        secret = deps.settings.VERCEL_DRAIN_SECRET
        if not (secret and secret.get_secret_value()) or not request.headers.get("x-vercel-signature"):
            # Refused from its headers, its body never read (what is unsigned costs no memory).
            log.warning("vercel drain refused (401) before its body: no drain secret set or no signature")
            return verified(BodyRefused(401, UNAUTHORIZED).response())
        try:
            raw = await read_body(request, limit=DRAIN_MAX_BODY_BYTES)
        except BodyRefused as refused:
            return verified(refused.response())
        body, signed = raw, ()
        if request.headers.get("content-encoding", "").lower() == "gzip":
            try:
                body, signed = _inflate(raw), (raw,)
            except InflatedTooLarge:
                return verified(_error(413, f"the inflated body is over {DRAIN_MAX_BODY_BYTES // (1024 * 1024)} MiB"))
            except zlib.error:
                return verified(_error(400, "the body is not valid gzip"))
        try:
            receipt = await receive_drain(
                deps, body, request.headers.get("x-vercel-signature"), maskers, signed_bodies=signed
            )
        except DrainRefused as err:
            if err.status == 401:
                log.warning("vercel drain refused (401): %s", err.reason)
                return verified(_error(401, UNAUTHORIZED))
            if err.status == 503:
                log.warning("vercel drain batch not stored (503): %s", err.reason)
                return verified(_error(503, "could not mask the lines now; nothing was stored"))
            return verified(_error(err.status, err.reason))
        except Exception:  # the database is away: nothing was stored; never a 500
            log.exception("vercel drain batch could not be stored")
            return verified(_error(503, "could not store the lines; nothing was stored"))
        return verified(JSONResponse(receipt.as_json(), status_code=200))

    return [
        Route("/drains/vercel", deliver, methods=["POST"]),
        Route("/drains/vercel", check, methods=["GET", "HEAD"]),
    ]


class InflatedTooLarge(Exception):
    pass


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(raw, DRAIN_MAX_BODY_BYTES + 1)
    if len(out) > DRAIN_MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise InflatedTooLarge()
    return out


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)
