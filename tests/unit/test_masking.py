"""Secrets in log lines are masked, however they are written; ordinary text is left alone."""

from __future__ import annotations

import random
import string

import pytest

from app.core.masking import MASK, Masker, is_secret_name, mask

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkJvYiJ9.SflKxwRJSMeKKF2QT4fwpMeJf36"
STRIPE = "sk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5Rs0AyT3"
SENDGRID = "SG.kX9fLm2Qw8ZxVb4Nc6Hp1J.d5Rs0AyT3gU7iO9pE2wQ4rT6yU8iO0pA1sD3fG5hJ7kL"
GITHUB = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
SLACK_BOT = "xoxb-2712345678901-2712345678902-AbCdEfGhIjKlMnOpQrStUvWx"


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker()


# --- each kind of secret ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("connecting to postgresql://app:s3cr3t@db.internal:5432/app",
         "connecting to postgresql://app:***@db.internal:5432/app"),
        ("redis://default:Rd5Xs8Qp2Lm@redis.internal:6379", "redis://default:***@redis.internal:6379"),
        ("amqps://:onlypassword@mq.example.com/vhost", "amqps://:***@mq.example.com/vhost"),
        ("mongodb+srv://user:p%40ss%2Fw0rd@cluster0.mongodb.net/db", "mongodb+srv://user:***@cluster0.mongodb.net/db"),
        ("postgres://u:p@ss@host/db", "postgres://u:***@host/db"),
        ("git clone https://x-access-token:abc123@github.com/o/r.git", "git clone https://x-access-token:***@github.com/o/r.git"),
    ],
)
def test_passwords_in_urls_of_any_scheme(masker: Masker, line: str, expected: str) -> None:
    assert masker.mask(line) == expected


def test_a_password_inside_a_url_encoded_url(masker: Masker) -> None:
    line = "redirect=postgres%3A%2F%2Fuser%3Ap%40ss%40host%2Fdb"
    assert masker.mask(line) == "redirect=postgres%3A%2F%2Fuser%3A***%40host%2Fdb"


def test_urls_without_credentials_are_untouched(masker: Masker) -> None:
    line = "GET https://api.example.com:8443/v1/users?page=2 -> http://localhost:3000/health"
    assert masker.mask(line) is line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Authorization: Bearer abc.def-123_xyz", "Authorization: Bearer ***"),
        ("authorization: basic dXNlcjpwYXNzd29yZA==", "authorization: basic ***"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x", "curl -H 'Authorization: Basic ***' https://x"),
        ('headers: {"authorization":"Bearer abc123def456","host":"x"}',
         'headers: {"authorization":"Bearer ***","host":"x"}'),
        ("Proxy-Authorization: Digest username=bob", "Proxy-Authorization: Digest ***"),
        ("sent bearer 9f8e7d6c5b4a39281706 to upstream", "sent bearer *** to upstream"),
        ("AUTHORIZATION=token0123456789", "AUTHORIZATION=***"),
    ],
)
def test_authorization_headers_and_bearer_tokens(masker: Masker, line: str, expected: str) -> None:
    assert masker.mask(line) == expected


def test_prose_about_bearer_tokens_is_not_taken_for_one(masker: Masker) -> None:
    line = "missing bearer token; basic authentication disabled"
    assert masker.mask(line) is line


@pytest.mark.parametrize(
    "secret",
    [
        JWT,
        STRIPE,
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5",
        "whsec_Qw8ZxVb4Nc6Hp1Jd5Rs0AyT3gU7iO9p",
        SLACK_BOT,
        "xoxp-2712345678901-2712345678902-2712345678903-0123456789abcdef0123456789abcdef",
        "xapp-1-A0123456789-2712345678901-0123456789abcdef0123456789abcdef",
        "xoxe.xoxp-1-Mi0yLTI3MTIzNDU2Nzg5MDEtMjcxMjM0",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAY34FZKBOKMUTVV7A",
        GITHUB,
        "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789",
        SENDGRID,
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-proj-abcdefghijklmnopqrstuvwx0123456789",
    ],
)
def test_tokens_are_recognised_by_their_shape(masker: Masker, secret: str) -> None:
    for line in (f"token {secret} sent", f"{secret}", f"({secret}),", f'"{secret}"', f"key:{secret}."):
        masked = masker.mask(line)
        assert secret not in masked, line
        assert MASK in masked


