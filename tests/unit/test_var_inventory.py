"""The masked view of variables: nothing of a value but its length, a keyed fingerprint and a URL's shape."""

from __future__ import annotations

import pytest

from app.core.value_fingerprints import fingerprint, fingerprint_key
from app.core.var_inventory import (
    SEALED,
    SENSITIVE,
    Reading,
    compare,
    inventory,
    mask,
    missing_required,
    one_per_name,
    presence,
    railway_source,
    url_shape,
)

KEY = fingerprint_key("audit-key", None)
assert KEY is not None


@pytest.mark.parametrize(("value", "shape"), [
    ("postgresql://app:s3cret@db.internal:5432/app", "postgresql://***@db.internal:5432/app"),
    ("postgres://db.internal/app?sslmode=require&password=x", "postgres://db.internal/app"),
    ("redis://default:pw@cache.internal:6379/0", "redis://***@cache.internal:6379/0"),
    ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com"),
    ("https://user:pw@api.example.com:8443/v1?token=abc", "https://***@api.example.com:8443"),
    ("not a url", None),
    ("sk_live_abc", None),
    ("https://", None),
    ("postgresql://app:pw@db:notaport/app", None),
    ("postgresql://app:12/x@db.internal:5432/app", None),  # `/` in the password: never `app:12` as a host
    ("postgresql://app:p#w@db.internal/app", None),
])
def test_a_url_shows_scheme_host_port_and_database_never_credentials(value: str, shape: str | None) -> None:
    assert url_shape(value) == shape


def test_a_value_is_its_length_and_keyed_fingerprint() -> None:
    masked = mask("sandbox-jwt-secret", KEY)
    assert masked.length == len("sandbox-jwt-secret")
    assert masked.fingerprint == fingerprint(KEY, "sandbox-jwt-secret")
    assert len(masked.fingerprint) == 8
    assert "sandbox" not in masked.describe()
    assert mask("", KEY).describe() == "empty"
    assert mask(None, KEY).describe() == SEALED
    assert mask(None, KEY, SENSITIVE).describe() == "sensitive (write-only)"
    assert mask("x", None).fingerprint is None  # no key: no fingerprint, the length only


@pytest.mark.parametrize(("unrendered", "source"), [
    ("plain", "service"),
    ("${{shared.JWT_SECRET}}", "shared"),
    ("${{ shared.JWT_SECRET }}", "shared"),
    ("${{api.DATABASE_URL}}", "reference"),
    ("https://${{shared.DOMAIN}}/${{api.PATH}}", "reference"),
    ("${{PORT}}", "service"),
    (None, "service"),
])
def test_the_source_is_read_off_the_unrendered_value(unrendered: str | None, source: str) -> None:
    assert railway_source(unrendered) == source


def test_an_inventory_groups_by_source_in_the_providers_order_and_sorts_names() -> None:
    found = inventory("api", "railway", [
        Reading("Z", "service", "1"), Reading("A", "service", "2"),
        Reading("JWT", "shared", "3"), Reading("RAILWAY_X", "railway", "4"), Reading("SEAL", "service", None, SEALED),
    ], KEY)
    assert [g.source for g in found.groups] == ["service", "shared", "railway"]
    assert [e.name for e in found.groups[0].entries] == ["A", "SEAL", "Z"]
    assert found.count == 5 and found.fingerprinted


def test_compare_tells_one_side_only_different_same_and_cannot_compare() -> None:
    left = one_per_name([Reading("A", "s", "1"), Reading("B", "s", "2"), Reading("C", "s", "3"),
                         Reading("S", "s", None, SEALED)])
    right = one_per_name([Reading("B", "s", "2"), Reading("C", "s", "x"), Reading("D", "s", "4"),
                          Reading("S", "s", "5")])
    result = compare("api", left, "worker", right, KEY)
    assert result.only_left == ("A",) and result.only_right == ("D",)
    assert [d.name for d in result.different] == ["C"]
    assert result.different[0].left.fingerprint != result.different[0].right.fingerprint
    assert [d.name for d in result.cannot_compare] == ["S"]
    assert result.same == ("B",)


def test_required_missing_or_empty_and_unreadable_counts_as_present() -> None:
    readings = [Reading("SET", "production", "v"), Reading("EMPTY", "production", "  "),
                Reading("HIDDEN", "production", None, SENSITIVE)]
    missing = missing_required(["SET", "EMPTY", "HIDDEN", "GONE"], readings)
    assert [(p.name, p.state) for p in missing] == [("EMPTY", "empty"), ("GONE", "missing")]
    [hidden] = presence(["HIDDEN"], readings, KEY)
    assert hidden.describe() == "HIDDEN: set (sensitive (write-only))"
