"""Which deployment a rollback goes back to: the newest successful one before the current one that the
provider can roll back to, or the one named, with a reason when none qualifies."""

from __future__ import annotations

import pytest

from app.core.observations import Deployment
from app.core.rollback import NoRollbackTarget, can_roll_back_to, choose_target, current_deployment


def d(id: str, status: str = "SUCCESS", *, current: bool = False, can: bool | None = None) -> Deployment:
    return Deployment(id=id, status=status, is_current=current, can_rollback=can)


def test_picks_the_newest_successful_deployment_before_the_current_one():
    plan = choose_target([d("d4", current=True), d("d3"), d("d2"), d("d1")])
    assert plan.current is not None and plan.current.id == "d4"
    assert plan.target.id == "d3"
    assert plan.why == "the newest deployment before the current one that never crashed, failed or was marked bad"


def test_skips_failed_and_in_progress_deployments():
    plan = choose_target([d("d5", "BUILDING"), d("d4", current=True), d("d3", "FAILED"), d("d2", "CRASHED"), d("d1")])
    assert plan.target.id == "d1"


def test_a_newer_failed_build_is_not_the_current_one():
    # Railway: the newest deployment failed to build; the one before it still serves.
    plan = choose_target([d("d3", "FAILED"), d("d2", current=True), d("d1", "REMOVED", can=True)])
    assert plan.current.id == "d2"
    assert plan.target.id == "d1"


def test_railway_removed_deployments_that_can_be_rolled_back_to_qualify():
    history = [d("d3", current=True, can=False), d("d2", "REMOVED", can=True), d("d1", "REMOVED", can=True)]
    assert choose_target(history).target.id == "d2"


def test_the_providers_no_wins():
    history = [d("d3", current=True), d("d2", can=False), d("d1", "READY", can=True)]
    assert choose_target(history).target.id == "d1"


def test_a_can_rollback_flag_does_not_make_a_failed_build_a_target():
    with pytest.raises(NoRollbackTarget, match="no earlier successful deployment"):
        choose_target([d("d2", current=True), d("d1", "FAILED", can=True)])


def test_without_a_marked_current_the_newest_successful_one_is_current():
    history = [d("d3", "FAILED"), d("d2"), d("d1")]
    assert current_deployment(history) == history[1]
    assert choose_target(history).target.id == "d1"


def test_no_deployments_at_all():
    with pytest.raises(NoRollbackTarget, match="no deployments"):
        choose_target([])


def test_only_the_current_deployment():
    with pytest.raises(NoRollbackTarget, match="no earlier successful deployment"):
        choose_target([d("d1", current=True)])


def test_nothing_successful_before_the_current_one():
    with pytest.raises(NoRollbackTarget, match="no earlier successful deployment"):
        choose_target([d("d3", current=True), d("d2", "FAILED"), d("d1", "ERROR")])


def test_a_named_target():
    plan = choose_target([d("d3", current=True), d("d2"), d("d1")], "d1")
    assert plan.target.id == "d1" and plan.why == "the deployment you named"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("d3", "is the current deployment"),
        ("d2", r"did not succeed \(status FAILED\)"),
        ("d1", "cannot be rolled back to"),
        ("d0", "is not one of this service's last 4 deployments"),
    ],
)
def test_a_named_target_that_does_not_qualify(target, reason):
    history = [d("d3", current=True), d("d2", "FAILED"), d("d1", can=False), d("d0x")]
    with pytest.raises(NoRollbackTarget, match=reason):
        choose_target(history, target)


def test_a_named_removed_deployment_needs_the_providers_word():
    assert choose_target([d("d2", current=True), d("d1", "REMOVED", can=True)], "d1").target.id == "d1"
    with pytest.raises(NoRollbackTarget, match="did not succeed"):
        choose_target([d("d2", current=True), d("d1", "REMOVED")], "d1")


def test_can_roll_back_to():
    assert can_roll_back_to(d("a", "READY"))
    assert can_roll_back_to(d("a", "REMOVED", can=True))
    assert not can_roll_back_to(d("a", "REMOVED"))
    assert not can_roll_back_to(d("a", "SUCCESS", can=False))
    assert not can_roll_back_to(d("a", "BUILDING", can=True))


def test_a_removed_deployment_pitcrew_rolled_back_from_is_not_the_default_target():
    # Railway after a rollback from crashed d2 to d1: d3 serves (a copy of d1); d2 is REMOVED with
    # canRollback true like any replaced deployment, so only pitcrew's own record says it crashed.
    history = [d("d3", current=True, can=False), d("d2", "REMOVED", can=True), d("d1", "REMOVED", can=True)]
    plan = choose_target(history, known_bad={"d2": "pitcrew rolled back from it (INC-7)"})
    assert plan.target.id == "d1"
    assert [(p.deployment.id, p.reason) for p in plan.passed_over] == [("d2", "pitcrew rolled back from it (INC-7)")]


def test_every_passed_over_candidate_says_why():
    history = [
        d("d6", current=True), d("d5", "CRASHED", can=True), d("d4", "FAILED"), d("d3", can=False),
        d("d2", "REMOVED", can=True), d("d1"),
    ]
    plan = choose_target(history, known_bad={"d2": "its verification failed"})
    assert plan.target.id == "d1"
    assert [(p.deployment.id, p.reason) for p in plan.passed_over] == [
        ("d5", "it crashed"),
        ("d4", "it never served (status FAILED)"),
        ("d3", "the provider cannot roll back to it"),
        ("d2", "its verification failed"),
    ]


def test_only_newer_deployments_than_the_serving_one_are_never_candidates():
    # Vercel after a rollback to d1: d2 (newer, READY) is not older than what serves, so never the default.
    history = [d("d2", "READY"), d("d1", "READY", current=True), d("d0", "READY")]
    with pytest.raises(NoRollbackTarget, match="passed over d0: INC-3 opened on it"):
        choose_target(history, known_bad={"d0": "INC-3 opened on it"})


def test_a_named_target_is_taken_even_if_marked_bad():
    history = [d("d3", current=True), d("d2"), d("d1")]
    assert choose_target(history, "d2", known_bad={"d2": "its verification failed"}).target.id == "d2"