def test_stripe_publishable_keys_stay_visible(masker: Masker) -> None:
    """They are public by design (shipped to every browser) and say which account is in use."""
    line = "stripe init pk_live_51HqLm2Qw8ZxVb4Nc6Hp1Jd5 and pk_test_TYooMQauvdEDq54NiTphI7jx"
    assert masker.mask(line) is line


def test_slack_webhook_urls_hide_their_secret_path(masker: Masker) -> None:
    line = "posting to https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX"
    assert masker.mask(line) == "posting to https://hooks.slack.com/services/***"


def test_private_key_blocks(masker: Masker) -> None:
    line = "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- loaded"
    masked = masker.mask(line)
    assert "MIIEowIBAAKCAQEA" not in masked
    assert masked.endswith(" loaded")


# --- key = value, in every notation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("JWT_SECRET=f3T9kLm2Qw8Zx7Vb4", "JWT_SECRET=***"),
        ("SENDGRID_API_KEY=SG.xxx", "SENDGRID_API_KEY=***"),
        ("GITHUB_TOKEN=abc PASSWORD=hunter2 DB_PASS=x1", "GITHUB_TOKEN=*** PASSWORD=*** DB_PASS=***"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY", "aws_secret_access_key = ***"),
        ("password: hunter2", "password: ***"),
        ("Password:hunter2", "Password:***"),
        ('{"password":"hunter2","user":"bob"}', '{"password":"***","user":"bob"}'),
        ('{"password": "hun ter2", "token" : "abc"}', '{"password": "***", "token" : "***"}'),
        ("{'password': 'hunter2'}", "{'password': '***'}"),
        ('{\\"password\\":\\"hunter2\\",\\"n\\":1}', '{\\"password\\":\\"***\\",\\"n\\":1}'),
        ('"apiKey": "abc123", "clientSecret": "s3"', '"apiKey": "***", "clientSecret": "***"'),
        ("x-api-key: abc123", "x-api-key: ***"),
        ("?user=bob&access_token=abc123&next=/home", "?user=bob&access_token=***&next=/home"),
        ("X-Amz-Signature=abcdef0123&X-Amz-Date=20250102", "X-Amz-Signature=***&X-Amz-Date=20250102"),
        ("session_id=abc123; theme=dark", "session_id=***; theme=dark"),
        ("SENTRY_DSN=https://k@o1.ingest.sentry.io/2", "SENTRY_DSN=***"),
        ("SECRET_KEY_BASE=abc123", "SECRET_KEY_BASE=***"),
        ("secretkey=abc accesskey=def", "secretkey=*** accesskey=***"),
        ("config = {password => 'x'}", "config = {password => '***'}"),
        ("Set-Cookie: sid=abc123; Path=/; HttpOnly", "Set-Cookie: ***"),
    ],
)
def test_secret_key_values(masker: Masker, line: str, expected: str) -> None:
    assert masker.mask(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        '{"password": null, "token": "", "secret": true}',
        "password: ***",
        "monkey=3 bypass=1 oauth=google keys=4",
        "token_type=bearer tokens_used=30 password_reset_sent=1",
        "cache hit key=user:42:profile ttl=3600",
        'Key (email)=(bob@example.com) already exists.',
    ],
)
def test_key_values_that_are_not_secrets(masker: Masker, line: str) -> None:
    assert masker.mask(line) == line


# --- lines built to slip past ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"{JWT}", JWT),  # alone
        (f"{STRIPE}!", STRIPE),  # end with punctuation
        (f"[{GITHUB}]", GITHUB),  # brackets
        (f"token={SLACK_BOT};", SLACK_BOT),
        (f"\"{SENDGRID}\"", SENDGRID),
        (f"a,{STRIPE},b", STRIPE),
        (f"Authorization:Bearer {JWT}", JWT),
        ("\tpassword\t=\tTr0ub4dor#3", "Tr0ub4dor#3"),
        ("DB_PASSWORD='correct horse battery'", "correct horse battery"),
        ('PASSWORD="with \\"escaped\\" quotes"', "escaped"),
        ("pAsSwOrD=MiXeDcAsE", "MiXeDcAsE"),
        ("url=postgresql://admin:Sup3r%21Secret@db:5432/x", "Sup3r"),
        ('{"nested":{"credentials":{"password":"deep"}}}', "deep"),
    ],
)
def test_lines_built_to_slip_past(masker: Masker, line: str, secret: str) -> None:
    assert secret not in masker.mask(line)


