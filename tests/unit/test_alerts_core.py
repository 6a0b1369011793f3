"""The normalised alert: cleaning, severity words, which service it is about, and its dedupe key."""

from __future__ import annotations

import pytest

from app.core.alerts import (
    DETAILS_MAX,
    TITLE_MAX,
    Alert,
    WebhookBodyError,
    apply_severity_mapping,
    dedupe_key,
    derive_fingerprint,
    make_alert,
    resolve_service,
    severity_from,
)


def _alert(**overrides: object) -> Alert:
    fields: dict[str, object] = {
        "source": "generic",
        "fingerprint": "fp-1",
        "status": "firing",
        "title": "API down",
    }
    fields.update(overrides)
    return make_alert(**fields)  # type: ignore[arg-type]


# --- severity -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("critical", "SEV1"),
        ("fatal", "SEV1"),
        ("P0", "SEV1"),
        ("error", "SEV2"),
        ("high", "SEV2"),
        ("major", "SEV2"),
        ("p1", "SEV2"),
        ("warning", "SEV3"),
        ("WARN", "SEV3"),
        ("medium", "SEV3"),
        ("p2", "SEV3"),
        ("info", "SEV4"),
        ("low", "SEV4"),
        ("p3", "SEV4"),
        ("p4", "SEV4"),
        ("  Critical ", "SEV1"),
        ("SEV1", "SEV1"),
        ("sev3", "SEV3"),
        ("SEV-2", "SEV2"),
        ("banana", None),
        ("", None),
        ("SEV5", None),
        (None, None),
    ],
)
def test_severity_from_default_words(word, expected):
    assert severity_from(word) == expected


def test_team_mapping_wins_and_its_keys_are_case_insensitive():
    mapping = {"Warning": "SEV2", "page": "sev1"}
    assert severity_from("warning", mapping) == "SEV2"
    assert severity_from("PAGE", mapping) == "SEV1"
    assert severity_from("critical", mapping) == "SEV1"  # not in the mapping: the defaults still apply


def test_mapping_to_something_that_is_not_a_level_is_ignored():
    assert severity_from("warning", {"warning": "urgent"}) == "SEV3"


def test_severity_from_non_string_is_none():
    assert severity_from(3) is None  # type: ignore[arg-type]


def test_apply_severity_mapping_uses_the_sources_own_word():
    alert = _alert(severity=severity_from("disaster"), labels={"severity": "disaster"})
    assert alert.severity is None
    mapped = apply_severity_mapping(alert, {"disaster": "SEV1"})
    assert mapped.severity == "SEV1"
    assert mapped.title == alert.title and mapped.fingerprint == alert.fingerprint


def test_apply_severity_mapping_without_a_word_or_mapping_changes_nothing():
    alert = _alert(severity="SEV2")
    assert apply_severity_mapping(alert, {"error": "SEV1"}) is alert
    assert apply_severity_mapping(_alert(labels={"severity": "error"}), None).severity is None


# --- cleaning -------------------------------------------------------------------------------------


def test_control_characters_are_stripped_and_title_is_one_line():
    alert = _alert(
        title="\x1b[31mdisk\x00 full\x07\non db\r\n", details="line 1\r\nline\x00 2\x1b\n\tindented"
    )
    assert alert.title == "[31mdisk full on db"
    assert alert.details == "line 1\nline 2\n\tindented"


def test_bidi_overrides_and_lone_surrogates_are_removed():
    alert = _alert(title="pay\u202eegnahc\ud800", details="x\udfffy")
    assert alert.title == "payegnahc"
    assert alert.details == "xy"
    alert.title.encode("utf-8")  # would raise if a surrogate survived


def test_text_is_kept_as_given_escaping_is_for_the_edges():
    alert = _alert(title="<!channel> & <script>alert(1)</script>")
    assert alert.title == "<!channel> & <script>alert(1)</script>"


def test_lengths_are_capped_with_an_ellipsis():
    alert = _alert(title="t" * 10_000, details="d" * 100_000)
    assert len(alert.title) == TITLE_MAX and alert.title.endswith("…")
    assert len(alert.details) == DETAILS_MAX and alert.details.endswith("…")


def test_blank_title_gets_a_placeholder():
    assert _alert(title=" \x00 ").title == "(untitled alert)"


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "ftp://example.com/x",
        "https://",
        "https://exa mple.com",
        "not a url",
        "http://[::1",
        "https://example.com/\x00",
        "https://x.com/" + "a" * 3000,
        "",
    ],
)
def test_links_other_than_http_urls_are_dropped(link):
    assert _alert(link=link).link is None


def test_http_links_are_kept():
    assert _alert(link=" https://example.com/a?b=c ").link == "https://example.com/a?b=c"


