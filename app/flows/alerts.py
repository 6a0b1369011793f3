"""A monitoring tool's webhook, from raw bytes to incidents: authenticate, keep, read, open or join.

The edge (app/webhooks.py) hands over the body it read and the headers that prove who sent it,
and turns the errors raised here into HTTP statuses. Everything here is quick and local: the body
is written with the others arriving at the same moment (app/flows/alert_batches.py), and the
Slack work an alert causes (the root message, its edits, notes in the thread) is scheduled as jobs
in the same transaction, so an alert storm never waits on Slack and nothing is lost if Slack is
slow or the instance restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.catalog import Catalog
from app.core import webhooks
from app.core.alert_masking import mask_alert, mask_body
from app.core.alerts import Alert, WebhookBodyError, apply_severity_mapping, resolve_service
from app.core.incidents import Policy
from app.core.signatures import bearer_token, verify_sentry, verify_shared_secret, verify_vercel
from app.deps import Deps
from app.flows.alert_batches import AlertOutcome, AlertWriter, Arrival, audit
from app.flows.incident_policy import policy_of
from app.flows.known_secrets import known_masker
from app.store import alerts as alert_store
from app.store import webhook_replays
from app.store.db import transaction

log = logging.getLogger("pitcrew.alerts")

MAX_BODY_BYTES = 1024 * 1024
# How long a signed body is remembered: a copy sent again within it is ignored. Sentry's signature
# covers the body alone, so nothing else bounds how long a captured request stays valid.
REPLAY_WINDOW = timedelta(days=7)


class WebhookUnauthorized(Exception):
    """The request does not prove it comes from the source; `reason` says what is missing or wrong."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class WebhookTooLarge(Exception):
    def __init__(self, limit: int = MAX_BODY_BYTES) -> None:
        self.limit = limit
        super().__init__(f"the body is larger than {limit // 1024} KiB; pitcrew accepts webhook bodies up to 1 MiB")


class WebhookDuplicate(Exception):
    """A signed body received before, within REPLAY_WINDOW: a replay (or a retry of a delivery that
    was answered), not acted on again. The edge answers 2xx so that the sender does not retry."""


class WebhookNotProcessed(Exception):
    """The body was stored (with the error) but acting on it failed; it is kept for someone to look at."""


@dataclass(frozen=True)
class WebhookCredentials:
    """What a request carries to prove its sender; the edge copies these from headers and the query."""

    authorization: str | None = None
    token: str | None = None
    sentry_signature: str | None = None
    vercel_signature: str | None = None


@dataclass(frozen=True)
class WebhookReceipt:
    source: str
    outcomes: tuple[AlertOutcome, ...]

    @property
    def has_due_work(self) -> bool:
        """Whether something was scheduled to happen at once (a new root message, a note in a thread)."""
        return any(o.effect in ("opened", "reopened", "recovered") for o in self.outcomes)

    def as_json(self) -> dict[str, object]:
        return {
            "stored": True,
            "alerts": [
                {"fingerprint": o.fingerprint, "status": o.status, "effect": o.effect, "incident": o.incident}
                for o in self.outcomes
            ],
        }


def authenticate(deps: Deps, source: str, body: bytes, credentials: WebhookCredentials) -> None:
    """Sentry and Vercel by their HMAC signature when their secret is set; everything else by its shared
    secret: `WEBHOOK_SECRET_<SOURCE>` when set, else `WEBHOOK_SECRET`.

    With neither set, such sources are refused: accepting anyone's alerts would let anyone open
    incidents and page the on-call engineer. The `Authorization: Bearer` header is read before
    `?token=`: a query string lands in access logs and vendors' screens, a header does not, and a
    relay that appends its own `?token=` must not override the header. The reason raised is for the
    log, never for the sender (it names the configuration).
    """
    settings = deps.settings
    if source == "sentry" and settings.SENTRY_CLIENT_SECRET:
        if not verify_sentry(body, credentials.sentry_signature, settings.SENTRY_CLIENT_SECRET.get_secret_value()):
            raise WebhookUnauthorized(
                "the Sentry-Hook-Signature header is missing or does not match SENTRY_CLIENT_SECRET"
            )
        return
    if source == "vercel" and settings.VERCEL_WEBHOOK_SECRET:
        if not verify_vercel(body, credentials.vercel_signature, settings.VERCEL_WEBHOOK_SECRET.get_secret_value()):
            raise WebhookUnauthorized(
                "the x-vercel-signature header is missing or does not match VERCEL_WEBHOOK_SECRET"
            )
        return
    secret, variable = settings.webhook_secret(source)
    if not secret:
        raise WebhookUnauthorized(
            f"WEBHOOK_SECRET is not set (nor WEBHOOK_SECRET_{source.upper()}), so pitcrew refuses webhooks: "
            "set it and send `Authorization: Bearer <secret>` (or add `?token=<secret>` to the webhook URL)"
        )
    provided = bearer_token(credentials.authorization) or credentials.token
    if not provided:
        raise WebhookUnauthorized(f"no secret given: send `Authorization: Bearer <{variable}>` or `?token=`")
    if not verify_shared_secret(provided, secret):
        raise WebhookUnauthorized(f"the secret given does not match {variable}")