def test_several_secrets_on_one_line(masker: Masker) -> None:
    line = f"db=postgresql://a:pw1xx@h/d jwt={JWT} stripe {STRIPE} password: hunter2 {GITHUB}"
    masked = masker.mask(line)
    for secret in ("pw1xx", JWT, STRIPE, "hunter2", GITHUB):
        assert secret not in masked
    assert masked.startswith("db=postgresql://a:***@h/d ")


# --- what must stay ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "GET /api/users/48213/orders?page=3 200 in 15ms",
        "request 5f2c9a1e-7b3d-4c1a-9e8f-0a1b2c3d4e5f finished",
        "deployed commit a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 (a1b2c3d)",
        "Connection to database established pool_size=10 host=db.internal:5432",
        "prisma:query SELECT \"public\".\"User\".\"id\" FROM \"public\".\"User\" WHERE id = $1",
        "User alice@example.com logged in from 10.0.3.17",
        "Error: connect ECONNREFUSED 10.0.0.5:5432",
        "the token bucket refilled; passwords are hashed with bcrypt",
        "",
    ],
)
def test_ordinary_lines_are_returned_as_they_are(masker: Masker, line: str) -> None:
    assert masker.mask(line) is line


# --- known values ----------------------------------------------------------------------------------


def test_known_values_are_masked_wherever_they_appear() -> None:
    masker = Masker(["Tr0ub4dor&3", "a-very-long-api-token-value"])
    line = "echo Tr0ub4dor&3 | login; prefix-a-very-long-api-token-value-suffix"
    assert masker.mask(line) == "echo *** | login; prefix-***-suffix"


def test_known_values_url_encoded_and_json_escaped() -> None:
    masker = Masker(['p@ss w"rd/1'])
    assert masker.mask("url=x://u:p%40ss%20w%22rd%2F1@h") == "url=x://u:***@h"
    assert masker.mask('{"msg":"pw is p@ss w\\"rd/1"}') == '{"msg":"pw is ***"}'
    assert masker.mask("form: p%40ss+w%22rd%2F1 sent") == "form: *** sent"


def test_longest_known_value_wins() -> None:
    masker = Masker(["abcdef", "abcdefghij"])
    assert masker.mask("x abcdefghij y") == "x *** y"


def test_short_known_values_are_ignored() -> None:
    """`PORT=1`, `DEBUG=true`: masking those would mask every digit and every `true`."""
    masker = Masker(["1", "true", "abc"])
    line = "retry 1 of 3: ok=true abc"
    assert masker.mask(line) == line


def test_known_values_are_case_sensitive() -> None:
    masker = Masker(["SeCrEtVaLuE"])
    assert masker.mask("secretvalue SeCrEtVaLuE") == "secretvalue ***"


def test_for_variables_picks_secrets_by_name_and_by_shape() -> None:
    masker = Masker.for_variables({
        "NODE_ENV": "production",
        "PORT": "8080",
        "FRONTEND_URL": "https://app.example.com",
        "JWT_SECRET": "plainlettersonly",
        "SOME_VALUE": STRIPE,
        "DATABASE_URL": "postgresql://app:Zq8vN2x%21@db:5432/app",
    })
    line = "production on 8080 for https://app.example.com; plainlettersonly and Zq8vN2x! and Zq8vN2x%21"
    assert masker.mask(line) == "production on 8080 for https://app.example.com; *** and *** and ***"
    # a value that looks like a secret is known by value too, so it is caught where its shape is not
    assert Masker().mask(f"ref=x{STRIPE}y") == f"ref=x{STRIPE}y"
    assert masker.mask(f"ref=x{STRIPE}y") == "ref=x***y"
    assert masker.mask("connected to postgresql://app:Zq8vN2x%21@db:5432/app") == (
        "connected to postgresql://app:***@db:5432/app"
    )


