"""The post-deploy watch's pure rules (app/core/deploy_watch.py), its message (app/slack/render/deploy_watch.py)
and its `watch_minutes` key in pitcrew.yml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from app.catalog import Catalog, CatalogError, parse_catalog
from app.core.deploy_watch import (
    Baseline,
    DeployInfo,
    Look,
    WatchView,
    down_looks,
    progress,
    regressions,
    short_deployment,
    span,
    watch_key,
)
from app.core.health import Verdict
from app.core.metrics import DefaultThresholds
from app.slack.render.deploy_watch import headline, watch_message

LIMITS = DefaultThresholds()  # 5xx over 1%, p95 over 2 s
QUIET = Baseline(errors=0, error_minutes=15, error_ratio=0.001, requests=5000, p95_ms=300)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def look(**seen) -> Look:
    return Look(**{"minutes": 5.0, "verdict": Verdict.OK, "new_errors": 0, "error_ratio": 0.0, "p95_ms": 310.0, **seen})


def test_a_quiet_look_is_no_regression():
    assert regressions(QUIET, look(), LIMITS) == ()


def test_a_crashed_or_failed_deployment_regresses_at_once():
    assert regressions(QUIET, look(deployment_status="CRASHED", verdict=Verdict.DOWN, down_looks=1), LIMITS) == (
        "the deployment is CRASHED",
    )
    assert regressions(QUIET, look(deployment_status="failed"), LIMITS) == ("the deployment is FAILED",)


def test_health_down_regresses_at_the_second_look_in_a_row():
    problems = ("https://api/health: HTTP 503",)
    first = look(verdict=Verdict.DOWN, down_looks=down_looks(None, Verdict.DOWN), problems=problems)
    assert first.down_looks == 1 and regressions(QUIET, first, LIMITS) == ()
    second = look(verdict=Verdict.DOWN, down_looks=down_looks(first, Verdict.DOWN), problems=first.problems)
    assert regressions(QUIET, second, LIMITS) == ("health down at 2 looks in a row: https://api/health: HTTP 503",)
    assert down_looks(second, Verdict.DEGRADED) == 0  # degraded breaks the run


@pytest.mark.parametrize(
    ("baseline_errors", "new_errors", "minutes", "regressed"),
    [
        (0, 4, 5.0, False),  # under the five new error lines the rule asks for
        (0, 5, 5.0, True),  # no errors before: five are a regression
        (30, 10, 5.0, False),  # 2/min before, 2/min now: no worse
        (30, 30, 5.0, True),  # 2/min before, 6/min now: three times
        (30, 29, 5.0, False),  # 5.8/min: just under three times
        (0, 6, 0.2, True),  # a first look seconds after the deploy counts as a minute
    ],
)
def test_error_lines_regress_at_three_times_the_baseline_rate_and_five_at_least(
    baseline_errors, new_errors, minutes, regressed
):
    baseline = Baseline(errors=baseline_errors, error_minutes=15)
    said = regressions(baseline, look(new_errors=new_errors, minutes=minutes), LIMITS)
    assert bool(said) is regressed
    if regressed:
        assert said[0].startswith(f"{new_errors} new error lines")


def test_an_unknown_baseline_or_unknown_errors_make_no_error_regression():
    assert regressions(Baseline(errors=None), look(new_errors=500), LIMITS) == ()
    assert regressions(QUIET, look(new_errors=None), LIMITS) == ()


def test_a_threshold_crossed_now_but_not_before_regresses_one_crossed_before_does_not():
    [said] = regressions(QUIET, look(error_ratio=0.05), LIMITS)
    assert said == "5xx 5.0% of requests, over 1% (before the deploy: 0.1%)"
    [said] = regressions(QUIET, look(p95_ms=2600.0), LIMITS)
    assert said == "p95 2600 ms, over 2000 ms (before the deploy: 300 ms)"
    slow_before = Baseline(errors=0, error_ratio=0.03, p95_ms=2500)
    assert regressions(slow_before, look(error_ratio=0.05, p95_ms=2600.0), LIMITS) == ()
    assert len(regressions(Baseline(), look(error_ratio=0.05, p95_ms=2600.0), LIMITS)) == 2  # unknown before


def test_cpu_or_memory_over_its_limit_is_a_regression_only_when_the_hour_before_stayed_under():
    quiet = Baseline(errors=0, cpu_percent=35.0, memory_percent=60.0)
    [said] = regressions(quiet, look(memory_percent=91.0), LIMITS)
    assert said == "memory 91% of its limit, over 85% (the hour before the deploy: at most 60%)"
    [said] = regressions(quiet, look(cpu_percent=88.0), LIMITS)
    assert said.startswith("CPU 88% of its limit, over 70%")
    busy = Baseline(errors=0, cpu_percent=75.0, memory_percent=90.0)
    assert regressions(busy, look(cpu_percent=88.0, memory_percent=91.0), LIMITS) == ()
    assert look(cpu_percent=31.4, memory_percent=40.0).summary().endswith("CPU 31%, memory 40%")


def test_the_state_round_trips_through_json():
    seen = look(deployment_status="SUCCESS", problems=("x",), down_looks=1, notes=("n",), cpu_percent=3.0)
    assert Look.from_dict(seen.to_dict()) == seen
    assert Baseline.from_dict(QUIET.to_dict()) == QUIET
    assert Baseline.from_dict(Baseline(cpu_percent=5.0, memory_percent=9.0).to_dict()).memory_percent == 9.0
    assert Look.from_dict({}) is None and Baseline.from_dict(None) == Baseline()
    assert DeployInfo.from_dict(DeployInfo("abc1234def", "Fix it\nmore", "Ana").to_dict()).describe() == (
        "abc1234 “Fix it” by Ana"
    )


def test_words():
    assert span(15) == "15 min" and span(2.5) == "2.5 min" and span(0.5) == "30 s"
    assert progress(7.4, 15) == "7 of 15 min" and progress(20 / 60, 0.5) == "20 of 30 s"
    assert short_deployment("3f2a1b9c-4b8e-44fc-b43a-04566e847a2a") == "3f2a1b9c"
    assert short_deployment("dpl_89qyp1cskzkLrVicDaZoDbjyHuDJ") == "dpl_89qyp1cs"
    assert watch_key("api", "d1") == "api:d1" and watch_key("api", "d1", after="p1") == "api:d1:after:p1"
    assert look().summary() == "healthy, 0 new errors, 5xx 0.0%, p95 310 ms"
    assert Look(1.0, Verdict.DOWN).summary() == "down"
    assert QUIET.describe() == (
        "0 error lines in the 15 min before the deploy, 5xx 0.1%, p95 300 ms over the hour before"
    )


def _view(**how) -> WatchView:
    base = {
        "id": 1, "service": "api", "deployment_id": "3f2a1b9c-4b8e-44fc-b43a-04566e847a2a",
        "cause": "Railway's webhook", "status": "watching", "minutes": 15.0, "started_at": NOW - timedelta(minutes=7),
        "deploy": DeployInfo("3f2a1b9aa", "Move <sessions> & cookies", "Lee Dev"), "baseline": QUIET,
        "last": look(minutes=7.0),
    }
    return WatchView(**{**base, **how})


def test_the_message_says_where_the_watch_is():
    said = headline(_view(), now=NOW)
    assert said == "👀 deploy 3f2a1b9c of api: 7 of 15 min, healthy, 0 new errors, 5xx 0.0%, p95 310 ms"
    said = headline(_view(last=None, started_at=NOW), now=NOW)
    assert said == "👀 deploy 3f2a1b9c of api: 0 of 15 min, first look in a moment"
    healthy = headline(_view(status="healthy", last=look(minutes=15.0)), now=NOW)
    assert healthy.startswith("✅ deploy 3f2a1b9c of api: watched 15 min: healthy")
    regressed = headline(_view(status="regressed", outcome="the deployment is CRASHED", incident_ref="INC-4",
                               last=look(minutes=2.0)), now=NOW)
    assert regressed == "🔴 deploy 3f2a1b9c of api regressed after 2 min: the deployment is CRASHED — incident INC-4"
    superseded = headline(_view(status="superseded", superseded_by="9c1d2e3f-0000-4000-8000-000000000000"), now=NOW)
    assert superseded == "⏭️ deploy 3f2a1b9c of api: watch ended after 7 min, superseded by deploy 9c1d2e3f"
    body = watch_message(_view(), now=NOW)
    blocks = str(body["blocks"])
    assert "Move &lt;sessions&gt; &amp; cookies" in blocks and "<sessions>" not in blocks  # escaped
    assert "started by Railway's webhook" in blocks and "before the deploy: 0 error lines" in blocks


def _catalog(api: dict, site: dict | None = None) -> str:
    services = {
        "api": {"provider": "railway", "railway": {"project_id": "p", "environment_id": "e", "service_id": "s"}, **api},
        "site": {"provider": "http", "health": {"url": "https://site.example/health"}, **(site or {})},
    }
    return yaml.safe_dump({"slack": {"alerts_channel": "C0ALERTS", "operators": ["U0OPS1"]}, "services": services})


def test_watch_minutes_defaults_to_15_and_0_turns_it_off():
    catalog = parse_catalog(_catalog({}))
    assert catalog.services["api"].watch_minutes == 15
    assert parse_catalog(_catalog({"watch_minutes": 0})).services["api"].watch_minutes == 0
    assert parse_catalog(_catalog({"watch_minutes": 2.5})).services["api"].watch_minutes == 2.5


@pytest.mark.parametrize("wrong", ["15m", -1, 1441, True, None, [15]])
def test_a_bad_watch_minutes_names_the_key_and_what_is_expected(wrong):
    with pytest.raises(CatalogError) as caught:
        parse_catalog(_catalog({"watch_minutes": wrong}))
    assert f"services.api.watch_minutes: expected minutes from 0 (no watch) to 1440, such as 15; got {wrong!r}" in str(
        caught.value
    )


def test_watch_minutes_on_a_service_without_deploys_is_refused():
    with pytest.raises(CatalogError, match=r"services.site: watch_minutes: pitcrew watches the deploys of railway"):
        parse_catalog(_catalog({}, {"watch_minutes": 10}))


def test_a_catalog_read_back_from_its_dump_is_accepted():
    """model_dump writes every service's default watch_minutes, an http service's too; reading it
    back must not refuse what nobody wrote (test_health_metrics failed on this)."""
    catalog = parse_catalog(_catalog({}))
    again = Catalog.model_validate(catalog.model_dump(exclude_none=True))
    assert again.services["site"].watch_minutes == catalog.services["site"].watch_minutes
