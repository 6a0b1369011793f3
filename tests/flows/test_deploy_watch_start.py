"""Which deploy webhooks start a post-deploy watch (app/flows/deploy_watch_start.py `from_alert`), read from
bodies as Railway and Vercel send them and parsed by pitcrew's own parsers."""

from __future__ import annotations

import json
from typing import Any

import yaml

from app.catalog import Catalog, parse_catalog
from app.core import webhooks
from app.flows.deploy_watch_start import DeployStart, deploy_alert_key, from_alert
from app.sandbox.railway import bodies
from app.sandbox.railway.sample import sample_world
from tests.e2e.incident_support import railway_legacy_body, vercel_body

WORLD = sample_world()
API = WORLD.ref("api")


def catalog(**api: Any) -> Catalog:
    services = {
        "api": {"provider": "railway", "railway": API.model_dump(), **api},
        "web": {"provider": "vercel", "vercel": {"project_id": "prj_1"}},
    }
    return parse_catalog(yaml.safe_dump({"slack": {"alerts_channel": "C0ALERTS", "operators": ["U0OPS1"]},
                                         "services": services}))


def railway(event: str = "deployed", **resource: Any) -> Any:
    world = sample_world()
    world.add_webhook("http://127.0.0.1:9/unused")
    deployment = world.add_deployment("api", status={"deployed": "SUCCESS", "failed": "FAILED"}.get(event, "SUCCESS"),
                                      commit_message="Ship it")
    body = bodies.deployment_webhook(world, world.webhook_outbox[-1])
    body["type"] = f"Deployment.{event}"
    body["resource"].update(resource)
    [alert] = webhooks.parse("railway", json.dumps(body).encode(), "application/json")
    return alert, deployment


def test_a_railway_deploy_in_the_services_environment_starts_a_watch_keyed_like_its_alerts():
    alert, deployment = railway()
    assert from_alert(catalog(), alert) == DeployStart(
        "api", deployment.id, "Railway's webhook", "railway", f"{API.service_id}:{API.environment_id}"
    )
    assert deploy_alert_key(catalog().services["api"]) == ("railway", alert.fingerprint)


def test_another_environment_a_failure_or_an_unknown_service_starts_nothing():
    pr_env = {"environment": {"id": "env-pr-42", "name": "api-pr-42", "isEphemeral": True}}
    assert from_alert(catalog(), railway(**pr_env)[0]) is None
    assert from_alert(catalog(), railway("failed")[0]) is None  # firing: an incident, not a watch
    other = {"service": {"id": "svc-other", "name": "api"}}  # same name, another service: ids decide
    assert from_alert(catalog(), railway(**other)[0]) is None


def test_the_legacy_railway_format_starts_one_too():
    body = railway_legacy_body("SUCCESS")
    body["environment"]["id"], body["deployment"]["id"] = API.environment_id, "dep-legacy"
    body["service"] = {"id": API.service_id, "name": "api"}
    [alert] = webhooks.parse("railway", json.dumps(body).encode(), "application/json")
    started = from_alert(catalog(), alert)
    assert started is not None and (started.service, started.deployment_id) == ("api", "dep-legacy")


def test_only_a_vercel_production_deploy_starts_a_watch():
    def alert(target: str | None, kind: str = "deployment.succeeded") -> Any:
        body = vercel_body(kind)
        body["payload"]["target"] = target
        [parsed] = webhooks.parse("vercel", json.dumps(body).encode(), "application/json")
        return parsed

    started = from_alert(catalog(), alert("production"))
    assert started == DeployStart("web", "dpl_1", "Vercel's webhook", "vercel", "prj_1:production")
    assert from_alert(catalog(), alert(None)) is None  # a preview
    assert from_alert(catalog(), alert("production", "deployment.error")) is None
