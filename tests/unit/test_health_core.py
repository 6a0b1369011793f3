"""The verdicts of `/health`: what counts as ok, degraded and down, and the evidence each one shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.catalog import HealthCheck, PostgresRef
from app.core.health import (
    CheckResult,
    HealthReport,
    ServiceHealth,
    Verdict,
    failed_probe,
    json_mismatches,
    judge_deployment,
    judge_http,
    judge_postgres,
    worst,
)
from app.core.observations import Deployment, DeploymentObservation, HttpObservation, PostgresObservation

URL = "https://api.example.com/health"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def check(**overrides: Any) -> HealthCheck:
    return HealthCheck(url=URL, **overrides)


def seen(
    status: int = 200, latency_ms: float = 50.0, json_body: Any = None, *, body_is_json: bool | None = None,
    cert_days_left: int | None = None, method: str = "GET",
) -> HttpObservation:
    return HttpObservation(
        url=URL, method=method, status=status, latency_ms=latency_ms, json_body=json_body,
        body_is_json=body_is_json if body_is_json is not None else json_body is not None,
        cert_days_left=cert_days_left,
    )


def text(result: CheckResult) -> str:
    return " | ".join(result.evidence)


# ---- Verdict -------------------------------------------------------------------------------------


def test_verdicts_order_by_badness_not_alphabet():
    assert Verdict.OK < Verdict.DEGRADED < Verdict.DOWN
    assert Verdict.DOWN > Verdict.OK
    assert Verdict.DOWN >= Verdict.DOWN and Verdict.OK <= Verdict.OK
    ranked = sorted([Verdict.DOWN, Verdict.OK, Verdict.DEGRADED])
    assert ranked == [Verdict.OK, Verdict.DEGRADED, Verdict.DOWN]


def test_verdict_reads_as_its_word():
    assert str(Verdict.DEGRADED) == "degraded"
    assert f"{Verdict.DOWN}" == "down"


def test_comparing_a_verdict_with_a_string_is_refused():
    with pytest.raises(TypeError):
        _ = Verdict.OK < "down"  # type: ignore[operator]


def test_worst_of_nothing_is_ok():
    assert worst([]) is Verdict.OK


def test_worst_picks_the_worst():
    assert worst([Verdict.OK, Verdict.DOWN, Verdict.DEGRADED]) is Verdict.DOWN
    assert worst([Verdict.OK, Verdict.DEGRADED]) is Verdict.DEGRADED


# ---- judge_http ----------------------------------------------------------------------------------


def test_expected_status_and_prompt_answer_is_ok_with_its_evidence():
    result = judge_http(seen(200, 123.4), check())
    assert result.verdict is Verdict.OK
    assert result.evidence == ("HTTP 200", "123 ms")
    assert result.latency_ms == 123.4
    assert result.name == f"GET {URL}"


def test_status_mismatch_is_down_and_says_both():
    result = judge_http(seen(503), check())
    assert result.verdict is Verdict.DOWN
    assert "HTTP 503, expected 200" in result.evidence


def test_expected_status_other_than_200():
    assert judge_http(seen(204), check(expect_status=204)).verdict is Verdict.OK
    assert judge_http(seen(200), check(expect_status=204)).verdict is Verdict.DOWN


def test_redirect_is_down_when_200_expected():
    assert judge_http(seen(301), check()).verdict is Verdict.DOWN


def test_json_subset_matches_with_extra_keys():
    body = {"status": "ok", "version": "1.2.3", "checks": {"db": "ok", "cache": "ok"}}
    result = judge_http(seen(json_body=body), check(expect_json={"status": "ok", "checks": {"db": "ok"}}))
    assert result.verdict is Verdict.OK


def test_json_value_mismatch_is_down_naming_the_key_expected_and_got():
    result = judge_http(seen(json_body={"status": "degraded"}), check(expect_json={"status": "ok"}))
    assert result.verdict is Verdict.DOWN
    assert 'status: expected "ok", got "degraded"' in result.evidence


def test_nested_json_mismatch_names_the_key_path():
    body = {"status": "ok", "checks": {"db": "down"}}
    result = judge_http(seen(json_body=body), check(expect_json={"checks": {"db": "ok"}}))
    assert result.verdict is Verdict.DOWN
    assert 'checks.db: expected "ok", got "down"' in result.evidence


def test_missing_json_key_is_down():
    result = judge_http(seen(json_body={"checks": {}}), check(expect_json={"checks": {"db": "ok"}}))
    assert result.verdict is Verdict.DOWN
    assert 'checks.db: missing, expected "ok"' in result.evidence


def test_object_expected_where_a_value_came():
    result = judge_http(seen(json_body={"checks": "fine"}), check(expect_json={"checks": {"db": "ok"}}))
    assert 'checks: expected an object, got "fine"' in result.evidence


def test_json_body_that_is_a_list_is_not_the_expected_object():
    result = judge_http(seen(json_body=[1, 2]), check(expect_json={"status": "ok"}))
    assert result.verdict is Verdict.DOWN
    assert "body: expected an object, got [1, 2]" in result.evidence


def test_body_not_json_when_json_expected_is_down():
    result = judge_http(seen(body_is_json=False), check(expect_json={"status": "ok"}))
    assert result.verdict is Verdict.DOWN
    assert 'body is not JSON, expected {"status": "ok"}' in result.evidence


def test_json_true_is_not_one():
    assert json_mismatches({"ok": True}, {"ok": 1}) == ["ok: expected true, got 1"]
    assert json_mismatches({"count": 1}, {"count": True}) == ["count: expected 1, got true"]


def test_json_numbers_compare_by_value():
    assert json_mismatches({"version": 2}, {"version": 2.0}) == []


def test_json_lists_compare_whole():
    assert json_mismatches({"regions": ["eu", "us"]}, {"regions": ["eu", "us"]}) == []
    [problem] = json_mismatches({"regions": ["eu", "us"]}, {"regions": ["eu"]})
    assert problem == 'regions: expected ["eu", "us"], got ["eu"]'


def test_json_null_expected():
    assert json_mismatches({"error": None}, {"error": None}) == []
    assert json_mismatches({"error": None}, {"error": "boom"}) == ['error: expected null, got "boom"']


def test_long_got_values_are_shortened():
    [problem] = json_mismatches({"status": "ok"}, {"status": "x" * 500})
    assert len(problem) < 120 and problem.endswith("…")


def test_many_json_mismatches_are_capped_with_a_count():
    expected = {f"k{i}": "ok" for i in range(6)}
    result = judge_http(seen(json_body={}), check(expect_json=expected))
    assert result.verdict is Verdict.DOWN
    assert sum("missing" in e for e in result.evidence) == 3
    assert "and 3 more JSON mismatches" in result.evidence


def test_status_and_json_problems_are_both_reported():
    result = judge_http(seen(503, json_body={"status": "down"}), check(expect_json={"status": "ok"}))
    assert "HTTP 503, expected 200" in result.evidence
    assert 'status: expected "ok", got "down"' in result.evidence


def test_head_does_not_check_json_but_says_so():
    result = judge_http(seen(method="HEAD"), check(method="HEAD", expect_json={"status": "ok"}))
    assert result.verdict is Verdict.OK
    assert any("HEAD" in e for e in result.evidence)
    assert result.name == f"HEAD {URL}"


def test_slow_answer_is_degraded_saying_the_threshold():
    result = judge_http(seen(latency_ms=2500), check())
    assert result.verdict is Verdict.DEGRADED
    assert "2500 ms, over 2000 ms" in result.evidence


def test_latency_threshold_is_per_check():
    assert judge_http(seen(latency_ms=600), check(degraded_latency_ms=500)).verdict is Verdict.DEGRADED
    assert judge_http(seen(latency_ms=500), check(degraded_latency_ms=500)).verdict is Verdict.OK


def test_certificate_days_left_shown_when_plenty():
    result = judge_http(seen(cert_days_left=85), check())
    assert result.verdict is Verdict.OK
    assert "TLS certificate 85 days left" in result.evidence


def test_certificate_under_threshold_is_degraded():
    result = judge_http(seen(cert_days_left=12), check())
    assert result.verdict is Verdict.DEGRADED
    assert "TLS certificate expires in 12 days (under 30)" in result.evidence


def test_certificate_threshold_is_per_check():
    assert judge_http(seen(cert_days_left=12), check(cert_min_days=7)).verdict is Verdict.OK
    assert judge_http(seen(cert_days_left=30), check()).verdict is Verdict.OK
    assert judge_http(seen(cert_days_left=29), check()).verdict is Verdict.DEGRADED


def test_certificate_expiring_today_is_degraded_and_expired_is_down():
    assert judge_http(seen(cert_days_left=0), check()).verdict is Verdict.DEGRADED
    expired = judge_http(seen(cert_days_left=-3), check())
    assert expired.verdict is Verdict.DOWN
    assert "TLS certificate expired 3 days ago" in expired.evidence


def test_one_day_is_singular():
    result = judge_http(seen(cert_days_left=1), check())
    assert "TLS certificate expires in 1 day (under 30)" in result.evidence


def test_down_beats_degraded_in_one_check():
    result = judge_http(seen(500, latency_ms=9000, cert_days_left=3), check())
    assert result.verdict is Verdict.DOWN
    assert len(result.evidence) == 3


# ---- judge_deployment ----------------------------------------------------------------------------


def deployed(
    status: str | None, provider: str = "railway", instances: tuple[str, ...] = (), **fields: Any
) -> DeploymentObservation:
    deployment_id = fields.pop("id", "d1a2b3c4")
    deployment = None if status is None else Deployment(id=deployment_id, status=status, **fields)
    return DeploymentObservation(provider=provider, deployment=deployment, instance_states=instances)


def test_railway_success_with_running_instances_is_ok():
    result = judge_deployment(deployed("SUCCESS", instances=("RUNNING", "RUNNING")))
    assert result.verdict is Verdict.OK
    assert result.name == "railway deployment"
    assert "latest deployment d1a2b3c4 SUCCESS" in result.evidence
    assert "instances: 2 RUNNING" in result.evidence


def test_railway_success_without_instance_information_is_ok():
    assert judge_deployment(deployed("SUCCESS")).verdict is Verdict.OK


@pytest.mark.parametrize("status", ["CRASHED", "FAILED", "REMOVED", "REMOVING"])
def test_railway_broken_statuses_are_down(status: str):
    result = judge_deployment(deployed(status))
    assert result.verdict is Verdict.DOWN
    assert f"latest deployment d1a2b3c4 {status}" in result.evidence


def test_crashed_is_down_even_if_an_instance_reports_running():
    assert judge_deployment(deployed("CRASHED", instances=("RUNNING",))).verdict is Verdict.DOWN


def test_failed_build_while_the_previous_deployment_serves_is_degraded():
    result = judge_deployment(deployed("FAILED", instances=("RUNNING",)))
    assert result.verdict is Verdict.DEGRADED
    assert "the previous deployment still serves" in result.evidence


@pytest.mark.parametrize("status", ["BUILDING", "DEPLOYING", "INITIALIZING", "QUEUED", "WAITING"])
def test_deployment_in_progress_with_a_previous_running_is_degraded(status: str):
    result = judge_deployment(deployed(status, instances=("RUNNING",)))
    assert result.verdict is Verdict.DEGRADED
    assert "the previous deployment still serves" in result.evidence


def test_deployment_in_progress_without_instance_information_is_degraded():
    result = judge_deployment(deployed("BUILDING"))
    assert result.verdict is Verdict.DEGRADED
    assert "a new deployment is in progress" in result.evidence


def test_deployment_in_progress_with_nothing_running_is_down():
    result = judge_deployment(deployed("DEPLOYING", instances=("CRASHED",)))
    assert result.verdict is Verdict.DOWN
    assert "no instance running (1 CRASHED)" in result.evidence


def test_success_with_a_crashed_instance_among_running_is_degraded():
    result = judge_deployment(deployed("SUCCESS", instances=("RUNNING", "CRASHED")))
    assert result.verdict is Verdict.DEGRADED
    assert "instances: 1 RUNNING, 1 CRASHED" in result.evidence


def test_success_with_no_instance_running_is_down():
    result = judge_deployment(deployed("SUCCESS", instances=("EXITED", "CRASHED")))
    assert result.verdict is Verdict.DOWN


def test_success_with_instances_restarting_is_degraded_not_down():
    assert judge_deployment(deployed("SUCCESS", instances=("RESTARTING",))).verdict is Verdict.DEGRADED


def test_sleeping_railway_service_is_ok():
    result = judge_deployment(deployed("SLEEPING"))
    assert result.verdict is Verdict.OK
    assert any("sleeping" in e for e in result.evidence)


def test_unknown_status_is_degraded_and_named():
    result = judge_deployment(deployed("PONDERING"))
    assert result.verdict is Verdict.DEGRADED
    assert "unknown deployment status PONDERING" in result.evidence


def test_status_is_judged_case_insensitively():
    assert judge_deployment(deployed("success")).verdict is Verdict.OK


def test_no_deployment_is_degraded():
    result = judge_deployment(deployed(None, provider="vercel"))
    assert result.verdict is Verdict.DEGRADED
    assert result.evidence == ("no deployment found",)
    assert result.name == "vercel deployment"


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        ("READY", Verdict.OK),
        ("ERROR", Verdict.DOWN),
        ("BUILDING", Verdict.DEGRADED),
        ("QUEUED", Verdict.DEGRADED),
        ("INITIALIZING", Verdict.DEGRADED),
        ("CANCELED", Verdict.DEGRADED),
    ],
)
def test_vercel_states(status: str, verdict: Verdict):
    assert judge_deployment(deployed(status, provider="vercel", id="dpl_89qyp")).verdict is verdict


def test_commit_is_shown_short_with_its_first_line():
    result = judge_deployment(
        deployed("SUCCESS", commit_hash="a1b2c3d4e5f6a7b8", commit_message="Fix login\n\nLong body")
    )
    assert 'commit a1b2c3d "Fix login"' in result.evidence


def test_deployment_ids_are_shown_whole_for_rollback_to_take():
    result = judge_deployment(deployed("SUCCESS", id="8107edff-4b8e-4a4f-9c2a-1b2c3d4e5f60"))
    assert "latest deployment 8107edff-4b8e-4a4f-9c2a-1b2c3d4e5f60 SUCCESS" in result.evidence


# ---- judge_postgres ------------------------------------------------------------------------------


def pg(**overrides: Any) -> PostgresObservation:
    values: dict[str, Any] = dict(
        latency_ms=3.2, connections=12, max_connections=100, long_queries=0, longest_query_s=0.0,
        idle_in_transaction=0,
    )
    values.update(overrides)
    return PostgresObservation(**values)


REF = PostgresRef(dsn_env="APP_DATABASE_URL")


def test_quiet_database_is_ok_with_its_numbers():
    result = judge_postgres(pg(), REF)
    assert result.verdict is Verdict.OK
    assert result.evidence[:2] == ("SELECT 1 in 3 ms", "connections 12/100 (12%)")
    assert "no query running over 5 s" in result.evidence
    assert result.latency_ms == 3.2


def test_connections_over_80_percent_are_degraded():
    result = judge_postgres(pg(connections=81), REF)
    assert result.verdict is Verdict.DEGRADED
    assert "connections 81/100 (81%), over 80%" in result.evidence


def test_connections_at_exactly_80_percent_are_ok():
    assert judge_postgres(pg(connections=80), REF).verdict is Verdict.OK


def test_connection_threshold_is_per_database():
    ref = PostgresRef(dsn_env="X", max_connections_pct=50)
    assert judge_postgres(pg(connections=60), ref).verdict is Verdict.DEGRADED


def test_no_connection_left_is_down():
    result = judge_postgres(pg(connections=100), REF)
    assert result.verdict is Verdict.DOWN
    assert "connections 100/100 (100%), none left" in result.evidence


def test_unknown_max_connections_is_not_a_division_by_zero():
    result = judge_postgres(pg(max_connections=0), REF)
    assert result.verdict is Verdict.OK
    assert "connections 12 (max_connections unknown)" in result.evidence


def test_long_queries_are_degraded_with_the_longest():
    result = judge_postgres(pg(long_queries=2, longest_query_s=42.25), REF)
    assert result.verdict is Verdict.DEGRADED
    assert "2 queries running over 5 s (longest 42.2 s)" in result.evidence


def test_one_long_query_is_singular():
    result = judge_postgres(pg(long_queries=1, longest_query_s=6), PostgresRef(dsn_env="X", long_query_s=3))
    assert "1 query running over 3 s (longest 6.0 s)" in result.evidence


def test_sessions_idle_in_transaction_are_degraded_by_default():
    result = judge_postgres(pg(idle_in_transaction=1), REF)
    assert result.verdict is Verdict.DEGRADED
    assert "1 session idle in transaction (over 0)" in result.evidence


def test_idle_in_transaction_allowance_is_per_database():
    ref = PostgresRef(dsn_env="X", max_idle_in_transaction=3)
    result = judge_postgres(pg(idle_in_transaction=3), ref)
    assert result.verdict is Verdict.OK
    assert "3 sessions idle in transaction" in result.evidence
    assert judge_postgres(pg(idle_in_transaction=4), ref).verdict is Verdict.DEGRADED


# ---- failed probes and the report ----------------------------------------------------------------


def test_failed_probe_is_down_saying_which_call_and_why():
    result = failed_probe("railway deployment", "railway latest deployment", "HTTP 401: Not Authorized")
    assert result.verdict is Verdict.DOWN
    assert result.evidence == ("railway latest deployment failed: HTTP 401: Not Authorized",)
    assert result.latency_ms is None


def ok(name: str = "x") -> CheckResult:
    return CheckResult(name, Verdict.OK, ("fine",))


def service(name: str, *verdicts: Verdict, provider: str = "http") -> ServiceHealth:
    return ServiceHealth.of(name, provider, [CheckResult(f"c{i}", v, ()) for i, v in enumerate(verdicts)])


def test_service_verdict_is_its_worst_check():
    assert service("api", Verdict.OK, Verdict.DEGRADED).verdict is Verdict.DEGRADED
    assert service("api", Verdict.DOWN, Verdict.OK).verdict is Verdict.DOWN
    assert service("api").verdict is Verdict.OK


def test_report_overall_counts_and_failing():
    report = HealthReport(
        (
            service("api", Verdict.DOWN, provider="railway"),
            service("web", Verdict.OK, provider="vercel"),
            service("db", Verdict.DEGRADED, provider="postgres"),
            service("docs", Verdict.OK),
        ),
        NOW,
        412.0,
    )
    assert report.overall is Verdict.DOWN
    assert report.counts == {Verdict.OK: 2, Verdict.DEGRADED: 1, Verdict.DOWN: 1}
    assert report.failing == ("api",)
    assert report.degraded == ("db",)
    found = report.service("api")
    assert found is not None and found.provider == "railway"
    assert report.service("nope") is None


def test_empty_report_is_ok():
    report = HealthReport((), NOW, 0.0)
    assert report.overall is Verdict.OK
    assert report.failing == ()
    assert report.counts == {Verdict.OK: 0, Verdict.DEGRADED: 0, Verdict.DOWN: 0}


def test_a_redirect_check_requests_the_http_form_and_keeps_only_the_headers_it_reads():
    redirect = HealthCheck(url="https://api.example.com/login?next=/", https_redirect=True)
    assert redirect.probe_url == "http://api.example.com/login?next=/"
    assert redirect.expected_statuses == (301, 308)
    assert redirect.wanted_headers == ("location",)
    cors = HealthCheck(url="https://api.example.com/", expect_headers=["Strict-Transport-Security"],
                       origin="https://app.example.com/", expect_status=[200, 204])
    assert cors.probe_url == "https://api.example.com/" and cors.origin == "https://app.example.com"
    assert cors.wanted_headers == ("strict-transport-security", "access-control-allow-origin")
    assert cors.expected_statuses == (200, 204)


def test_a_redirect_to_http_or_a_cors_wildcard():
    check_redirect = HealthCheck(url="http://x.example/", https_redirect=True)
    to_http = HttpObservation(url=URL, method="GET", status=301, latency_ms=5, headers={"location": "http://x.example/"})
    result = judge_http(to_http, check_redirect)
    assert result.verdict is Verdict.DOWN and "redirects to http://x.example/, expected https://" in result.evidence
    wildcard = HttpObservation(url=URL, method="GET", status=200, latency_ms=5,
                               headers={"access-control-allow-origin": "*"})
    assert judge_http(wildcard, HealthCheck(url=URL, origin="https://a.example")).verdict is Verdict.OK
