"""The pure rules of secret rotation (app/core/rotation.py) and its `rotate_after_days` key in pitcrew.yml."""

from __future__ import annotations

import pytest
import yaml

from app.catalog import CatalogError, parse_catalog
from app.core.rotation import (
    DEFAULT_LENGTH,
    MIN_LENGTH,
    Holder,
    RotationRefused,
    choose,
    new_value,
    order,
    references_shared,
    same_value_names,
    shared_name,
)


def test_new_value_has_the_length_asked_and_differs_each_time():
    assert len(new_value(29)) == 29 and len(new_value(DEFAULT_LENGTH)) == DEFAULT_LENGTH
    assert len(new_value(4)) == MIN_LENGTH  # never shorter than 16
    assert new_value(48) != new_value(48)
    assert all(c.isalnum() or c in "-_" for c in new_value(200))


def test_services_holding_the_same_value_are_chosen_with_the_old_length():
    holders = [Holder("api", "ab12cd34", 29), Holder("worker", "ab12cd34", 29)]
    assert choose("JWT_SECRET", holders) == (("api", "worker"), 29, ())


def test_different_values_are_refused_naming_each_group():
    with pytest.raises(RotationRefused, match=r"differs between services .*api .*worker.*rotate JWT_SECRET <service>"):
        choose("JWT_SECRET", [Holder("api", "ab12cd34", 29), Holder("worker", "ffff0000", 29)])


def test_an_unreadable_holder_is_reported_never_guessed():
    holders = [Holder("api", "ab12cd34", 29), Holder("web", None, None, unreadable=True)]
    assert choose("JWT_SECRET", holders) == (("api",), 29, ("web",))
    with pytest.raises(RotationRefused, match="cannot be read on web"):
        choose("JWT_SECRET", [Holder("web", None, None, unreadable=True)])


def test_named_services_are_taken_as_asked_and_must_hold_the_name():
    holders = [Holder("api", "ab12cd34", 29), Holder("web", None, None, unreadable=True)]
    assert choose("JWT_SECRET", holders, ["web", "api"]) == (("web", "api"), 29, ())
    assert choose("JWT_SECRET", [Holder("web", None, None, unreadable=True)], ["web"])[1] == DEFAULT_LENGTH
    with pytest.raises(RotationRefused, match="worker has no variable JWT_SECRET"):
        choose("JWT_SECRET", holders, ["api", "worker"])
    with pytest.raises(RotationRefused, match="no Railway or Vercel service has a variable X"):
        choose("X", [])


def test_order_puts_each_service_after_what_it_depends_on():
    depends = {"web": ["api"], "api": ["db"], "worker": []}
    assert order(["web", "worker", "api"], depends) == ("worker", "api", "web")
    assert order(["web", "api"], {"web": ["gateway"], "gateway": ["api"]}) == ("api", "web")  # through others
    assert order(["a", "b"], {}) == ("a", "b")


def _catalog(api: dict) -> str:
    services = {"api": {"provider": "railway", "railway": {"project_id": "p", "environment_id": "e",
                                                            "service_id": "s"}, **api}}
    return yaml.safe_dump({"slack": {"alerts_channel": "C0ALERTS", "operators": ["U0OPS1"]}, "services": services})


def test_rotate_after_days_is_validated():
    assert parse_catalog(_catalog({"rotate_after_days": {"JWT_SECRET": 90}})).services["api"].rotate_after_days == {
        "JWT_SECRET": 90
    }
    for wrong, said in (
        ({"9BAD": 90}, "not a variable name"),
        ({"JWT_SECRET": 0}, "from 1 to 3650"),
        ({"JWT_SECRET": "90d"}, "from 1 to 3650"),
        ([90], "such as {JWT_SECRET: 90}"),
    ):
        with pytest.raises(CatalogError, match=said):
            parse_catalog(_catalog({"rotate_after_days": wrong}))


def test_a_bare_shared_reference_names_the_shared_variable():
    assert shared_name("${{shared.JWT_SECRET}}") == "JWT_SECRET"
    assert shared_name(" ${{ shared.SESSION_KEY }} ") == "SESSION_KEY"
    assert shared_name("${{shared.A}}") == "A"


@pytest.mark.parametrize(
    "value",
    [None, "plain-secret", "Bearer ${{shared.TOKEN}}", "${{api.JWT_SECRET}}", "${{JWT_SECRET}}",
     "${{shared.A}}${{shared.B}}", "${{shared.9BAD}}"],
)
def test_anything_else_is_not_a_shared_reference(value):
    assert shared_name(value) is None


def test_the_same_value_under_other_names_of_the_service_own_ones_only():
    rendered = {"JWT_SECRET": "s3cret", "NEXTAUTH_SECRET": "s3cret", "FROM_SHARED": "s3cret", "PORT": "8080"}
    unrendered = {"JWT_SECRET": "s3cret", "NEXTAUTH_SECRET": "s3cret", "FROM_SHARED": "${{shared.X}}", "PORT": "8080"}

    assert same_value_names("JWT_SECRET", rendered, unrendered) == ("NEXTAUTH_SECRET",)
    assert same_value_names("PORT", rendered, unrendered) == ()
    assert same_value_names("MISSING", rendered, unrendered) == ()
    assert same_value_names("SEALED", {"SEALED": None, "OTHER": None}, {"SEALED": None, "OTHER": None}) == ()


def test_a_service_references_a_shared_variable_alone_or_inside_a_longer_value():
    assert references_shared({"A": "${{shared.JWT_SECRET}}"}, "JWT_SECRET")
    assert references_shared({"A": "x", "B": "Bearer ${{ shared.JWT_SECRET }}"}, "JWT_SECRET")
    assert not references_shared({"A": "${{shared.OTHER}}", "B": None, "C": "${{api.JWT_SECRET}}"}, "JWT_SECRET")