def authenticated_by_body(deps: Deps, source: str) -> bool:
    """Whether proving this source's sender needs its body (an HMAC signature over it). Every other
    source proves itself by a token in its URL or headers, which the edge checks before reading
    the body, so that an unauthenticated sender never costs pitcrew a body's worth of memory."""
    settings = deps.settings
    return (source == "sentry" and bool(settings.SENTRY_CLIENT_SECRET)) or (
        source == "vercel" and bool(settings.VERCEL_WEBHOOK_SECRET)
    )


def known_source(source: str) -> str:
    """The source's canonical name; UnknownWebhookSource (a WebhookBodyError) when pitcrew has no parser."""
    name = source.strip().lower()
    if name not in webhooks.PARSERS:
        raise webhooks.UnknownWebhookSource(source)
    return name


async def receive_webhook(
    deps: Deps,
    source: str,
    body: bytes,
    content_type: str | None,
    credentials: WebhookCredentials,
    *,
    writer: AlertWriter | None = None,
) -> WebhookReceipt:
    """Authenticate, store, read and act on one webhook body.

    `writer` groups the bodies arriving together into one transaction (the web edge keeps one per
    instance); without it the body is written in a transaction of its own. Raises
    UnknownWebhookSource, WebhookTooLarge, WebhookUnauthorized, WebhookBodyError (after keeping the
    unreadable body with the reason), or WebhookNotProcessed (the body is kept with what failed).
    """
    name = known_source(source)
    if len(body) > MAX_BODY_BYTES:
        raise WebhookTooLarge()
    authenticate(deps, name, body, credentials)
    now = deps.clock()
    digest = await _first_receipt(deps, name, body, credentials, now)
    try:
        return await _store_and_act(deps, name, body, content_type, now, writer)
    except (WebhookBodyError, WebhookNotProcessed):
        raise  # the body was kept: a copy sent again is still a repeat
    except Exception:
        if digest is not None:  # nothing was kept: the sender's retry must be acted on
            await _forget(deps, digest)
        raise


async def _store_and_act(
    deps: Deps, name: str, body: bytes, content_type: str | None, now: datetime, writer: AlertWriter | None
) -> WebhookReceipt:
    masker = known_masker(deps)
    kept = mask_body(body, masker)  # what is stored for inspection holds no secret either
    try:
        alerts = webhooks.parse(name, body, content_type)
    except WebhookBodyError as err:
        await _keep_unreadable(deps, name, kept, now, masker.mask(err.reason))
        raise
    alerts = [a for a in alerts if _alerting_target(deps.catalog, a)]
    policy = policy_of(deps)
    health_urls = _health_urls(deps.catalog)
    arrival = Arrival(name, kept, [_normalise(policy, health_urls, mask_alert(a, masker)) for a in alerts], now)
    try:
        outcomes = await (writer or AlertWriter(deps)).write(arrival)
    except Exception as err:
        # Whatever went wrong while acting on it, the body itself is kept, with what went wrong
        # (if the database is what went wrong, this raises too, and the sender is told to retry).
        log.exception("webhook %s: acting on the body failed", name)
        problem = masker.mask(f"stored but not processed: {type(err).__name__}: {err}"[:500])
        await _keep_unreadable(deps, name, kept, now, problem)
        raise WebhookNotProcessed(type(err).__name__) from err
    return WebhookReceipt(source=name, outcomes=tuple(outcomes))


