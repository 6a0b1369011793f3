"""Thresholds → verdicts on plain values (app/core/metrics.py), and the `thresholds:` keys of pitcrew.yml:
refused at start with their key path and reason, a service's keys winning over the top level's."""

from __future__ import annotations

import pytest

from app.catalog import CatalogError, parse_catalog
from app.core.health import Verdict
from app.core.metrics import DefaultThresholds, MetricsObservation, VolumeUse, judge_metrics, oom_restarts

BASE = """
slack: {alerts_channel: C0ALERTS}
services:
  api:
    provider: railway
    railway: {project_id: p, environment_id: e, service_id: s}
"""


def steady(value: float, n: int = 15) -> tuple[tuple[int, float], ...]:
    return tuple((60 * i, value) for i in range(n))


def test_the_seeds_defaults_judge_a_quiet_service_ok() -> None:
    obs = MetricsObservation(
        cpu=steady(1), cpu_limit=steady(8), memory_gb=steady(1), memory_limit_gb=steady(8),
        requests_by_status={200: 1000, 500: 5}, p95_ms=steady(300), volumes=(VolumeUse("/data", 100, 1000),),
    )
    result = judge_metrics(obs, DefaultThresholds())
    assert result.verdict is Verdict.OK
    assert result.evidence == (
        "CPU 12% of 8 vCPU", "memory 1.0 GB of 8.0 GB (12%)", "disk /data 10% of 1.0 GB",
        "5xx 0.5% of 1005 requests in 15 min", "p95 300 ms",
    )


def test_an_oom_is_the_peak_at_the_limit_then_a_fall() -> None:
    series = ((0, 1.0), (60, 2.0), (120, 0.2), (180, 1.5), (240, 1.99), (300, 0.1))
    assert oom_restarts(series, 2.0) == 2
    assert oom_restarts(((0, 1.9), (60, 0.1)), 2.0) == 0  # under the limit: a deploy, not a kill
    judged = judge_metrics(MetricsObservation(memory_gb=series, memory_limit_gb=steady(2.0)), DefaultThresholds())
    assert judged.verdict is Verdict.DOWN


def test_a_peak_past_the_threshold_is_said_but_the_latest_sample_is_judged() -> None:
    climbed = ((0, 0.5), (60, 0.7), (120, 0.92), (180, 0.4))  # climbed to 92% of 1 GB, then the process died
    judged = judge_metrics(MetricsObservation(memory_gb=climbed, memory_limit_gb=steady(1.0)), DefaultThresholds())
    assert judged.verdict is Verdict.OK
    assert judged.evidence[0] == "memory 400 MB of 1.0 GB (40%); peak 920 MB (92%) in 15 min"
    below = judge_metrics(MetricsObservation(memory_gb=climbed[:2], memory_limit_gb=steady(1.0)), DefaultThresholds())
    assert below.evidence[0] == "memory 700 MB of 1.0 GB (70%)"


def test_no_traffic_is_said_not_judged() -> None:
    result = judge_metrics(MetricsObservation(), DefaultThresholds())
    assert result.verdict is Verdict.OK and result.evidence == ("no HTTP requests in 15 min",)


def test_service_thresholds_win_key_by_key_over_the_top_level() -> None:
    catalog = parse_catalog(
        BASE.replace("    railway:", "    thresholds: {p95_ms: 3000}\n    railway:")
        + "thresholds: {cpu_percent: 50, p95_ms: 1000}\n"
    )
    resolved = catalog.thresholds_for(catalog.service("api"))
    got = (resolved.cpu_percent, resolved.p95_ms, resolved.memory_percent, resolved.error_ratio)
    assert got == (50, 3000, 85, 0.01)


@pytest.mark.parametrize(
    ("yaml_tail", "problem"),
    [
        ("thresholds: {cpu_percent: 170}\n", "thresholds.cpu_percent: Input should be less than or equal to 100"),
        ("thresholds: {error_ratio: 5}\n", "thresholds.error_ratio: Input should be less than 1"),
        ("thresholds: {p95_ms: fast}\n", "thresholds.p95_ms: Input should be a valid number"),
        ("thresholds: {latency: 3}\n", "thresholds.latency: unknown key"),
    ],
)
def test_thresholds_that_do_not_parse_are_refused_at_start_with_their_key_path(yaml_tail: str, problem: str) -> None:
    with pytest.raises(CatalogError) as refused:
        parse_catalog(BASE + yaml_tail)
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_a_services_thresholds_are_refused_under_its_own_path() -> None:
    with pytest.raises(CatalogError) as refused:
        parse_catalog(BASE.replace("    railway:", "    thresholds: {disk_percent: 0}\n    railway:"))
    assert refused.value.problems[0].startswith("services.api.thresholds.disk_percent: Input should be greater than 0")
