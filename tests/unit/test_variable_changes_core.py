"""The pure rules of changing a variable: names, values, revert delays, the changed-by-hand test, and
the vault that keeps an old value encrypted until its revert reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.actions import InvalidActionParams, describe, masked_params, spec_for, verifies
from app.core.value_vault import seal, unseal, vault_key
from app.core.variable_changes import (
    VERCEL_TOTAL_LIMIT,
    changed_by_hand,
    check_name,
    check_value,
    describe_delay,
    parse_revert_after,
)


@pytest.mark.parametrize("name", ["LOG_LEVEL", "_X", "a1"])
def test_names_the_providers_take(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["9LIVES", "BAD NAME", "A-B", "", "X;rm", None])
def test_names_the_providers_refuse(name: object) -> None:
    with pytest.raises(InvalidActionParams, match="letters, digits and _"):
        check_name(name)


def test_values_empty_or_over_vercels_limit_are_refused() -> None:
    with pytest.raises(InvalidActionParams, match="empty"):
        check_value("", "railway")
    with pytest.raises(InvalidActionParams, match="64 KB"):
        check_value("x" * (VERCEL_TOTAL_LIMIT + 1), "vercel")
    assert check_value("x" * 10, "vercel") == "x" * 10


@pytest.mark.parametrize(("text", "delay"), [
    ("2m", timedelta(minutes=2)), ("1h", timedelta(hours=1)), ("90 minutes", timedelta(minutes=90)),
    ("1d", timedelta(days=1)), ("", None), (None, None), ("  ", None),
])
def test_revert_delays(text: object, delay: timedelta | None) -> None:
    assert parse_revert_after(text) == delay


@pytest.mark.parametrize("text", ["soon", "0m", "8d", "-1h", "1 fortnight"])
def test_revert_delays_refused(text: str) -> None:
    with pytest.raises(InvalidActionParams):
        parse_revert_after(text)


def test_describe_delay() -> None:
    assert describe_delay(timedelta(minutes=2)) == "2 min"
    assert describe_delay(timedelta(hours=1)) == "1 h"


def test_changed_by_hand_when_the_fingerprint_is_not_what_pitcrew_set() -> None:
    assert not changed_by_hand("abcd1234", "abcd1234")
    assert changed_by_hand("ffff0000", "abcd1234")
    assert changed_by_hand(None, "abcd1234")


def test_the_vault_opens_only_with_its_key_and_for_its_row() -> None:
    assert vault_key(None) is None
    key = vault_key(b"an audit key")
    assert key is not None and len(key) == 32 and key != b"an audit key"
    sealed = seal(key, "info", "proposal-1")
    assert "info" not in sealed
    assert unseal(key, sealed, "proposal-1") == "info"
    assert unseal(key, sealed, "proposal-2") is None
    other = vault_key(b"another key")
    assert other is not None and unseal(other, sealed, "proposal-1") is None


def test_set_and_unset_on_both_providers_mask_the_value_and_verify_only_with_a_redeploy() -> None:
    for provider in ("railway", "vercel"):
        spec = spec_for(provider, "set_variable")
        assert masked_params(spec, {"name": "X", "value": "s3cret"})["value"] == "***"
        assert verifies(spec, {"redeploy": True}) and not verifies(spec, {"redeploy": False})
        unset = spec_for(provider, "unset_variable")
        assert describe(unset, "api", {"name": "X"}) == "Remove X from api, then redeploy it"
    assert spec_for("vercel", "redeploy").needs == ("deployment_id",)