def _signature(deps: Deps, source: str, credentials: WebhookCredentials) -> str | None:
    """The HMAC signature that authenticated the body, for the sources verified by one."""
    if source == "sentry" and deps.settings.SENTRY_CLIENT_SECRET:
        return credentials.sentry_signature
    if source == "vercel" and deps.settings.VERCEL_WEBHOOK_SECRET:
        return credentials.vercel_signature
    return None


async def _first_receipt(
    deps: Deps, source: str, body: bytes, credentials: WebhookCredentials, now: datetime
) -> str | None:
    """Record a signed body's digest; raise WebhookDuplicate (audited) when it was received before.

    Returns the digest recorded, or None for a source not verified by a signature (a shared
    secret proves the sender, not the delivery, and such tools send identical bodies on purpose).
    """
    signature = _signature(deps, source, credentials)
    if not signature:
        return None
    digest = webhook_replays.digest_of(signature, body)
    async with transaction(deps.sessions) as session:
        await webhook_replays.purge_before(session, now - REPLAY_WINDOW)
        if await webhook_replays.first_receipt(session, source=source, digest=digest, now=now):
            return digest
        params = {"bytes": len(body), "digest": digest[:16]}
        await audit(deps, session, source, now, "refused: duplicate of a body already received", params)
    log.warning("webhook %s: a signed body received before was sent again; ignored", source)
    raise WebhookDuplicate(source)


async def _forget(deps: Deps, digest: str) -> None:
    try:
        async with transaction(deps.sessions) as session:
            await webhook_replays.forget(session, digest)
    except Exception as err:  # the database is away: the retry will be taken for a repeat, say so
        log.warning("could not forget a webhook body that was not stored (%s); a retry of it will be ignored", err)


_HEALTH_URLS: dict[int, tuple[Catalog, dict[str, list[str]]]] = {}


def _health_urls(catalog: Catalog) -> dict[str, list[str]]:
    """Each service's health URLs (an alert's link is matched against them), built once per catalog."""
    cached = _HEALTH_URLS.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        if len(_HEALTH_URLS) > 64:
            _HEALTH_URLS.clear()
        cached = _HEALTH_URLS[id(catalog)] = (
            catalog,
            {name: [check.url for check in svc.health] for name, svc in catalog.services.items()},
        )
    return cached[1]


def _alerting_target(catalog: Catalog, alert: Alert) -> bool:
    """A Vercel deployment event counts only for the targets its service alerts on (production by
    default, `vercel.alert_targets`): every push builds a preview, and a failed preview is no
    incident. The body is still kept, like any other event that is no alert."""
    if alert.source != "vercel":
        return True
    project = alert.labels.get("project_id")
    targets: Sequence[str] = ("production",)
    for name, service in catalog.services.items():
        ref = service.vercel
        if ref is not None and (project == ref.project_id or alert.service in (name, ref.project_id)):
            targets = ref.alert_targets
            break
    return alert.labels.get("target") in targets


def _normalise(policy: Policy, health_urls: Mapping[str, Sequence[str]], alert: Alert) -> Alert:
    """The team's severity words, the catalog's name for the service."""
    alert = apply_severity_mapping(alert, policy.severity_map)
    service = resolve_service(alert, health_urls)
    if service and service != alert.service:
        alert = replace(alert, service=service)
    return alert


async def _keep_unreadable(deps: Deps, source: str, body: bytes, now: datetime, reason: str) -> None:
    async with transaction(deps.sessions) as session:
        await alert_store.store_body(session, source=source, body=body, received_at=now, error=reason)
        await audit(deps, session, source, now, f"rejected: {reason}", {"bytes": len(body)})


__all__ = [
    "MAX_BODY_BYTES",
    "AlertOutcome",
    "AlertWriter",
    "WebhookCredentials",
    "WebhookDuplicate",
    "WebhookNotProcessed",
    "WebhookReceipt",
    "WebhookTooLarge",
    "WebhookUnauthorized",
    "authenticate",
    "known_source",
    "receive_webhook",
]