def test_labels_keep_scalars_as_strings_and_drop_the_rest():
    alert = _alert(
        labels={
            "a": "x",
            "n": 3,
            "f": 1.5,
            "b": True,
            "none": None,
            "list": [1],
            "obj": {"k": 1},
            "ctl": "v\x00\nw",
        }
    )
    assert alert.labels == {"a": "x", "n": "3", "f": "1.5", "b": "true", "ctl": "v w"}


def test_labels_are_capped_in_number():
    alert = _alert(labels={f"k{i}": "v" for i in range(500)})
    assert len(alert.labels) == 50


def test_long_fingerprints_are_hashed_not_cut():
    a, b = _alert(fingerprint="x" * 1000 + "a"), _alert(fingerprint="x" * 1000 + "b")
    assert a.fingerprint.startswith("sha256:") and len(a.fingerprint) == 71
    assert a.fingerprint != b.fingerprint


def test_unknown_severity_value_is_not_stored():
    assert _alert(severity="SEV9").severity is None


# --- dedupe key -----------------------------------------------------------------------------------


def test_dedupe_key_is_source_and_fingerprint_whatever_the_status():
    firing = _alert(source="uptimerobot", fingerprint="777", status="firing", title="API is down")
    resolved = _alert(source="uptimerobot", fingerprint="777", status="resolved", title="API is up")
    assert dedupe_key(firing) == dedupe_key(resolved) == "uptimerobot:777"


def test_dedupe_key_without_fingerprint_derives_one_from_title_and_service():
    a = _alert(fingerprint="", title="Queue backed up", service="worker", status="firing")
    b = _alert(fingerprint="", title="Queue backed up", service="worker", status="resolved")
    c = _alert(fingerprint="", title="Queue backed up", service="api")
    assert dedupe_key(a) == dedupe_key(b) == "generic:" + derive_fingerprint("Queue backed up", "worker")
    assert dedupe_key(a) != dedupe_key(c)


def test_same_fingerprint_in_two_sources_gives_two_keys():
    assert dedupe_key(_alert(source="sentry")) != dedupe_key(_alert(source="generic"))


def test_derive_fingerprint_separates_its_parts():
    assert derive_fingerprint("ab", "c") != derive_fingerprint("a", "bc")
    assert derive_fingerprint("a", None) == derive_fingerprint("a", "")


# --- resolve_service ------------------------------------------------------------------------------

SERVICES = {
    "api": ["https://api.example.com/health", "https://api.example.com/health/ready"],
    "web": ["https://example.com/"],
    "admin": ["https://example.com/admin/health"],
    "db": [],
}


def test_own_service_field_wins_when_known():
    assert (
        resolve_service(_alert(service="admin", link="https://api.example.com/health"), SERVICES) == "admin"
    )


def test_own_service_field_matches_case_insensitively():
    assert resolve_service(_alert(service="API"), SERVICES) == "api"


def test_unknown_own_service_falls_back_to_the_link():
    assert resolve_service(_alert(service="payments", link="https://api.example.com/"), SERVICES) == "api"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://example.com/admin/users", "admin"),  # shares /admin with admin's health URL
        ("https://example.com/admin/health", "admin"),
        ("https://example.com/pricing", "web"),
        ("https://example.com", "web"),
        ("http://API.Example.com:8443/v1/orders", "api"),  # host compared case-insensitively, port aside
        ("https://example.com/administrator", "web"),  # /administrator is not under /admin
        ("https://other.example.org/health", None),
        (None, None),
    ],
)
def test_link_is_matched_by_host_and_longest_path(link, expected):
    assert resolve_service(_alert(link=link), SERVICES) == expected


def test_equally_good_matches_give_none_rather_than_a_guess():
    services = {"blue": ["https://app.example.com/health"], "green": ["https://app.example.com/health"]}
    assert resolve_service(_alert(link="https://app.example.com/health"), services) is None


def test_monitored_url_label_is_used_when_the_link_points_elsewhere():
    alert = _alert(
        link="http://prometheus:9090/graph?g0.expr=up", labels={"instance": "https://example.com/admin/x"}
    )
    assert resolve_service(alert, SERVICES) == "admin"


def test_nothing_to_go_on_gives_none():
    assert resolve_service(_alert(), SERVICES) is None
    assert resolve_service(_alert(link="https://api.example.com/"), {}) is None


# --- the error type -------------------------------------------------------------------------------


def test_webhook_body_error_carries_its_reason():
    err = WebhookBodyError("generic: `status` is required (firing or resolved)")
    assert err.reason == str(err) == "generic: `status` is required (firing or resolved)"
    assert isinstance(err, ValueError)
