"""`/health` judges a Railway service's metrics (CPU, memory, OOM restarts, disk, 5xx, p95) against the
thresholds of pitcrew.yml, through the real app and the sandbox Railway over HTTP; a metrics outage
degrades that line only; a Vercel service shows its deployment's age and says what it cannot show."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.sandbox.slack import FakeSlack, SlackMessage
from tests.fixtures import STRANGER, Sandbox, running_pitcrew


async def health_card(pitcrew, slack: FakeSlack, text: str) -> SlackMessage:  # type: ignore[no-untyped-def]
    before = len(slack.calls_to("response_url"))
    await pitcrew.command("/health", text, user=STRANGER)
    calls = await slack.wait_for(lambda c: c.method == "response_url", count=before + 1)
    return next(m for m in reversed(slack.messages) if m.text == calls[-1].args["text"])


def section_of(card: SlackMessage, service: str) -> str:
    return next(b["text"]["text"] for b in card.blocks if b.get("block_id") == f"health.{service}")


async def card_for(db_url, fake_slack, sandbox: Sandbox, text: str = "api", **catalog_extra):  # type: ignore[no-untyped-def]
    catalog = sandbox.catalog(**catalog_extra)
    async with running_pitcrew(db_url, catalog, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        return await health_card(pitcrew, fake_slack, text)


async def test_a_quiet_service_is_ok_with_its_metrics_shown(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.add_volume("api", "data", mount_path="/data", used_mb=1000, size_mb=5000)
    card = await card_for(db_url, fake_slack, sandbox)
    text = section_of(card, "api")
    assert ":large_green_circle: *api* (railway): ok" in text
    assert "railway metrics: CPU 3% of 8 vCPU · memory 400 MB of 8.0 GB (5%)" in text
    assert "disk /data 20% of 5.0 GB" in text and "5xx 0.0% of 1800 requests in 15 min" in text
    assert "p95 180 ms" in text
    # one request for the deployment and the metrics together
    assert [c.operation for c in sandbox.railway.calls].count("LatestDeploymentWithMetrics") == 1
    assert "LatestDeployment" not in [c.operation for c in sandbox.railway.calls]


@pytest.mark.parametrize(
    ("levels", "said"),
    [
        ({"cpu": 6.0}, "CPU 75% of 8 vCPU, over 70%"),
        ({"memory_gb": 7.2}, "memory 7.2 GB of 8.0 GB (90%), over 85%"),
        ({"error_ratio": 0.05}, "5xx 5.0% of 1800 requests in 15 min, over 1%"),
        ({"p95_ms": 2500}, "p95 2500 ms, over 2000 ms"),
    ],
)
async def test_over_a_threshold_is_degraded(db_url, fake_slack, sandbox: Sandbox, levels, said):
    sandbox.world.set_metrics("api", **levels)
    card = await card_for(db_url, fake_slack, sandbox)
    text = section_of(card, "api")
    assert ":large_yellow_circle: *api* (railway): degraded" in text
    assert said in text


async def test_limits_come_from_service_instance_limits_when_metrics_have_none(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_metrics("api", cpu=6.0, cpu_limit=8, memory_limit_gb=2, limits_in_metrics=False)
    text = section_of(await card_for(db_url, fake_slack, sandbox), "api")
    assert "CPU 75% of 8 vCPU, over 70%" in text and "memory 400 MB of 2.0 GB (20%)" in text


async def test_a_full_volume_is_degraded(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.add_volume("api", "data", mount_path="/data", used_mb=4600, size_mb=5000)
    text = section_of(await card_for(db_url, fake_slack, sandbox), "api")
    assert "degraded" in text and "disk /data 92% of 5.0 GB, over 85%" in text


async def test_an_oom_restart_is_down(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.oom("api", at=sandbox.clock() - timedelta(minutes=5))
    card = await card_for(db_url, fake_slack, sandbox)
    text = section_of(card, "api")
    assert ":red_circle: *api* (railway): down" in text
    assert "1 OOM restart in 15 min (memory hit the limit)" in text


async def test_memory_that_climbed_towards_the_limit_before_a_crash_is_said(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_metrics("api", memory_gb=0.4, memory_limit_gb=1.0)
    now = sandbox.clock()
    sandbox.world.memory_climb("api", since=now - timedelta(minutes=40), until=now - timedelta(minutes=2),
                               peak_gb=0.92)
    text = section_of(await card_for(db_url, fake_slack, sandbox), "api")
    assert ":large_green_circle: *api* (railway): ok" in text  # judged on the latest sample: back to 40%
    assert "memory 400 MB of 1.0 GB (40%); peak 9" in text and "OOM" not in text


async def test_thresholds_from_pitcrew_yml_service_keys_over_top_level(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_metrics("api", cpu=6.0, p95_ms=2500)
    catalog = sandbox.catalog().model_dump(exclude_none=True)
    catalog["thresholds"] = {"cpu_percent": 80, "p95_ms": 1000}
    catalog["services"]["api"]["thresholds"] = {"p95_ms": 3000}
    from app.catalog import Catalog

    parsed = Catalog.model_validate(catalog)
    async with running_pitcrew(db_url, parsed, fake_slack, clock=sandbox.clock, **sandbox.settings()) as pitcrew:
        text = section_of(await health_card(pitcrew, fake_slack, "api"), "api")
    assert ": ok" in text.splitlines()[0]
    assert "CPU 75% of 8 vCPU ·" in text and "p95 2500 ms" in text and "over" not in text


async def test_a_metrics_outage_degrades_that_line_only(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.fail_field("httpMetricsGroupedByStatus", "metrics backend unavailable")
    sandbox.world.crash("api")
    card = await card_for(db_url, fake_slack, sandbox)
    text = section_of(card, "api")
    assert "railway metrics: metrics unavailable: metrics backend unavailable" in text
    assert "railway deployment: latest deployment" in text  # the rest of the card is there
    assert "CRASHED" in text  # the deployment was asked again alone when the metrics part failed
    # the actions of a crashed service are still offered: the metrics outage is not the provider's
    assert any(
        e["action_id"] == "health.propose_restart"
        for b in card.blocks if b.get("type") == "actions" for e in b["elements"]
    )


async def test_metrics_outage_alone_leaves_the_service_degraded_not_down(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.fail_field("httpMetricsGroupedByStatus", "metrics backend unavailable")
    text = section_of(await card_for(db_url, fake_slack, sandbox), "api")
    assert ":large_yellow_circle: *api* (railway): degraded" in text


async def test_vercel_shows_the_deployment_age_and_says_error_counts_are_not_exposed(
    db_url, fake_slack, sandbox: Sandbox
):
    text = section_of(await card_for(db_url, fake_slack, sandbox, "web"), "web")
    assert "vercel activity: latest production deployment" in text and " old" in text
    assert "error counts: not exposed by Vercel's API on this team's plan" in text
