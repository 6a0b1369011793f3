"""A postgres service's DSN, its password and pitcrew's tokens never reach a log line, whoever logs it
(pitcrew, Bolt, uvicorn) and wherever it hides (the message, its arguments, a traceback)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from app.deps import build_deps
from app.log_masking import mask_logs
from app.settings import Settings
from tests.fixtures import catalog_from

PASSWORD = "L0g-Pa55-word"
DSN = f"postgresql://app:{PASSWORD}@db.internal:5432/app"
TOKEN = "xoxb-log-masking-token-123"


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    factory = logging.getLogRecordFactory()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        logging.setLogRecordFactory(factory)


async def test_secrets_are_masked_in_every_log_record(tmp_path, logged: io.StringIO) -> None:
    settings = Settings(DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}", SLACK_BOT_TOKEN=TOKEN)
    catalog = catalog_from({"db": {"provider": "postgres", "postgres": {"dsn_env": "APP_DATABASE_URL"}}})
    deps = build_deps(settings, catalog, environ={"APP_DATABASE_URL": DSN})
    try:
        mask_logs(deps.secret_values())
        mask_logs(deps.secret_values())  # twice (a second start in one process): still one mask, no error
    finally:
        await deps.close()

    logging.getLogger("pitcrew.test").warning("probe failed for %s with %s", "db", f"password {PASSWORD}")
    try:
        raise ConnectionError(f"could not connect: {DSN} (token {TOKEN})")
    except ConnectionError as err:
        logging.getLogger("slack_bolt.App").exception("listener failed: %s", err)
    access = logging.getLogger("uvicorn.access")
    # A uvicorn started earlier in this process (another test) stops its loggers propagating to the
    # root: its records are read where uvicorn's own handler would write them.
    here = logging.StreamHandler(logged)
    here.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    access.addHandler(here)
    try:
        access.warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/slack/events", "1.1", 200)
    finally:
        access.removeHandler(here)

    text = logged.getvalue()
    for secret in (PASSWORD, DSN, TOKEN):
        assert secret not in text
    assert "pitcrew.test: probe failed for db with password ***" in text
    assert "ConnectionError: could not connect: *** (token ***)" in text  # the traceback too
    assert 'uvicorn.access: 127.0.0.1:5000 - "POST /slack/events HTTP/1.1" 200' in text  # its arguments still work
