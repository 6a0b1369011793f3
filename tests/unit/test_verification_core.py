"""The verification's phases: deploying → starting → watching → verified, or failed, one look at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.health import Verdict
from app.core.verification import Observation, Phase, VerifyState, judge, next_look

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(minutes=15)


def look(state, seen, minutes=1.0):
    return judge(state, seen, now=T0 + timedelta(minutes=minutes), deadline=DEADLINE)


LIVE_OK = Observation("d2", "SUCCESS", Verdict.OK)
LIVE_DOWN = Observation("d2", "SUCCESS", Verdict.DOWN, ("GET https://x/health: HTTP 503, expected 200",))


def test_waits_while_the_new_deployment_is_not_there_or_building():
    step = look(VerifyState(), Observation(None, None, Verdict.DEGRADED))
    assert step.state.phase is Phase.DEPLOYING and not step.changed and not step.done
    assert step.state.last == "no new deployment yet"
    step = look(step.state, Observation("d2", "BUILDING", Verdict.DEGRADED))
    assert step.state.phase is Phase.DEPLOYING and step.state.deployment_id == "d2"
    assert step.state.checks == 2


def test_a_failed_deployment_fails_at_once_with_an_alert():
    step = look(VerifyState(), Observation("d2", "FAILED", Verdict.DOWN))
    assert step.done and step.state.phase is Phase.FAILED and step.changed
    assert step.state.reason == "deployment d2 is FAILED" and step.alert


def test_healthy_then_watching_until_the_end_of_the_window():
    step = look(VerifyState(), LIVE_OK)
    assert step.state.phase is Phase.WATCHING and step.changed
    assert step.state.healthy_since == T0 + timedelta(minutes=1)
    again = look(step.state, LIVE_OK, minutes=5)
    assert again.state.phase is Phase.WATCHING and not again.changed
    assert again.state.healthy_since == T0 + timedelta(minutes=1)
    final = look(again.state, LIVE_OK, minutes=15)
    assert final.done and final.state.phase is Phase.VERIFIED and final.alert is None


def test_degraded_counts_as_up_but_is_said():
    step = look(VerifyState(), Observation("d2", "SUCCESS", Verdict.DEGRADED, ("slow: 2500 ms",)))
    assert step.state.phase is Phase.WATCHING and "degraded: slow: 2500 ms" in step.state.last


def test_live_but_not_yet_healthy_is_starting_not_failed():
    step = look(VerifyState(), LIVE_DOWN)
    assert step.state.phase is Phase.STARTING and not step.done
    assert look(step.state, LIVE_OK, minutes=2).state.phase is Phase.WATCHING


def test_health_failing_again_once_healthy_fails_with_an_alert():
    watching = look(VerifyState(), LIVE_OK).state
    step = look(watching, LIVE_DOWN, minutes=3)
    assert step.done and step.state.phase is Phase.FAILED
    assert step.state.reason.startswith("health failed again: GET https://x/health: HTTP 503")
    assert step.alert and step.alert.startswith("Health failed again")


def test_never_healthy_or_never_live_by_the_end_fails():
    starting = look(VerifyState(), LIVE_DOWN).state
    step = look(starting, LIVE_DOWN, minutes=15)
    assert step.done and "never healthy" in step.state.reason
    deploying = look(VerifyState(), Observation("d2", "DEPLOYING", Verdict.DEGRADED)).state
    step = look(deploying, Observation("d2", "DEPLOYING", Verdict.DEGRADED), minutes=16)
    assert step.done and step.state.reason == "not live by the end of the watch: deployment d2 is DEPLOYING"


def test_state_round_trips_as_json():
    state = look(VerifyState(), LIVE_OK).state
    assert VerifyState.from_dict(state.to_dict()) == state
    assert VerifyState.from_dict(None) == VerifyState()


def test_next_look_never_passes_the_end_of_the_window():
    assert next_look(T0, DEADLINE, 30) == T0 + timedelta(seconds=30)
    assert next_look(DEADLINE - timedelta(seconds=10), DEADLINE, 30) == DEADLINE