# --- names, mappings, the one-off helper ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "password", "apiKey", "x-api-key", "API_KEY", "SENTRY_DSN", "session_id", "sessionId",
     "STRIPE_WEBHOOK_SECRET", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "authorization", "Cookie", "csrftoken",
     "private_key", "SECRET_KEY_BASE", "credentials"],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["key", "monkey", "token_type", "tokens_used", "password_reset_sent", "NODE_ENV", "PORT", "bypass",
     "author", "deploymentId", "requestId", "keys"],
)
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_mask_mapping_masks_by_name_and_by_value() -> None:
    masker = Masker(["knownvalue1"])
    scrubbed = masker.mask_mapping({
        "password": "x",
        "empty_token": "",
        "note": "uses knownvalue1",
        "dsn": None,
        "nested": {"apiKey": 12345, "url": "https://u:pw@h"},
        "list": ["Bearer abcdef123456", 3],
        "count": 3,
    })
    assert scrubbed == {
        "password": MASK,
        "empty_token": "",
        "note": "uses ***",
        "dsn": None,
        "nested": {"apiKey": MASK, "url": "https://u:***@h"},
        "list": ["Bearer ***", 3],
        "count": 3,
    }


def test_mask_helper_with_and_without_known_values() -> None:
    assert mask("password=abc") == "password=***"
    assert mask("say opensesame1", ["opensesame1"]) == "say ***"


def test_non_ascii_lines_are_masked_too(masker: Masker) -> None:
    assert masker.mask("mot de passe é password=abc ✓") == "mot de passe é password=*** ✓"
    assert masker.mask(f"jeton → {JWT} ←") == "jeton → *** ←"


def test_a_line_with_a_lone_surrogate_does_not_break_masking(masker: Masker) -> None:
    assert masker.mask("bad \udcff byte password=abc") == "bad \udcff byte password=***"


def test_many_lines_of_one_shape_share_the_cached_answer() -> None:
    """The cache is keyed by shape; a secret in a line of a shape first seen clean must still be found."""
    masker = Masker(["deadbeef99"])
    assert masker.mask("value 0123456789") == "value 0123456789"
    assert masker.mask("value deadbeef99") == "value ***"  # same shape as the line above


# --- the fast key-value scan agrees with the plain pattern -----------------------------------------


def test_key_value_fast_path_agrees_with_the_plain_pattern() -> None:
    """`_KeyValueRule.apply` searches from key words outward; on random lines built from key words,
    separators and values it must give exactly what `pattern.sub` gives."""
    from app.core import masking

    rule = next(r for r in masking._RULES if isinstance(r, masking._KeyValueRule))
    words = [*masking._KEY_WORDS, "api", "x", "my", "Api", "PASS", "Token", "user", "monkey", "auth0"]
    joins = ["", "_", "-", ".", " "]
    gaps = ["=", ": ", '":"', "' : '", '\\":\\"', " => ", "=", " ", ":"]
    values = ["hunter2", '"a b"', "'c'", "null", "x,y", "Bearer abc", "***", "", "ü"]
    rng = random.Random(1234)
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(1, 4)):
            key = rng.choice(joins).join(rng.choice(words) for _ in range(rng.randint(1, 2)))
            if rng.random() < 0.3:
                key = key.upper()
            parts.append(rng.choice(["", " ", "{", '"', "&", "?"]) + key + rng.choice(gaps) + rng.choice(values))
        line = rng.choice([" ", ", ", "&", ""]).join(parts) + rng.choice(["", " ", rng.choice(string.punctuation)])
        shape = line.encode("utf-8", "surrogatepass").translate(masking._SHAPE)
        hint = rule.hint(shape)
        plain = rule.pattern.sub(rule.replacement, line)
        fast = rule.apply(line, hint) if hint is not None else line
        assert fast == plain, line


def test_sql_password_literals_are_masked_in_query_texts() -> None:
    masker = Masker()
    assert masker.mask_sql("ALTER ROLE app WITH PASSWORD 'it''s-s3cret'") == "ALTER ROLE app WITH PASSWORD '***'"
    assert masker.mask_sql("create role x password 'abc'") == "create role x password '***'"
    assert masker.mask_sql("SELECT 'PASSWORD' FROM t") == "SELECT 'PASSWORD' FROM t"
