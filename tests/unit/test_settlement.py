"""Settling an action left running: done, not done or unknown, from what the provider shows now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.observations import Deployment
from app.core.settlement import (
    SETTLE_AFTER,
    Settled,
    Settlement,
    is_stuck,
    railway_redeploy,
    railway_rollback,
    shared_variable_set,
    variable_set,
    vercel_production,
)

STARTED = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def d(id: str, *, minutes: float = 0, target: str | None = None, status: str = "SUCCESS", current: bool = False):
    meta = {"rollbackTargetDeploymentId": target} if target else {}
    return Deployment(id=id, status=status, created_at=STARTED + timedelta(minutes=minutes), meta=meta,
                      is_current=current)


def test_stuck_only_after_the_provider_timeout_and_the_margin():
    assert SETTLE_AFTER > timedelta(seconds=30)
    assert not is_stuck(STARTED, STARTED + SETTLE_AFTER - timedelta(seconds=1))
    assert is_stuck(STARTED, STARTED + SETTLE_AFTER)


def test_a_railway_rollback_that_happened():
    history = [d("new", minutes=0.1, target="t"), d("crashed", minutes=-180), d("t", minutes=-2880)]
    found = railway_rollback(history, target="t", before="crashed", started=STARTED)
    assert found.outcome is Settled.DONE and found.answer == {"new_deployment_id": "new"}
    assert "a rollback to t" in found.evidence


def test_a_railway_rollback_that_did_not_happen():
    found = railway_rollback([d("crashed", minutes=-180), d("t", minutes=-2880)], target="t", before="crashed",
                             started=STARTED)
    assert found.outcome is Settled.NOT_DONE and "crashed still serves" in found.evidence


def test_someone_elses_deployment_since_makes_it_unknown():
    history = [d("other", minutes=1), d("crashed", minutes=-180)]
    found = railway_rollback(history, target="t", before="crashed", started=STARTED)
    assert found.outcome is Settled.UNKNOWN and found.evidence.startswith("unknown: check the provider")


def test_a_redeploy():
    assert railway_redeploy([d("new", minutes=0.2), d("old", minutes=-60)], before="old",
                            started=STARTED).outcome is Settled.DONE
    assert railway_redeploy([d("old", minutes=-60)], before="old", started=STARTED).outcome is Settled.NOT_DONE


def test_a_variable_compares_values_without_saying_them():
    done = variable_set("API_KEY", "s3cret", "s3cret")
    other = variable_set("API_KEY", "s3cret", "old-value")
    assert done.outcome is Settled.DONE and other.outcome is Settled.NOT_DONE
    assert "s3cret" not in done.evidence + other.evidence and "old-value" not in other.evidence
    assert variable_set("API_KEY", "***", "x").outcome is Settled.UNKNOWN  # the value was already forgotten
    assert variable_set("API_KEY", "v", None).outcome is Settled.NOT_DONE


def test_vercel_production_points_at_the_target_or_not():
    assert vercel_production(d("t", current=True, status="READY")).outcome is Settled.DONE
    assert vercel_production(d("t", status="READY")).outcome is Settled.NOT_DONE


def test_a_shared_variable_change_is_done_only_once_set_and_redeployed():
    done = Settlement(Settled.DONE, "Railway shows deployment d2 (SUCCESS) since it began", {"new_deployment_id": "d2"})
    none = Settlement(Settled.NOT_DONE, "Railway shows no deployment since it began")
    both = shared_variable_set("JWT_SECRET", "api", variable_set("JWT_SECRET", "s3cret", "s3cret"), done)
    half = shared_variable_set("JWT_SECRET", "api", variable_set("JWT_SECRET", "s3cret", "s3cret"), none)
    unset = shared_variable_set("JWT_SECRET", "api", variable_set("JWT_SECRET", "s3cret", "old-value"), done)

    assert both.outcome is Settled.DONE and both.answer["new_deployment_id"] == "d2"
    assert half.outcome is Settled.NOT_DONE and "api did not redeploy: redeploy it" in half.evidence
    assert unset.outcome is Settled.NOT_DONE and "shared JWT_SECRET set to another value" in unset.evidence
    assert all("s3cret" not in s.evidence and "old-value" not in s.evidence for s in (both, half, unset))
